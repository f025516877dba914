"""Rendering the conf-samples with real paths and ports, and running the
real web servers on them (nginx, Apache) for the end-to-end tests.

Only the `@NAME@` placeholders of a sample are replaced: the file users
copy is the file the test runs. Apache and nginx get a small main
configuration of the test's own (ports, pid file, modules), and include
the sample the way a site configuration is included on a server.
"""

import configparser
import grp
import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from conftest import ROOT, TracEnv
from process import Server, free_port, python_env, require

SAMPLES = os.path.join(ROOT, 'conf-samples')
APACHE_MODULES = '/usr/lib/apache2/modules'
PASSWORD = 'Secret-123'


def render(name, dest, **values):
    """Write conf-samples/`name` to `dest` with its placeholders filled;
    every placeholder of the sample must be given a value."""
    with open(os.path.join(SAMPLES, name), encoding='utf-8') as f:
        text = f.read()
    wanted = set(re.findall(r'@([A-Z_]+)@', text))
    missing = wanted - set(values)
    assert not missing, "%s: no value for %s" % (name, sorted(missing))
    for key, value in values.items():
        text = text.replace('@%s@' % key, str(value))
    with open(dest, 'w', encoding='utf-8') as f:
        f.write(text)
    return dest


def edit(old, new):
    """A change of a sample's text (text -> text) for a test that runs
    it broken: `old` must be in it."""
    def change(text):
        assert old in text, old
        return text.replace(old, new)
    return change


def ini_options(sample, dest, **values):
    """The trac.ini fragment `sample`, rendered to `dest`, as (section,
    name, value) options for `TracEnv`."""
    render(sample, dest, **values)
    parser = configparser.RawConfigParser(inline_comment_prefixes=None)
    parser.optionxform = str
    parser.read(dest)
    return [(section, name, value) for section in parser.sections()
            for name, value in parser.items(section)]


def gunicorn_service(workdir, site, sample, environment=None, **values):
    """Render the gunicorn configuration `sample` as
    `workdir`/gunicorn.conf.py, and trac-gunicorn.service beside it, and
    run the unit's ExecStart as systemd would, with `environment` added
    to its variables; `values` fill the sample's placeholders
    (BACKEND_PORT, and BACKEND_ADDRESS when it has one, say where it
    listens)."""
    render(sample, os.path.join(workdir, 'gunicorn.conf.py'), **values)
    unit = render('trac-gunicorn.service',
                  os.path.join(workdir, 'trac-gunicorn.service'),
                  VENV=sys.prefix, CONF_DIR=workdir, USER='trac')
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str
    parser.read(unit)
    argv = shlex.split(parser.get('Service', 'ExecStart'))
    assert parser.get('Service', 'User') == 'trac'
    return Server(argv, values['BACKEND_PORT'],
                  os.path.join(workdir, 'gunicorn.out'),
                  env=python_env(site, **(environment or {})), cwd=workdir,
                  host=values.get('BACKEND_ADDRESS', '127.0.0.1'))


def server_user():
    """The unprivileged user web servers switch to when started as root."""
    if os.getuid() != 0:
        return None
    for name in ('www-data', 'nobody'):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    return None


def give_to_server(*paths):
    """Let the server's worker user write the environment and read the
    rest (when the tests run as root, workers run as www-data)."""
    user = server_user()
    if user is None:
        return
    uid = pwd.getpwnam(user).pw_uid
    gid = grp.getgrnam(user).gr_gid if _has_group(user) else -1
    for path in paths:
        for root, dirs, files in os.walk(path):
            os.chown(root, uid, gid)
            for name in files:
                os.chown(os.path.join(root, name), uid, gid)


def _has_group(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def public_dir(prefix):
    """A folder every local user can read, outside pytest's private
    tmp (which is mode 0700 under root)."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def stage_site(plugin_site):
    """site-packages a server's own Python (mod_wsgi, mod_python) can
    read: Trac and its dependencies from the tests' virtualenv, and the
    plugin as pip installed it."""
    import trac
    source = os.path.dirname(os.path.dirname(trac.__file__))
    target = public_dir('ruasite-')
    skip = shutil.ignore_patterns('pip', 'pip-*', 'hypothesis*', '_pytest',
                                  'pytest*', '__pycache__', '*.pyc')
    for name in os.listdir(source):
        src = os.path.join(source, name)
        if skip(source, [name]):
            continue
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(target, name), ignore=skip)
        else:
            shutil.copy2(src, target)
    for name in os.listdir(plugin_site):
        src = os.path.join(plugin_site, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(target, name),
                            dirs_exist_ok=True)
    for root, dirs, files in os.walk(target):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return target


def htpasswd(path, users):
    require('htpasswd')
    for i, user in enumerate(users):
        flags = '-cbB' if i == 0 else '-bB'
        subprocess.run(['htpasswd', flags, path, user, PASSWORD],
                       check=True, capture_output=True)
    os.chmod(path, 0o644)
    return path


def htdigest(path, realm, users):
    import hashlib
    with open(path, 'w') as f:
        for user in users:
            digest = hashlib.md5(('%s:%s:%s' % (user, realm, PASSWORD))
                                 .encode()).hexdigest()
            f.write('%s:%s:%s\n' % (user, realm, digest))
    os.chmod(path, 0o644)
    return path


def deploy_static(env_path, dest):
    """`trac-admin ENV deploy DIR`, as the recipes do for the front end."""
    subprocess.run([sys.executable, '-m', 'trac.admin.console', env_path,
                    'deploy', dest], check=True, capture_output=True)
    for root, dirs, files in os.walk(dest):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(os.path.join(root, name), 0o644)
    return os.path.join(dest, 'htdocs')


#: The RPC plugins of every deployment: trac-ticketrpc (JSON-RPC at
#: /ticketrpc, from PyPI) and the tests' XML-RPC handler at /login/rpc
#: and /login/xmlrpc (rpchandler.py, in the environment's plugins/).
RPC_COMPONENTS = [('components', 'tracticketrpc.*', 'enabled'),
                  ('components', 'rpchandler.*', 'enabled')]


def make_env(base, name='env', options=()):
    """A Trac environment the server's workers may write, with the RPC
    plugins API clients call."""
    env = TracEnv(os.path.join(base, name), RPC_COMPONENTS + list(options))
    add_rpc_handler(env)
    if ('remoteuser', 'tokens', 'true') in options:
        env.admin('upgrade')    # the tokens' table, as Trac asks
    return env


def add_rpc_handler(env):
    """Put the tests' XML-RPC handler into the environment's plugins/
    (enabled by RPC_COMPONENTS)."""
    plugins = os.path.join(env.path, 'plugins')
    os.makedirs(plugins, exist_ok=True)
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'rpchandler.py'), plugins)
    os.chmod(os.path.join(plugins, 'rpchandler.py'), 0o644)


APACHE_BASE = """\
ServerRoot /etc/apache2
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {dir}/httpd.pid
ErrorLog {dir}/error.log
LogLevel warn{extra_log}
LogFormat "%h %u \\"%r\\" %>s" short
CustomLog {dir}/access.log short
DefaultRuntimeDir {dir}
Mutex file:{dir} default
TypesConfig /etc/mime.types
{user}
{modules}
Include {sample}
"""

BASE_MODULES = ['mpm_prefork', 'authz_core', 'authn_core', 'authn_file',
                'auth_basic', 'authz_user', 'authz_host', 'headers',
                'alias', 'mime', 'env', 'setenvif', 'rewrite']


class Apache(Server):
    """Apache httpd with `sample` included, on a free loopback port;
    `env` adds to its process environment (what /etc/apache2/envvars
    or the machine's /etc files give a real server)."""

    def __init__(self, workdir, sample, modules=(), port=None,
                 log_level='', env=None):
        require('/usr/sbin/apache2')
        self.dir = workdir
        port = port or free_port()
        loads = []
        for module in BASE_MODULES + list(modules):
            so = os.path.join(APACHE_MODULES, 'mod_%s.so' % module)
            require(so)
            loads.append('LoadModule %s_module %s' % (module, so))
        user = server_user()
        conf = os.path.join(workdir, 'httpd.conf')
        with open(conf, 'w') as f:
            f.write(APACHE_BASE.format(
                port=port, dir=workdir, sample=sample,
                modules='\n'.join(loads),
                extra_log=(' ' + log_level) if log_level else '',
                user='User %s\nGroup %s' % (user, user) if user else ''))
        Server.__init__(self, ['/usr/sbin/apache2', '-f', conf,
                               '-DFOREGROUND'],
                        port, os.path.join(workdir, 'apache.out'),
                        env=dict({'PATH': '/usr/sbin:/usr/bin:/bin',
                                  'LANG': 'C.UTF-8'}, **(env or {})))

    def error_log(self):
        path = os.path.join(self.dir, 'error.log')
        return open(path, errors='replace').read() \
            if os.path.exists(path) else ''


NGINX_BASE = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
{user}
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {sample};
}}
"""


class Nginx(Server):
    """nginx with the `server` blocks of `sample`, listening on `port`."""

    def __init__(self, workdir, sample, port):
        require('nginx')
        self.dir = workdir
        user = server_user()
        conf = os.path.join(workdir, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_BASE.format(
                dir=workdir, sample=sample,
                user='user %s;' % user if user else ''))
        Server.__init__(self, [shutil.which('nginx'), '-c', conf, '-g',
                               'daemon off;'],
                        port, os.path.join(workdir, 'nginx.out'))
