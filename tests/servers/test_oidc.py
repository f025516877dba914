"""OpenID Connect single sign-on for real: conf-samples/apache-mod-auth-
openidc.conf in Apache (mod_auth_openidc as the relying party, Trac under
mod_wsgi), oidc-provider-mock as the OpenID provider, the whole
authorization-code flow driven by the real headless Chromium and by a
scripted client.

mod_auth_openidc sets REMOTE_USER from the claim of OIDCRemoteUserClaim
(`header =` empty in trac.ini); `local_domains` decides whose e-mail
domain is local. The provider vouches for any name it likes: the tests
give it users whose names are foreign, or dangerous once cleaned.
"""

import os
import time

import pytest

from browser import Chromium, Client
from conftest import logged_in_as
from deploy import edit
from e2e import (bearer, check_selftest_clean, check_sso_refusal,
                 check_token_client, check_token_refused, jsonrpc_call,
                 make_token, new_ticket, selftest, sso_options, xmlrpc_call)
from oidc import Provider, deploy
from process import http

LOCAL = {'preferred_username': 'carol@example.com',
         'email': 'carol@example.com', 'name': 'Carol Jos\u00e9',
         'groups': ['developers', 'outsiders']}
#: How Trac shows carol once her name came over (UTF-8 intact).
CAROL = LOCAL['name']

#: Users the provider vouches for, whom Trac must not take for anyone:
#: subject -> (preferred_username and email, what the log must say).
REFUSED = {
    'foreign-carol': ('carol@evil.example', 'local_domains'),
    'foreign-admin': ('admin@evil.example', 'local_domains'),
    'windows-carol': ('EVIL\\carol', 'local_domains'),
    'two-domains': ('carol@example.com@evil.example', 'more than one'),
    'anonymous': ('anonymous@example.com', 'Trac reserves'),
    'group': ('developers@example.com', 'permission group'),
    'full-width': ('\uff43\uff41\uff52\uff4f\uff4c@example.com', 'NFKC'),
    'spaced': ('carol @example.com', 'spaces'),
    'zero-width': ('carol\u200b@example.com', 'U+200B'),
    'crlf': ('carol\r\nSet-Cookie: trac_auth=1@example.com', 'U+000D'),
    'huge': ('c' * 300 + '@example.com', 'limit of 255'),
}

#: trac.ini as conf-samples/apache-mod-auth-openidc.conf says for (a).
OPTIONS = sso_options('OIDC_CLAIM_', 'name', 'email', 'groups')

HOSTILE = [('Remote-User', 'admin'), ('Remote_User', 'admin'),
           ('OIDC_CLAIM_preferred_username', 'admin@example.com'),
           ('OIDC-CLAIM-preferred-username', 'admin@example.com'),
           ('OIDC_CLAIM_email', 'mallory@evil.example'),
           ('OIDC-CLAIM-email', 'mallory@evil.example'),
           ('OIDC-CLAIM-name', 'Mallory'),
           ('OIDC-CLAIM-groups', 'developers'),
           ('X-Forwarded-User', 'admin')]


@pytest.fixture(scope='module')
def provider(module_tmp):
    users = {'carol': LOCAL, 'dave': {'preferred_username': 'dave',
                                      'email': 'dave@evil.example'}}
    for sub, (name, _) in REFUSED.items():
        users[sub] = {'preferred_username': name, 'email': name}
    server = Provider(module_tmp, users)
    yield server
    server.stop()


@pytest.fixture(scope='module')
def site(module_tmp, staged_site, provider):
    d = deploy(os.path.join(module_tmp, 'a'), staged_site, provider, OPTIONS)
    d.env.admin('permission add developers WIKI_ADMIN')
    yield d
    d.stop()


def session_of(env, user):
    return dict(env.db("SELECT name, value FROM session_attribute "
                       "WHERE sid=%s AND authenticated=1", (user,)))


def groups_of(env, user):
    return sorted(g for g, in env.db(
        "SELECT action FROM permission WHERE username=%s", (user,)))


def sign_in_as_carol(browser, site):
    """At the provider's form: carol signs in, and is back in Trac."""
    browser.wait_for('document.querySelector("button[value=carol]")')
    assert browser.url().startswith(site.issuer)
    browser.click('button[value=carol]')
    browser.wait_for('document.querySelector(".trac-author-user")')
    assert logged_in_as(browser) == CAROL


def test_chromium_logs_in_and_out(site, tmp_path):
    """A real browser: Trac's Login link, the provider's form, the way
    back through mod_auth_openidc to Trac; then Logout, mod_auth_openidc's
    logout, the provider's end of session, and back to Trac."""
    browser = Chromium(str(tmp_path))
    try:
        browser.go(site.base_url + '/wiki/WikiStart')
        browser.wait_for('document.querySelector("a[href=\'/prefix/login\']")')
        browser.click('a[href="/prefix/login"]')
        sign_in_as_carol(browser, site)
        assert browser.url().startswith(site.base_url)
        openidc = browser.cookies()['mod_auth_openidc_session']['value']

        browser.click('#logout button')
        browser.wait_for('location.href.includes("/oauth2/end_session")')
        browser.click('form[action$="/confirm"] button')
        browser.wait_for('location.href == %r' % (site.base_url + '/'))
        assert logged_in_as(browser) is None
        assert 'mod_auth_openidc_session' not in browser.cookies()
        assert 'trac_auth' not in browser.cookies()
    finally:
        browser.stop()
    # The relying party's own session ended with it: its cookie now
    # leads to the provider again.
    r = http(site.port, '/prefix/login',
             [('Cookie', 'mod_auth_openidc_session=' + openidc),
              ('Accept', 'text/html')])
    assert r.status == 302
    assert r.header('Location').startswith(
        site.issuer + '/oauth2/authorize?')

    # The profile came from the ID token's claims, and the group sync
    # touched only what sync_groups lists.
    assert session_of(site.env, 'carol') == {
        'name': CAROL, 'email': 'carol@example.com'}
    assert groups_of(site.env, 'carol') == ['developers']


@pytest.mark.parametrize('sub', sorted(REFUSED))
def test_provider_names_that_are_not_local_users(site, sub):
    """The provider vouches for the name; Trac still refuses it, says why
    in its log, and serves the page anonymously."""
    log = check_sso_refusal(site, REFUSED[sub][1], sub=sub)
    assert 'refused the user name in REMOTE_USER' in log
    assert not site.env.db("SELECT name FROM auth_cookie WHERE name!=%s",
                           ('carol',))


def test_selftest_finds_nothing_wrong(site):
    """The front-end self-test, through mod_auth_openidc: /login goes to
    the identity provider, every other path strips what a client forges."""
    check_selftest_clean(site.env, site.base_url)


def test_client_headers_count_for_nothing(site):
    """Nothing a client sends names a user or changes a profile: not the
    user headers, not mod_auth_openidc's own claim names under either
    spelling."""
    anonymous = Client(HOSTILE)
    for path in ('/wiki/WikiStart', '/'):
        page = anonymous.go(site.base_url + path)
        assert page.status == 200 and logged_in_as(page) is None
    # /login goes to the provider (401 for a client that does not ask
    # for HTML), never straight to a login.
    r = http(site.port, '/prefix/login', HOSTILE)
    assert r.status == 401 and not r.cookies()
    r = http(site.port, '/prefix/login', HOSTILE + [('Accept', 'text/html')])
    assert r.status == 302
    assert r.header('Location').startswith(site.issuer)

    carol = Client(HOSTILE)
    page = carol.login(site.base_url + '/login', sub='carol')
    assert logged_in_as(page) == CAROL
    for path in ('/wiki/WikiStart', '/prefs', '/login'):
        assert logged_in_as(carol.go(site.base_url + path)) == CAROL
    assert session_of(site.env, 'carol')['email'] == 'carol@example.com'
    assert 'outsiders' not in groups_of(site.env, 'carol')
    assert not site.env.db("SELECT sid FROM session WHERE sid IN "
                           "('admin', 'mallory')")


def test_email_claim_decides_when_configured(module_tmp, staged_site,
                                             provider):
    """`OIDCRemoteUserClaim email`: dave's bare preferred_username no
    longer counts, his foreign address does."""
    def edit(text):
        line = 'OIDCRemoteUserClaim preferred_username\n'
        assert text.count(line) == 1
        return text.replace(line, 'OIDCRemoteUserClaim email\n')
    d = deploy(os.path.join(module_tmp, 'email'), staged_site, provider,
               OPTIONS, edit)
    try:
        page = Client().login(d.base_url + '/login', sub='dave')
        assert logged_in_as(page) is None
        assert "'evil.example' of 'dave@evil.example'" in d.env.log()
        page = Client().login(d.base_url + '/login', sub='carol')
        assert logged_in_as(page) == CAROL
    finally:
        d.stop()


def test_relying_party_session_ends_with_the_id_token(module_tmp,
                                                      staged_site):
    """`OIDCSessionMaxDuration 0`: once the ID token has expired, /login
    goes back to the provider for a new one instead of handing Trac the
    old token (which a plugin verifying it, `jwt_header`, would refuse)
    or the old claims."""
    lifetime = 4
    short = Provider(os.path.join(module_tmp, 'short'), {'carol': LOCAL},
                     token_max_age=lifetime)
    try:
        d = deploy(os.path.join(module_tmp, 'short-site'), staged_site, short,
                   OPTIONS)
        try:
            client = Client()
            assert logged_in_as(client.login(d.base_url + '/login',
                                              sub='carol')) == CAROL
            time.sleep(lifetime + 1)
            client.hops = []
            page = client.go(d.base_url + '/login')
            assert [u for u in client.hops if u.startswith(
                d.issuer + '/oauth2/authorize')], client.hops
            assert 'name="sub"' in page.body
        finally:
            d.stop()
    finally:
        short.stop()


# API clients: personal access tokens beside the single sign-on

#: The sample without its token paths, protecting /login and every path
#: below it, as <Location /prefix/login> would (mod_auth_mellon's sample
#: did): API clients are sent to the provider.
LOGIN_PREFIX = [
    edit('<LocationMatch "^/prefix/(login|oidc/callback)$">',
         '<LocationMatch "^/prefix/(login(/.*)?|oidc/callback)$">'),
    edit('<LocationMatch "^/prefix/(login/(rpc|xmlrpc|jsonrpc)|ticketrpc)$">',
         '<LocationMatch "^/prefix/ticketrpc$">')]


def test_a_token_through_the_single_sign_on(site):
    """carol, whom the provider signs in, makes a token (here with
    trac-admin): it creates tickets as carol through XML-RPC below
    /login and trac-ticketrpc, past mod_auth_openidc; removed, it is
    refused with 401 and no cookie of Trac's or mod_auth_openidc's.
    carol's browser session is no API login on a token path."""
    client = Client()
    assert logged_in_as(client.login(site.base_url + '/login',
                                     sub='carol')) == CAROL
    token, token_id = make_token(site.env, 'carol', '--name=bot')
    check_token_client(site.port, '/prefix', token, 'carol',
                       xmlrpc_path='/login/xmlrpc')
    r = xmlrpc_call(site.port, '/prefix/login/rpc', 'system.whoami',
                    headers=bearer(token))
    assert r.result == 'carol', r
    session = '; '.join('%s=%s' % (name, client.cookie(name)) for name in
                        ('trac_auth', 'mod_auth_openidc_session'))
    r = xmlrpc_call(site.port, '/prefix/login/xmlrpc', 'system.whoami',
                    headers=[('Cookie', session)])
    assert r.result == 'anonymous', r
    site.env.admin('remoteuser token remove', token_id)
    for path in ('/login/xmlrpc', '/ticketrpc'):
        r = jsonrpc_call(site.port, '/prefix' + path, 'ticket.create',
                         new_ticket(), bearer(token) + [('Cookie', session)])
        check_token_refused(r)
    assert not site.env.db("SELECT id FROM ticket WHERE reporter!='carol'")


def test_chromium_makes_and_removes_a_token(site, tmp_path):
    """The Preferences panel in a real browser: carol, signed in by the
    provider, makes a token; it is shown once, works for trac-ticketrpc
    through the front end, is listed without its value, and once she
    removes it there it is refused."""
    browser = Chromium(str(tmp_path))
    try:
        browser.go(site.base_url + '/login')
        sign_in_as_carol(browser, site)
        browser.go(site.base_url + '/prefs')
        browser.wait_for('document.querySelector('
                         '"a[href=\'/prefix/prefs/apitokens\']")')
        browser.click('a[href="/prefix/prefs/apitokens"]')
        browser.wait_for('document.querySelector("input[name=create]")')
        browser.evaluate('document.querySelector("input[name=name]")'
                         '.value = "nightly <build>"')
        browser.evaluate('document.querySelector("input[name=days]")'
                         '.value = "7"')
        browser.click('input[name=create]')
        browser.wait_for('document.querySelector("#remoteuser-token-value")')
        token = browser.evaluate('document.querySelector('
                                 '"#remoteuser-token-value").textContent')
        assert token.startswith('tracpat_'), token
        listing = browser.evaluate('document.querySelector('
                                   '"#remoteuser-tokens").textContent')
        assert 'nightly <build>' in listing and token not in listing

        check_token_client(site.port, '/prefix', token, 'carol')

        # Shown once: the panel opened again lists it, without the value.
        browser.go(site.base_url + '/prefs/apitokens')
        browser.wait_for('document.querySelector("input[name=token_id]")')
        assert token not in browser.body
        assert not browser.evaluate(
            '!!document.querySelector("#remoteuser-token-value")')
        browser.click('input[name=token_id]')
        browser.click('input[name=remove]')
        browser.wait_for('document.body.textContent.includes("No token.")')
        assert logged_in_as(browser) == CAROL
    finally:
        browser.stop()
    r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                     new_ticket(), bearer(token))
    check_token_refused(r)
    assert not site.env.db("SELECT id FROM remoteuser_token "
                           "WHERE owner='carol'")


def test_token_paths_behind_the_provider(module_tmp, staged_site, provider):
    """The login match a prefix, no token paths: the token client meets
    mod_auth_openidc (the check fails), and the self-test says to let
    token_paths through."""
    def broken(text):
        for change in LOGIN_PREFIX:
            text = change(text)
        return text
    d = deploy(os.path.join(module_tmp, 'prefix'), staged_site, provider,
               OPTIONS, broken)
    try:
        d.env.admin('upgrade')
        token, _ = make_token(d.env, 'carol')
        with pytest.raises(AssertionError):
            check_token_client(d.port, '/prefix', token, 'carol',
                               xmlrpc_path='/login/xmlrpc')
        r = xmlrpc_call(d.port, '/prefix/login/xmlrpc', 'system.whoami',
                        headers=bearer(token))
        assert r.status == 401 and r.result is None, r
        rv, lines = selftest(d.env, d.base_url)
    finally:
        d.stop()
    assert rv == 0, lines
    warned = [ln for ln in lines if ln.startswith('WARN')]
    assert len(warned) == 1, lines
    assert warned[0].startswith(
        "WARN     /prefix/login/rpc, /prefix/login/xmlrpc, "
        "/prefix/login/jsonrpc: the front end asks for a login on this "
        "token path (HTTP 401): token clients cannot pass a single sign-on"
        " or a password check. Fix: let token_paths through to Trac: "
        "Apache: "), lines

