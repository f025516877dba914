"""Apache mod_proxy -> tracd, and Apache mod_python, against the real
servers."""

import os
import sys


from deploy import (Apache, deploy_static, give_to_server,
                    htpasswd, make_env, render)
from e2e import basic, check_deployment
from servers import Server, free_port, http, python_env, require


def sample_command(conf, program):
    """The command line the sample tells the administrator to run."""
    with open(conf) as f:
        for line in f:
            words = line.lstrip('#').split()
            if words and words[0] == program:
                return words
    raise AssertionError('no %s command in %s' % (program, conf))


def test_apache_proxy_tracd(public_tmp, plugin_site, servers):
    port, backend = free_port(), free_port()
    base_url = 'http://127.0.0.1:%d/prefix' % port
    env = make_env(public_tmp, options=[('trac', 'base_url', base_url)])
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    conf = render('apache-proxy-tracd.conf',
                  os.path.join(public_tmp, 'site.conf'), PORT=port,
                  BACKEND_PORT=backend, TRAC_ENV=env.path, HTPASSWD=users)
    argv = sample_command(conf, 'tracd')
    argv = [sys.executable, '-m', 'trac.web.standalone'] + argv[1:]
    servers.append(Server(argv, backend, os.path.join(public_tmp, 'tracd.out'),
                          env=python_env(plugin_site), cwd=public_tmp))
    servers.append(Apache(public_tmp, conf, ['proxy', 'proxy_http'],
                          port=port))
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
