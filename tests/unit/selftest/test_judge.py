"""Judging the self-test's exchanges: each kind of broken front end, as
a small model of what it does to the forged headers, through the real
decision and the real probe report."""

import pytest

from remoteuserauth import decision, selftest
from remoteuserauth.core import trust, urls
from remoteuserauth.selftest import CRITICAL, ERROR, OK, WARN
from remoteuserauth.selftest import Config, Exchange
from remoteuserauth.selftest.plan import uwsgi_probe

MARKER = 'ruaprobe-0123abcd'
PUBLIC = 'https://trac.example.com/prefix'
PATHS = ('/', '/login', '/attachment/wiki/WikiStart/')


def config(**values):
    base = dict(header='Remote-User', secret_header='', jwt_header='',
                trust_forwarded=False, base_url_set=True)
    base.update(values)
    return Config(**base)


def strip(path, headers):
    """A front end that sets the identity headers on every location."""
    return [(n, v) for n, v in headers
            if n.lower().replace('_', '-') != 'remote-user']


def passes(path, headers):
    return headers


def environ(headers, peer):
    """What a WSGI server makes of the headers: one key per name, copies
    joined with commas (tracd, gunicorn, mod_wsgi)."""
    env = {'REMOTE_ADDR': peer, 'PATH_INFO': '/', 'SCRIPT_NAME': '/prefix',
           'HTTP_HOST': 'trac.example.com', 'wsgi.url_scheme': 'https'}
    for name, value in headers:
        key = trust.environ_key(name)
        env[key] = env[key] + ',' + value if key in env else value
    return env


def run(front=strip, cfg=None, paths=PATHS, peer='127.0.0.1', secret='',
        trusted=('127.0.0.1', '::1'), server='nginx/1.22.1', extra=(),
        user=None, session=None, answer=None):
    """Send the plan through `front` (path, headers -> headers, or an
    HTTP status when the front end answers itself) to the real decision;
    the findings. `session`: the Cookie header of the front end's
    session, sent with the probes as `probeclient.Site` sends it;
    `answer`: the headers of every answer (default: Server)."""
    cfg = cfg or config()
    answer = list(answer or [('Server', server)])
    settings = decision.make_settings(cfg.header, trusted,
                                      cfg.secret_header, secret)
    exchanges = []
    for probe in selftest.plan(cfg, MARKER, paths, 'https', PUBLIC,
                               session=bool(session)):
        if not probe.token:
            exchanges.append(Exchange(probe, 401, answer, None, None,
                                      None, None))
            continue
        sent = list(probe.headers)
        if session and probe.session:
            sent.append(('Cookie', session))
        arrived = front(probe.path, sent)
        if isinstance(arrived, int):
            exchanges.append(Exchange(probe, arrived, answer, None, None,
                                      None, None))
            continue
        env = environ(arrived, peer)
        made = decision.decide(env, settings)
        exchanges.append(Exchange(probe, 200, answer,
                                  report(env, cfg, made, secret), None, None,
                                  None))
    return selftest.judge(exchanges + list(extra), cfg, MARKER, PUBLIC,
                          '/prefix', user, bool(session))


def report(env, cfg, made, secret=''):
    """The probe's report, with the address the plugin would use."""
    if cfg.base_url_set:
        public = urls.parse_base_url(PUBLIC)
    elif made.network and cfg.trust_forwarded:
        public = urls.forwarded_url(env, urls.request_url(env))
    else:
        public = urls.request_url(env)
    return selftest.report(env, cfg, made, 'verdict', made.network, secret,
                           urls.url_string(public), '1.0')


def severities(found):
    return [f.severity for f in found]


def test_a_front_end_that_strips_everything():
    found = run()
    assert set(severities(found)) == {OK}
    assert selftest.exit_code(found) == 0
    assert selftest.summary(found) == \
        '0 critical, 0 warnings, 2 ok: no forged name or address got through'
    lines = list(selftest.lines(found))
    assert lines[0] == ('OK       /prefix/, /prefix/login, /prefix/attachment'
                        '/wiki/WikiStart/: no forged header got through (7 '
                        'forged requests)')


def test_a_front_end_that_passes_the_header():
    found = run(passes)
    bad = [f for f in found if f.severity != OK]
    assert [(f.severity, f.text) for f in bad] == [
        (CRITICAL, "a client's Remote-User header is accepted as the user "
                   "name (sent as Remote-User; remote-user; REMOTE-USER)"),
        (CRITICAL, "a client's Remote_User header is accepted as the user "
                   "name (sent as Remote_User)")] * 3
    assert 'proxy_set_header Remote-User $trac_user;' in bad[0].fix
    assert 'set $trac_user $remote_user;' in bad[0].fix
    assert 'underscores_in_headers off;' in bad[1].fix
    assert selftest.exit_code(found) == 1
    merged = selftest.merge(found)
    assert merged[0].where == \
        '/prefix/, /prefix/login, /prefix/attachment/wiki/WikiStart/'
    assert selftest.summary(found).startswith('2 critical, 0 warnings')


def remote_user_everywhere(path, headers):
    """nginx with `proxy_set_header Remote-User $remote_user;` for the
    site and auth_basic on /login only: $remote_user is the name in the
    client's Authorization header wherever no password is checked."""
    import base64
    sent = dict((n.lower(), v) for n, v in headers)
    credentials = sent.get('authorization', '')
    if path == '/login':
        if credentials != 'Basic ' + base64.b64encode(
                b'alice:secret').decode():
            return 401
    kept = [(n, v) for n, v in strip(path, headers)
            if n.lower() != 'authorization']
    if credentials.startswith('Basic '):
        user = base64.b64decode(credentials[6:]).decode().partition(':')[0]
        kept.append(('Remote-User', user))
    return kept


def test_a_front_end_that_passes_an_unchecked_basic_name():
    found = run(remote_user_everywhere)
    bad = [f for f in found if f.severity != OK]
    assert [(f.severity, f.where) for f in bad] == [
        (CRITICAL, '/prefix/'),
        (CRITICAL, '/prefix/attachment/wiki/WikiStart/')]
    assert bad[0].text == (
        "the user name of a client's Basic credentials is accepted although "
        "their password is wrong: the front end passes on a name it did not "
        "check")
    assert '$remote_user is the name in any client' in bad[0].fix
    assert 'set $trac_user $remote_user;' in bad[0].fix
    # Never after auth_request: the answer names the user there.
    assert 'auth_request)' not in bad[0].fix
    assert 'where auth_request decides, take the name from the ' \
        "authenticator's answer instead (`auth_request_set $trac_user " \
        '$upstream_http_remote_user;`)' in bad[0].fix
    # /login checks the password: the forged credentials never got in.
    assert any(f.where == '/prefix/login' and f.severity == OK and
               'asks for a login first' in f.text for f in found)
    # From a peer Trac does not trust, the name arrives but is not used.
    found = run(remote_user_everywhere, peer='192.0.2.8')
    basic = [f for f in found if 'Basic credentials' in f.text]
    assert severities(basic) == [WARN, WARN]
    assert 'reaches Trac but is not used (the peer 192.0.2.8 is not in ' \
        '[remoteuser] trusted_proxies)' in basic[0].text


SESSION = 'authsession=s3ss10n-of-bob'


def auth_request(answer_name):
    """nginx with auth_request on /login, asking an authenticator that
    lets a request in by its session cookie first, then by alice's
    password; `answer_name` (the authenticator's user, the client's
    Authorization) -> the name nginx passes to Trac."""
    import base64

    def front(path, headers):
        sent = dict((n.lower(), v) for n, v in headers)
        credentials = sent.get('authorization', '')
        claimed = base64.b64decode(credentials[6:]).decode().partition(
            ':')[0] if credentials.startswith('Basic ') else ''
        kept = [(n, v) for n, v in strip(path, headers)
                if n.lower() not in ('authorization', 'cookie')]
        if path != '/login':
            return kept
        if sent.get('cookie') == SESSION:
            user = 'bob'
        elif credentials == 'Basic ' + base64.b64encode(
                b'alice:secret').decode():
            user = 'alice'
        else:
            return 401
        return kept + [('Remote-User', answer_name(user, claimed))]
    return front


#: The old advice: `set $trac_user $remote_user;` after auth_request.
remote_user_after_auth_request = auth_request(lambda user, claimed: claimed)
#: nginx-auth-request.conf: `auth_request_set` from the answer.
name_from_the_answer = auth_request(lambda user, claimed: user)


def test_a_front_end_that_passes_the_client_name_after_auth_request():
    """A session holder adds Basic credentials of another name: the
    authenticator says yes (the session), nginx passes $remote_user. Only
    a run with a session sees it; one with --user has no session, and
    the forged credentials alone get a 401."""
    found = run(remote_user_after_auth_request, session=SESSION)
    bad = [f for f in found if f.severity != OK]
    assert [(f.severity, f.where, f.text) for f in bad] == [
        (CRITICAL, '/prefix/login', "with the session of --cookie-file, "
         "the user name of a client's Basic credentials is accepted "
         "although their password is wrong: the front end let the session "
         "in and passed on a name it did not check")]
    assert bad[0].fix.startswith(
        "nginx: after auth_request, take the name from the authenticator's "
        "answer: `auth_request_set $trac_user $upstream_http_remote_user;` "
        "(the header it names the user in) with `proxy_set_header "
        "Remote-User $trac_user;`, never $remote_user")
    assert 'nginx-auth-request.conf' in bad[0].fix
    assert selftest.exit_code(found) == 1
    # Blind without the session: the forged credentials alone are
    # refused (and those of --user never go beside them).
    found = run(remote_user_after_auth_request)
    assert selftest.exit_code(found) == 0
    # The fixed front end, with the session.
    found = run(name_from_the_answer, session=SESSION)
    assert set(severities(found)) == {OK}
    login = [f for f in found if '/prefix/login' in f.where]
    assert login[0].text == 'no forged header got through (8 forged ' \
        'requests)'


def test_a_session_beside_a_name_passed_everywhere():
    """Where the forged name gets through without a session, the finding
    with the session would only repeat it (and its fix)."""
    found = run(remote_user_everywhere, session=SESSION)
    bad = [f for f in found if f.severity == CRITICAL]
    assert [f.where for f in bad] == ['/prefix/',
                                      '/prefix/attachment/wiki/WikiStart/']
    assert all('with the session' not in f.text for f in bad)
    assert all('set $trac_user $remote_user;' in f.fix for f in bad)
    assert 'auth_request_set $trac_user $upstream_http_remote_user;' in \
        bad[0].fix


def test_a_session_the_front_end_refuses():
    def front(path, headers):
        return 401 if path == '/login' else strip(path, headers)
    login = [f for f in run(front, session=SESSION)
             if f.where == '/prefix/login']
    assert [(f.severity, f.text) for f in login] == [
        (WARN, "the front end refused the session of --cookie-file (HTTP "
               "401): not checked")]
    assert login[0].fix == ("log in again in a browser and put its session "
                            "cookies in --cookie-file anew (the session "
                            "may have ended)")
    login = [f for f in run(front, session=SESSION, user='alice')
             if f.where == '/prefix/login']
    assert login[0].text.startswith("the front end refused the credentials "
                                    "of alice and the session of "
                                    "--cookie-file (HTTP 401)")
    assert login[0].fix.startswith('give --user an account')
    assert login[0].fix.endswith('(the session may have ended)')


def test_a_site_that_asks_for_a_login_everywhere():
    found = run(lambda path, headers: 401)
    assert found[0].severity == ERROR
    assert found[0].fix == (
        "the front end asks for a login on the whole site: give the "
        "self-test a test account (--user, for a password the front end "
        "checks) or a session of the front end (--cookie-file)")
    # Given one, and still refused: the URL may be wrong.
    assert run(lambda path, headers: 401, session=SESSION)[0].fix \
        .startswith('check the URL')


def test_the_forged_credentials_name_the_marker_with_a_wrong_password():
    import base64
    value = selftest.forged_basic(MARKER)
    user, _, password = base64.b64decode(value[len('Basic '):]) \
        .decode().partition(':')
    assert value.startswith('Basic ') and user == MARKER + '-basic'
    assert password == selftest.FORGED_PASSWORD
    probes = selftest.plan(config(), MARKER, ('/',))
    assert [p.headers for p in probes if p.variant == 'basic'] == \
        [(('Authorization', value),)]
    # A page's script does not send it (a 401 may open a password box).
    assert not [p for p in selftest.plan(config(), MARKER, ('/',),
                                         browser=True)
                if p.variant == 'basic']


def test_a_login_the_front_end_refuses():
    def front(path, headers):
        return 401 if path == '/login' else strip(path, headers)
    login = [f for f in run(front) if f.where == '/prefix/login']
    assert [(f.severity, f.text) for f in login] == [
        (OK, "the front end asks for a login first (HTTP 401); checked only "
             "without one (--user checks it logged in)")]
    # With a test account's credentials, a 401 means they were refused:
    # the location is not checked, which is worth a warning.
    login = [f for f in run(front, user='alice')
             if f.where == '/prefix/login']
    assert [(f.severity, f.text) for f in login] == [
        (WARN, "the front end refused the credentials of alice (HTTP 401): "
               "not checked")]
    assert '--password-file' in login[0].fix


def test_one_location_that_passes_the_header():
    def front(path, headers):
        return headers if path.startswith('/attachment/') \
            else strip(path, headers)
    bad = [f for f in run(front) if f.severity != OK]
    assert {f.where for f in bad} == {'/prefix/attachment/wiki/WikiStart/'}
    assert severities(bad) == [CRITICAL, CRITICAL]


def test_an_empty_header_joined_with_the_underscore_spelling():
    """Apache `RequestHeader set Remote-User "expr=%{REMOTE_USER}"` sends
    an empty value for anonymous requests, and mod_proxy forwards the
    client's Remote_User: the server joins them, the comma rule refuses
    the result. Not used, but one rule away from it."""
    def front(path, headers):
        kept = [(n, v) for n, v in headers if n != 'Remote-User' and
                n.lower() != 'remote-user']
        return [('Remote-User', '')] + kept
    bad = [f for f in run(front, server='Apache/2.4') if f.severity != OK]
    assert severities(bad) == [WARN] * 3
    assert bad[0].text == ("a client's Remote_User header reaches Trac but "
                           "is not used (refused by the comma rule only; "
                           "sent as Remote_User)")
    assert bad[0].fix.startswith('Apache: `RequestHeader unset Remote_User '
                                 'early`')


def test_the_header_passes_where_none_is_read():
    found = run(passes, config(header=''))
    bad = [f for f in found if f.severity != OK]
    assert severities(bad) == [WARN, WARN] * 3
    assert "[remoteuser] header is empty: only REMOTE_USER counts" in \
        bad[0].text
    assert selftest.exit_code(found) == 0


def test_an_untrusted_front_end():
    found = run(passes, peer='192.0.2.9')
    config_warning = [f for f in found if f.where == 'configuration']
    assert config_warning[0].severity == WARN
    assert 'reaches Trac from 192.0.2.9, which is not in' in \
        config_warning[0].text
    assert "the peer 192.0.2.9 is not in [remoteuser] trusted_proxies" in \
        [f for f in found if f.where == '/prefix/'][0].text
    assert CRITICAL not in severities(found)


def test_the_secret_header():
    cfg = config(secret_header='X-Proxy-Secret')
    secret = 'right-secret'

    def replaces(path, headers):
        """Sets its secret, but passes the client's name."""
        return [(n, v) for n, v in headers if n != 'X-Proxy-Secret'] + \
            [('X-Proxy-Secret', secret)]
    found = run(replaces, cfg, secret=secret, paths=('/',))
    assert severities(found)[:2] == [CRITICAL, CRITICAL]
    assert "Remote-User with a wrong X-Proxy-Secret" in found[0].text

    def appends(path, headers):
        """Strips the name, appends its secret to the client's."""
        stripped = strip(path, headers)
        return stripped + [('X-Proxy-Secret', secret)]
    found = run(appends, cfg, secret=secret, paths=('/',))
    bad = [f for f in found if f.severity != OK]
    assert [(f.severity, f.text) for f in bad] == [
        (WARN, "a client's X-Proxy-Secret reaches Trac (the front end does "
               "not replace it); the secret still does not match")]
    assert '`proxy_set_header X-Proxy-Secret <secret>;`' in bad[0].fix


def test_forwarded_headers():
    cfg = config(trust_forwarded=True, base_url_set=False)
    found = run(passes, cfg, paths=('/',))
    forwarded = [f for f in found if 'X-Forwarded' in f.text]
    assert forwarded[0].severity == CRITICAL
    assert forwarded[0].text.startswith(
        "forged X-Forwarded headers change the address Trac puts in links "
        "and redirects (to http://%s.invalid:1/%s/prefix; the client's "
        "X-Forwarded-Host, X-Forwarded-Proto, X-Forwarded-Port, "
        "X-Forwarded-Prefix arrived)" % (MARKER, MARKER))
    # base_url wins, but only base_url.
    found = run(passes, cfg._replace(base_url_set=True), paths=('/',))
    forwarded = [f for f in found if 'X-Forwarded' in f.text]
    assert forwarded[0].severity == WARN
    assert 'only [trac] base_url keeps it out' in forwarded[0].text
    # Not trusted at all: nothing to say.
    found = run(passes, config(), paths=('/',))
    assert not [f for f in found if 'X-Forwarded' in f.text]


def test_a_proxy_that_appends_to_forwarded_headers():
    """mod_proxy appends its own X-Forwarded-Host: the nearest proxy's
    value, which the plugin takes, is the right one."""
    def appends(path, headers):
        out = []
        for name, value in strip(path, headers):
            if name in ('X-Forwarded-Host', 'X-Forwarded-Proto',
                        'X-Forwarded-Port', 'X-Forwarded-Prefix'):
                continue
            out.append((name, value))
        return out + [('X-Forwarded-Host', MARKER + '.invalid, '
                       'trac.example.com'), ('X-Forwarded-Proto', 'https'),
                      ('X-Forwarded-Port', '443')]
    found = run(appends, config(trust_forwarded=True, base_url_set=False),
                paths=('/',))
    assert set(severities(found)) <= {OK, WARN}
    assert not [f for f in found if 'X-Forwarded' in f.text]


def test_what_the_front_end_answers_itself():
    def front(path, headers):
        return {'/login': 401, '/attachment/wiki/WikiStart/': 502}.get(
            path) or strip(path, headers)
    found = run(front)
    by_where = {f.where: f for f in found}
    assert by_where['/prefix/login'].severity == OK
    assert 'asks for a login first (HTTP 401)' in \
        by_where['/prefix/login'].text
    assert by_where['/prefix/attachment/wiki/WikiStart/'] == \
        selftest.Finding(WARN, '/prefix/attachment/wiki/WikiStart/',
                         'could not be checked: HTTP 502', '')


def test_no_probe_at_the_root():
    found = run(lambda path, headers: 404)
    assert found[0].severity == ERROR
    assert "the probe did not answer at the site's root (HTTP 404" in \
        found[0].text
    assert selftest.exit_code(found) == 2
    assert selftest.summary(found).endswith('the self-test could not run')


def test_a_forged_assertion_that_is_believed():
    cfg = config(jwt_header='X-Assertion')

    def believes(path, headers):
        # A broken verifier: the name inside is taken as it is.
        if headers and headers[0][0] == 'X-Assertion':
            return [('Remote-User', MARKER + '-jwt')]
        return strip(path, headers)
    exchanges = []
    settings = decision.make_settings()
    for probe in selftest.plan(cfg, MARKER, ('/',), jwt_token='a.b.c'):
        env = environ(believes(probe.path, list(probe.headers)),
                      '127.0.0.1')
        exchanges.append(Exchange(probe, 200, [], report(
            env, cfg, decision.decide(env, settings)), None, None, None))
    found = selftest.judge(exchanges, cfg, MARKER, PUBLIC)
    assert found[0].severity == CRITICAL
    assert found[0].text == ("a forged signed assertion (X-Assertion, "
                             "signed by a key nobody trusts) is accepted as "
                             "the user name")


def referer(variant, status, headers):
    probe = [p for p in selftest.plan(config(), MARKER, ('/',))
             if p.variant == variant][0]
    return Exchange(probe, status, headers, None, None, None, None)


@pytest.mark.parametrize('exchange, severity', [
    (referer('referer-crlf', 302,
             [('Location', 'https://trac.example.com/prefix'),
              ('X-Ruaprobe', MARKER)]), CRITICAL),
    (referer('referer-crlf', 302,
             [('Set-Cookie', 'trac_auth=%s; Path=/' % MARKER)]), CRITICAL),
    (referer('referer-crlf', 302,
             [('Location', 'https://trac.example.com/prefix')]), OK),
    (referer('referer-crlf', 500, []), OK),
    (referer('referer-foreign', 302,
             [('Location', 'http://%s.invalid/' % MARKER)]), CRITICAL),
    (referer('referer-foreign', 302,
             [('Location', 'https://idp.example/login?return=http://%s.'
                           'invalid/' % MARKER)]), OK),
    (referer('referer-foreign', 401, []), OK),
    (referer('referer-foreign', 0, []), WARN),
])
def test_login_referers(exchange, severity):
    found = [f for f in selftest.judge([exchange], config(), MARKER, PUBLIC,
                                       '/prefix') if 'referer=' in f.where]
    assert [f.severity for f in found] == [severity]
    assert found[0].where.startswith('/prefix/login?referer=<')


def direct(peer, trusted, accepted=True, error=None):
    probe = selftest.direct_probe(MARKER, 'Remote-User', '/')
    if error:
        return Exchange(probe, 0, [], None, error, ('127.0.0.1', '8000'),
                        '127.0.0.2')
    env = environ([('Remote-User', MARKER + '-direct')], peer)
    made = decision.decide(env, decision.make_settings(
        trusted_proxies=trusted))
    return Exchange(probe, 200, [], report(env, config(), made), None,
                    ('127.0.0.1', '8000'), peer)


@pytest.mark.parametrize('exchange, severity, text', [
    (direct('127.0.0.2', ('127.0.0.1',)), OK,
     'reachable, but a forged header from 127.0.0.2 is not believed'),
    (direct('127.0.0.2', ('127.0.0.0/8',)), OK,
     'trusts local processes (127.0.0.0/8), as it says'),
    (direct('127.0.0.2', ('0.0.0.0/0',)), CRITICAL,
     'a client that bypasses the front end is believed: a forged name '
     'from 127.0.0.2 is accepted (trusted by 0.0.0.0/0 of [remoteuser] '
     'trusted_proxies; the front end is 127.0.0.1)'),
    (direct('10.1.2.3', ('10.0.0.0/8',)), CRITICAL, 'trusted by 10.0.0.0/8'),
    (direct(None, None, error='connection refused'), OK,
     'not reachable (connection refused)'),
])
def test_the_backend_reached_directly(exchange, severity, text):
    found = [f for f in run(extra=[exchange], paths=('/',))
             if f.where.startswith('backend')]
    assert len(found) == 1
    assert found[0].severity == severity
    assert text in found[0].text
    assert found[0].where == 'backend 127.0.0.1:8000 from %s' % \
        exchange.source
    if severity == CRITICAL:
        assert found[0].fix.startswith('bind the backend to loopback')


def uwsgi_written(jwt=False, status=200):
    """A uwsgi request written straight to a uWSGI socket from
    127.0.0.2, with its own REMOTE_USER, as the real decision takes it
    (as in nginx-uwsgi.conf's trac.ini: no header, only REMOTE_USER)."""
    probe = uwsgi_probe(MARKER, '/')
    if status != 200:
        return Exchange(probe, status, [], None, None,
                        ('127.0.0.1', '3031'), '127.0.0.2')
    env = environ([], '127.0.0.2')
    env['REMOTE_USER'] = MARKER + '-uwsgi'
    cfg = config(header='', jwt_header='X-Assertion' if jwt else '')
    if jwt:
        # Only a verified assertion names anyone: REMOTE_USER is not read.
        made = decision.Decision(None, None, False, None, None, '127.0.0.2',
                                 None, None, ())
    else:
        made = decision.decide(env, decision.make_settings(
            '', ('127.0.0.1',)))
    return Exchange(probe, 200, [], report(env, cfg, made), None,
                    ('127.0.0.1', '3031'), '127.0.0.2')


@pytest.mark.parametrize('exchange, severity, text', [
    (uwsgi_written(), CRITICAL,
     'a program that bypasses the front end names the user: the '
     'REMOTE_USER of a uwsgi request written from 127.0.0.2 is accepted '
     '(uWSGI takes every variable as the writer sends it, REMOTE_ADDR '
     'too: [remoteuser] trusted_proxies cannot tell)'),
    (uwsgi_written(jwt=True), OK,
     'reachable in the uwsgi protocol, but the REMOTE_USER of a uwsgi '
     'request written from 127.0.0.2 is not believed'),
    (uwsgi_written(status=404), OK,
     "answered (HTTP 404), but not as this Trac's probe"),
])
def test_a_uwsgi_socket_reached_directly(exchange, severity, text):
    found = [f for f in run(extra=[exchange], paths=('/',))
             if f.where.startswith('uWSGI socket')]
    assert len(found) == 1
    assert found[0].where == 'uWSGI socket 127.0.0.1:3031 from 127.0.0.2'
    assert (found[0].severity, found[0].text) == (severity, text)
    if severity == CRITICAL:
        assert found[0].fix.startswith(
            "uWSGI: a Unix socket only the front end's group may open")
    # Judged on its own, not as one more forgery of the root.
    assert [f.severity for f in run(extra=[exchange], paths=('/',))
            if f.where == '/prefix/'] == [OK]


def test_front_end_kind():
    def exchange(headers=(), report=None):
        return Exchange(None, 200, list(headers), report, None, None, None)
    assert selftest.front_end_kind([exchange([('Server', 'tracd/1.6')]),
                                    exchange([('Server', 'nginx')])]) == \
        'nginx'
    assert selftest.front_end_kind([exchange(report={
        'forwarded': {'X-Forwarded-Server': 'trac'}})]) == 'apache'
    assert selftest.front_end_kind([exchange(report={
        'server': {'inside_front_end': True}})]) == 'apache'
    assert selftest.front_end_kind([exchange([('Server', 'gunicorn')])]) \
        == 'other'


def traefik_marks(front):
    """`front`, and Traefik's marks on the requests it passes."""
    def marked(path, headers):
        arrived = front(path, headers)
        return arrived if isinstance(arrived, int) else arrived + [
            ('X-Forwarded-Server', 'proxy'), ('X-Real-Ip', '192.0.2.7')]
    return marked


#: What anything between the self-test and Trac can say, to be taken
#: for each front end: answer headers, and marks on the requests.
SPOOFS = {
    'nginx': dict(answer=[('Server', 'nginx/1.22.1')]),
    'apache': dict(answer=[('Server', 'Apache/2.4.57')]),
    'caddy': dict(answer=[('Server', 'gunicorn'), ('Via', '1.1 Caddy')]),
    'haproxy': dict(answer=[('server', 'gunicorn'),
                            ('content-type', 'application/json')]),
    'traefik': dict(answer=[('Server', 'gunicorn')], marks=traefik_marks),
    'other': dict(answer=[('Server', 'gunicorn')]),
}


def one_location_passes(path, headers):
    return headers if path == '/login' else strip(path, headers)


@pytest.mark.parametrize('front', [passes, one_location_passes, strip])
def test_a_spoofed_front_end_never_changes_a_severity(front):
    """The recognition reads headers that anything upstream of Trac
    can set (a client behind a front end that passes them, a proxy in
    between): it picks the wording of the fixes, never what is found
    nor how bad it is, the uWSGI socket's line included."""
    seen = {}
    for kind, spoof in SPOOFS.items():
        marks = spoof.get('marks', lambda f: f)
        found = run(marks(front), answer=spoof['answer'],
                    extra=[uwsgi_written()])
        seen[kind] = found
        assert [(f.severity, f.where, f.text) for f in found] == \
            [(f.severity, f.where, f.text) for f in seen['nginx']], kind
        assert selftest.exit_code(found) == \
            selftest.exit_code(seen['nginx'])
        assert [f for f in found if f.severity == CRITICAL]
    fixes = {kind: [f.fix for f in found if f.severity != OK]
             for kind, found in seen.items()}
    if front is not strip:
        # Each spoof was taken for its server: the fixes say so.
        for kind, texts in fixes.items():
            named = {'other': 'make the front end'}.get(
                kind, dict(nginx='nginx:', apache='Apache:',
                           caddy='Caddy:', haproxy='HAProxy:',
                           traefik='Traefik:').get(kind))
            assert texts[0].startswith(named), (kind, texts[0])


def test_lines_and_places():
    found = [selftest.Finding(WARN, '/p%d' % i, 'same', 'fix')
             for i in range(6)] + [selftest.Finding(OK, '/x', 'fine', '')]
    assert list(selftest.lines(found)) == [
        'WARN     /p0, /p1, /p2 and 3 more: same. Fix: fix',
        'OK       /x: fine']
    assert selftest.summary(found) == \
        '0 critical, 1 warning, 1 ok: no forged name got in, but see the ' \
        'warnings'


PROFILE = dict(name_header='X-Remote-Name', email_header='X-Remote-Email',
               groups_header='X-Remote-Groups', sync_groups=True)


def test_profile_headers_a_front_end_passes():
    """The cluster sample clears these three on every location; a
    location that forgets them lets a logged-in user pick their groups."""
    cfg = config(**PROFILE)

    def forgets(path, headers):
        return [(n, v) for n, v in strip(path, headers)]
    found = [f for f in run(forgets, cfg, paths=('/',))
             if 'X-Remote' in f.text]
    assert [(f.severity, f.text) for f in found] == [
        (CRITICAL, "a client's X-Remote-Name, X-Remote-Email, "
                   "X-Remote-Groups reaches Trac: a user logged in on this "
                   "path could put themself in [remoteuser] sync_groups")]
    assert found[0].fix.startswith(
        'nginx: `proxy_set_header X-Remote-Name ...;` `proxy_set_header '
        'X-Remote-Email ...;` `proxy_set_header X-Remote-Groups ...;`')
    # Without groups to sync, the profile is all they change.
    found = [f for f in run(forgets, cfg._replace(sync_groups=False),
                            paths=('/',)) if 'X-Remote' in f.text]
    assert [f.severity for f in found] == [WARN]
    assert 'would be stored in the profile of the user' in found[0].text

    def clears(path, headers):
        return [(n, v) for n, v in strip(path, headers)
                if not n.startswith('X-Remote')]
    assert not [f for f in run(clears, cfg, paths=('/',))
                if 'X-Remote' in f.text]


def test_profile_in_server_variables_is_not_forged():
    cfg = config(name_header='env:OIDC_CLAIM_name',
                 groups_header='env:OIDC_CLAIM_groups', sync_groups=True)
    assert 'profile' not in [p.variant for p in
                             selftest.plan(cfg, MARKER, ('/',))]


def test_the_header_passes_where_assertions_decide():
    """With jwt_header, the user header is not read (the decision of the
    signed-assertions branch; here an untrusted peer stands in for it):
    a client's passes unused, one setting away from counting."""
    found = [f for f in run(passes, config(jwt_header='X-Assertion'),
                            paths=('/',), peer='192.0.2.9')
             if f.where == '/prefix/' and 'Remote-User header' in f.text]
    assert [f.severity for f in found] == [WARN]
    assert "reaches Trac but is not used ([remoteuser] jwt_header is set: " \
        "names come only from a verified assertion" in found[0].text
