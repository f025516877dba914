"""Traefik with its ForwardAuth middleware -> gunicorn (traefik.yml,
traefik-dynamic.yml) against the real servers, with the forward-auth
service of tests/forwardauth.py standing in for Authelia or
oauth2-proxy (its session cookie first, then Basic credentials).

ForwardAuth copies the headers authResponseHeaders lists from the
authenticator's answer (removing those the answer lacks) and passes
every other header of the client untouched: the sample lists each
identity header Trac reads, and clears them on the routes that ask
nobody. The variants that forget one of those are shown to let a
client name a user or its groups."""

import xmlrpc.client

import pytest

from conftest import logged_in_as
from deploy import PASSWORD
from e2e import (ATTACKER, TOKEN_OPTIONS, basic, check_deployment,
                 check_selftest_clean, check_selftest_clean_logged_in,
                 forged_basic, hostile_headers, selftest,
                 the_critical_finding, the_warning)
from forwardauth import TRAC_OPTIONS, ForwardAuth, User
from frontends import (TRAEFIK_KEEPS_THE_CLIENT_HEADER,
                       TRAEFIK_TOKEN_ROUTER_DROPS_AUTHORIZATION,
                       TRAEFIK_WITH_ONLY_THE_USER_IN_THE_ANSWER,
                       TRAEFIK_WITHOUT_THE_USER_IN_THE_ANSWER, Assertions,
                       TracBehind, Traefik, check_assertions, check_logout,
                       module_site, running)
from process import http

pytestmark = pytest.mark.servers

USERS = [User('alice', PASSWORD, 'Alice Liddell', 'alice@example.com',
              ('developers',)),
         User('bob', PASSWORD)]


class Site(TracBehind):
    """Trac, gunicorn and the authenticator; Traefik before them while
    a `with site.traefik()` block runs."""

    def __init__(self, workdir, plugin_site):
        TracBehind.__init__(self, workdir, plugin_site,
                            options=TRAC_OPTIONS + TOKEN_OPTIONS)
        self.env.admin('permission add developers WIKI_ADMIN')
        self.env.admin('permission add %s TRAC_ADMIN' % ATTACKER)
        self.assertions = Assertions(workdir)
        try:
            self.auth = ForwardAuth(USERS)
        except Exception:
            self.gunicorn.stop()
            raise

    def traefik(self, change=None):
        """The samples, the routes changed by `change`."""
        dynamic = self.render('traefik-dynamic.yml', change,
                              AUTH_URL=self.auth.url + '/verify',
                              BACKEND_PORT=self.backend)
        static = self.render('traefik.yml', PORT=self.port,
                             DYNAMIC=dynamic)
        return running(Traefik(self.dir, static, self.port,
                               '/prefix/chrome/common/css/trac.css'))

    def session(self, user='bob'):
        """The Cookie header of `user`'s session at the authenticator."""
        return ('Cookie', '%s=%s' % self.auth.login(user, PASSWORD))

    def groups_of(self, user):
        return [action for action, in self.env.db(
            "SELECT action FROM permission WHERE username=%s", (user,))]

    def stop(self):
        TracBehind.stop(self)
        self.auth.stop()


site = module_site(Site)


def login(site, headers):
    """/prefix/login through Traefik: the user the trac_auth cookie Trac
    set names (on the page it opens), or the HTTP status."""
    r = http(site.port, '/prefix/login', headers)
    cookie = [c for c in r.cookies() if c.startswith('trac_auth=')]
    if r.status != 302 or not cookie:
        return r.status
    page = http(site.port, '/prefix/wiki/WikiStart',
                [('Cookie', cookie[0].split(';')[0])])
    return logged_in_as(page)


FORGED_IDENTITIES = ([('Remote-User', ATTACKER)],
                     [('Remote_User', ATTACKER)],
                     [('remote-user', ATTACKER), ('REMOTE-USER', ATTACKER)],
                     forged_basic(ATTACKER),
                     [('Remote-Groups', 'developers'),
                      ('Remote-Email', 'mallory@example.com'),
                      ('Remote-Name', 'Mallory')])


def test_the_sample(site):
    """Password and session logins with the answer's profile and groups;
    a client's own identity headers, beside a session or not, name
    nobody and change nobody's groups; logout; the self-test."""
    with site.traefik():
        cookie = check_deployment(site.port, '/prefix', site.base_url,
                                  basic('alice'), rpc_login=False)
        assert dict(site.env.db(
            "SELECT name, value FROM session_attribute WHERE sid='alice' "
            "AND name IN ('email', 'name')")) == {
            'email': 'alice@example.com', 'name': 'Alice Liddell'}
        assert site.groups_of('alice') == ['developers']
        check_logout(site.port, '/prefix', site.base_url, cookie)
        r = http(site.port, '/prefix/login')
        assert r.status == 401
        assert r.header('WWW-Authenticate') == 'Basic realm="forwardauth"'
        bob = site.session()
        assert login(site, [bob]) == 'bob'
        for forged in FORGED_IDENTITIES:
            assert login(site, [bob] + forged) == 'bob', forged
            r = http(site.port, '/prefix/wiki/WikiStart', forged)
            assert r.status == 200 and logged_in_as(r) is None, forged
        assert site.groups_of('bob') == []
        assert site.env.db("SELECT value FROM session_attribute WHERE "
                           "sid='bob' AND name='email'") == []
        # The authenticator was asked with the session cookie and the
        # credentials alone, besides Traefik's own X-Forwarded headers.
        for asked in site.auth.asked:
            names = {n.lower() for n, v in asked}
            assert names - {'cookie', 'authorization', 'host',
                            'user-agent', 'accept-encoding'} <= \
                {n for n in names if n.startswith('x-forwarded-')}, asked
        assert any(('X-Forwarded-Uri', '/prefix/login') in asked
                   for asked in site.auth.asked)
        lines = check_selftest_clean(site.env, site.base_url)
        assert lines[0].endswith('(Server: gunicorn; front end: Traefik)'), \
            lines
        check_selftest_clean_logged_in(site.env, site.base_url)
    assert ATTACKER not in site.logins()


def test_answers_arrive_whole(site):
    """Trac sends its pages and an RPC handler's answers without a
    Content-Length, so gunicorn chunks them, and Traefik cut about one
    chunked answer in sixty short (Traefik's issue 11767; the client
    saw the body without the chunk that ends it). The sample's
    buffering middleware has Traefik read each answer whole first: a
    few hundred calls, every answer complete."""
    call = xmlrpc.client.dumps((), 'system.whoami').encode('utf-8')
    assert http(site.backend, '/prefix/wiki/WikiStart').header(
        'Transfer-Encoding') == 'chunked', \
        "gunicorn sends a length itself now: this test shows nothing"
    with site.traefik():
        for i in range(40):
            for headers in hostile_headers():
                r = http(site.port, '/prefix/login/xmlrpc',
                         headers + [('Content-Type', 'text/xml')],
                         method='POST', body=call)
                assert r.status == 200, r.status
                assert xmlrpc.client.loads(r.body)[0] == ('anonymous',)


def test_identities_of_any_size(site):
    """Rule 16: 12 KB and 16 KiB assertions pass Traefik and gunicorn."""
    with site.assertions.believed_by(site.env), site.traefik():
        check_assertions(site.port, '/prefix/wiki/WikiStart',
                         site.assertions)


def test_without_the_user_in_the_answer_a_session_names_anyone(site):
    """authResponseHeaders without Remote-User: the authenticator says
    yes to bob's session, and the Remote-User bob sent himself reaches
    Trac."""
    try:
        with site.traefik(TRAEFIK_WITHOUT_THE_USER_IN_THE_ANSWER):
            assert login(site, [site.session(),
                                ('Remote-User', ATTACKER)]) == ATTACKER
            assert login(site, [('Remote-User', ATTACKER)]) == 401
    finally:
        site.forget(ATTACKER)


def test_with_only_the_user_in_the_answer_a_user_names_their_groups(site):
    """authResponseHeaders with Remote-User alone: bob logs in as bob,
    in the group he names himself."""
    try:
        with site.traefik(TRAEFIK_WITH_ONLY_THE_USER_IN_THE_ANSWER):
            assert login(site, [site.session(),
                                ('Remote-Groups', 'developers')]) == 'bob'
            assert site.groups_of('bob') == ['developers']
    finally:
        site.env.admin('permission remove bob developers')
        site.forget('bob')


def test_a_route_that_keeps_the_client_header(site):
    """The router of the other pages without trac-anonymous: a client's
    Remote-User is the user there."""
    try:
        with site.traefik(TRAEFIK_KEEPS_THE_CLIENT_HEADER):
            r = http(site.port, '/prefix/wiki/WikiStart',
                     [('Remote-User', ATTACKER)])
            assert logged_in_as(r) == ATTACKER
    finally:
        site.forget(ATTACKER)


# What the self-test says of the variants: Traefik recognised (it adds
# X-Real-Ip beside X-Forwarded-Server, which Apache's mod_proxy sets
# alone), and the fix in its own configuration's words.

IDENTITY_FIX = "Fix: Traefik: list Remote-User in the ForwardAuth " \
    "middleware's authResponseHeaders (a header it does not list passes " \
    "from the client untouched), and give the routers that ask no " \
    "authenticator a headers middleware with `customRequestHeaders: " \
    "{Remote-User: \"\"}`"
PROFILE_FIX = "Fix: Traefik: list Remote-Name, Remote-Email, " \
    "Remote-Groups in ForwardAuth's authResponseHeaders (a header it does " \
    "not list passes from the client untouched), and on the routers that " \
    "ask no authenticator a headers middleware with `Remote-Name: \"\"`, " \
    "`Remote-Email: \"\"`, `Remote-Groups: \"\"` in customRequestHeaders"


def selftest_with_a_session(site, tmp_path):
    """The self-test with bob's session at the authenticator in
    --cookie-file: the only way it reaches /login's route."""
    jar = tmp_path / 'jar'
    jar.write_text(site.session()[1])
    rv, lines = selftest(site.env, site.base_url, '--cookie-file=%s' % jar)
    assert lines[0].endswith('(Server: gunicorn; front end: Traefik)'), lines
    assert not [ln for ln in lines if '`RequestHeader' in ln], lines
    return rv, lines


def test_the_self_test_without_the_user_in_the_answer(site, tmp_path):
    logins = site.logins()
    with site.traefik(TRAEFIK_WITHOUT_THE_USER_IN_THE_ANSWER):
        rv, lines = selftest_with_a_session(site, tmp_path)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith("CRITICAL /prefix/login: a client's "
                               "Remote-User header is accepted as the user "
                               "name"), lines
    assert IDENTITY_FIX in critical, critical
    assert site.logins() == logins


def test_the_self_test_with_only_the_user_in_the_answer(site, tmp_path):
    with site.traefik(TRAEFIK_WITH_ONLY_THE_USER_IN_THE_ANSWER):
        rv, lines = selftest_with_a_session(site, tmp_path)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith("CRITICAL /prefix/login: a client's "
                               "Remote-Name, Remote-Email, Remote-Groups "
                               "reaches Trac: a user logged in on this path "
                               "could put themself in [remoteuser] "
                               "sync_groups"), lines
    assert PROFILE_FIX in critical, critical
    assert site.groups_of('bob') == []


def test_the_self_test_of_a_route_that_keeps_the_client_header(site):
    """Without a session: the router of the other pages passes the
    client's identity headers, name and profile, on every page."""
    with site.traefik(TRAEFIK_KEEPS_THE_CLIENT_HEADER):
        rv, lines = selftest(site.env, site.base_url)
    assert rv == 1, lines
    assert lines[0].endswith('(Server: gunicorn; front end: Traefik)'), lines
    critical = [ln for ln in lines if ln.startswith('CRITICAL')]
    assert len(critical) == 2, lines
    assert all(ln.startswith('CRITICAL /prefix/, ') for ln in critical)
    assert [ln for ln in critical if "a client's Remote-User header is "
            "accepted as the user name" in ln and IDENTITY_FIX in ln], lines
    assert [ln for ln in critical if "a client's Remote-Name, Remote-Email, "
            "Remote-Groups reaches Trac" in ln and PROFILE_FIX in ln], lines


def test_the_self_test_of_a_token_router_that_drops_authorization(site):
    """The token paths' router with the site's middleware, which clears
    Authorization: no token reaches Trac on any of them, and the
    self-test says what to change in Traefik's words."""
    with site.traefik(TRAEFIK_TOKEN_ROUTER_DROPS_AUTHORIZATION):
        rv, lines = selftest(site.env, site.base_url)
    assert lines[0].endswith('(Server: gunicorn; front end: Traefik)'), lines
    warning = the_warning(rv, lines)
    assert warning.startswith(
        "WARN     /prefix/login/rpc, /prefix/login/xmlrpc, "
        "/prefix/login/jsonrpc, /prefix/ticketrpc: the front end does not "
        "pass the "
        "client's Authorization header on to Trac on this token path: no "
        "token ever arrives. Fix: Traefik: no `Authorization: \"\"` in the "
        "customRequestHeaders of the token paths' router (as the "
        "trac-token-path middleware of traefik-dynamic.yml)"), lines
