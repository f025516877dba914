"""Real Trac environments in temporary folders, and requests through
`trac.web.main.dispatch_request`, as a WSGI server would make them."""

import atexit
import io
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections import namedtuple
from http.cookies import SimpleCookie

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SUPPORT = os.path.join(HERE, 'support')
for path in (ROOT, HERE, SUPPORT):
    if path not in sys.path:
        sys.path.insert(0, path)

import pkg_resources  # noqa: E402

from trac.env import Environment, open_environment  # noqa: E402


def _memoize_plugin_requirements():
    """Trac loads each plugin entry point with `require=True`, which
    makes pkg_resources scan the whole of sys.path again to check the
    plugin's requirements: two thirds of opening an environment. Nothing
    installs or removes a distribution while the tests run, so the
    answer stays what it was the first time: met, or the same error
    (Trac's optional components whose extras are not installed, such
    as docutils, are asked each time an environment opens)."""
    answers = {}
    require = pkg_resources.EntryPoint.require

    def require_once(self, env=None, installer=None):
        key = (self.dist and self.dist.project_name, self.extras)
        if key not in answers:
            try:
                require(self, env, installer)
            except Exception as e:
                answers[key] = e
            else:
                answers[key] = None
        if answers[key] is not None:
            raise answers[key]
    pkg_resources.EntryPoint.require = require_once


_memoize_plugin_requirements()


def _no_scan_for_no_plugins():
    """Opening an environment, Trac asks pkg_resources for the plugins
    of its plugins/ folder, which first indexes every distribution on
    sys.path (a tenth of the fast suite). When the folder holds none,
    the answer is no plugins and no errors without looking; a folder
    with eggs is asked as before."""
    find_plugins = pkg_resources.WorkingSet.find_plugins

    def find_plugins_if_any(self, plugin_env, *args, **kwargs):
        if not list(plugin_env):
            return [], {}
        return find_plugins(self, plugin_env, *args, **kwargs)
    pkg_resources.WorkingSet.find_plugins = find_plugins_if_any


_no_scan_for_no_plugins()
import trac.web.chrome  # noqa: E402
import trac.web.main  # noqa: E402
from trac.web.main import dispatch_request  # noqa: E402


class _SharedTemplateCode(object):
    """Jinja2's bytecode cache, held in memory and shared by every
    environment of the test run. Trac compiles each template once per
    environment; the tests make hundreds of environments, whose
    templates are the same files. The key holds what the compiled code
    depends on besides the source (Trac's text overlay compiles the same
    file without autoescape)."""

    def __init__(self):
        import jinja2
        self.cache = jinja2.BytecodeCache()
        self.cache.load_bytecode = self.load
        self.cache.dump_bytecode = self.dump
        self.code = {}

    def key(self, bucket):
        env = bucket.environment
        return (bucket.key, bucket.checksum, repr(env.autoescape),
                env.line_statement_prefix, env.variable_start_string)

    def load(self, bucket):
        code = self.code.get(self.key(bucket))
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump(self, bucket):
        self.code[self.key(bucket)] = bucket.bytecode_to_string()


def _share_compiled_templates():
    shared = _SharedTemplateCode()
    make = trac.web.chrome.jinja2env

    def jinja2env(**kwargs):
        jenv = make(**kwargs)
        jenv.bytecode_cache = shared.cache
        return jenv
    trac.web.chrome.jinja2env = jinja2env


class _YoungGenerations(object):
    """`dispatch_request` runs a full garbage collection after each
    request (in a long-lived server process, cheap); in a test process
    that holds hundreds of environments and Hypothesis' data it is
    a third of the run. Here it collects the young generations; Python
    still collects the old one at its own thresholds."""

    @staticmethod
    def collect(generation=0):
        import gc
        return gc.collect(min(generation, 1) if generation else 1)


_share_compiled_templates()
trac.web.main.gc = _YoungGenerations()

# The modules the distribution's entry points load: they register the
# components, as Trac's plugin loader would.
import remoteuserauth.admin  # noqa: E402,F401
import remoteuserauth.auth  # noqa: E402,F401
import remoteuserauth.groupsync  # noqa: E402,F401
import remoteuserauth.login  # noqa: E402,F401
import remoteuserauth.profilesync  # noqa: E402,F401
import remoteuserauth.publicurl  # noqa: E402,F401
import remoteuserauth.tokenprefs  # noqa: E402,F401
from process import find_header  # noqa: E402

#: Fixtures shared across folders, from tests/support: the server tests'
#: (`apache`) and the signed assertions' (`assertionfixtures`).
pytest_plugins = ['apache', 'assertionfixtures']

Response = namedtuple('Response', 'status headers body environ')

SERVER_TESTS = os.path.join(HERE, 'servers')


#: Where the test run keeps its folders when none is given: memory.
#: Each Trac environment commits to SQLite, which waits for the disk
#: on every commit.
MEMORY = '/dev/shm'


def pytest_configure(config):
    if config.option.basetemp is None and os.path.isdir(MEMORY) and \
            os.access(MEMORY, os.W_OK | os.X_OK):
        base = tempfile.mkdtemp(prefix='remoteuserauth-tests-', dir=MEMORY)
        atexit.register(shutil.rmtree, base, True)
        # pytest empties the folder it is given: the templates beside it.
        config.option.basetemp = os.path.join(base, 'tmp')
        _TEMPLATE_DIR.append(tempfile.mkdtemp(dir=base))


def pytest_collection_modifyitems(config, items):
    """Every test under tests/servers/ runs real servers: it is marked
    so, and `pytest -m "not servers"` runs the rest (the fast suite)."""
    for item in items:
        if str(item.fspath).startswith(SERVER_TESTS + os.sep):
            item.add_marker(pytest.mark.servers)


def header(response, name):
    return find_header(response.headers, name)


def cookies(response):
    jar = SimpleCookie()
    for key, value in response.headers:
        if key.lower() == 'set-cookie':
            jar.load(value)
    return jar


def logged_in_as(response):
    """The name the page says the user is logged in as, or None."""
    match = re.search(r'logged in as\s*(?:<[^>]*>\s*)*([^<]+?)\s*<',
                      response.body)
    return match.group(1) if match else None


#: Environments made once per set of components and copied after that:
#: making one runs every component's set-up, copying it is 20 times
#: faster. {components: path}
_TEMPLATES = {}
_TEMPLATE_DIR = []


def make_environment(path, options):
    """A new environment at `path` with `options`. One on SQLite is a
    copy of a template made with the same components (Trac's set-up and
    every plugin's ran there); the other options are written into its
    trac.ini afterwards, as `TracEnv` writes them anyway. One on another
    database is made afresh."""
    if any(section == 'trac' and name == 'database'
           for section, name, value in options):
        Environment(path, create=True, options=options).shutdown()
        return
    components = tuple(sorted(o for o in options if o[0] == 'components'))
    template = _TEMPLATES.get(components)
    if template is None:
        if not _TEMPLATE_DIR:
            _TEMPLATE_DIR.append(tempfile.mkdtemp(prefix='ruatemplates-'))
            atexit.register(shutil.rmtree, _TEMPLATE_DIR[0], True)
        template = os.path.join(_TEMPLATE_DIR[0], str(len(_TEMPLATES)))
        Environment(template, create=True,
                    options=list(components) +
                    [o for o in options if o[0] == 'logging']).shutdown()
        _TEMPLATES[components] = template
    shutil.copytree(template, path)


class TracEnv(object):
    """A real Trac environment on SQLite, with the plugin enabled."""

    def __init__(self, path, options=()):
        self.path = path
        opts = [('components', 'remoteuserauth.*', 'enabled'),
                ('logging', 'log_type', 'file'),
                ('logging', 'log_level', 'DEBUG')]
        opts.extend(options)
        make_environment(path, opts)
        # Trac normalizes option values when it creates an environment
        # ('maybe' becomes 'disabled'); write them as an administrator
        # would have typed them.
        self.write_ini(options)
        self.log_offset = 0

    def write_ini(self, options):
        import configparser
        ini = os.path.join(self.path, 'conf', 'trac.ini')
        parser = configparser.RawConfigParser(interpolation=None)
        parser.optionxform = str
        parser.read(ini, encoding='utf-8')
        for section, name, value in options:
            if not parser.has_section(section):
                parser.add_section(section)
            parser.set(section, name, value)
        with open(ini, 'w', encoding='utf-8') as f:
            parser.write(f)

    def env(self):
        """The environment as the requests see it (Trac's cache): a
        second instance would share, and on shutdown remove, its log
        handler."""
        return open_environment(self.path, use_cache=True)

    def configure(self, section, **values):
        """Change trac.ini, as an administrator would."""
        env = self.env()
        for name, value in values.items():
            env.config.set(section, name, value)
        env.config.save()

    def admin(self, *args):
        rv, output = self.admin_rv(*args)
        assert rv in (0, None), output
        return output

    def admin_rv(self, *args):
        """Run a trac-admin command; its return value (the exit code of
        `trac-admin ENV ...`) and what it printed."""
        from trac.admin.console import TracAdmin
        admin = TracAdmin()
        admin.env_set(self.path, self.env())
        out = io.StringIO()
        saved = sys.stdout
        sys.stdout = out
        try:
            rv = admin.onecmd(' '.join(args))
        finally:
            sys.stdout = saved
        return rv, out.getvalue()

    def db(self, sql, params=()):
        return self.env().db_query(sql, params)

    def stale_cookie(self, name):
        """A trac_auth cookie of `name`, as an earlier login left it;
        returns the Cookie header a browser sends with it."""
        cookie = 'c0ffee' + name
        with self.env().db_transaction as db:
            db("DELETE FROM auth_cookie WHERE cookie=%s", (cookie,))
            db("INSERT INTO auth_cookie (cookie, name, ipnr, time) "
               "VALUES (%s, %s, %s, %s)",
               (cookie, name, '127.0.0.1', int(time.time())))
        return ('Cookie', 'trac_auth=' + cookie)

    def log(self):
        """The log written since the last call."""
        path = os.path.join(self.path, 'log', 'trac.log')
        with open(path, encoding='utf-8') as f:
            f.seek(self.log_offset)
            text = f.read()
            self.log_offset = f.tell()
        return text

    def request(self, path='/', method='GET', headers=(), peer='127.0.0.1',
                remote_user=None, script_name='', host='backend:8000',
                scheme='http', body=b'', environ=None, app=None):
        """One request through dispatch_request; `headers` as (name,
        value) pairs, named the way a client writes them."""
        path, _, query = path.partition('?')
        env = {
            'REQUEST_METHOD': method,
            'SCRIPT_NAME': script_name,
            'PATH_INFO': path,
            'QUERY_STRING': query,
            'SERVER_NAME': host.split(':')[0],
            'SERVER_PORT': host.split(':')[1] if ':' in host else '80',
            'SERVER_PROTOCOL': 'HTTP/1.1',
            'REMOTE_ADDR': peer,
            'HTTP_HOST': host,
            'wsgi.url_scheme': scheme,
            'wsgi.input': io.BytesIO(body),
            'wsgi.errors': sys.stderr,
            'wsgi.run_once': False,
            'wsgi.multithread': False,
            'wsgi.multiprocess': False,
            'wsgi.version': (1, 0),
            'trac.env_path': self.path,
        }
        if body:
            env['CONTENT_LENGTH'] = str(len(body))
            env['CONTENT_TYPE'] = 'application/x-www-form-urlencoded'
        if remote_user is not None:
            env['REMOTE_USER'] = remote_user
        for name, value in headers:
            key = 'HTTP_' + name.upper().replace('-', '_')
            env[key] = env[key] + ',' + value if key in env else value
        env.update(environ or {})
        started = {}
        written = []

        def start_response(status, response_headers, exc_info=None):
            started['status'] = int(status.split()[0])
            started['headers'] = response_headers
            return written.append

        chunks = (app or dispatch_request)(env, start_response)
        try:
            written.extend(chunks)
        finally:
            if hasattr(chunks, 'close'):
                chunks.close()
        body = b''.join(written).decode('utf-8', 'replace')
        return Response(started['status'], started['headers'], body, env)


@pytest.fixture
def trac_env(tmp_path):
    return TracEnv(str(tmp_path / ('env-' + uuid.uuid4().hex[:8])))


@pytest.fixture
def make_env(tmp_path):
    def make(*options):
        return TracEnv(str(tmp_path / ('env-' + uuid.uuid4().hex[:8])),
                       options)
    return make


@pytest.fixture(scope='session')
def plugin_site(tmp_path_factory):
    """The plugin installed with pip (`pip install --target`), as a
    server process finds it: through its distribution's entry points."""
    import subprocess
    site = str(tmp_path_factory.mktemp('site'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet',
                    '--no-deps', '--no-build-isolation', '--target', site,
                    ROOT], check=True)
    return site


@pytest.fixture(scope='session')
def staged_site(plugin_site):
    """Trac, its dependencies and the plugin in a folder that the web
    servers' own Python (mod_wsgi, mod_python, as www-data) can read."""
    from deploy import stage_site
    site = stage_site(plugin_site)
    yield site
    shutil.rmtree(site, ignore_errors=True)


@pytest.fixture
def public_tmp():
    """A working folder the servers' unprivileged workers can read."""
    from deploy import public_dir
    path = public_dir('ruatest-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def module_tmp():
    """`public_tmp` for the servers a whole test module shares."""
    from deploy import public_dir
    path = public_dir('ruamod-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='session')
def postgresql():
    """A PostgreSQL server on loopback for the whole session."""
    from pg import PostgreSQL
    server = PostgreSQL()
    yield server
    server.stop()


@pytest.fixture
def servers():
    """Servers a test starts; stopped, last first, when it ends."""
    started = []
    yield started
    for server in reversed(started):
        server.stop()
