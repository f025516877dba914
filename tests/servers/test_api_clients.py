"""API clients with personal access tokens through the samples, for
real: nginx -> gunicorn (nginx-gunicorn.conf) and Apache mod_wsgi
(apache-mod-wsgi.conf), trac-ticketrpc's JSON-RPC at /ticketrpc and the
tests' XML-RPC handler below /login. (Through mod_auth_openidc, the
single sign-on case: test_oidc.py.)

Both samples check passwords on /login and the RPC paths below it, and
let /ticketrpc through to Trac for tokens: trac.ini says
`token_paths = /ticketrpc`, as their comments do.
"""

import os
import time

import pytest

from apache import Deployment
from deploy import edit, htpasswd
from e2e import (TICKETRPC_DENIED, basic, bearer, check_api_clients,
                 check_selftest_clean, check_token_client,
                 check_token_refused, jsonrpc_call, make_token, new_ticket,
                 no_login_cookie, selftest, xmlrpc_call)
from process import http
from remoteuserauth.selftest import basic_credentials
from test_nginx_gunicorn import Backend

TOKENS = [('remoteuser', 'tokens', 'true'),
          ('remoteuser', 'token_paths', '/ticketrpc')]


@pytest.fixture(scope='module')
def nginx_site(module_tmp, plugin_site):
    """gunicorn from the samples with tokens on; each test puts
    nginx-gunicorn.conf, or a copy broken by `edit`, in front of it."""
    site = Backend(module_tmp, plugin_site)
    htpasswd(site.users, ['alice', 'bob'])
    site.env.configure('remoteuser', **dict((n, v) for s, n, v in TOKENS))
    site.env.admin('upgrade')
    yield site
    site.gunicorn.stop()


@pytest.fixture(scope='module')
def apache_site(module_tmp, staged_site):
    workdir = os.path.join(module_tmp, 'apache')
    os.makedirs(workdir)
    users = htpasswd(os.path.join(workdir, 'htpasswd'), ['alice'])
    d = Deployment(workdir, staged_site, 'apache-mod-wsgi.conf',
                   [('remoteuser', 'header', '')] + TOKENS, HTPASSWD=users)
    yield d
    d.stop()


def tickets_of(env, reporter):
    return env.db("SELECT count(*) FROM ticket WHERE reporter=%s",
                  (reporter,))[0][0]


def test_a_token_makes_tickets_through_nginx(nginx_site):
    site = nginx_site
    token, _ = make_token(site.env, 'alice', '--name=ci')
    with site.nginx(lambda text: text):
        check_token_client(site.port, '/prefix', token, 'alice')
        # A forged Remote-User beside it changes nothing: nginx drops it.
        r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                         new_ticket(), bearer(token) +
                         [('Remote-User', 'admin')])
        assert r.result['reporter'] == 'alice', r
        # Below /login, nginx checks passwords: a token is none.
        r = xmlrpc_call(site.port, '/prefix/login/xmlrpc', 'system.whoami',
                        headers=[('Authorization',
                                  basic_credentials('alice', token))])
        assert r.status == 401 and 'Basic' in r.header('WWW-Authenticate')
        check_api_clients(site.port, '/prefix', basic())
        check_selftest_clean(site.env, site.base_url)
    assert tickets_of(site.env, 'admin') == 0


def test_refused_tokens_through_nginx(nginx_site):
    """Removed, expired, another user's, malformed: 401, Bearer, no
    cookie, no ticket."""
    from remoteuserauth.tokens import PersonalTokens
    site = nginx_site
    removed, removed_id = make_token(site.env, 'alice', '--name=gone')
    site.env.admin('remoteuser token remove', removed_id)
    expired, _ = PersonalTokens(site.env.env()).add(
        'alice', 'expired', 1, now=time.time() - 3 * 86400)
    live, _ = make_token(site.env, 'alice')
    changed = live[:-4] + ('AAAA' if live[-4:] != 'AAAA' else 'BBBB')
    before = tickets_of(site.env, 'alice')
    refused = [bearer(removed), bearer(expired), bearer(changed),
               [('Authorization', basic_credentials('bob', live))],
               [('Authorization', basic_credentials('alice', removed))]]
    for malformed in ('tracpat_', 'tracpat_short', 'tracpat_' + '!' * 43,
                      'tracpat_' + live[8:] + 'x',
                      'tracpat_' + '\u00e9' * 43):
        refused.append(bearer(malformed))
    with site.nginx(lambda text: text):
        for credentials in refused:
            r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                             new_ticket('refused'), credentials)
            check_token_refused(r)
        # Over the plugin's limit for the header, a token is not looked
        # at: the call is anonymous (not refused), and no login either.
        r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                         new_ticket('refused'),
                         bearer('tracpat_' + 'A' * 4000))
        assert r.fault[0] == TICKETRPC_DENIED and no_login_cookie(r), r
        # The live token still works.
        check_token_client(site.port, '/prefix', live, 'alice')
    assert tickets_of(site.env, 'alice') == before + 2


def test_a_browser_cookie_is_no_api_login(nginx_site):
    """alice's trac_auth cookie on the token path logs nobody in; beside
    bob's token, the call is bob's."""
    site = nginx_site
    token, _ = make_token(site.env, 'bob')
    with site.nginx(lambda text: text):
        r = http(site.port, '/prefix/login', basic('alice'))
        cookie = [c for c in r.cookies() if c.startswith('trac_auth=')][0]
        cookie = ('Cookie', cookie.split(';')[0])
        r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                         new_ticket('by cookie'), [cookie])
        assert r.fault is not None and r.fault[0] == TICKETRPC_DENIED, r
        r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                         new_ticket('by token'), [cookie] + bearer(token))
        assert r.result['reporter'] == 'bob', r
        assert no_login_cookie(r)


def test_a_token_location_that_drops_authorization(nginx_site):
    """The token path without the client's Authorization: the token
    client is anonymous (the check fails), and the self-test says why."""
    site = nginx_site
    token, _ = make_token(site.env, 'alice')
    with site.nginx(edit(
            '            set $trac_authorization $http_authorization;',
            '            set $trac_authorization "";')):
        with pytest.raises(AssertionError):
            check_token_client(site.port, '/prefix', token, 'alice')
        rv, lines = selftest(site.env, site.base_url)
    assert rv == 0, lines
    warned = [ln for ln in lines if ln.startswith('WARN')]
    assert len(warned) == 1 and warned[0].startswith(
        "WARN     /prefix/ticketrpc: the front end does not pass the "
        "client's Authorization header on to Trac"), lines


def test_a_token_makes_tickets_through_apache(apache_site):
    d = apache_site
    token, token_id = make_token(d.env, 'alice')
    check_token_client(d.port, d.prefix, token, 'alice')
    r = jsonrpc_call(d.port, d.prefix + '/ticketrpc', 'ticket.create',
                     new_ticket(), bearer('tracpat_' + 'A' * 43))
    check_token_refused(r)
    check_api_clients(d.port, d.prefix, basic())
    check_selftest_clean(d.env, d.base_url)
    d.env.admin('remoteuser token remove', token_id)
    r = jsonrpc_call(d.port, d.prefix + '/ticketrpc', 'ticket.create',
                     new_ticket(), bearer(token))
    check_token_refused(r)


def test_mod_wsgi_without_wsgipassauthorization(module_tmp, staged_site,
                                                apache_site):
    """The sample's token path without `WSGIPassAuthorization On`:
    mod_wsgi keeps the header from Trac; the token client is anonymous,
    and the self-test says what to add."""
    workdir = os.path.join(module_tmp, 'apache-broken')
    os.makedirs(workdir)
    users = htpasswd(os.path.join(workdir, 'htpasswd'), ['alice'])
    d = Deployment(workdir, staged_site, 'apache-mod-wsgi.conf',
                   [('remoteuser', 'header', '')] + TOKENS,
                   edit=edit('        WSGIPassAuthorization On\n', ''),
                   HTPASSWD=users)
    try:
        token, _ = make_token(d.env, 'alice')
        with pytest.raises(AssertionError):
            check_token_client(d.port, d.prefix, token, 'alice')
        rv, lines = selftest(d.env, d.base_url)
    finally:
        d.stop()
    assert rv == 0, lines
    warned = [ln for ln in lines if ln.startswith('WARN')]
    assert len(warned) == 1 and warned[0].startswith(
        "WARN     /prefix/ticketrpc: the front end does not pass the "
        "client's Authorization header on to Trac on this token path"), lines
    assert 'Apache: `WSGIPassAuthorization On` in a <Location> for the ' \
        'token paths' in warned[0]
