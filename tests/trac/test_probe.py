"""The self-test's probe in a real Trac: it answers on any path with what
arrived, only with a valid token, and changes nothing; the admin
panel's part and the command's arguments."""

import json
import re
import time
from urllib.parse import urlencode

import pytest

from remoteuserauth import selftest
from remoteuserauth.probe import KEY_NAME, SelfTestProbe

MARKER = 'ruaprobe-0123abcd'


@pytest.fixture
def env(make_env):
    """A Trac whose front end would sync profiles and groups: nothing of
    it may happen for a probe."""
    made = make_env(('remoteuser', 'name_header', 'X-Name'),
                    ('remoteuser', 'email_header', 'X-Email'),
                    ('remoteuser', 'groups_header', 'X-Groups'),
                    ('remoteuser', 'sync_groups', 'developers'),
                    ('remoteuser', 'secret_header', 'X-Proxy-Secret'),
                    ('remoteuser', 'secret', 'hunter2hunter2'))
    made.admin('permission add developers WIKI_VIEW')
    made.admin('permission add root TRAC_ADMIN')
    return made


def token(env, lifetime=300):
    return SelfTestProbe(env.env()).issue_token(lifetime)


def probe(env, path='/', token_=None, headers=(), **kwargs):
    query = 'remoteuser-probe=' + (token_ if token_ is not None
                                   else token(env))
    return env.request(path + '?' + query, headers=list(headers), **kwargs)


FORGED = [('Remote-User', MARKER + '-header'),
          ('X-Proxy-Secret', 'hunter2hunter2'),
          ('X-Name', 'Forged Name'), ('X-Email', 'forged@example.com'),
          ('X-Groups', 'developers')]


def stored(env):
    return (env.db("SELECT sid, authenticated FROM session"),
            env.db("SELECT sid, name FROM session_attribute"),
            env.db("SELECT name FROM auth_cookie"),
            env.db("SELECT username, action FROM permission "
                   "ORDER BY username, action"))


PATHS = ('/', '/login', '/logout', '/wiki/WikiStart', '/wiki/Deep/Page',
         '/chrome/common/css/trac.css', '/xmlrpc',
         '/admin/general/remoteuser', '/prefs')


def test_probe_answers_on_any_path_and_changes_nothing(env):
    before = stored(env)
    env.log()
    for path in PATHS:
        r = probe(env, path, headers=FORGED)
        assert r.status == 200, path
        report = json.loads(r.body)
        assert selftest.is_report(report)
        assert report['path'] == path
        assert report['decision']['accepted'] == MARKER + '-header'
        assert report['secret']['state'] == 'matches'
        assert 'hunter2' not in r.body
        # No cookie, no session, no profile, no group, nobody logged in.
        assert not [h for h, v in r.headers if h.lower() == 'set-cookie']
        assert ('Cache-Control', 'no-store') in r.headers
    assert stored(env) == before
    log = env.log()
    assert 'Forged Name' not in log and 'developers' not in log


def test_probe_of_a_browser_with_cookies(env):
    """A stale login and a session cookie: the probe still reports
    anonymously and sends no cookie back."""
    cookie = env.stale_cookie('root')
    r = probe(env, '/wiki/WikiStart', headers=[
        cookie, ('Cookie', 'trac_session=0123456789abcdef01234567')])
    report = json.loads(r.body)
    assert report['decision']['accepted'] is None
    assert not [h for h, v in r.headers if h.lower() == 'set-cookie']


BAD_TOKENS = [
    (lambda env: 'garbage', 'malformed token'),
    (lambda env: '', 'malformed token'),
    (lambda env: selftest.make_token(b'x' * 32, time.time(), 300),
     'bad signature'),
    (lambda env: selftest.make_token(
        SelfTestProbe(env.env())._key(), time.time() - 600, 300),
     'expired token'),
    (lambda env: 'a' * 100000, 'malformed token'),
    (lambda env: '1.2\r\nX-Injected: 1', 'malformed token'),
]


def test_probe_refuses_bad_tokens(env):
    token(env)      # the environment has its key
    for i, (make_token, reason) in enumerate(BAD_TOKENS):
        bad = make_token(env)
        # One peer each: the same refusal from one peer is logged once.
        peer = '127.0.0.%d' % (i + 1)
        r = env.request('/wiki/WikiStart', headers=FORGED, peer=peer,
                        environ={'QUERY_STRING': 'remoteuser-probe=' + bad})
        assert r.status == 404, reason
        assert '"probe"' not in r.body and MARKER not in r.body
        assert 'refused a self-test probe request from %s: %s' % (
            peer, reason) in env.log()
        # Refused, and still nobody logged in by the forged header.
        assert not env.db("SELECT name FROM auth_cookie")


def test_probe_before_any_key_exists(trac_env):
    r = trac_env.request('/?remoteuser-probe=' +
                         selftest.make_token(b'k' * 32, time.time(), 60))
    assert r.status == 404
    assert 'no probe key in this environment yet' in trac_env.log()
    assert not trac_env.db("SELECT value FROM system WHERE name=%s",
                           (KEY_NAME,))


def test_key_is_kept_in_the_database_not_in_trac_ini(env):
    token(env)
    (value,), = env.db("SELECT value FROM system WHERE name=%s",
                       (KEY_NAME,))
    assert re.match('[0-9a-f]{64}$', value)
    with open(env.path + '/conf/trac.ini') as f:
        assert value not in f.read()
    token(env)
    assert env.db("SELECT value FROM system WHERE name=%s",
                  (KEY_NAME,)) == [(value,)]


def test_probe_from_an_untrusted_peer(env):
    r = probe(env, '/', headers=FORGED, peer='192.0.2.7')
    report = json.loads(r.body)
    assert report['trusted'] is False
    assert report['decision']['accepted'] is None
    assert report['identity']['value'] == MARKER + '-header'
    assert 'trusted_proxies' in report['decision']['verdict']


def test_probe_never_shows_a_wrong_secret_or_assertion(make_env):
    env = make_env(('remoteuser', 'secret_header', 'X-Proxy-Secret'),
                   ('remoteuser', 'secret', 'hunter2hunter2'),
                   ('remoteuser', 'jwt_header', 'X-Assertion'))
    r = probe(env, '/', headers=[('X-Proxy-Secret', 'hunter2-guess'),
                                 ('X-Assertion', 'eyJhbGciOi.secret.sig')])
    report = json.loads(r.body)
    assert report['secret']['state'] == 'does not match'
    assert 'hunter2' not in r.body and 'eyJhbGciOi' not in r.body
    assert report['jwt']['fingerprint'] == \
        selftest.fingerprint('eyJhbGciOi.secret.sig')


def test_ordinary_requests_are_unchanged(env):
    """Without the parameter, the same forged headers log in as they
    would: the probe only reports."""
    r = env.request('/wiki/WikiStart', headers=FORGED)
    assert 'logged in as' in r.body


# The admin panel's part

def login(env, user='root'):
    r = env.request('/login', remote_user=user)
    return ('Cookie', [v for k, v in r.headers if k == 'Set-Cookie' and
                       v.startswith('trac_auth=')][0].split(';')[0])


def test_panel_offers_the_button(env):
    r = env.request('/admin/general/remoteuser', headers=[login(env)])
    assert r.status == 200
    assert 'id="remoteuser-selftest-run"' in r.body
    assert 'remoteuserauth/selftest.js' in r.body
    data = json.loads(re.search(r'var remoteuserSelftest=(\{.*?\});',
                                r.body).group(1))
    assert selftest.is_marker(data['marker'])
    assert data['base'] == '/'
    assert selftest.check_token(SelfTestProbe(env.env())._key(),
                                data['token'], time.time()) is None
    variants = {q['variant'] for q in data['requests']}
    assert variants == {'baseline', 'header', 'lower', 'upper',
                        'underscore', 'secret', 'profile', 'forwarded'}
    # The script is served by the plugin.
    r = env.request('/chrome/remoteuserauth/selftest.js')
    assert r.status == 200 and 'remoteuserSelftest' in r.body


def browser_run(env, cookie, front):
    """What the panel's script does: fetch each planned request (through
    `front`, a model of the front end), then post the answers back."""
    r = env.request('/admin/general/remoteuser', headers=[cookie])
    data = json.loads(re.search(r'var remoteuserSelftest=(\{.*?\});',
                                r.body).group(1))
    form_token = re.search(r'name="__FORM_TOKEN" value="([^"]+)"',
                           r.body).group(1)
    results = []
    # Two paths are enough here; the real servers' tests take them all.
    for request in [q for q in data['requests']
                    if q['path'] in ('/', '/wiki/WikiStart')]:
        answer = probe(env, request['path'], data['token'],
                       front([tuple(h) for h in request['headers']]))
        results.append({'id': request['id'], 'status': answer.status,
                        'server': 'nginx/1.22.1',
                        'report': json.loads(answer.body)})
    body = urlencode({'__FORM_TOKEN': form_token, 'selftest': '1',
                      'marker': data['marker'],
                      'results': json.dumps(results)}).encode()
    cookies = '%s; trac_form_token=%s' % (cookie[1], form_token)
    r = env.request('/admin/general/remoteuser', 'POST', body=body,
                    headers=[('Cookie', cookies)])
    assert r.status == 200, r.body[:500]
    return json.loads(r.body)


def test_panel_judges_the_browser_run(env):
    cookie = login(env)
    # A front end that sends its secret but passes the client's name.
    answer = browser_run(env, cookie, lambda headers: [
        (n, v) for n, v in headers if n != 'X-Proxy-Secret'] + [
        ('X-Proxy-Secret', 'hunter2hunter2')])
    assert answer['critical'] is True
    texts = [f['text'] for f in answer['findings']
             if f['severity'] == 'CRITICAL']
    assert any("a client's Remote-User header is accepted" in t
               for t in texts)
    # One that sets the identity headers and forgets the profile ones.
    answer = browser_run(env, cookie, lambda headers: [
        (n, v) for n, v in headers if 'user' not in n.lower()])
    assert [f['text'] for f in answer['findings']
            if f['severity'] == 'CRITICAL'] == [
        "a client's X-Name, X-Email, X-Groups reaches Trac: a user logged "
        "in on this path could put themself in [remoteuser] sync_groups"]
    answer = browser_run(env, cookie, lambda headers: [
        (n, v) for n, v in headers if 'user' not in n.lower() and
        not n.startswith('X-')])
    assert answer['critical'] is False
    assert answer['summary'].startswith('0 critical')


def test_panel_plans_a_forged_assertion(env):
    # With jwt_header set REMOTE_USER is not read: log in first; the
    # cookie still counts while no assertion is sent.
    cookie = login(env)
    env.configure('remoteuser', jwt_header='X-Assertion')
    r = env.request('/admin/general/remoteuser', headers=[cookie])
    data = json.loads(re.search(r'var remoteuserSelftest=(\{.*?\});',
                                r.body).group(1))
    forged = [q for q in data['requests'] if q['variant'] == 'jwt']
    assert len(forged) == len(selftest.DEFAULT_PATHS)
    name, value = forged[0]['headers'][0]
    assert name == 'X-Assertion' and value.count('.') == 2
    r = probe(env, '/', headers=[(name, value)])
    assert json.loads(r.body)['jwt'] == {
        'header': 'X-Assertion', 'state': 'present',
        'fingerprint': selftest.fingerprint(value)}


def test_panel_refuses_unusable_results(env):
    cookie = login(env)
    r = env.request('/admin/general/remoteuser', headers=[cookie])
    form_token = re.search(r'name="__FORM_TOKEN" value="([^"]+)"',
                           r.body).group(1)
    body = ('__FORM_TOKEN=%s&selftest=1&marker=x&results=%%5B' %
            form_token).encode()
    r = env.request('/admin/general/remoteuser', 'POST', body=body,
                    headers=[('Cookie', '%s; trac_form_token=%s' % (
                        cookie[1], form_token))])
    assert r.status == 400
    assert json.loads(r.body)['error'].startswith('The browser sent no')
    assert "self-test sent unusable results" in env.log()
    # Reports that are not what the probe sends are left out, never a 500.
    for results in ([{'id': '0', 'status': 200, 'report': {
                        'probe': 'remoteuserauth', 'decision': []}}],
                    [{'id': '0', 'report': {'probe': 'remoteuserauth',
                                            'decision': {}, 'markers': {
                                                'x': 1}}}],
                    [None, 'x', {'id': ['0']}], '[' * 100000):
        body = urlencode({'__FORM_TOKEN': form_token, 'selftest': '1',
                          'marker': MARKER, 'results': results
                          if isinstance(results, str) else
                          json.dumps(results)}).encode()
        r = env.request('/admin/general/remoteuser', 'POST', body=body,
                        headers=[('Cookie', '%s; trac_form_token=%s' % (
                            cookie[1], form_token))])
        assert r.status in (200, 400), r.body[:300]
        answer = json.loads(r.body)
        assert 'error' in answer or answer['findings'][0]['severity'] == \
            'ERROR'
    # Without the form token, Trac refuses the POST itself.
    r = env.request('/admin/general/remoteuser', 'POST',
                    body=b'selftest=1&marker=x&results=%5B%5D',
                    headers=[cookie])
    assert r.status == 400 and 'form token' in r.body


def test_panel_without_the_probe(env):
    env.configure('components', **{'remoteuserauth.probe.*': 'disabled'})
    r = env.request('/admin/general/remoteuser', headers=[login(env)])
    assert r.status == 200
    assert 'remoteuser-selftest-run' not in r.body
    assert 'remoteuserauth.probe.*</code>) is\n        disabled' in r.body


def test_the_token_paths_the_self_test_checks(make_env):
    """The token paths while tokens are read (the malformed entry left
    out), none otherwise; the probe
    on a token path reports the Authorization header's scheme only, and
    answers before a token is judged (a refused one would be a 401)."""
    off = make_env()
    assert SelfTestProbe(off.env()).selftest_config().token_paths == ()
    on = make_env(('remoteuser', 'tokens', 'true'),
                  ('remoteuser', 'token_paths', '/ticketrpc, /api/, x'))
    on.admin('upgrade')
    assert SelfTestProbe(on.env()).selftest_config().token_paths == (
        '/api', '/ticketrpc')
    for value, scheme in (('Bearer tracpat_' + 'A' * 49, 'Bearer'),
                          ('Bearer %s-bearer' % MARKER, 'Bearer'),
                          ('Basic\r\nX: y', '(other)')):
        r = probe(on, '/ticketrpc', headers=[('Authorization', value)])
        assert r.status == 200, r.body[:500]
        report = json.loads(r.body)
        assert report['authorization']['scheme'] == scheme
        assert report['authorization']['forged'] == (MARKER in value)
        assert 'tracpat_' not in r.body and 'AAAA' not in r.body
