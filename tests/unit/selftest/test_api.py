"""The self-test on the API paths: token paths a front end does not let
through (or lets through without the client's Authorization), RPC paths
below /login it leaves unauthenticated, forged names there; each front
end a small model, through the real decision and probe report
(test_judge's `run`)."""

from remoteuserauth import selftest
from remoteuserauth.selftest import CRITICAL, OK, WARN
from remoteuserauth.selftest.api import asks_for_login
from remoteuserauth.selftest.report import is_report
from test_judge import MARKER, config, environ, run, strip

PATHS = ('/', '/login') + selftest.API_PATHS
LOGIN_RPC = ('/login/rpc', '/login/xmlrpc', '/login/jsonrpc')


def front(login=LOGIN_RPC, tokens=('/ticketrpc',), status=401,
          authorization=True, named=None):
    """A front end modelled on the samples: it answers `status` (a
    challenge, a redirect) on /login and on the `login` paths below it
    unless `named` (a user the self-test's test account logs in as
    there); it strips the identity headers everywhere; it passes the
    client's Authorization on the `tokens` paths only (unless not
    `authorization`)."""
    def model(path, headers):
        kept = [(n, v) for n, v in strip(path, headers)
                if n.lower() != 'authorization' or
                (path in tokens and authorization)]
        if path == '/login' or path in login:
            if named is None:
                return status
            return kept + [('Remote-User', named)]
        return kept
    return model


def api_config(token_paths=('/ticketrpc',), **values):
    return config(token_paths=token_paths, **values)


def findings(found, severity):
    return [f for f in found if f.severity == severity]


def test_the_sample_passes():
    """nginx-gunicorn.conf: a password on /login and below it, the token
    path let through with the client's Authorization."""
    found = run(front(), api_config(), PATHS)
    assert set(f.severity for f in found) == {OK}, found
    assert selftest.exit_code(found) == 0


def test_tokens_off_are_no_business_of_the_self_test():
    found = run(front(tokens=()), config(), PATHS)
    assert set(f.severity for f in found) == {OK}, found


def test_an_exact_login_location_leaves_the_rpc_paths_unauthenticated():
    """`location = /prefix/login`: the RPC paths below /login reach Trac
    without a name, and a Basic RPC client is always anonymous."""
    found = run(front(login=()), config(), PATHS)
    warned = findings(found, WARN)
    assert sorted(f.where for f in warned) == [
        '/prefix/login/jsonrpc', '/prefix/login/rpc', '/prefix/login/xmlrpc']
    assert warned[0].text == (
        "the front end asks for a login on /prefix/login but not on this "
        "path below it: an RPC client's credentials are never checked "
        "here, and its calls stay anonymous")
    assert '`location <prefix>/login`, not `location = <prefix>/login`' \
        in warned[0].fix
    assert selftest.exit_code(found) == 0


def test_rpc_paths_that_are_token_paths_may_pass():
    found = run(front(login=(), tokens=LOGIN_RPC + ('/ticketrpc',)),
                api_config(LOGIN_RPC + ('/ticketrpc',)), PATHS)
    assert set(f.severity for f in found) == {OK}, found


def test_with_the_test_account_an_exact_login_location_shows_too():
    """--user: /login names the test account, the paths below it name
    nobody."""
    found = run(front(login=(), named='alice'), config(), PATHS,
                user='alice')
    assert sorted(f.where for f in findings(found, WARN)) == [
        '/prefix/login/jsonrpc', '/prefix/login/rpc', '/prefix/login/xmlrpc']
    # A front end that names the account everywhere below /login too.
    found = run(front(named='alice'), config(), PATHS, user='alice')
    assert not findings(found, WARN), found


def test_a_token_path_behind_the_password_check():
    """Default token_paths on a site whose front end checks passwords
    on /login and below it."""
    found = run(front(), api_config(LOGIN_RPC + ('/ticketrpc',)), PATHS)
    warned = findings(found, WARN)
    assert sorted(f.where for f in warned) == [
        '/prefix/login/jsonrpc', '/prefix/login/rpc', '/prefix/login/xmlrpc']
    assert warned[0].text == (
        "the front end asks for a login on this token path (HTTP 401): "
        "token clients cannot pass a single sign-on or a password check")
    assert warned[0].fix.startswith('let token_paths through to Trac: '
                                    'nginx: ')
    assert 'auth_basic off;' in warned[0].fix
    # The challenge is the warning, not also an OK.
    assert not [f for f in found if f.severity == OK and
                f.where == '/prefix/login/rpc']


def test_a_token_path_sent_to_the_single_sign_on():
    found = run(front(tokens=LOGIN_RPC, status=302),
                api_config(LOGIN_RPC), PATHS, server='Apache/2.4.62')
    warned = findings(found, WARN)
    assert len(warned) == 3, found
    assert 'HTTP 302' in warned[0].text
    assert 'WSGIPassAuthorization On' in warned[0].fix
    assert "MellonEnable \"off\"" in warned[0].fix


def test_a_token_path_without_the_clients_authorization():
    """mod_wsgi without WSGIPassAuthorization On: the token path is
    reached, the token never."""
    found = run(front(authorization=False), api_config(), PATHS,
                server='Apache/2.4.62')
    warned = findings(found, WARN)
    assert [(f.where, f.text) for f in warned] == [(
        '/prefix/ticketrpc', "the front end does not pass the client's "
        "Authorization header on to Trac on this token path: no token "
        "ever arrives")]
    assert warned[0].fix.startswith('Apache: `WSGIPassAuthorization On` '
                                    'in a <Location> for the token paths')


def test_a_custom_token_path_is_checked():
    found = run(front(), api_config(('/api/rpc',)), PATHS)
    warned = findings(found, WARN)
    assert [(f.where, 'no token ever arrives' in f.text) for f in warned] \
        == [('/prefix/api/rpc', True)]


def test_a_forged_name_on_an_api_path_is_critical():
    """A token location with proxy_set_header lines of its own, which
    inherits none of the site's: the client's Remote-User reaches
    Trac."""
    def leaky(path, headers):
        if path == '/ticketrpc':
            return headers
        return front()(path, headers)
    found = run(leaky, api_config(), PATHS)
    critical = findings(found, CRITICAL)
    assert [f.where for f in critical] == ['/prefix/ticketrpc'] * 2
    assert critical[0].text.startswith("a client's Remote-User header is "
                                       "accepted as the user name")


def test_forged_basic_credentials_on_an_rpc_path_are_critical():
    """`location /prefix/login/ { set $trac_user $remote_user; }` without
    auth_basic: the name of any Basic credentials."""
    import base64

    def unchecked(path, headers):
        if path in LOGIN_RPC:
            sent = dict((n.lower(), v) for n, v in headers)
            credentials = sent.get('authorization', '')
            kept = [(n, v) for n, v in strip(path, headers)
                    if n.lower() != 'authorization']
            if credentials.startswith('Basic '):
                user = base64.b64decode(credentials[6:]).decode()
                kept.append(('Remote-User', user.partition(':')[0]))
            return kept
        return front()(path, headers)
    found = run(unchecked, config(), PATHS)
    critical = findings(found, CRITICAL)
    assert sorted(f.where for f in critical) == [
        '/prefix/login/jsonrpc', '/prefix/login/rpc', '/prefix/login/xmlrpc']
    assert "Basic credentials is accepted although their password is " \
        "wrong" in critical[0].text


def test_the_plan_for_token_paths():
    cfg = api_config(('/ticketrpc', '/api/rpc'))
    probes = selftest.plan(cfg, MARKER, ('/', '/ticketrpc'))
    assert [p.path for p in probes if p.variant == 'baseline'] == [
        '/', '/ticketrpc', '/api/rpc']
    bearer = [p for p in probes if p.variant == 'bearer']
    assert [p.path for p in bearer] == ['/ticketrpc', '/api/rpc']
    assert bearer[0].headers == (('Authorization',
                                  'Bearer %s-bearer' % MARKER),)
    # No test account or session beside it: what an API client sends.
    assert not bearer[0].session
    # Not a token: nothing for the plugin to refuse.
    assert 'tracpat_' not in bearer[0].headers[0][1]
    # A page's script sends none (a challenge could open a dialog).
    assert not [p for p in selftest.plan(cfg, MARKER, ('/',), browser=True)
                if p.variant == 'bearer']


def test_the_panel_judges_token_paths_from_the_baseline():
    cfg = api_config(LOGIN_RPC)
    exchanges = []
    for probe in selftest.plan(cfg, MARKER, ('/', '/login/rpc'),
                               browser=True):
        status = 401 if probe.path == '/login/rpc' else 200
        report = None
        if status == 200:
            from test_judge import report as probe_report
            from remoteuserauth import decision
            env = environ(probe.headers, '127.0.0.1')
            made = decision.decide(env, decision.make_settings(
                cfg.header, ('127.0.0.1',)))
            report = probe_report(env, cfg, made)
        exchanges.append(selftest.Exchange(probe, status, [], report, None,
                                           None, None))
    found = selftest.judge(exchanges, cfg, MARKER,
                           'https://trac.example.com/prefix', '/prefix')
    assert [f.where for f in findings(found, WARN)] == ['/prefix/login/rpc']


def test_asks_for_login():
    probe = selftest.Probe('0', '/ticketrpc', 'bearer', (), '', True)
    for status, asks in ((401, True), (407, True), (302, True), (303, True),
                         (200, False), (404, False), (500, False)):
        exchange = selftest.Exchange(probe, status, [], None, None, None,
                                     None)
        assert asks_for_login(exchange) is asks, status
    failed = selftest.Exchange(probe, 0, [], None, 'connection refused',
                               None, None)
    assert not asks_for_login(failed)


def report_for(authorization):
    from remoteuserauth import decision
    env = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_AUTHORIZATION': authorization}
    made = decision.decide(env, decision.make_settings(
        'Remote-User', ('127.0.0.1',)))
    return selftest.report(env, config(), made, 'v',
                           made.network, '', 'https://t.example/', '1')


def test_the_report_names_the_scheme_never_the_value():
    report = report_for('Bearer tracpat_SECRETVALUE')
    assert report['authorization'] == {'scheme': 'Bearer', 'forged': False}
    assert 'SECRETVALUE' not in repr(report)
    assert report_for('Basic %s-bearer' % MARKER)['authorization'] == {
        'scheme': 'Basic', 'forged': True}
    assert report_for('x' * 100000)['authorization']['scheme'] == '(other)'
    for hostile in ('Bea\r\nrer x', 'B\u00e9arer x', 'Bearer\x00 x',
                    '\u0411earer x', ''):
        assert report_for(hostile)['authorization']['scheme'] in (
            '(other)', ''), hostile
    assert is_report(report)
    assert not is_report(dict(report, authorization='Bearer x'))
    assert is_report(dict(report, authorization=None))
