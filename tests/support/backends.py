"""The WSGI servers the tests run Trac in: gunicorn and tracd, on a
loopback port of their own, with the plugin installed in `site` (or not
at all)."""

import os
import sys

from process import Server, free_port, python_env


def start_gunicorn(env, site, app='trac.web.main:dispatch_request',
                   extra=(), **environ):
    port = free_port()
    gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
    argv = [gunicorn, '--bind', '127.0.0.1:%d' % port, '--workers', '1',
            '--forwarded-allow-ips', '127.0.0.1,::1'] + list(extra) + [app]
    log = os.path.join(env.path, 'log', 'gunicorn.out')
    return Server(argv, port, log, cwd=env.path,
                  env=python_env(site, TRAC_ENV=env.path, **environ))


def start_tracd(env, site=None, base_path='prefix', tmp_path=None):
    port = free_port()
    argv = [sys.executable, '-m', 'trac.web.standalone', '-b', '127.0.0.1',
            '-p', str(port), '-s', env.path]
    if base_path:
        argv.append('--base-path=/' + base_path)
    log = os.path.join(env.path, 'log', 'tracd.out')
    return Server(argv, port, log, env=python_env(site), cwd=env.path)
