"""Caddy -> gunicorn (caddy-gunicorn.caddyfile) against the real servers:
basic_auth on /login, the user header set there and removed everywhere
else; and the variant that forgets to remove it."""

import os
import subprocess

import pytest

from conftest import logged_in_as
from deploy import PASSWORD
from e2e import (ATTACKER, basic, check_deployment, check_selftest_clean,
                 check_selftest_clean_logged_in, forged_basic, selftest,
                 the_critical_finding, the_warning)
from frontends import (CADDY_KEEPS_THE_CLIENT_HEADER,
                       CADDY_TOKEN_ROUTE_DROPS_AUTHORIZATION, Assertions,
                       Caddy, TracBehind, check_assertions, check_logout,
                       module_site, running, tokens_on)
from process import http

pytestmark = pytest.mark.servers

SAMPLE = 'caddy-gunicorn.caddyfile'


class Site(TracBehind):
    def __init__(self, workdir, plugin_site):
        TracBehind.__init__(self, workdir, plugin_site)
        self.env.admin('permission add %s TRAC_ADMIN' % ATTACKER)
        self.users = os.path.join(workdir, 'caddy-users')
        hashed = subprocess.run(['htpasswd', '-nbB', 'alice', PASSWORD],
                                check=True, capture_output=True, text=True)
        with open(self.users, 'w') as f:
            f.write(hashed.stdout.strip().replace(':', ' ', 1) + '\n')
        self.assertions = Assertions(workdir)

    def caddy(self, change=None):
        """The sample, changed by `change`, in front of gunicorn while
        the `with` block runs."""
        caddyfile = self.render(SAMPLE, change,
                                SITE_ADDRESS='http://:%d' % self.port,
                                BACKEND_PORT=self.backend,
                                HTDOCS=self.htdocs, USERS=self.users)
        return running(Caddy(self.dir, caddyfile, self.port))


site = module_site(Site)


def test_the_sample(site):
    """A real login, hostile clients, /logout, the sub-path, and the
    self-test, anonymous and logged in."""
    with site.caddy():
        cookie = check_deployment(site.port, '/prefix', site.base_url,
                                  basic('alice'))
        check_logout(site.port, '/prefix', site.base_url, cookie)
        r = http(site.port, '/prefix/login')
        assert r.status == 401
        assert r.header('WWW-Authenticate').startswith('Basic')
        r = http(site.port, '/prefix')
        assert r.status == 301 and r.header('Location') == '/prefix/'
        # The placeholder of basic_auth's name is never a name: no page
        # but /login sets the header.
        for path in ('/prefix/', '/prefix/wiki/WikiStart'):
            assert logged_in_as(http(site.port, path)) is None
        lines = check_selftest_clean(site.env, site.base_url)
        assert lines[0].endswith('(Server: gunicorn; front end: Caddy)'), \
            lines
        check_selftest_clean_logged_in(site.env, site.base_url)
    assert ATTACKER not in site.logins()


def test_identities_of_any_size(site):
    """Rule 16: 12 KB and 16 KiB assertions pass Caddy and gunicorn."""
    with site.assertions.believed_by(site.env), site.caddy():
        check_assertions(site.port, '/prefix/wiki/WikiStart',
                         site.assertions)


def test_a_caddyfile_that_keeps_the_client_header(site):
    """Without `header_up -Remote-User` on the site's route, a client's
    Remote-User is the user on every page but /login; Basic credentials
    with a wrong password still name nobody (basic_auth ran on /login
    only, and {http.auth.user.id} is used only there)."""
    try:
        with site.caddy(CADDY_KEEPS_THE_CLIENT_HEADER):
            r = http(site.port, '/prefix/wiki/WikiStart',
                     [('Remote-User', ATTACKER)])
            assert logged_in_as(r) == ATTACKER      # the hole
            r = http(site.port, '/prefix/wiki/WikiStart',
                     forged_basic(ATTACKER))
            assert logged_in_as(r) is None
    finally:
        site.forget(ATTACKER)


def test_the_self_test_of_a_caddyfile_that_keeps_the_client_header(site):
    """The self-test recognises Caddy (its Server header on the answers
    it makes, its Via on those it passes on) and says what to change in
    the Caddyfile."""
    logins = site.logins()
    with site.caddy(CADDY_KEEPS_THE_CLIENT_HEADER):
        rv, lines = selftest(site.env, site.base_url)
    assert lines[0].endswith('(Server: gunicorn; front end: Caddy)'), lines
    critical = the_critical_finding(rv, lines)
    assert critical.startswith("CRITICAL /prefix/, "), lines
    assert ": a client's Remote-User header is accepted as the user name " \
        "(sent as Remote-User; remote-user; REMOTE-USER). Fix: Caddy: " \
        "`header_up -Remote-User` in every reverse_proxy that reaches " \
        "Trac" in critical, critical
    assert "`header_up Remote-User {http.auth.user.id}` only in the route " \
        "where basic_auth checked the password" in critical
    assert site.logins() == logins


def test_the_self_test_of_a_token_route_that_drops_authorization(site):
    """The token route written as the site's (`header_up -Authorization`
    among its lines): no token reaches Trac, and the self-test says what
    to take out of the Caddyfile."""
    with tokens_on(site.env), \
            site.caddy(CADDY_TOKEN_ROUTE_DROPS_AUTHORIZATION):
        rv, lines = selftest(site.env, site.base_url)
    assert lines[0].endswith('(Server: gunicorn; front end: Caddy)'), lines
    assert the_warning(rv, lines) == (
        "WARN     /prefix/ticketrpc: the front end does not pass the "
        "client's Authorization header on to Trac on this token path: no "
        "token ever arrives. Fix: Caddy: no `header_up -Authorization` in "
        "the reverse_proxy of the token paths' route (as the "
        "trac_token_path snippet of caddy-gunicorn.caddyfile)"), lines
