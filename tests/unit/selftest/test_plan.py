"""The self-test's pure parts: tokens, the forged-request plan, the
probe's report, where the backend may be reached."""

import base64
import ipaddress
import json
import sys

import pytest

from remoteuserauth import decision, selftest
from remoteuserauth.core import trust
from remoteuserauth.selftest import Config
from remoteuserauth.selftest.plan import backend_is_uwsgi, uwsgi_probe

KEY = b'k' * 32
NOW = 1_800_000_000
MARKER = 'ruaprobe-0123abcd'


# Tokens

def test_token_round_trip():
    token = selftest.make_token(KEY, NOW, 300)
    assert selftest.check_token(KEY, token, NOW) is None
    assert selftest.check_token(KEY, token, NOW + 300) is None


@pytest.mark.parametrize('change, reason', [
    (lambda t: t, None),
    (lambda t: t[:-1] + ('0' if t[-1] != '0' else '1'), 'bad signature'),
    (lambda t: str(NOW + 10 ** 6) + t[t.index('.'):], 'bad signature'),
    (lambda t: t + '\r\n', 'malformed'),
    (lambda t: t.upper(), 'malformed'),
    (lambda t: t * 1000, 'malformed'),
    (lambda t: '', 'malformed'),
    (lambda t: None, 'malformed'),
    (lambda t: '1.2.3', 'malformed'),
    (lambda t: '\u0661' + t, 'malformed'),
])
def test_token_tampering(change, reason):
    result = selftest.check_token(KEY, change(selftest.make_token(
        KEY, NOW, 300)), NOW)
    assert (result is None) if reason is None else reason in result


def test_token_expiry_and_lifetime():
    token = selftest.make_token(KEY, NOW, 300)
    assert 'expired' in selftest.check_token(KEY, token, NOW + 301)
    long_lived = selftest.make_token(KEY, NOW, 10 ** 6)
    assert 'longer' in selftest.check_token(KEY, long_lived, NOW)


def test_token_of_another_environment_or_no_key():
    token = selftest.make_token(KEY, NOW, 300)
    assert 'bad signature' in selftest.check_token(b'x' * 32, token, NOW)
    assert 'no probe key' in selftest.check_token(None, token, NOW)


def test_tokens_differ():
    assert selftest.make_token(KEY, NOW, 300) != \
        selftest.make_token(KEY, NOW, 300)


@pytest.mark.parametrize('query, token', [
    ('', None),
    ('referer=/x', None),
    ('remoteuser-probe=abc', 'abc'),
    ('a=1&remoteuser-probe=abc&remoteuser-probe=def', 'abc'),
    ('remoteuser-probe=', ''),
    ('remoteuser-probe', ''),
    # The name must be spelt out: an encoded name is no probe anywhere
    # (the authenticator and the probe answer alike).
    ('remoteuser%2Dprobe=abc', None),
    ('xremoteuser-probe=abc', None),
])
def test_probe_token(query, token):
    assert selftest.probe_token({'QUERY_STRING': query}) == token


# Header names and the plan

@pytest.mark.parametrize('header, expected', [
    ('Remote-User', ('header', 'Remote-User')),
    ('SM_USER', ('header', 'SM-USER')),
    ('HTTP_SM_USER', ('header', 'SM-USER')),
    ('', ('none', 'Remote-User')),
    ('  ', ('none', 'Remote-User')),
    ('env:SM_USER', ('env', 'SM-USER')),
    ('ENV: OIDC_CLAIM_sub', ('env', 'OIDC-CLAIM-sub')),
])
def test_identity_header(header, expected):
    assert selftest.identity_header(header) == expected


def test_spellings():
    assert selftest.spellings('Remote-User') == [
        ('header', 'Remote-User'), ('lower', 'remote-user'),
        ('upper', 'REMOTE-USER'), ('underscore', 'Remote_User')]
    assert selftest.spellings('SM-USER') == [
        ('header', 'SM-USER'), ('lower', 'sm-user'),
        ('underscore', 'SM_USER')]
    assert selftest.spellings('Remoteuser') == [
        ('header', 'Remoteuser'), ('lower', 'remoteuser'),
        ('upper', 'REMOTEUSER')]


def config(**values):
    base = dict(header='Remote-User', secret_header='', jwt_header='',
                trust_forwarded=False, base_url_set=True)
    base.update(values)
    return Config(**base)


def variants(probes, path='/'):
    return [p.variant for p in probes if p.path == path]


def test_plan_per_path():
    probes = selftest.plan(config(), MARKER, ('/', '/login'), 'https',
                           'https://trac.example.com/prefix')
    assert variants(probes) == ['baseline', 'header', 'lower', 'upper',
                                'underscore', 'duplicate', 'basic',
                                'forwarded']
    assert variants(probes, '/login') == variants(probes) + [
        'referer-crlf', 'referer-foreign']
    assert len({p.id for p in probes}) == len(probes)
    duplicate = [p for p in probes if p.variant == 'duplicate'][0]
    assert duplicate.headers == (('Remote-User', MARKER + '-d1'),
                                 ('Remote-User', MARKER + '-d2'))
    forwarded = dict([p for p in probes
                      if p.variant == 'forwarded'][0].headers)
    assert forwarded == {'X-Forwarded-Host': MARKER + '.invalid',
                         'X-Forwarded-Proto': 'http',
                         'X-Forwarded-Port': '1',
                         'X-Forwarded-Prefix': '/' + MARKER}
    # Every forged value names the marker; nothing real is sent.
    for probe in probes:
        for name, value in probe.headers:
            if name == 'Authorization':     # base64 of marker:password
                value = base64.b64decode(value[len('Basic '):]).decode()
            assert MARKER in value or name == 'X-Forwarded-Port' or \
                (name, value) == ('X-Forwarded-Proto', 'http')
    assert all(p.token for p in probes if not p.variant.startswith('ref'))


def test_plan_referers():
    probes = selftest.plan(config(), MARKER, ('/',), 'http',
                           'http://127.0.0.1:8080/prefix')
    crlf, foreign = [p for p in probes if p.variant.startswith('referer')]
    assert not crlf.token and not foreign.token
    assert crlf.query == ('referer=http%3A%2F%2F127.0.0.1%3A8080%2Fprefix'
                          '%2Fwiki%2FWikiStart%0D%0AX-Ruaprobe%3A%20' +
                          MARKER)
    assert foreign.headers == (('Referer',
                                'http://%s.invalid/' % MARKER),)


def test_plan_secret_jwt_browser():
    probes = selftest.plan(config(secret_header='X-Proxy-Secret',
                                  jwt_header='Authorization'),
                           MARKER, ('/',), jwt_token='a.b.c')
    by_variant = {p.variant: p for p in probes}
    assert by_variant['secret'].headers == (
        ('Remote-User', MARKER + '-secret'),
        ('X-Proxy-Secret', MARKER + '-wrong'))
    assert by_variant['jwt'].headers == (('Authorization', 'Bearer a.b.c'),)
    browser = selftest.plan(config(), MARKER, ('/',), browser=True)
    assert 'duplicate' not in variants(browser)
    assert not [p for p in browser if p.variant.startswith('referer')]


def test_plan_with_a_session():
    """With a session of the front end, the forged Basic credentials go
    once without it and once beside it; everything else may carry it."""
    probes = selftest.plan(config(), MARKER, ('/',), session=True)
    assert variants(probes) == ['baseline', 'header', 'lower', 'upper',
                                'underscore', 'duplicate', 'basic',
                                'basic-session', 'forwarded']
    by_variant = {p.variant: p for p in probes}
    assert by_variant['basic'].session is False
    assert by_variant['basic-session'].headers == (
        ('Authorization', selftest.forged_basic(MARKER, 'basic-session')),)
    assert base64.b64decode(selftest.forged_basic(
        MARKER, 'basic-session')[6:]).decode() == \
        MARKER + '-basic-session:' + selftest.FORGED_PASSWORD
    assert all(p.session for p in probes if p.variant != 'basic')
    assert 'basic-session' not in variants(selftest.plan(config(), MARKER,
                                                         ('/',)))
    assert 'basic-session' not in variants(selftest.plan(
        config(), MARKER, ('/',), browser=True, session=True))
    assert selftest.direct_probe(MARKER, 'Remote-User', '/').session is \
        False


@pytest.mark.parametrize('text, cookies', [
    ('authsession=abc', [('authsession', 'abc')]),
    # A browser's Cookie header, copied as it shows it.
    ('a=1; b=2;c=3;', [('a', '1'), ('b', '2'), ('c', '3')]),
    ('# from the browser, 2026-11-25\r\n\r\n_oauth2_proxy=x.y-z_\r\n'
     ' second = "quoted" \n', [('_oauth2_proxy', 'x.y-z_'),
                                ('second', '"quoted"')]),
    ('authelia_session=A%2Fb%3D%3D', [('authelia_session', 'A%2Fb%3D%3D')]),
    ("n!#$%&'*+-.^_`|~=v", [("n!#$%&'*+-.^_`|~", 'v')]),
])
def test_parse_cookies(text, cookies):
    assert selftest.parse_cookies(text) == cookies
    assert selftest.cookie_header(cookies) == '; '.join(
        '%s=%s' % pair for pair in cookies)


SECRET_VALUE = 'Xq7secretvalue'


@pytest.mark.parametrize('text, reason', [
    ('s=%s\r\nX-Injected: 1' % SECRET_VALUE, "line 2: a cookie is written "
     "NAME=VALUE (no '=' found)"),
    ('s=%s\rX-Injected: 1' % SECRET_VALUE, "line 1: the value of cookie s "
     "holds a character a cookie cannot carry"),
    ('s=%s\x00' % SECRET_VALUE, "holds a character"),
    ('s=%s\x7f' % SECRET_VALUE, "holds a character"),
    ('s=%s\u2028t' % SECRET_VALUE, "holds a character"),
    ('s=%s\u00e9' % SECRET_VALUE, "holds a character"),
    ('s=\uff33%s' % SECRET_VALUE, "holds a character"),
    ('s=%s\tx' % SECRET_VALUE, "holds a character"),
    ('s=%s,t=u' % SECRET_VALUE, "holds a character"),
    ('s=%s\\' % SECRET_VALUE, "holds a character"),
    ('s="%s' % SECRET_VALUE, "holds a character"),
    ('s=%s;%s' % (SECRET_VALUE, SECRET_VALUE), "line 1: a cookie is "
     "written NAME=VALUE"),
    ('%s' % SECRET_VALUE, "no '=' found"),
    ('=%s' % SECRET_VALUE, "a cookie name is made of ASCII letters"),
    ('s\u00e9=%s' % SECRET_VALUE, "a cookie name is made of ASCII letters"),
    ('s t=%s' % SECRET_VALUE, "a cookie name is made of ASCII letters"),
    ('TRAC_AUTH=%s' % SECRET_VALUE, "TRAC_AUTH is a cookie of Trac itself"),
    ('trac_session=%s' % SECRET_VALUE, "a cookie of Trac itself"),
    ('s=', "cookie s has no value"),
    ('', "no cookie in it"),
    ('# only a comment\n  \n', "no cookie in it"),
    ('s=%s' % (SECRET_VALUE * 600), "the cookies make a header of 8402 "
     "bytes, more than the 8000 a front end takes in one header"),
])
def test_parse_cookies_refuses(text, reason):
    with pytest.raises(ValueError) as e:
        selftest.parse_cookies(text)
    assert reason in str(e.value)
    assert SECRET_VALUE not in str(e.value)


def test_cookie_header_refuses_what_it_cannot_carry():
    for cookies in ([('s', SECRET_VALUE + '\r\nX: 1')], [('s\n', 'v')],
                    [('s', SECRET_VALUE * 600)]):
        with pytest.raises(ValueError) as e:
            selftest.cookie_header(cookies)
        assert SECRET_VALUE not in str(e.value)


def test_plan_for_a_server_variable():
    """env:SM_USER: the spellings a client would try are still sent;
    a secret means nothing for a server variable."""
    probes = selftest.plan(config(header='env:SM_USER',
                                  secret_header='X-S'), MARKER, ('/',))
    assert variants(probes) == ['baseline', 'header', 'lower', 'underscore',
                                'duplicate', 'basic', 'forwarded']
    assert [p.headers for p in probes if p.variant == 'underscore'] == \
        [(('SM_USER', MARKER + '-underscore'),)]


@pytest.mark.parametrize('algorithms, algorithm', [
    ((), 'ES256'), (('none', 'HS256', 'RS256'), 'RS256'),
    (('PS256',), 'PS256'), (('EdDSA', 'ES256'), 'EdDSA')])
def test_forged_jwt_is_valid_but_untrusted(algorithms, algorithm):
    import jwt
    token = selftest.forged_jwt(MARKER, 'https://idp.example', 'trac',
                                algorithms)
    header = jwt.get_unverified_header(token)
    assert header['alg'] == algorithm and 'kid' not in header
    claims = jwt.decode(token, options={'verify_signature': False})
    assert claims['sub'] == MARKER + '-jwt'
    assert claims['iss'] == 'https://idp.example'
    assert claims['aud'] == 'trac'
    assert claims['exp'] > claims['iat']


# The probe's report

SECRET = 's3cr3t-value'


def probe_report(headers=(), peer='127.0.0.1', cfg=None, secret='',
                 **environ):
    cfg = cfg or config()
    env = {'REMOTE_ADDR': peer, 'PATH_INFO': '/wiki/X', 'SCRIPT_NAME': '',
           'QUERY_STRING': 'remoteuser-probe=t'}
    for name, value in headers:
        key = trust.environ_key(name)
        env[key] = env[key] + ',' + value if key in env else value
    env.update(environ)
    settings = decision.make_settings(
        cfg.header, ('127.0.0.1', '::1'), cfg.secret_header, secret)
    made = decision.decide(env, settings)
    data = selftest.report(env, cfg, made, 'verdict', made.network, secret,
                           'http://trac.example/prefix', '1.0')
    # What the probe sends is JSON.
    return json.loads(json.dumps(data))


def test_report_of_an_accepted_forged_name():
    data = probe_report([('Remote-User', MARKER + '-header')])
    assert selftest.is_report(data)
    assert data['trusted'] and data['network'] == '127.0.0.1/32'
    assert data['decision']['accepted'] == MARKER + '-header'
    assert data['identity'] == {'kind': 'header', 'header': 'Remote-User',
                                'key': 'HTTP_REMOTE_USER',
                                'value': MARKER + '-header'}
    assert data['markers'] == {'HTTP_REMOTE_USER': MARKER + '-header'}


def test_report_never_echoes_the_secret():
    cfg = config(secret_header='X-Proxy-Secret')
    data = probe_report([('Remote-User', 'alice'),
                         ('X-Proxy-Secret', SECRET),
                         ('X-Other', MARKER + ' ' + SECRET),
                         ('Remote-Display', SECRET)],
                        cfg=cfg, secret=SECRET)
    text = json.dumps(data)
    assert SECRET not in text
    assert data['secret'] == {'header': 'X-Proxy-Secret',
                              'state': 'matches', 'forged': False}
    assert data['markers']['HTTP_X_OTHER'] == \
        '(contains [remoteuser] secret; not shown)'
    data = probe_report([('X-Proxy-Secret', MARKER + '-wrong')], cfg=cfg,
                        secret=SECRET)
    assert data['secret'] == {'header': 'X-Proxy-Secret',
                              'state': 'does not match', 'forged': True}
    # The secret header's value is not echoed even when forged.
    assert 'HTTP_X_PROXY_SECRET' not in data['markers']
    assert probe_report(cfg=cfg, secret=SECRET)['secret']['state'] == \
        'absent'


def test_report_hides_credentials_and_assertions():
    cfg = config(jwt_header='X-Pomerium-Jwt-Assertion')
    data = probe_report([('X-Pomerium-Jwt-Assertion', 'eyJ.' + MARKER),
                         ('Authorization', 'Basic ' + MARKER),
                         ('Cookie', 'trac_auth=' + MARKER)], cfg=cfg)
    assert data['markers'] == {}
    assert data['jwt'] == {'header': 'X-Pomerium-Jwt-Assertion',
                           'state': 'present',
                           'fingerprint': selftest.fingerprint(
                               'eyJ.' + MARKER)}
    assert MARKER not in json.dumps(data)


def test_report_values_are_bounded():
    data = probe_report([('Remote-User', MARKER + 'x' * 10000)])
    assert len(data['markers']['HTTP_REMOTE_USER']) == 300
    assert len(data['identity']['value']) == 300


def test_report_of_forwarded_headers_and_server():
    data = probe_report([('X-Forwarded-Host', 'evil.example'),
                         ('X-Forwarded-Server', 'trac.example.com')],
                        SERVER_SOFTWARE='gunicorn/23', SERVER_NAME='0.0.0.0',
                        SERVER_PORT='8000')
    assert data['forwarded'] == {'X-Forwarded-Host': 'evil.example',
                                 'X-Forwarded-Server': 'trac.example.com'}
    assert data['server']['software'] == 'gunicorn/23'
    assert data['public_url'] == 'http://trac.example/prefix'


def test_report_for_a_server_variable():
    cfg = config(header='env:SM_USER')
    data = probe_report([('SM-User', MARKER + '-header')], cfg=cfg,
                        peer='192.0.2.1', SM_USER='alice')
    assert data['identity'] == {'kind': 'env', 'header': 'env:SM_USER',
                                'key': 'SM_USER', 'value': 'alice'}
    assert data['decision']['accepted'] == 'alice'
    assert data['markers'] == {'HTTP_SM_USER': MARKER + '-header'}


# Reaching the backend

class Socket(object):
    def __init__(self, address):
        self.address = address

    def getsockname(self):
        return self.address


@pytest.mark.parametrize('environ, targets', [
    ({'gunicorn.socket': Socket(('127.0.0.1', 8000)),
      'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '8000'},
     [('127.0.0.1', '8000')]),
    ({'SERVER_NAME': 'localhost', 'SERVER_PORT': '8000'},
     [('localhost', '8000')]),
    ({'gunicorn.socket': Socket('/run/trac.sock'), 'SERVER_NAME': 'x',
      'SERVER_PORT': '80'}, []),
    ({'trac.web.frontend': 'mod_wsgi', 'SERVER_ADDR': '127.0.0.1',
      'SERVER_NAME': 'trac.example.com', 'SERVER_PORT': '443'}, []),
    # The front end itself is no backend.
    ({'SERVER_NAME': 'trac.example.com', 'SERVER_PORT': '443'}, []),
    ({'SERVER_NAME': '0.0.0.0', 'SERVER_PORT': '8000'}, []),
])
def test_backend_targets(environ, targets):
    report = {'server': selftest.server_info(environ)}
    assert selftest.backend_targets(report, 'trac.example.com', 443) == \
        targets


class FakeUWSGI(object):
    """uWSGI's `uwsgi` module, as far as the probe asks it: the
    descriptor of the request's connection."""

    def __init__(self, fd):
        self.fd = fd

    def connection_fd(self):
        return self.fd


UWSGI_ENVIRON = {'uwsgi.version': b'2.0.31', 'uwsgi.node': b'vm',
                 # What nginx's uwsgi_params say: the front end's own.
                 'SERVER_NAME': '127.0.0.1', 'SERVER_PORT': '8080',
                 'SERVER_ADDR': '127.0.0.1'}


def test_a_uwsgi_backend_on_tcp(monkeypatch):
    """Under uWSGI, the backend is where the request's connection came
    in (the socket nginx's uwsgi_pass wrote to), never the
    SERVER_NAME, SERVER_PORT or SERVER_ADDR that nginx passed; the
    descriptor stays open, uWSGI's."""
    import socket
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    client = socket.create_connection(('127.0.0.1', port))
    conn, _ = listener.accept()
    try:
        monkeypatch.setitem(sys.modules, 'uwsgi', FakeUWSGI(conn.fileno()))
        info = selftest.server_info(UWSGI_ENVIRON)
        assert conn.fileno() != -1 and conn.getsockname()[1] == port
    finally:
        for sock in (conn, client, listener):
            sock.close()
    assert info['software'] == 'uWSGI/2.0.31'
    assert info['local'] == ['127.0.0.1', port]
    report = {'server': info}
    assert selftest.backend_targets(report, '127.0.0.1', 8080) == \
        [('127.0.0.1', str(port))]
    assert backend_is_uwsgi(report)


def test_a_uwsgi_backend_on_a_unix_socket(monkeypatch, tmp_path):
    import socket
    path = str(tmp_path / 'uwsgi.sock')
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    conn, _ = listener.accept()
    try:
        monkeypatch.setitem(sys.modules, 'uwsgi', FakeUWSGI(conn.fileno()))
        info = selftest.server_info(UWSGI_ENVIRON)
    finally:
        for sock in (conn, client, listener):
            sock.close()
    assert info['local'] == ['unix', path]
    assert selftest.backend_targets({'server': info}, '127.0.0.1',
                                    8080) == []


def test_a_uwsgi_backend_that_cannot_say(monkeypatch):
    """Outside uWSGI's process (no `uwsgi` module), or with a descriptor
    that is no socket: nothing to go around, rather than the front
    end's own address."""
    monkeypatch.setitem(sys.modules, 'uwsgi', None)
    info = selftest.server_info(UWSGI_ENVIRON)
    assert info['local'] is None and info['software'] == 'uWSGI/2.0.31'
    assert selftest.backend_targets({'server': info}, 'trac.example.com',
                                    443) == []
    monkeypatch.setitem(sys.modules, 'uwsgi', FakeUWSGI(-1))
    assert selftest.server_info(UWSGI_ENVIRON)['local'] is None


def test_backend_is_uwsgi():
    assert not backend_is_uwsgi({'server': selftest.server_info({
        'SERVER_SOFTWARE': 'gunicorn/27.0.1'})})
    assert not backend_is_uwsgi({})
    probe = uwsgi_probe(MARKER, '/')
    assert probe.variant == 'uwsgi' and probe.token and not probe.session
    assert probe.headers == (('REMOTE_USER', MARKER + '-uwsgi'),)


@pytest.mark.parametrize('address, trusted, source', [
    ('127.0.0.1', ['127.0.0.1/32', '::1/128'], '127.0.0.2'),
    ('127.0.0.1', ['127.0.0.0/30'], '127.1.0.1'),
    # Everything trusted: the first one, to show it is believed.
    ('127.0.0.1', ['0.0.0.0/0'], '127.0.0.2'),
    ('::1', ['127.0.0.1/32'], None),
    ('10.0.0.5', ['127.0.0.1/32'], None),
    ('localhost', [], None),
])
def test_direct_source(address, trusted, source):
    networks = [ipaddress.ip_network(n) for n in trusted]
    assert selftest.direct_source(address, networks) == source


def test_public_address():
    assert selftest.public_address('https://trac.example.com/prefix/') == \
        ('https', 'trac.example.com', 443, '/prefix')
    assert selftest.public_address('http://[::1]:8080') == \
        ('http', '::1', 8080, '')
    for bad in ('', 'trac.example.com', 'ftp://x/', 'http:///x'):
        with pytest.raises(ValueError):
            selftest.public_address(bad)
