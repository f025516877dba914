"""Rule 16, identities of any size: every sample that can carry a signed
assertion carries one of 16 KiB, the plugin's limit, to Trac. An
identity provider that puts groups into its tokens (Entra ID, Keycloak)
makes them 12 KB and more, over the 8 KB request-header limits of
nginx, Apache, gunicorn, NGINX Unit and uWSGI.

The nginx, gunicorn and Apache samples run here as shipped, with a
Trac that believes assertions in a header, and tokens of 12 KB and of
exactly 16 KiB go through them (the new front ends' own tests do the
same: test_caddy, test_traefik, test_haproxy, test_nginx_uwsgi). Every
sample's limit is also read from its text, Unit's (which cannot run
here) only that way. mod_auth_openidc also carries the provider's own
ID token of 16 KiB in its session."""

import glob
import json
import os
import re
import shutil

import pytest

from browser import Client
from conftest import logged_in_as
from deploy import (SAMPLES, Apache, Nginx, deploy_static, give_to_server,
                    gunicorn_service, make_env, public_dir, render)
from frontends import (MAX_ASSERTION, Assertions, check_assertions,
                       render_changed)
from oidc import Provider, deploy
from process import free_port, require

from apache import Deployment, proxy_tracd

# A header line of a 16 KiB assertion: its name, ": ", the value, CR LF.
NEEDED = MAX_ASSERTION + len('X-Goog-IAP-JWT-Assertion: \r\n')


def read_sample(name):
    with open(os.path.join(SAMPLES, name), encoding='utf-8') as f:
        return f.read()


def setting(name, pattern):
    """The number `pattern` finds on a line of `name` that is not a
    comment; exactly one such line."""
    found = [m for m in (re.match(pattern, line.strip()) for line in
                         read_sample(name).splitlines()
                         if not line.strip().startswith('#')) if m]
    assert len(found) == 1, (name, pattern, found)
    return found[0]


def nginx_limit(name):
    m = setting(name, r'large_client_header_buffers\s+(\d+)\s+(\d+)k;$')
    return int(m.group(2)) * 1024


LIMITS = [
    ('nginx-*.conf', nginx_limit),
    ('apache-*.conf', lambda name: int(setting(
        name, r'LimitRequestFieldSize\s+(\d+)$').group(1))),
    ('gunicorn*.conf.py', lambda name: int(setting(
        name, r'limit_request_field_size\s*=\s*(\d+)$').group(1))),
    # HAProxy holds the whole request head in one buffer, less what it
    # keeps for rewriting (1024 bytes).
    ('haproxy-*.cfg', lambda name: int(setting(
        name, r'tune\.bufsize\s+(\d+)$').group(1)) - 1024),
    ('trac-uwsgi.ini', lambda name: int(setting(
        name, r'buffer-size\s*=\s*(\d+)$').group(1))),
    ('unit.json', lambda name: json.loads(
        read_sample(name).replace('@PORT@', '0'))
        ['settings']['http']['large_header_buffer_size']),
]

# Front ends whose defaults take 16 KiB already (1 MB): their tests
# send the tokens for real. Everything else in conf-samples carries no
# request to Trac by itself.
NO_LIMIT_TO_RAISE = {'caddy-gunicorn.caddyfile', 'traefik.yml',
                     'traefik-dynamic.yml'}
NOT_FRONT_ENDS = {'README', 'trac.ini', 'trac-cluster.ini', 'trac.wsgi',
                  'trac-gunicorn.service', 'oauth2-proxy.cfg'}


@pytest.mark.parametrize('pattern, limit', LIMITS,
                         ids=[pattern for pattern, _ in LIMITS])
def test_every_sample_raises_its_limit(pattern, limit):
    names = sorted(os.path.basename(path) for path in
                   glob.glob(os.path.join(SAMPLES, pattern)))
    assert names, pattern
    for name in names:
        assert limit(name) >= NEEDED, name


def test_no_sample_escapes_the_check():
    """A new front-end sample gets a limit above, or says why not."""
    checked = set()
    for pattern, _ in LIMITS:
        checked.update(os.path.basename(path) for path in
                       glob.glob(os.path.join(SAMPLES, pattern)))
    everything = {name for name in os.listdir(SAMPLES)
                  if not name.startswith('jwt-')}
    assert everything - checked - NO_LIMIT_TO_RAISE - NOT_FRONT_ENDS == \
        set()


def test_unit_json_raises_its_buffer():
    """NGINX Unit answers 431 itself over its 8192-byte header buffer;
    it is not packaged here, so only the JSON is checked."""
    with open(render('unit.json', os.path.join(public_dir('ruatest-'),
                                               'unit.json'),
                     PORT=8300, STATIC='/srv/static', VENV='/srv/venv',
                     TRAC_ENV='/srv/trac')) as f:
        config = json.load(f)
    assert config['settings'] == {
        'http': {'large_header_buffer_size': 32768}}


# nginx and gunicorn, for real

class Backends(object):
    """One Trac believing assertions (no base_url: the nginx samples
    pass SCRIPT_NAME), in a folder of projects, served by gunicorn as
    each sample starts it: gunicorn.conf.py for one project and for the
    folder, gunicorn-cluster.conf.py."""

    def __init__(self, workdir, plugin_site):
        self.dir = workdir
        self.assertions = Assertions(workdir)
        self.parent = os.path.join(workdir, 'projects')
        os.makedirs(self.parent)
        self.env = make_env(self.parent, 'project',
                            options=self.assertions.options())
        self.htdocs = deploy_static(self.env.path,
                                    os.path.join(workdir, 'static'))
        self.servers = []
        try:
            self.single = self._start(plugin_site, 'single',
                                      'gunicorn.conf.py',
                                      TRAC_ENV=self.env.path,
                                      TRAC_ENV_PARENT_DIR='')
            self.multi = self._start(plugin_site, 'multi',
                                     'gunicorn.conf.py', TRAC_ENV='',
                                     TRAC_ENV_PARENT_DIR=self.parent)
            self.cluster = self._start(plugin_site, 'cluster',
                                       'gunicorn-cluster.conf.py',
                                       TRAC_ENV=self.env.path,
                                       BACKEND_ADDRESS='127.0.0.1',
                                       BALANCER_ADDRESSES='127.0.0.1')
        except Exception:
            self.stop()
            raise

    def _start(self, plugin_site, name, sample, **values):
        folder = os.path.join(self.dir, name)
        os.makedirs(folder)
        port = free_port()
        self.servers.append(gunicorn_service(folder, plugin_site, sample,
                                             BACKEND_PORT=port, **values))
        return port

    def stop(self):
        for server in reversed(self.servers):
            server.stop()


@pytest.fixture(scope='module')
def backends(plugin_site):
    workdir = public_dir('ruatest-')
    made = Backends(workdir, plugin_site)
    yield made
    made.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.servers
def test_gunicorn_alone(backends):
    for port in (backends.single, backends.multi, backends.cluster):
        path = '/project/wiki/WikiStart' if port == backends.multi \
            else '/wiki/WikiStart'
        check_assertions(port, path, backends.assertions)


@pytest.mark.servers
@pytest.mark.parametrize('sample, path', [
    ('nginx-gunicorn.conf', '/prefix/wiki/WikiStart'),
    ('nginx-auth-request.conf', '/prefix/wiki/WikiStart'),
    ('nginx-gunicorn-multi.conf', '/prefix/project/wiki/WikiStart'),
    ('nginx-gunicorn-cluster.conf', '/prefix/wiki/WikiStart')])
def test_nginx(backends, sample, path):
    require('nginx')
    workdir = os.path.join(backends.dir, sample)
    os.makedirs(workdir)
    port = free_port()
    backend = backends.multi if 'multi' in sample else backends.single
    cluster = '127.0.0.1:%d' % backends.cluster
    conf = render(sample, os.path.join(workdir, 'site.conf'), PORT=port,
                  BACKEND_PORT=backend, BACKEND_1=cluster,
                  BACKEND_2=cluster, BACKEND_3=cluster,
                  HTDOCS=backends.htdocs,
                  HTPASSWD=os.path.join(workdir, 'htpasswd'),
                  # Pages outside /login never ask the authenticator.
                  AUTH_URL='http://127.0.0.1:9/verify')
    nginx = Nginx(workdir, conf, port)
    try:
        check_assertions(port, path, backends.assertions)
    finally:
        nginx.stop()


# Apache, for real

@pytest.mark.servers
def test_apache_mod_wsgi(public_tmp, staged_site):
    assertions = Assertions(public_tmp)
    d = Deployment(public_tmp, staged_site, 'apache-mod-wsgi.conf',
                   assertions.options(), HTPASSWD='/nonexistent')
    try:
        check_assertions(d.port, '/prefix/wiki/WikiStart', assertions)
    finally:
        d.stop()


@pytest.mark.servers
def test_apache_mod_auth_openidc(public_tmp, staged_site):
    """The OpenID Connect sample with a proxy in front that signs the
    identity: the provider is never asked for pages outside /login."""
    require('/usr/lib/apache2/modules/mod_auth_openidc.so')
    assertions = Assertions(public_tmp)
    d = Deployment(public_tmp, staged_site, 'apache-mod-auth-openidc.conf',
                   assertions.options(), ['auth_openidc'],
                   ISSUER='http://127.0.0.1:9', CLIENT_ID='trac',
                   CLIENT_SECRET='trac-secret',
                   PASSPHRASE='a long random string')
    try:
        check_assertions(d.port, '/prefix/wiki/WikiStart', assertions)
    finally:
        d.stop()


@pytest.mark.servers
def test_apache_proxy_tracd(public_tmp, plugin_site, servers):
    assertions = Assertions(public_tmp)
    port, base_url, env = proxy_tracd(public_tmp, plugin_site, servers,
                                      options=assertions.options())
    check_assertions(port, '/prefix/wiki/WikiStart', assertions)


@pytest.mark.servers
def test_apache_mod_python(public_tmp, staged_site, servers):
    require('/usr/lib/apache2/modules/mod_python.so')
    assertions = Assertions(public_tmp)
    port = free_port()
    env = make_env(public_tmp, options=assertions.options())
    conf = render_changed('apache-mod-python.conf',
                          os.path.join(public_tmp, 'site.conf'), PORT=port,
                          SITE_PACKAGES=staged_site, TRAC_ENV=env.path,
                          HTDOCS=public_tmp, HTPASSWD='/nonexistent')
    give_to_server(env.path)
    servers.append(Apache(public_tmp, conf, ['python'], port=port))
    check_assertions(port, '/prefix/wiki/WikiStart', assertions)


@pytest.mark.servers
def test_apache_mod_auth_openidc_id_tokens(public_tmp, staged_site):
    """The provider's own ID token through mod_auth_openidc, which keeps
    it in its session (about three times over) in a shared-memory cache
    of 16 KB entries by default: the callback answered 500 for a token
    of 12 KB. The token grows by 12 characters with each group of the
    groups claim (nine bytes of JSON); the plugin logs the length of one
    it refuses, which gives every other length exactly."""
    require('/usr/lib/apache2/modules/mod_auth_openidc.so')

    def claims(groups):
        return {'preferred_username': 'erin@example.com',
                'email': 'erin@example.com', 'name': 'Erin',
                'groups': ['g%05d' % i for i in range(groups)]}

    def log_in(groups):
        provider.set_user('erin', **claims(groups))
        page = Client().login(d.base_url + '/login', sub='erin')
        assert page.status == 200, (groups, page.status, page.body[:300],
                                    d.server.error_log()[-2000:])
        refused = re.findall(r'the assertion is (\d+) characters long',
                             d.env.log())
        return logged_in_as(page), refused and int(refused[0])

    provider = Provider(os.path.join(public_tmp, 'provider'),
                        {'erin': claims(0)})
    try:
        d = deploy(os.path.join(public_tmp, 'site'), staged_site, provider, [
            ('remoteuser', 'jwt_header', 'env:OIDC_id_token'),
            ('remoteuser', 'jwt_keys', provider.jwks_url),
            ('remoteuser', 'jwt_issuer', provider.issuer),
            ('remoteuser', 'jwt_audience', 'trac'),
            ('remoteuser', 'jwt_claim', 'email'),
            ('remoteuser', 'local_domains', 'example.com'),
            ('remoteuser', 'trusted_proxies', '192.0.2.1'),
            ('remoteuser', 'log_interval', '0')])
        try:
            d.env.log()
            name, length = log_in(1400)
            assert name is None and length > MAX_ASSERTION, length

            def groups_for(size):
                return 1400 - (length - size + 11) // 12
            for size in (12000, MAX_ASSERTION):
                assert log_in(groups_for(size)) == ('Erin', [])
            # One group more than the largest: over the limit by the
            # length foreseen, refused by the plugin.
            largest = groups_for(MAX_ASSERTION)
            name, over = log_in(largest + 1)
            assert name is None
            assert over == length - 12 * (1400 - largest - 1)
            assert MAX_ASSERTION < over <= MAX_ASSERTION + 12
        finally:
            d.stop()
    finally:
        provider.stop()
