"""A real tracd, started by the tests, with the plugin installed by pip
or dropped as an egg into the environment's plugins folder."""

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, TracEnv, logged_in_as
from backends import start_tracd
from process import http, python_env


@pytest.fixture
def tracd(tmp_path, plugin_site):
    env = TracEnv(str(tmp_path / 'env'))
    server = start_tracd(env, plugin_site)
    yield env, server
    server.stop()


def test_tracd_loads_the_pip_installed_plugin(tracd, plugin_site):
    env, server = tracd
    r = http(server.port, '/prefix/wiki/WikiStart',
             [('Remote-User', 'alice')])
    assert r.status == 200
    assert logged_in_as(r) == 'alice'
    assert 'href="/prefix/wiki/TracGuide"' in r.body
    assert 'Loading plugin "remoteuserauth.auth" from "%s"' % plugin_site \
        in env.log()


def test_tracd_untrusted_peer_is_anonymous(tracd):
    env, server = tracd
    r = http(server.port, '/prefix/', [('Remote-User', 'alice')],
             source='127.0.0.2')
    assert r.status == 200
    assert logged_in_as(r) is None
    assert 'from 127.0.0.2 ignored' in env.log()


def test_tracd_front_end_name_beats_stale_cookie(tracd):
    env, server = tracd
    cookie = env.stale_cookie('bob')
    for path in ('/prefix/', '/prefix/wiki/WikiStart', '/prefix/timeline'):
        r = http(server.port, path, [('Remote-User', 'alice'), cookie])
        assert logged_in_as(r) == 'alice', path
    # Bob's cookie was retired by the first of those pages.
    r = http(server.port, '/prefix/', [cookie])
    assert logged_in_as(r) is None
    assert env.db("SELECT name FROM auth_cookie WHERE name='bob'") == []


@pytest.mark.parametrize('headers', [
    [('Remote-User', 'alice'), ('Remote_User', 'mallory')],
    [('Remote_User', 'mallory'), ('Remote-User', 'alice')],
    [('Remote-User', 'alice'), ('Remote-User', 'mallory')],
    [('remote-user', 'alice'), ('REMOTE-USER', 'alice')],
])
def test_tracd_joined_duplicates_never_log_in(tracd, headers):
    env, server = tracd
    r = http(server.port, '/prefix/', headers)
    assert r.status == 200
    assert logged_in_as(r) is None
    assert 'contains a comma' in env.log()


def test_tracd_login_sets_cookie_under_base_path(tracd):
    env, server = tracd
    r = http(server.port, '/prefix/login', [
        ('Remote-User', 'alice'),
        ('Referer', 'http://127.0.0.1:%d/prefix/wiki/SandBox' % server.port)])
    assert r.status == 302
    assert r.header('Location') == \
        'http://127.0.0.1:%d/prefix/wiki/SandBox' % server.port
    auth = [c for c in r.cookies() if c.startswith('trac_auth=')]
    assert auth and 'Path=/prefix' in auth[0]
    cookie = auth[0].split(';')[0]
    r = http(server.port, '/prefix/', [('Cookie', cookie)])
    assert logged_in_as(r) == 'alice'


def test_egg_in_plugins_folder(tmp_path):
    dist = tmp_path / 'dist'
    build = tmp_path / 'src'
    shutil.copytree(ROOT, build, ignore=shutil.ignore_patterns(
        '.git', '.venv*', 'build', '*.egg-info', '__pycache__', 'dist'))
    subprocess.run([sys.executable, 'setup.py', '-q', 'bdist_egg', '-d',
                    str(dist)], cwd=build, check=True, capture_output=True)
    eggs = glob.glob(str(dist / 'TracRemoteUserAuth-*.egg'))
    assert len(eggs) == 1
    env = TracEnv(str(tmp_path / 'env'))
    shutil.copy(eggs[0], os.path.join(env.path, 'plugins'))
    # Not importable from the interpreter: only the egg can provide it.
    check = subprocess.run([sys.executable, '-c', 'import remoteuserauth'],
                           env=python_env(), cwd=str(tmp_path))
    assert check.returncode != 0
    server = start_tracd(env, site=None, base_path='')
    try:
        r = http(server.port, '/', [('Remote-User', 'alice')])
        assert logged_in_as(r) == 'alice'
        assert re.search(r'Loading plugin "remoteuserauth.auth" from ".*'
                         r'plugins/TracRemoteUserAuth-', env.log())
    finally:
        server.stop()


def test_tracd_base_path_follows_base_url(tmp_path, plugin_site):
    env = TracEnv(str(tmp_path / 'env'),
                  [('trac', 'base_url', 'https://trac.example.com/prefix')])
    server = start_tracd(env, plugin_site)
    try:
        r = http(server.port, '/prefix/login', [
            ('Remote-User', 'alice'),
            ('Referer', 'https://trac.example.com/prefix/wiki/SandBox')],
            host='evil.example')
        assert r.header('Location') == \
            'https://trac.example.com/prefix/wiki/SandBox'
        assert 'Path=/prefix' in [c for c in r.cookies()
                                  if c.startswith('trac_auth=')][0]
        r = http(server.port, '/prefix/wiki/', host='evil.example')
        assert r.header('Location') == 'https://trac.example.com/prefix/wiki'
    finally:
        server.stop()


def test_tracd_forwarded_proto_from_untrusted_peer_is_undone(tracd):
    env, server = tracd
    r = http(server.port, '/prefix/wiki/', [('X-Forwarded-Proto', 'https')],
             source='127.0.0.2')
    assert r.header('Location') == \
        'http://127.0.0.1:%d/prefix/wiki' % server.port
    # From the trusted proxy, tracd's own behaviour is kept.
    r = http(server.port, '/prefix/wiki/', [('X-Forwarded-Proto', 'https')])
    assert r.header('Location') == \
        'https://127.0.0.1:%d/prefix/wiki' % server.port


def test_tracd_about_page_lists_the_plugin(tmp_path, plugin_site):
    env = TracEnv(str(tmp_path / 'env'))
    env.admin('permission add alice TRAC_ADMIN')
    server = start_tracd(env, plugin_site, base_path='')
    try:
        r = http(server.port, '/about', [('Remote-User', 'alice')])
        from remoteuserauth import __version__
        assert re.search(r'<th>TracRemoteUserAuth</th>\s*<td>%s</td>'
                         % re.escape(__version__), r.body)
        # Installed Plugins: name, version, where pip put it.
        plugins = r.body[r.body.index('<div id="plugins">'):]
        assert re.search(r'<th>\s*TracRemoteUserAuth\s*</th>\s*<td>%s</td>'
                         r'\s*<td class="file">\s*%s' % (
                             re.escape(__version__), re.escape(plugin_site)),
                         plugins)
    finally:
        server.stop()


def test_selftest_of_tracd_without_front_end(tracd, plugin_site):
    """Pointed at tracd itself, the self-test is a client on a trusted
    address: every spelling of the header gets in, and the real
    trac-admin says so with its exit code. /login reaches Trac here, so
    its referer checks run against Trac's real answer."""
    env, server = tracd
    url = 'http://127.0.0.1:%d/prefix' % server.port
    trac_admin = os.path.join(os.path.dirname(sys.executable), 'trac-admin')
    run = subprocess.run([trac_admin, env.path, 'remoteuser', 'selftest',
                          url], capture_output=True, text=True, timeout=80,
                         env=python_env(plugin_site))
    lines = run.stdout.splitlines()
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert lines[0] == 'TracRemoteUserAuth self-test of %s (Server: ' \
        'tracd/1.6 Python/%d.%d.%d; front end: not recognised)' % (
            (url,) + sys.version_info[:3])
    critical = [ln for ln in lines if ln.startswith('CRITICAL')]
    assert len(critical) == 3, lines
    assert any("a client's Remote-User header is accepted as the user "
               "name (sent as Remote-User; remote-user; REMOTE-USER)" in ln
               for ln in critical), lines
    assert any("a client's Remote_User header is accepted" in ln
               for ln in critical), lines
    # tracd believes X-Forwarded-Proto from anyone; from a trusted peer
    # the plugin keeps it, and without base_url it decides the links.
    assert any("forged X-Forwarded headers change the address Trac puts "
               "in links and redirects (to https://127.0.0.1:%d/prefix"
               % server.port in ln for ln in critical), lines
    assert 'OK       /prefix/login?referer=<CR/LF>: no header planted ' \
        '(HTTP 302)' in lines
    assert 'OK       /prefix/login?referer=<foreign host>: no redirect ' \
        'off the site (HTTP 302)' in lines
    # Nobody was logged in, no session of a forged name was stored.
    assert env.db("SELECT name FROM auth_cookie") == []
    assert env.db("SELECT sid FROM session WHERE authenticated=1") == []
    assert 'refused a self-test probe' not in env.log()
