"""HAProxy -> gunicorn (haproxy-gunicorn.cfg) against the real servers:
http_auth against a userlist on /login, the client's user header
deleted, then set from the checked name; and the variants an
administrator would plausibly write instead."""

import subprocess

import pytest

from conftest import logged_in_as
from deploy import PASSWORD
from e2e import (ATTACKER, basic, check_deployment, check_selftest_clean,
                 check_selftest_clean_logged_in, forged_basic, selftest,
                 the_critical_finding, the_warning)
from frontends import (HAPROXY_ADDS_THE_HEADER, HAPROXY_DROPS_AUTHORIZATION,
                       HAPROXY_NAMES_WHOEVER_THE_CLIENT_SAYS, Assertions,
                       HAProxy, TracBehind, check_assertions, check_logout,
                       module_site, running, tokens_on)
from process import http, require

pytestmark = pytest.mark.servers

SAMPLE = 'haproxy-gunicorn.cfg'


class Site(TracBehind):
    def __init__(self, workdir, plugin_site):
        TracBehind.__init__(self, workdir, plugin_site)
        self.env.admin('permission add %s TRAC_ADMIN' % ATTACKER)
        require('openssl')
        self.password_hash = subprocess.run(
            ['openssl', 'passwd', '-6', '-stdin'], input=PASSWORD,
            check=True, capture_output=True, text=True).stdout.strip()
        self.assertions = Assertions(workdir)

    def haproxy(self, change=None):
        config = self.render(SAMPLE, change, PORT=self.port,
                             BACKEND_PORT=self.backend, USER='alice',
                             PASSWORD_HASH=self.password_hash)
        return running(HAProxy(self.dir, config, self.port))


site = module_site(Site)


def test_the_sample(site):
    """A real login, hostile clients, /logout, the sub-path, and the
    self-test, anonymous and logged in."""
    with site.haproxy():
        cookie = check_deployment(site.port, '/prefix', site.base_url,
                                  basic('alice'))
        check_logout(site.port, '/prefix', site.base_url, cookie)
        r = http(site.port, '/prefix/login')
        assert r.status == 401
        assert r.header('WWW-Authenticate') == 'Basic realm="Trac"'
        r = http(site.port, '/prefix/login', forged_basic('alice'))
        assert r.status == 401
        lines = check_selftest_clean(site.env, site.base_url)
        assert lines[0].endswith('(Server: gunicorn; front end: HAProxy)'), \
            lines
        check_selftest_clean_logged_in(site.env, site.base_url)
    assert ATTACKER not in site.logins()


def test_identities_of_any_size(site):
    """Rule 16: 12 KB and 16 KiB assertions pass HAProxy (its buffer
    raised) and gunicorn."""
    with site.assertions.believed_by(site.env), site.haproxy():
        check_assertions(site.port, '/prefix/wiki/WikiStart',
                         site.assertions)


def test_add_header_without_deleting_the_clients(site):
    """add-header instead of set-header, and no del-header: on every
    page but /login, the client's own Remote-User is the user."""
    try:
        with site.haproxy(HAPROXY_ADDS_THE_HEADER):
            r = http(site.port, '/prefix/wiki/WikiStart',
                     [('Remote-User', ATTACKER)])
            assert logged_in_as(r) == ATTACKER          # the hole
            # On /login, Trac gets the client's copy and HAProxy's,
            # joined by a comma: a name the plugin refuses.
            r = http(site.port, '/prefix/login',
                     basic('alice') + [('Remote-User', ATTACKER)])
            assert not [c for c in r.cookies()
                        if c.startswith('trac_auth=')], r.headers
    finally:
        site.forget(ATTACKER)


def test_the_name_set_where_no_password_is_checked(site):
    """set-header from %[http_auth_user] on every page: HAProxy names
    whoever the client's Authorization header says, password unchecked."""
    try:
        with site.haproxy(HAPROXY_NAMES_WHOEVER_THE_CLIENT_SAYS):
            r = http(site.port, '/prefix/wiki/WikiStart',
                     forged_basic(ATTACKER))
            assert logged_in_as(r) == ATTACKER          # the hole
            # Without credentials the header is empty: nobody.
            assert logged_in_as(http(site.port, '/prefix/wiki/WikiStart')) \
                is None
    finally:
        site.forget(ATTACKER)


# What the self-test says of the variants: HAProxy recognised (no
# header of its own, but every header name of its answers in lower
# case), and the fix in haproxy.cfg's words.

def haproxy_selftest(site, change):
    logins = site.logins()
    with site.haproxy(change):
        rv, lines = selftest(site.env, site.base_url)
    assert lines[0].endswith('(Server: gunicorn; front end: HAProxy)'), lines
    critical = the_critical_finding(rv, lines)
    assert critical.startswith('CRITICAL /prefix/, '), lines
    assert site.logins() == logins
    return critical


def test_the_self_test_of_add_header(site):
    critical = haproxy_selftest(site, HAPROXY_ADDS_THE_HEADER)
    assert ": a client's Remote-User header is accepted as the user name " \
        "(sent as Remote-User; remote-user; REMOTE-USER). Fix: HAProxy: " \
        "`http-request del-header Remote-User` in the frontend, before any " \
        "rule that sets it, then `http-request set-header Remote-User " \
        "%[http_auth_user] if login` only where `http-request auth` " \
        "checked the password (set-header: add-header keeps the client's " \
        "copy" in critical, critical


def test_the_self_test_of_the_name_set_on_every_page(site):
    critical = haproxy_selftest(site, HAPROXY_NAMES_WHOEVER_THE_CLIENT_SAYS)
    assert ": the user name of a client's Basic credentials is accepted " \
        "although their password is wrong: the front end passes on a name " \
        "it did not check. Fix: HAProxy: %[http_auth_user] is the name in " \
        "any client's Authorization header, checked or not: `http-request " \
        "set-header Remote-User %[http_auth_user] if login` only with the " \
        "acl of the `http-request auth` rule that checked it" in critical, \
        critical


def test_the_self_test_of_authorization_deleted_everywhere(site):
    """`http-request del-header Authorization` without `unless
    token_path`: no token reaches Trac, and the self-test says so in
    HAProxy's words."""
    with tokens_on(site.env), site.haproxy(HAPROXY_DROPS_AUTHORIZATION):
        rv, lines = selftest(site.env, site.base_url)
    assert lines[0].endswith('(Server: gunicorn; front end: HAProxy)'), \
        lines
    assert the_warning(rv, lines) == (
        "WARN     /prefix/ticketrpc: the front end does not pass the "
        "client's Authorization header on to Trac on this token path: no "
        "token ever arrives. Fix: HAProxy: `http-request del-header "
        "Authorization unless token_path`, with an acl for the token paths "
        "(`acl token_path path <prefix>/ticketrpc`; as in "
        "haproxy-gunicorn.cfg), never an unconditional del-header of it"), \
        lines
