"""nginx -> uWSGI (nginx-uwsgi.conf, trac-uwsgi.ini) against the real
servers: uwsgi_pass to a Unix socket only nginx's group may open, the
name as `uwsgi_param REMOTE_USER`, the client's Remote-User blanked.

REMOTE_USER is no header: whoever writes to uWSGI's socket names the
user, whatever trusted_proxies says. The tests show who can write to
the sample's socket (nginx's group, not another user), that a TCP socket
on loopback lets anyone on the machine log in as anyone, and that a
client's Remote-User reaches Trac as HTTP_REMOTE_USER unless blanked."""

import contextlib
import errno
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import logged_in_as
from deploy import Nginx, deploy_static, htpasswd, make_env, public_dir
from e2e import (ATTACKER, basic, check_deployment, check_selftest_clean,
                 check_selftest_clean_logged_in, selftest,
                 the_critical_finding, the_warning)
from frontends import (UWSGI, UWSGI_KEEPS_THE_CLIENT_HEADER,
                       UWSGI_TOKEN_LOCATION_DROPS_AUTHORIZATION, Assertions,
                       check_assertions, check_logout, nginx_to_uwsgi_on_tcp,
                       render_changed, tokens_on, uwsgi_on_tcp, uwsgi_request)
from process import free_port, http, require

pytestmark = pytest.mark.servers

NGINX_USER = 'www-data'
OTHER_USER = 'nobody'


class Site(object):
    """Trac (the sample's trac.ini) for uWSGI, and nginx; the servers
    run while a `with site.servers()` block does."""

    def __init__(self, workdir, plugin_site):
        self.dir = workdir
        self.plugin_site = plugin_site
        self.port = free_port()
        self.base_url = 'http://127.0.0.1:%d/prefix' % self.port
        self.socket = os.path.join(workdir, 'uwsgi.sock')
        self.env = make_env(workdir, options=[
            ('trac', 'base_url', self.base_url),
            ('remoteuser', 'header', '')])
        self.env.admin('permission add %s TRAC_ADMIN' % ATTACKER)
        self.htdocs = deploy_static(self.env.path,
                                    os.path.join(workdir, 'static'))
        self.users = htpasswd(os.path.join(workdir, 'htpasswd'), ['alice'])
        # nginx includes `uwsgi_params` from beside its main file.
        require('nginx', '/etc/nginx/uwsgi_params')
        shutil.copy('/etc/nginx/uwsgi_params', workdir)
        self.assertions = Assertions(workdir)

    @contextlib.contextmanager
    def servers(self, ini_change=None, nginx_change=None, socket=None):
        """uWSGI and nginx from the samples, changed by the changes;
        `socket` is where the changed ini makes uWSGI listen."""
        ini = render_changed('trac-uwsgi.ini',
                             os.path.join(self.dir, 'trac-uwsgi.ini'),
                             ini_change, VENV=sys.prefix,
                             TRAC_ENV=self.env.path, SOCKET=self.socket,
                             SOCKET_OWNER='root:' + NGINX_USER)
        conf = render_changed('nginx-uwsgi.conf',
                              os.path.join(self.dir, 'site.conf'),
                              nginx_change, PORT=self.port,
                              SOCKET=self.socket, HTDOCS=self.htdocs,
                              HTPASSWD=self.users)
        uwsgi = UWSGI(self.dir, ini, socket or self.socket,
                      self.plugin_site)
        try:
            nginx = Nginx(self.dir, conf, self.port)
            try:
                yield uwsgi
            finally:
                nginx.stop()
        finally:
            uwsgi.stop()

    def forget(self, *names):
        with self.env.env().db_transaction as db:
            for name in names:
                db("DELETE FROM auth_cookie WHERE name=%s", (name,))


@pytest.fixture(scope='module')
def site(plugin_site):
    workdir = public_dir('ruatest-')
    made = Site(workdir, plugin_site)
    yield made
    shutil.rmtree(workdir, ignore_errors=True)


CONNECT_AS = '''
import os, socket, sys
os.setgid(int(sys.argv[2]))
os.setgroups([])
os.setuid(int(sys.argv[1]))
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[3])
except OSError as e:
    print(e.errno)
else:
    print(0)
'''


def connect_as(user, path):
    """0 when `user` (with their own group only) can connect to the
    Unix socket `path`, else the errno."""
    entry = pwd.getpwnam(user)
    out = subprocess.run([sys.executable, '-c', CONNECT_AS,
                          str(entry.pw_uid), str(entry.pw_gid), path],
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def logged(path, pattern, timeout=30):
    """The line of the log at `path` that matches `pattern`, once there
    is one; `None` if none comes within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with open(path, errors='replace') as f:
            found = re.search('^.*%s.*$' % pattern, f.read(), re.M)
        if found or time.monotonic() > deadline:
            return found and found.group(0)
        time.sleep(0.2)


def test_the_sample(site):
    """A real login, hostile clients, /logout, the sub-path, the
    self-test, anonymous and logged in; the socket only nginx's group
    (and its owner) may open."""
    with site.servers():
        cookie = check_deployment(site.port, '/prefix', site.base_url,
                                  basic('alice'))
        check_logout(site.port, '/prefix', site.base_url, cookie)
        assert http(site.port, '/prefix/login').status == 401
        lines = check_selftest_clean(site.env, site.base_url)
        assert lines[0].endswith('; front end: uWSGI behind nginx)'), lines
        # A Unix socket: nothing to write to around nginx from another
        # address (its permissions are checked below).
        assert not [ln for ln in lines if 'uWSGI socket' in ln], lines
        check_selftest_clean_logged_in(site.env, site.base_url)
        info = os.stat(site.socket)
        assert oct(info.st_mode & 0o777) == '0o660'
        assert grp.getgrgid(info.st_gid).gr_name == NGINX_USER
        assert connect_as(NGINX_USER, site.socket) == 0
        assert connect_as(OTHER_USER, site.socket) == errno.EACCES
        # The owner can: what it writes is believed (the trust the
        # socket's permissions confine).
        r = uwsgi_request(site.socket, '/prefix/wiki/WikiStart',
                          {'REMOTE_USER': 'alice'})
        assert r.status == 200 and logged_in_as(r) == 'alice'
    assert not os.path.exists(site.socket)      # vacuum


def test_identities_of_any_size(site):
    """Rule 16: 12 KB and 16 KiB assertions pass nginx and uWSGI."""
    with site.assertions.believed_by(site.env), site.servers():
        check_assertions(site.port, '/prefix/wiki/WikiStart',
                         site.assertions)


def test_a_socket_on_loopback_names_anyone(site):
    """uWSGI on 127.0.0.1 instead of the Unix socket: nginx works as
    before, and any local user or program writes REMOTE_USER=admin
    straight to the socket, from any local address."""
    port = free_port()
    try:
        with site.servers(uwsgi_on_tcp(port), nginx_to_uwsgi_on_tcp(port),
                          socket=('127.0.0.1', port)):
            r = http(site.port, '/prefix/login', basic('alice'))
            assert r.status == 302
            r = uwsgi_request(('127.0.0.1', port), '/prefix/wiki/WikiStart',
                              {'REMOTE_USER': ATTACKER}, source='127.0.0.2')
            assert r.status == 200
            assert logged_in_as(r) == ATTACKER      # the hole
    finally:
        site.forget(ATTACKER, 'alice')


def test_the_client_header_not_blanked(site):
    """Without `uwsgi_param HTTP_REMOTE_USER "";` and with trac.ini's
    default header (Remote-User), a client whose address is trusted
    (all of them, behind a TLS terminator or tunnel on the same
    machine) names anyone: its Remote-User arrives as HTTP_REMOTE_USER.
    The sample's blanking holds with that trac.ini too."""
    site.env.configure('remoteuser', header='Remote-User')
    try:
        with site.servers():
            r = http(site.port, '/prefix/wiki/WikiStart',
                     [('Remote-User', ATTACKER)])
            assert r.status == 200 and logged_in_as(r) is None
        with site.servers(nginx_change=UWSGI_KEEPS_THE_CLIENT_HEADER):
            r = http(site.port, '/prefix/wiki/WikiStart',
                     [('Remote-User', ATTACKER)])
            assert logged_in_as(r) == ATTACKER      # the hole
    finally:
        site.env.configure('remoteuser', header='')
        site.forget(ATTACKER)


def test_the_self_test_of_a_socket_on_loopback(site):
    """The self-test finds uWSGI's TCP socket where the request came in,
    writes a uwsgi request to it from 127.0.0.2 with a REMOTE_USER of
    its own, and sees it believed; the probe logs nobody in."""
    port = free_port()
    with site.servers(uwsgi_on_tcp(port), nginx_to_uwsgi_on_tcp(port),
                      socket=('127.0.0.1', port)) as uwsgi:
        rv, lines = selftest(site.env, site.base_url)
        # uWSGI's own log: the request came from 127.0.0.2, with the
        # name (logged once the answer is written, so waited for).
        log = logged(uwsgi.log, r'127\.0\.0\.2 \(ruaprobe-[0-9a-f]{8}-uwsgi\)')
    assert lines[0].endswith('; front end: uWSGI behind nginx)'), lines
    critical = the_critical_finding(rv, lines)
    assert critical.startswith(
        "CRITICAL uWSGI socket 127.0.0.1:%d from 127.0.0.2: a program that "
        "bypasses the front end names the user: the REMOTE_USER of a uwsgi "
        "request written from 127.0.0.2 is accepted" % port), lines
    assert "Fix: uWSGI: a Unix socket only the front end's group may open " \
        "(`socket = /run/trac/uwsgi.sock`, `chown-socket = trac:www-data`, " \
        "`chmod-socket = 660`, as in trac-uwsgi.ini)" in critical, critical
    assert log, "uWSGI logged no uwsgi request from 127.0.0.2"
    assert not [name for name, in site.env.db(
        "SELECT name FROM auth_cookie") if name.startswith('ruaprobe-')]


def test_the_self_test_of_the_client_header_not_blanked(site):
    """The client's Remote-User reaches Trac as HTTP_REMOTE_USER: the fix
    is a uwsgi_param line, not nginx's proxy_set_header, which does
    nothing under uwsgi_pass."""
    site.env.configure('remoteuser', header='Remote-User')
    try:
        with site.servers(nginx_change=UWSGI_KEEPS_THE_CLIENT_HEADER):
            rv, lines = selftest(site.env, site.base_url)
    finally:
        site.env.configure('remoteuser', header='')
    assert lines[0].endswith('; front end: uWSGI behind nginx)'), lines
    critical = the_critical_finding(rv, lines)
    assert critical.startswith('CRITICAL /prefix/, '), lines
    assert ": a client's Remote-User header is accepted as the user name " \
        "(sent as Remote-User; remote-user; REMOTE-USER; two copies of " \
        "Remote-User). Fix: nginx (uwsgi_pass): `uwsgi_param " \
        "HTTP_REMOTE_USER \"\";` in every location that passes to uWSGI" \
        in critical, critical
    assert 'proxy_set_header does nothing under uwsgi_pass' in critical
    assert '`proxy_set_header' not in critical


def test_the_self_test_of_a_token_location_that_drops_authorization(site):
    """The token location without the client's Authorization: the fix
    is a uwsgi_param line, as everything nginx hands uWSGI."""
    with tokens_on(site.env), \
            site.servers(nginx_change=UWSGI_TOKEN_LOCATION_DROPS_AUTHORIZATION):
        rv, lines = selftest(site.env, site.base_url)
    assert lines[0].endswith('; front end: uWSGI behind nginx)'), lines
    assert the_warning(rv, lines) == (
        "WARN     /prefix/ticketrpc: the front end does not pass the "
        "client's Authorization header on to Trac on this token path: no "
        "token ever arrives. Fix: nginx (uwsgi_pass): `set "
        "$trac_authorization $http_authorization;` in the token paths' "
        "location and `uwsgi_param HTTP_AUTHORIZATION $trac_authorization;` "
        "(as in nginx-uwsgi.conf), never `uwsgi_param HTTP_AUTHORIZATION "
        "\"\";` there (proxy_set_header does nothing under uwsgi_pass)"), \
        lines
