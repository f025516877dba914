"""A real gunicorn, as the nginx + gunicorn recipe runs it."""

import os
import sys

import pytest

from conftest import TracEnv, logged_in_as
from servers import Server, free_port, http, python_env


def start_gunicorn(env, site, app='trac.web.main:dispatch_request',
                   extra=(), **environ):
    port = free_port()
    gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
    argv = [gunicorn, '--bind', '127.0.0.1:%d' % port, '--workers', '1',
            '--forwarded-allow-ips', '127.0.0.1,::1'] + list(extra) + [app]
    log = os.path.join(env.path, 'log', 'gunicorn.out')
    return Server(argv, port, log, cwd=env.path,
                  env=python_env(site, TRAC_ENV=env.path, **environ))


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
    env.env().db_transaction(
        "INSERT INTO auth_cookie (cookie, name, ipnr, time) "
        "VALUES ('b0bcookie', 'bob', '127.0.0.1', 2000000000)")
    cookie = ('Cookie', 'trac_auth=b0bcookie')
    r = http(server.port, '/prefix/wiki/WikiStart',
             [('SCRIPT_NAME', '/prefix'), cookie])
    assert logged_in_as(r) == 'bob'
    for path in ('/prefix/', '/prefix/wiki/WikiStart'):
        r = http(server.port, path, [('SCRIPT_NAME', '/prefix'),
                                     ('Remote-User', 'alice'), cookie])
        assert logged_in_as(r) == 'alice', path
