"""OpenID Connect, way (b) of conf-samples/apache-mod-auth-openidc.conf:
the plugin verifies the provider's signed ID token itself (`jwt_header`)
and takes the user from its claims; REMOTE_USER, which mod_auth_openidc
still sets, is not read.

The token reaches Trac as the server variable OIDC_id_token
(`jwt_header = env:OIDC_id_token`), or, with the sample's `bearer` block
in force, as `Authorization: Bearer` (`WSGIPassAuthorization On`). The
keys come from the provider's JWKS on loopback; its tokens name no `kid`
and its set holds one key.
"""

import os
import re

import pytest

from browser import Client
from conftest import logged_in_as
from e2e import check_sso_refusal
from oidc import Provider, deploy
from process import http

#: REMOTE_USER says mallory (preferred_username); the token's email says
#: erin, and only the token counts.
ERIN = {'preferred_username': 'mallory@example.com',
        'email': 'erin@example.com', 'name': 'Erin',
        'groups': ['developers', 'outsiders']}

#: subject -> (email, what the log must say)
REFUSED = {
    'foreign-erin': ('erin@evil.example', 'local_domains'),
    'foreign-admin': ('admin@evil.example', 'local_domains'),
    'anonymous': ('anonymous@example.com', 'Trac reserves'),
}


def options(provider, header):
    """trac.ini for (b), as the sample says."""
    return [('remoteuser', 'jwt_header', header),
            ('remoteuser', 'jwt_keys', provider.jwks_url),
            ('remoteuser', 'jwt_issuer', provider.issuer),
            ('remoteuser', 'jwt_audience', 'trac'),
            ('remoteuser', 'jwt_claim', 'email'),
            ('remoteuser', 'jwt_groups_claim', 'groups'),
            ('remoteuser', 'sync_groups', 'developers'),
            ('remoteuser', 'local_domains', 'example.com'),
            # The test's browser is on loopback; a real one is no proxy.
            ('remoteuser', 'trusted_proxies', '192.0.2.1'),
            ('remoteuser', 'log_interval', '0')]


def bearer(text):
    """The sample with its `bearer` block in force (uncommented)."""
    block = re.search(r'# BEGIN bearer\n(.*?)# END bearer', text, re.S)
    assert block, 'no bearer block in the sample'
    lines = [re.sub(r'^(\s*)#   ', r'\1', line)
             for line in block.group(1).splitlines(True)]
    assert len([line for line in lines
                if line.strip() and not line.lstrip().startswith('#')]) == 2
    return text.replace(block.group(1), ''.join(lines))


@pytest.fixture(scope='module')
def provider(module_tmp):
    users = {'erin': ERIN}
    for sub, (email, _) in REFUSED.items():
        users[sub] = {'preferred_username': 'erin@example.com',
                      'email': email}
    server = Provider(module_tmp, users)
    yield server
    server.stop()


@pytest.fixture(scope='module', params=['env', 'bearer'])
def site(request, module_tmp, staged_site, provider):
    if request.param == 'env':
        d = deploy(os.path.join(module_tmp, 'env'), staged_site, provider,
                   options(provider, 'env:OIDC_id_token'))
    else:
        d = deploy(os.path.join(module_tmp, 'bearer'), staged_site, provider,
                   options(provider, 'Authorization'), bearer)
    d.env.admin('permission add developers WIKI_ADMIN')
    yield d
    d.stop()


def test_the_signed_id_token_names_the_user(site):
    client = Client()
    page = client.login(site.base_url + '/login', sub='erin')
    assert page.url.startswith(site.base_url)
    assert logged_in_as(page) == 'Erin'
    assert client.cookie('trac_auth')
    assert site.env.db("SELECT name FROM auth_cookie") == [('erin',)]
    assert dict(site.env.db(
        "SELECT name, value FROM session_attribute WHERE sid='erin' "
        "AND authenticated=1")) == {'name': 'Erin',
                                    'email': 'erin@example.com'}
    assert site.env.db("SELECT action FROM permission WHERE "
                       "username='erin'") == [('developers',)]
    assert not site.env.db("SELECT sid FROM session WHERE sid='mallory'")

    client.logout(page)
    assert client.cookie('trac_auth') is None
    assert [u for u in client.hops if u.startswith(
        site.issuer + '/oauth2/end_session')]


@pytest.mark.parametrize('sub', sorted(REFUSED))
def test_verified_but_foreign_names_are_refused(site, sub):
    check_sso_refusal(site, REFUSED[sub][1], sub=sub)


def test_a_client_cannot_hand_over_a_token(site, provider):
    """A client's own token, in Authorization or under the variable's
    name as a header, never reaches the plugin: mod_wsgi drops
    Authorization outside /login, the sample replaces it on /login, and
    headers are never server variables. Nor does it log anyone out."""
    forged = 'eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFkbWluQGV4YW1wbGUuY29tIn0.'
    hostile = [('Authorization', 'Bearer ' + forged),
               ('OIDC-id-token', forged), ('OIDC_id_token', forged),
               ('Remote-User', 'admin')]
    for path in ('/prefix/wiki/WikiStart', '/prefix/'):
        r = http(site.port, path, hostile)
        assert r.status == 200 and logged_in_as(r) is None
    r = http(site.port, '/prefix/login', hostile + [('Accept', 'text/html')])
    assert r.status == 302
    assert r.header('Location').startswith(provider.issuer)
    erin = Client(hostile)
    page = erin.login(site.base_url + '/login', sub='erin')
    assert logged_in_as(page) == 'Erin'
    assert logged_in_as(erin.go(site.base_url + '/wiki/WikiStart')) == 'Erin'
    assert not site.env.db("SELECT sid FROM session WHERE sid='admin'")
