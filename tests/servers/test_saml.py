"""SAML 2.0 single sign-on for real: conf-samples/apache-mod-auth-mellon.conf
in Apache (mod_auth_mellon as the service provider, Trac under mod_wsgi)
against a running identity provider (pysaml2, signing with xmlsec1),
driven by the real headless Chromium and by a scripted client.

mod_auth_mellon sets REMOTE_USER from the assertion's NameID, and the
attributes as MELLON_* server variables; `local_domains` decides whose
domain is local.
"""

import os
import urllib.parse

import pytest

from browser import Chromium, Client
from conftest import logged_in_as
from e2e import check_selftest_clean, check_sso_refusal, sso_options
from saml import IdentityProvider, deploy
from process import http

CAROL = 'Carol Jos\u00e9'
USERS = {'carol@example.com': {'mail': ['carol@example.com'],
                               'displayName': [CAROL],
                               'isMemberOf': ['developers', 'outsiders']}}

#: NameIDs the identity provider vouches for, and what the log must say.
REFUSED = {
    'carol@evil.example': 'local_domains',
    'admin@evil.example': 'local_domains',
    'EVIL\\carol': 'local_domains',
    'anonymous@example.com': 'Trac reserves',
    'developers@example.com': 'permission group',
    'carol\n@example.com': 'U+000A',
}

#: trac.ini as conf-samples/apache-mod-auth-mellon.conf says.
OPTIONS = sso_options('MELLON_', 'displayName', 'mail', 'groups')

HOSTILE = [('Remote-User', 'admin'), ('Remote_User', 'admin'),
           ('MELLON_NAME_ID', 'admin@example.com'),
           ('Mellon-Name-Id', 'admin@example.com'),
           ('MELLON_mail', 'mallory@evil.example'),
           ('Mellon-Mail', 'mallory@evil.example'),
           ('Mellon-DisplayName', 'Mallory'),
           ('Mellon-Groups', 'developers')]


@pytest.fixture(scope='module')
def site(module_tmp, staged_site):
    users = dict(USERS)
    users.update((name, {'mail': [name]}) for name in REFUSED)
    idp = IdentityProvider(module_tmp, users)
    try:
        d = deploy(os.path.join(module_tmp, 'site'), staged_site, idp,
                   OPTIONS)
        d.idp = idp
        d.env.admin('permission add developers WIKI_ADMIN')
        yield d
        d.stop()
    finally:
        idp.stop()


def test_chromium_logs_in_and_out(site, tmp_path):
    """A real browser: Trac's Login link, the identity provider's page,
    the signed response posted back by the page's script, Trac; then
    Logout, mod_auth_mellon's single logout at the provider, Trac."""
    browser = Chromium(str(tmp_path))
    try:
        browser.go(site.base_url + '/wiki/WikiStart')
        browser.wait_for('document.querySelector("a[href=\'/prefix/login\']")')
        browser.click('a[href="/prefix/login"]')
        browser.wait_for('document.querySelector("button[name=user]")')
        assert browser.url().startswith(site.idp.url + '/sso?')
        browser.click('button[value="carol@example.com"]')
        browser.wait_for('document.querySelector(".trac-author-user")')
        assert logged_in_as(browser) == CAROL
        assert browser.url().startswith(site.base_url)

        browser.click('#logout button')
        browser.wait_for('location.href == %r' % (site.base_url + '/'))
        assert logged_in_as(browser) is None
        assert 'trac_auth' not in browser.cookies()
        # mod_auth_mellon's session ended at the provider too: /login
        # goes there again.
        browser.go(site.base_url + '/login')
        browser.wait_for('document.querySelector("button[name=user]")')
    finally:
        browser.stop()
    assert dict(site.env.db(
        "SELECT name, value FROM session_attribute WHERE sid='carol' "
        "AND authenticated=1")) == {'name': CAROL,
                                    'email': 'carol@example.com'}
    assert site.env.db("SELECT action FROM permission WHERE "
                       "username='carol'") == [('developers',)]


@pytest.mark.parametrize('name', sorted(REFUSED))
def test_provider_names_that_are_not_local_users(site, name):
    log = check_sso_refusal(site, REFUSED[name], user=name)
    assert 'refused the user name in REMOTE_USER' in log


def test_selftest_finds_nothing_wrong(site):
    """The front-end self-test, through mod_auth_mellon: /login goes to
    the identity provider, every other path strips what a client forges."""
    check_selftest_clean(site.env, site.base_url)


def test_client_headers_count_for_nothing(site):
    for path in ('/prefix/wiki/WikiStart', '/prefix/'):
        r = http(site.port, path, HOSTILE)
        assert r.status == 200 and logged_in_as(r) is None
    r = http(site.port, '/prefix/login', HOSTILE)
    assert r.status in (302, 303)
    assert r.header('Location').startswith(site.base_url + '/mellon/login')
    assert not r.cookies() or not [c for c in r.cookies()
                                   if c.startswith('trac_auth=')]

    carol = Client(HOSTILE)
    page = carol.login(site.base_url + '/login', user='carol@example.com')
    assert logged_in_as(page) == CAROL
    assert logged_in_as(carol.go(site.base_url + '/prefs')) == CAROL
    assert site.env.db("SELECT value FROM session_attribute WHERE "
                       "sid='carol' AND name='email'") == \
        [('carol@example.com',)]
    assert not site.env.db("SELECT sid FROM session WHERE sid IN "
                           "('admin', 'mallory')")
    # The logout URL leads to the provider's single logout and back.
    page = carol.logout(page)
    assert urllib.parse.urlsplit(page.url).path == '/prefix/'
    assert [u for u in carol.hops if u.startswith(site.idp.url + '/slo?')]
    assert logged_in_as(page) is None
