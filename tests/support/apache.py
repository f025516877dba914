"""Samples rendered with real paths and running in a real Apache: with
mod_wsgi, and in front of tracd (mod_proxy); the deployments the
Apache tests share."""

import os
import shutil
import sys

import pytest

from deploy import (SAMPLES, Apache, deploy_static, give_to_server,
                    htpasswd, make_env, render)
from process import Server, free_port, python_env, require


class Deployment(object):
    """A sample rendered with real paths and running in Apache."""

    def __init__(self, workdir, site, sample, options=(), modules=(),
                 edit=None, server_env=None, **values):
        require('/usr/lib/apache2/modules/mod_wsgi.so')
        self.port = free_port()
        self.prefix = '/prefix'
        self.base_url = 'http://127.0.0.1:%d/prefix' % self.port
        self.env = make_env(workdir, options=[
            ('trac', 'base_url', self.base_url)] + list(options))
        htdocs = deploy_static(self.env.path,
                               os.path.join(workdir, 'static'))
        wsgi_dir = os.path.join(workdir, 'wsgi')
        os.makedirs(wsgi_dir)
        shutil.copy(os.path.join(SAMPLES, 'trac.wsgi'), wsgi_dir)
        conf = render(sample, os.path.join(workdir, 'site.conf'),
                      PORT=self.port, SITE_PACKAGES=site, WSGI_DIR=wsgi_dir,
                      TRAC_ENV=self.env.path, HTDOCS=htdocs,
                      BASE_URL=self.base_url, **values)
        if edit:
            with open(conf) as f:
                text = edit(f.read())
            with open(conf, 'w') as f:
                f.write(text)
        give_to_server(self.env.path)
        self.server = Apache(workdir, conf, ['wsgi'] + list(modules),
                             port=self.port, env=server_env)

    def stop(self):
        self.server.stop()


@pytest.fixture
def deployed(public_tmp, staged_site):
    made = []

    def deploy(*args, **kwargs):
        d = Deployment(public_tmp, staged_site, *args, **kwargs)
        made.append(d)
        return d
    yield deploy
    for d in made:
        d.stop()


def proxy_tracd(workdir, site, servers, options=(), edit=None):
    """apache-proxy-tracd.conf (changed by `edit`, text -> text) in front
    of the tracd it names; (port, base_url, env)."""
    port, backend = free_port(), free_port()
    base_url = 'http://127.0.0.1:%d/prefix' % port
    env = make_env(workdir, options=[('trac', 'base_url', base_url)] +
                   list(options))
    users = htpasswd(os.path.join(workdir, 'htpasswd'), ['alice'])
    conf = render('apache-proxy-tracd.conf',
                  os.path.join(workdir, 'site.conf'), PORT=port,
                  BACKEND_PORT=backend, TRAC_ENV=env.path, HTPASSWD=users)
    if edit:
        with open(conf) as f:
            text = edit(f.read())
        with open(conf, 'w') as f:
            f.write(text)
    argv = sample_command(conf, 'tracd')
    argv = [sys.executable, '-m', 'trac.web.standalone'] + argv[1:]
    servers.append(Server(argv, backend, os.path.join(workdir, 'tracd.out'),
                          env=python_env(site), cwd=workdir))
    servers.append(Apache(workdir, conf, ['proxy', 'proxy_http'],
                          port=port))
    return port, base_url, env


def sample_command(conf, program):
    """The command line the sample tells the administrator to run."""
    with open(conf) as f:
        for line in f:
            words = line.lstrip('#').split()
            if words and words[0] == program:
                return words
    raise AssertionError('no %s command in %s' % (program, conf))
