"""unit.json (Nginx Unit is not packaged here: validated, and its
application served by gunicorn with the same environment) and the
commented trac.ini sample."""

import configparser
import json
import os
import shutil
import subprocess
import sys

from conftest import TracEnv, logged_in_as
from deploy import SAMPLES, deploy_static, render
from process import Server, free_port, http, python_env


def test_unit_json(public_tmp, plugin_site):
    env = TracEnv(os.path.join(public_tmp, 'env'),
                  [('remoteuser', 'header', 'X-Forwarded-User')])
    static = os.path.join(public_tmp, 'static')
    htdocs = deploy_static(env.path, os.path.join(public_tmp, 'deploy'))
    os.makedirs(static)
    shutil.move(htdocs, os.path.join(static, 'chrome'))
    port = free_port()
    path = render('unit.json', os.path.join(public_tmp, 'unit.json'),
                  PORT=port, STATIC=static, VENV=sys.prefix,
                  TRAC_ENV=env.path)
    with open(path) as f:
        config = json.load(f)

    listeners = config['listeners']
    assert list(listeners) == ['127.0.0.1:%d' % port]
    assert listeners['127.0.0.1:%d' % port]['pass'] == 'routes'
    static_route, app_route = config['routes']
    assert static_route['match']['uri'] == '/chrome/*'
    share = static_route['action']['share']
    assert os.path.isfile(share.replace('$uri', '/chrome/common/css/trac.css'))
    assert app_route == {'action': {'pass': 'applications/trac'}}
    app = config['applications']['trac']
    assert app['type'].startswith('python 3')
    assert os.path.isfile(os.path.join(app['home'], 'bin', 'python'))
    assert os.path.isdir(app['path'])

    # The module and callable, imported by the application's Python with
    # the application's environment, as Unit does.
    environ = python_env(plugin_site, **app['environment'])
    python = os.path.join(app['home'], 'bin', 'python')
    check = subprocess.run(
        [python, '-c', 'import %s as m; assert callable(m.%s)'
         % (app['module'], app['callable'])],
        env=environ, cwd=app['path'], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr

    backend = free_port()
    server = Server([os.path.join(app['home'], 'bin', 'gunicorn'), '--bind',
                     '127.0.0.1:%d' % backend, '--workers', '1',
                     '%s:%s' % (app['module'], app['callable'])],
                    backend, os.path.join(public_tmp, 'gunicorn.out'),
                    env=environ, cwd=app['path'])
    try:
        r = http(backend, '/wiki/WikiStart', [('X-Forwarded-User', 'alice')])
        assert r.status == 200 and logged_in_as(r) == 'alice'
        r = http(backend, '/wiki/WikiStart', [('X-Forwarded-User', 'alice')],
                 source='127.0.0.2')
        assert r.status == 200 and logged_in_as(r) is None
        r = http(backend, '/wiki/WikiStart', [('Remote-User', 'alice')])
        assert logged_in_as(r) is None
    finally:
        server.stop()


def test_trac_ini_sample(trac_env):
    sample = configparser.RawConfigParser(inline_comment_prefixes=None)
    sample.optionxform = str
    sample.read(os.path.join(SAMPLES, 'trac.ini'))
    trac_env.write_ini([(section, name, value)
                        for section in sample.sections()
                        for name, value in sample.items(section)])
    from remoteuserauth.settings import RemoteUserSettings
    from remoteuserauth.publicurl import PublicURLFilter
    env = trac_env.env()
    assert RemoteUserSettings(env).settings().problems == ()
    assert PublicURLFilter(env).configured_base().prefix == '/prefix'
    r = trac_env.request('/wiki/WikiStart', headers=[('Remote-User', 'alice')])
    assert r.status == 200 and logged_in_as(r) == 'alice'
    assert 'href="/prefix/wiki/TracGuide"' in r.body
