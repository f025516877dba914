"""Apache mod_proxy -> tracd, and Apache mod_python, against the real
servers."""

import os
import sys


from deploy import (Apache, deploy_static, give_to_server,
                    htpasswd, make_env, render)
from e2e import (basic, check_deployment, check_selftest_clean,
                 check_selftest_clean_logged_in, selftest)
from apache import proxy_tracd, sample_command  # noqa: F401
from process import Server, free_port, http, python_env, require


def test_apache_proxy_tracd(public_tmp, plugin_site, servers):
    port, base_url, env = proxy_tracd(public_tmp, plugin_site, servers)
    check_deployment(port, '/prefix', base_url, basic(), static=False)
    # A stale cookie of another user loses to the name Apache passes on.
    stale = env.stale_cookie('bob')
    assert 'logged in as' in http(port, '/prefix/', [stale]).body
    r = http(port, '/prefix/login', basic('alice') + [stale])
    assert r.status == 302
    new = [c for c in r.cookies() if c.startswith('trac_auth=')][0]
    value = new.split(';')[0].split('=', 1)[1]
    assert env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                  (value,)) == [('alice',)]
    check_selftest_clean(env, base_url)
    check_selftest_clean_logged_in(env, base_url)


def test_selftest_finds_apache_passing_remote_user_underscore(
        public_tmp, plugin_site, servers):
    """The sample without `RequestHeader unset Remote_User early`:
    mod_proxy forwards the underscore spelling, tracd maps it onto
    HTTP_REMOTE_USER."""
    port, base_url, env = proxy_tracd(
        public_tmp, plugin_site, servers,
        edit=lambda text: text.replace(
            '    RequestHeader unset Remote_User early\n', ''))
    rv, lines = selftest(env, base_url)
    found = [ln for ln in lines if ln.startswith(('CRITICAL', 'WARN'))]
    assert len(found) == 1, lines
    assert "a client's Remote_User header" in found[0], lines
    assert 'Fix: Apache: `RequestHeader unset Remote_User early` in the ' \
        'virtual host' in found[0]
    assert rv == (1 if found[0].startswith('CRITICAL') else 0)


def test_selftest_finds_tracd_reachable_around_apache(public_tmp,
                                                      plugin_site, servers):
    """trusted_proxies wider than loopback: a client that reaches tracd
    without Apache is believed."""
    port, base_url, env = proxy_tracd(
        public_tmp, plugin_site, servers,
        options=[('remoteuser', 'trusted_proxies', '0.0.0.0/0, ::/0')])
    rv, lines = selftest(env, base_url)
    assert rv == 1, lines
    critical = [ln for ln in lines if ln.startswith('CRITICAL')]
    assert len(critical) == 1, lines
    assert critical[0].startswith('CRITICAL backend 127.0.0.1:'), lines
    assert 'from 127.0.0.2: a client that bypasses the front end is ' \
        'believed' in critical[0]
    assert 'trusted by 0.0.0.0/0' in critical[0]
    assert 'Fix: bind the backend to loopback' in critical[0]
    # With the front end's address only, the same tracd is safe.
    env.configure('remoteuser', trusted_proxies='127.0.0.1')
    check_selftest_clean(env, base_url)


def test_apache_proxy_tracd_never_believes_the_client(public_tmp,
                                                      plugin_site, servers):
    """Straight to tracd from another loopback address (not a trusted
    proxy), the header counts for nothing."""
    backend = free_port()
    env = make_env(public_tmp)
    argv = [sys.executable, '-m', 'trac.web.standalone', '--hostname',
            '127.0.0.1', '--port', str(backend), '--base-path=/prefix',
            '--single-env', env.path]
    servers.append(Server(argv, backend, os.path.join(public_tmp, 'tracd.out'),
                          env=python_env(plugin_site), cwd=public_tmp))
    r = http(backend, '/prefix/wiki/WikiStart', [('Remote-User', 'admin')],
             source='127.0.0.3')
    assert r.status == 200 and 'logged in as' not in r.body


def test_apache_mod_python(public_tmp, staged_site, servers):
    require('/usr/lib/apache2/modules/mod_python.so')
    port = free_port()
    base_url = 'http://127.0.0.1:%d/prefix' % port
    env = make_env(public_tmp, options=[('trac', 'base_url', base_url),
                                        ('remoteuser', 'header', '')])
    htdocs = deploy_static(env.path, os.path.join(public_tmp, 'static'))
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    conf = render('apache-mod-python.conf',
                  os.path.join(public_tmp, 'site.conf'), PORT=port,
                  SITE_PACKAGES=staged_site, TRAC_ENV=env.path,
                  HTDOCS=htdocs, HTPASSWD=users)
    give_to_server(env.path)
    servers.append(Apache(public_tmp, conf, ['python'], port=port))
    check_deployment(port, '/prefix', base_url, basic())
    check_selftest_clean(env, base_url)
    check_selftest_clean_logged_in(env, base_url)
