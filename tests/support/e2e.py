"""The checks every deployment must pass, whatever the server."""

import json
import xmlrpc.client

from browser import Client
from conftest import logged_in_as
from deploy import PASSWORD
from remoteuserauth.selftest import basic_credentials
from process import http

ATTACKER = 'admin'


def hostile_headers(extra=()):
    """What a client sends to log in as someone else."""
    sets = [[('Remote-User', ATTACKER)],
            [('Remote_User', ATTACKER)],
            [('remote-user', ATTACKER)],
            [('REMOTE-USER', ATTACKER), ('Remote-User', ATTACKER)],
            [('Remote-User', 'alice'), ('Remote_User', ATTACKER)],
            [('SM_USER', ATTACKER)],
            [('X-Forwarded-User', ATTACKER)],
            # Basic credentials whose password is wrong: nginx fills
            # $remote_user from them wherever auth_basic does not check.
            forged_basic(ATTACKER)]
    return sets + [list(extra)] if extra else sets


def forged_basic(user):
    return [('Authorization', basic_credentials(user, 'not-the-password'))]


def basic(user='alice'):
    return [('Authorization', basic_credentials(user, PASSWORD))]


def check_anonymous_page(port, prefix):
    r = http(port, prefix + '/wiki/WikiStart')
    assert r.status == 200, r.body[:500]
    assert logged_in_as(r) is None
    assert 'href="%s/wiki/TracGuide"' % prefix in r.body
    assert 'href="%s/login"' % prefix in r.body
    return r


def check_static(port, prefix):
    r = http(port, prefix + '/chrome/common/css/trac.css')
    assert r.status == 200
    assert 'text/css' in r.header('Content-Type')


def check_login(port, prefix, base_url, credentials, expected='alice'):
    """Log in through the front end and return the cookie header that
    makes the next page say "logged in as"."""
    referer = base_url + '/wiki/SandBox'
    r = http(port, prefix + '/login',
             list(credentials) + [('Referer', referer)])
    assert r.status == 302, (r.status, r.body[:500])
    assert r.header('Location') == referer
    auth = [c for c in r.cookies() if c.startswith('trac_auth=')]
    assert auth, r.headers
    assert 'Path=%s' % (prefix or '/') in auth[0]
    cookie = ('Cookie', auth[0].split(';')[0])
    r = http(port, prefix + '/wiki/WikiStart', [cookie])
    assert logged_in_as(r) == expected
    return cookie


def check_hostile_clients(port, prefix, credentials=None, extra=()):
    """No header a client sends makes it someone else. `credentials`
    log alice in; a function returning them gives fresh ones for each
    request (a Kerberos token is good once)."""
    for headers in hostile_headers(extra):
        r = http(port, prefix + '/wiki/WikiStart', headers)
        assert r.status == 200, (headers, r.status)
        assert logged_in_as(r) is None, headers
        r = http(port, prefix + '/login', headers)
        assert r.status in (302, 401), (headers, r.status)
        assert not [c for c in r.cookies() if c.startswith('trac_auth=')], \
            headers
        if credentials and not any(name.lower() == 'authorization'
                                   for name, value in headers):
            fresh = credentials() if callable(credentials) else credentials
            r = http(port, prefix + '/login', list(fresh) + headers)
            cookie = [c for c in r.cookies() if c.startswith('trac_auth=')]
            assert cookie, headers
            r = http(port, prefix + '/', [('Cookie', cookie[0].split(';')[0])])
            assert logged_in_as(r) == 'alice', headers


def check_redirects(port, prefix, base_url):
    """Redirects keep scheme, host and prefix, whatever Host says."""
    for host in (None, 'evil.example', 'evil.example:%d' % port):
        r = http(port, prefix + '/wiki/', host=host)
        assert r.status == 301
        assert r.header('Location') == base_url + '/wiki'


def digest(port, path, user='alice', realm='trac'):
    """The Authorization header a browser sends after Apache's Digest
    challenge for `path`."""
    import hashlib
    import re
    r = http(port, path)
    assert r.status == 401
    challenge = r.header('WWW-Authenticate')
    fields = dict(re.findall(r'(\w+)="?([^",]+)"?', challenge))
    assert fields['realm'] == realm
    def md5(text):
        return hashlib.md5(text.encode()).hexdigest()
    ha1 = md5('%s:%s:%s' % (user, realm, PASSWORD))
    ha2 = md5('GET:%s' % path)
    cnonce, nc = '0a4f113b', '00000001'
    response = md5('%s:%s:%s:%s:auth:%s' % (ha1, fields['nonce'], nc,
                                           cnonce, ha2))
    value = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", '
             'qop=auth, nc=%s, cnonce="%s", response="%s", algorithm=MD5'
             % (user, realm, fields['nonce'], path, nc, cnonce, response))
    if 'opaque' in fields:
        value += ', opaque="%s"' % fields['opaque']
    return [('Authorization', value)]


def check_deployment(port, prefix, base_url, credentials, static=True,
                     rpc_login=True):
    """Everything a deployment with password authentication on /login
    must do: the anonymous page, the static files, the challenge, a real
    login, hostile clients, redirects, API clients (`rpc_login`: the
    front end checks `credentials` on the RPC paths below /login too).
    Returns the login's cookie."""
    check_anonymous_page(port, prefix)
    if static:
        check_static(port, prefix)
    assert http(port, prefix + '/login').status == 401
    cookie = check_login(port, prefix, base_url, credentials)
    check_hostile_clients(port, prefix, credentials)
    check_redirects(port, prefix, base_url)
    check_api_clients(port, prefix, credentials if rpc_login else None)
    return cookie


# API clients

#: The XML-RPC paths below /login (the tests' handler, rpchandler.py,
#: answers there as TracXMLRPC does), TracXMLRPC's JSON-RPC path (no
#: handler here: Trac's 404 page), and trac-ticketrpc's JSON-RPC path.
XMLRPC_PATHS = ('/login/rpc', '/login/xmlrpc')
JSONRPC_PATH = '/login/jsonrpc'
TICKETRPC_PATH = '/ticketrpc'


class RpcReply(object):
    """An RPC call's HTTP answer and, when the handler answered, its
    result or fault."""

    def __init__(self, reply, result=None, fault=None):
        self.reply = reply
        self.status = reply.status
        self.result = result
        self.fault = fault

    def cookies(self):
        return self.reply.cookies()

    def header(self, name):
        return self.reply.header(name)

    def __repr__(self):
        return 'RpcReply(%s, result=%r, fault=%r, body=%r)' % (
            self.status, self.result, self.fault, self.reply.body[:300])


def xmlrpc_call(port, path, method, params=(), headers=()):
    """An XML-RPC call, as xmlrpc.client sends it."""
    body = xmlrpc.client.dumps(tuple(params), method).encode('utf-8')
    r = http(port, path, list(headers) + [('Content-Type', 'text/xml')],
             method='POST', body=body)
    if r.status != 200 or 'xml' not in (r.header('Content-Type') or ''):
        return RpcReply(r)
    try:
        return RpcReply(r, xmlrpc.client.loads(r.body)[0][0])
    except xmlrpc.client.Fault as fault:
        return RpcReply(r, fault=(fault.faultCode, fault.faultString))


def jsonrpc_call(port, path, method, params=None, headers=()):
    """A JSON-RPC 2.0 call, as trac-ticketrpc's clients send it
    (Content-Type exactly application/json: it refuses any other)."""
    body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': method,
                       'params': params or {}}).encode('utf-8')
    r = http(port, path, list(headers) +
             [('Content-Type', 'application/json')], method='POST',
             body=body)
    if r.status != 200 or 'json' not in (r.header('Content-Type') or ''):
        return RpcReply(r)
    data = json.loads(r.body)
    error = data.get('error')
    return RpcReply(r, data.get('result'),
                    (error['code'], error['message']) if error else None)


def new_ticket(summary='made by an API client'):
    """trac-ticketrpc's ticket.create parameters."""
    return {'summary': summary, 'description': 'by the end-to-end tests',
            'project': 'test'}


#: trac-ticketrpc's error code for a missing permission.
TICKETRPC_DENIED = 1000


def check_api_clients(port, prefix, login=None):
    """What an API client meets. `login`: the credentials the front end
    checks on the RPC paths below /login (None where it lets them
    through to Trac, the token paths of a single sign-on site).

    No forged identity header, and no Basic credentials with a wrong
    password, make a client anyone on an API path: where the front end
    checks credentials it refuses them (401), elsewhere Trac serves the
    call anonymously. With `login`, the XML-RPC handler sees alice, and
    her ticket is hers."""
    for path in XMLRPC_PATHS:
        for headers in hostile_headers():
            r = xmlrpc_call(port, prefix + path, 'system.whoami',
                            headers=headers)
            if login is None:
                assert r.result == 'anonymous', (path, headers, r)
            else:
                assert r.status == 401 and r.result is None, \
                    (path, headers, r)
            assert not [c for c in r.cookies()
                        if c.startswith('trac_auth=')], (path, headers)
            if login is not None and not any(
                    n.lower() == 'authorization' for n, v in headers):
                fresh = login() if callable(login) else login
                r = xmlrpc_call(port, prefix + path, 'system.whoami',
                                headers=list(fresh) + headers)
                assert r.result == 'alice', (path, headers, r)
        if login is not None:
            fresh = login() if callable(login) else login
            r = xmlrpc_call(port, prefix + path, 'ticket.create',
                            ['from %s' % path, 'by XML-RPC'], fresh)
            assert isinstance(r.result, int), r
    for headers in hostile_headers():
        r = http(port, prefix + JSONRPC_PATH, headers)
        assert r.status == (404 if login is None else 401), (headers, r.status)
        assert logged_in_as(r) is None, headers
        r = jsonrpc_call(port, prefix + TICKETRPC_PATH, 'ticket.create',
                         new_ticket('forged'), headers)
        assert r.fault is not None and r.fault[0] == TICKETRPC_DENIED, \
            (headers, r)
        assert not [c for c in r.cookies() if c.startswith('trac_auth=')], \
            headers


#: Personal access tokens on, on the default token paths: the samples
#: that let API clients through to Trac say so in their trac.ini.
TOKEN_OPTIONS = [('remoteuser', 'tokens', 'true'),
                 ('remoteuser', 'token_paths',
                  '/login/rpc, /login/xmlrpc, /login/jsonrpc, /ticketrpc')]


# Personal access tokens

def make_token(env, user, *options):
    """`trac-admin ENV remoteuser token add USER ...`: (token, its ID)."""
    import re
    lines = env.admin('remoteuser token add', user, *options).splitlines()
    token_id = re.match(r'Token (\S+) \(', lines[0]).group(1)
    return lines[-1], token_id


def bearer(token):
    return [('Authorization', 'Bearer ' + token)]


def no_login_cookie(reply):
    return not [c for c in reply.cookies() if c.startswith('trac_auth=')]


def check_token_client(port, prefix, token, owner, xmlrpc_path=None):
    """A token acts as its owner through the front end: a ticket made
    with trac-ticketrpc at /ticketrpc (Bearer, and Basic with the token
    as the owner's password), and, when `xmlrpc_path` is a token path
    there, XML-RPC; never with a login cookie."""
    for credentials in (bearer(token),
                        [('Authorization',
                          basic_credentials(owner, token))]):
        r = jsonrpc_call(port, prefix + TICKETRPC_PATH, 'ticket.create',
                         new_ticket('by %s' % owner), credentials)
        assert r.fault is None and r.result['reporter'] == owner, r
        assert no_login_cookie(r), r.reply.headers
    if xmlrpc_path:
        r = xmlrpc_call(port, prefix + xmlrpc_path, 'system.whoami',
                        headers=bearer(token))
        assert r.result == owner, r
        r = xmlrpc_call(port, prefix + xmlrpc_path, 'ticket.create',
                        ['by XML-RPC', 'with a token'], bearer(token))
        assert isinstance(r.result, int), r
        assert no_login_cookie(r), r.reply.headers


def check_token_refused(reply):
    """Trac's answer to a token it refuses: 401, Bearer, no cookie."""
    assert reply.status == 401, reply
    assert (reply.header('WWW-Authenticate') or '').startswith('Bearer'), \
        reply.reply.headers
    assert not reply.cookies(), reply.reply.headers


def sso_options(prefix, name, email, groups):
    """trac.ini behind an Apache single sign-on module that sets
    REMOTE_USER and hands the profile over as server variables
    (`prefix` + the attribute's name), as its sample says; users of
    example.com are local, `developers` is synced.

    The test's browser is on loopback; a real one is no trusted proxy,
    so loopback is taken out of trusted_proxies: what the module sets
    must count from any peer. Every refusal is logged, not once per
    five minutes. API clients use tokens, on the paths the samples let
    through."""
    return TOKEN_OPTIONS + [('remoteuser', 'header', ''),
            ('remoteuser', 'local_domains', 'example.com'),
            ('remoteuser', 'name_header', 'env:' + prefix + name),
            ('remoteuser', 'email_header', 'env:' + prefix + email),
            ('remoteuser', 'groups_header', 'env:' + prefix + groups),
            ('remoteuser', 'sync_groups', 'developers'),
            ('remoteuser', 'trusted_proxies', '192.0.2.1'),
            ('remoteuser', 'log_interval', '0')]


def check_sso_refusal(site, reason, **fields):
    """Log in at the identity provider in front of `site` as the user
    `fields` choose: Trac refuses the name the provider vouches for,
    logs `reason`, and serves the page anonymously without a login
    cookie. Returns the log written meanwhile."""
    site.env.log()
    client = Client()
    page = client.login(site.base_url + '/login', **fields)
    assert page.status == 200, page.body[:500]
    assert page.url.startswith(site.base_url)
    assert logged_in_as(page) is None
    assert client.cookie('trac_auth') is None
    log = site.env.log()
    assert reason in log, log[-2000:]
    return log


def selftest(env, url, *args):
    """`trac-admin ENV remoteuser selftest URL ...` against the live
    site; its exit code and its lines."""
    rv, output = env.admin_rv('remoteuser selftest', url, *args)
    return rv, output.splitlines()


def the_critical_finding(rv, lines):
    """The self-test's one CRITICAL line (and its exit code 1)."""
    critical = [ln for ln in lines if ln.startswith('CRITICAL')]
    assert rv == 1, lines
    assert len(critical) == 1, lines
    return critical[0]


def the_warning(rv, lines):
    """The self-test's one WARN line, with no CRITICAL (exit code 0)."""
    warned = [ln for ln in lines if ln.startswith('WARN')]
    assert rv == 0, lines
    assert len(warned) == 1, lines
    return warned[0]


def check_selftest_clean(env, url, *args):
    """The self-test finds nothing wrong with a deployment."""
    rv, lines = selftest(env, url, *args)
    assert rv == 0, '\n'.join(lines)
    assert not [line for line in lines
                if line.startswith(('CRITICAL', 'WARN', 'ERROR'))], \
        '\n'.join(lines)
    assert lines[-1].endswith('no forged name or address got through'), \
        lines
    return lines


def check_selftest_clean_logged_in(env, url, user='alice'):
    """The self-test finds nothing wrong either when its requests carry
    `user`'s Basic credentials: the locations that ask for a password
    are checked logged in. Returns the lines."""
    import tempfile
    with tempfile.NamedTemporaryFile('w', suffix='.pw') as f:
        f.write(PASSWORD + '\n')
        f.flush()
        lines = check_selftest_clean(env, url, '--user=' + user,
                                     '--password-file=' + f.name)
    assert not [ln for ln in lines if '/login:' in ln and
                'asks for a login first' in ln], lines
    return lines
