"""A real gunicorn, as the nginx + gunicorn recipe runs it."""

import http.client as httplib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import TracEnv, logged_in_as
from e2e import selftest
from backends import start_gunicorn
from process import Reply, http, python_env


@pytest.fixture
def gunicorn(tmp_path, plugin_site):
    env = TracEnv(str(tmp_path / 'env'),
                  [('trac', 'base_url', 'https://trac.example.com/prefix')])
    server = start_gunicorn(env, plugin_site)
    yield env, server
    server.stop()


def test_gunicorn_script_name_header_and_base_url(gunicorn):
    env, server = gunicorn
    r = http(server.port, '/prefix/wiki/WikiStart',
             [('SCRIPT_NAME', '/prefix'), ('Remote-User', 'alice')])
    assert r.status == 200
    assert logged_in_as(r) == 'alice'
    assert 'href="/prefix/wiki/TracGuide"' in r.body
    r = http(server.port, '/prefix/login', [
        ('SCRIPT_NAME', '/prefix'), ('Remote-User', 'alice'),
        ('Referer', 'https://trac.example.com/prefix/timeline')],
        host='evil.example')
    assert r.status == 302
    assert r.header('Location') == 'https://trac.example.com/prefix/timeline'
    auth = [c for c in r.cookies() if c.startswith('trac_auth=')][0]
    assert 'Path=/prefix' in auth


def test_gunicorn_drops_underscore_spelling(gunicorn):
    env, server = gunicorn
    r = http(server.port, '/prefix/wiki/WikiStart',
             [('SCRIPT_NAME', '/prefix'), ('Remote_User', 'mallory')])
    assert r.status == 200
    assert logged_in_as(r) is None


def test_gunicorn_untrusted_peer_is_anonymous(gunicorn):
    env, server = gunicorn
    r = http(server.port, '/wiki/WikiStart', [('Remote-User', 'alice')],
             source='127.0.0.2')
    assert r.status == 200
    assert logged_in_as(r) is None


def test_gunicorn_front_end_name_beats_stale_cookie(gunicorn):
    env, server = gunicorn
    cookie = env.stale_cookie('bob')
    r = http(server.port, '/prefix/wiki/WikiStart',
             [('SCRIPT_NAME', '/prefix'), cookie])
    assert logged_in_as(r) == 'bob'
    for path in ('/prefix/', '/prefix/wiki/WikiStart'):
        r = http(server.port, path, [('SCRIPT_NAME', '/prefix'),
                                     ('Remote-User', 'alice'), cookie])
        assert logged_in_as(r) == 'alice', path


class UnixHTTPConnection(httplib.HTTPConnection):
    def __init__(self, path):
        httplib.HTTPConnection.__init__(self, 'localhost', timeout=60)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.unix_path)


@pytest.mark.parametrize('trusted, expected', [
    ('127.0.0.1, ::1, unix', 'alice'), ('127.0.0.1, ::1', None)])
def test_gunicorn_on_a_unix_socket(tmp_path, plugin_site, trusted, expected):
    env = TracEnv(str(tmp_path / 'env'),
                  [('remoteuser', 'trusted_proxies', trusted)])
    sock = str(tmp_path / 'trac.sock')
    gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
    proc = subprocess.Popen([gunicorn, '--bind', 'unix:' + sock, '--workers',
                             '1', 'remoteuserauth.wsgi:application'],
                            env=python_env(plugin_site, TRAC_ENV=env.path),
                            cwd=env.path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 30
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.1)
        conn = UnixHTTPConnection(sock)
        conn.request('GET', '/wiki/WikiStart',
                     headers={'Remote-User': 'alice'})
        reply = conn.getresponse()
        body = reply.read().decode('utf-8')
        conn.close()
        assert reply.status == 200
        assert logged_in_as(Reply(reply.status, [], body)) == expected
        if expected is None:
            assert 'from a Unix socket peer ignored' in env.log()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def test_selftest_with_a_server_variable(tmp_path, plugin_site):
    """`header = env:SM_USER`: no client can set the variable; the
    self-test says so, and that the header spelling still reaches
    Trac (there is no front end here to remove it)."""
    env = TracEnv(str(tmp_path / 'env'),
                  [('remoteuser', 'header', 'env:SM_USER')])
    server = start_gunicorn(env, plugin_site,
                            app='remoteuserauth.wsgi:application')
    url = 'http://127.0.0.1:%d' % server.port
    env.configure('trac', base_url=url)
    try:
        rv, lines = selftest(env, url)
    finally:
        server.stop()
    assert rv == 0, lines
    assert not [ln for ln in lines if ln.startswith('CRITICAL')], lines
    assert 'OK       configuration: [remoteuser] header is env:SM_USER, a ' \
        'server variable: no client can set it with a header' in lines
    warned = [ln for ln in lines if ln.startswith('WARN') and 'SM-USER' in ln]
    assert len(warned) == 1, lines
    assert "a client's SM-USER header reaches Trac but is not used " \
        "([remoteuser] header is env:SM_USER, a server variable; sent as " \
        "SM-USER; sm-user; two copies of SM-USER)" in warned[0], lines
    # gunicorn drops the underscore spelling itself.
    assert not [ln for ln in lines if 'SM_USER header' in ln], lines
