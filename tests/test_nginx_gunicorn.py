"""nginx -> gunicorn samples against the real servers: one project and
several, started the way trac-gunicorn.service starts gunicorn."""

import os
import re
import shlex
import shutil
import subprocess

import pytest

from browser import find_chromium
from deploy import (PASSWORD, Nginx, deploy_static, gunicorn_service,
                    htpasswd, make_env, render)
from e2e import basic, check_deployment
from servers import Server, free_port, http, python_env, require


def start_gunicorn_service(workdir, site, backend_port, trac_env='',
                           parent_dir=''):
    return gunicorn_service(workdir, site, 'gunicorn.conf.py',
                            BACKEND_PORT=backend_port, TRAC_ENV=trac_env,
                            TRAC_ENV_PARENT_DIR=parent_dir)


@pytest.fixture
def one_project(public_tmp, plugin_site, servers):
    """nginx-gunicorn.conf with gunicorn behind it; (port, base_url)."""
    port, backend = free_port(), free_port()
    base_url = 'http://127.0.0.1:%d/prefix' % port
    env = make_env(public_tmp, options=[('trac', 'base_url', base_url)])
    htdocs = deploy_static(env.path, os.path.join(public_tmp, 'static'))
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    servers.append(start_gunicorn_service(public_tmp, plugin_site, backend,
                                          trac_env=env.path))
    conf = render('nginx-gunicorn.conf', os.path.join(public_tmp, 'site.conf'),
                  PORT=port, BACKEND_PORT=backend, HTDOCS=htdocs,
                  HTPASSWD=users)
    servers.append(Nginx(public_tmp, conf, port))
    return port, base_url


def test_nginx_gunicorn_one_project(one_project):
    port, base_url = one_project
    check_deployment(port, '/prefix', base_url, basic())
    r = http(port, '/prefix')
    assert r.status == 301 and r.header('Location').endswith('/prefix/')


def test_chromium_logs_in_through_nginx(one_project, tmp_path):
    """A real browser: Basic authentication on /login, the redirect back,
    the trac_auth cookie, and the page it renders."""
    port, base_url = one_project
    chromium = find_chromium()
    url = 'http://alice:%s@127.0.0.1:%d/prefix/login' % (PASSWORD, port)
    out = subprocess.run(
        [chromium, '--headless', '--no-sandbox', '--disable-gpu',
         '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync',
         '--user-data-dir=%s' % (tmp_path / 'profile'),
         '--virtual-time-budget=5000', '--dump-dom', url],
        capture_output=True, text=True, timeout=120)
    dom = out.stdout
    assert re.search(r'logged in as\s*<span class="trac-author-user">'
                     r'alice</span>', dom), (out.stderr[-2000:], dom[:2000])
    assert 'href="/prefix/wiki/TracGuide"' in dom


def test_nginx_gunicorn_several_projects(public_tmp, plugin_site, servers):
    port, backend = free_port(), free_port()
    parent = os.path.join(public_tmp, 'projects')
    os.makedirs(parent)
    envs = {}
    for name in ('alpha', 'beta'):
        envs[name] = make_env(parent, name, options=[
            ('trac', 'base_url',
             'http://127.0.0.1:%d/prefix/%s' % (port, name))])
    htdocs = deploy_static(envs['alpha'].path,
                           os.path.join(public_tmp, 'static'))
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    servers.append(start_gunicorn_service(public_tmp, plugin_site, backend,
                                          parent_dir=parent))
    conf = render('nginx-gunicorn-multi.conf',
                  os.path.join(public_tmp, 'site.conf'), PORT=port,
                  BACKEND_PORT=backend, HTDOCS=htdocs, HTPASSWD=users)
    servers.append(Nginx(public_tmp, conf, port))
    index = http(port, '/prefix/')
    assert index.status == 200
    cookies = {}
    for name in envs:
        prefix = '/prefix/' + name
        base_url = 'http://127.0.0.1:%d%s' % (port, prefix)
        assert 'href="%s' % prefix in index.body
        cookies[name] = check_deployment(port, prefix, base_url, basic())
    # A project's login is its own.
    r = http(port, '/prefix/beta/wiki/WikiStart', [cookies['alpha']])
    assert 'logged in as' not in r.body
