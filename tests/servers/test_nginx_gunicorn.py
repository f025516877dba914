"""nginx -> gunicorn samples against the real servers: one project and
several, started the way trac-gunicorn.service starts gunicorn."""

import contextlib
import http.client as http_client
import os
import re
import shutil
import subprocess
import sys

import pytest

from browser import Chromium, find_chromium
from deploy import (PASSWORD, Nginx, deploy_static, edit, gunicorn_service,
                    htpasswd, make_env, render)
from conftest import logged_in_as
from e2e import (basic, check_api_clients, check_deployment,
                 check_selftest_clean, forged_basic, jsonrpc_call, new_ticket,
                 selftest, the_critical_finding, xmlrpc_call)
from process import Server, free_port, http


def start_gunicorn_service(workdir, site, backend_port, trac_env='',
                           parent_dir=''):
    return gunicorn_service(workdir, site, 'gunicorn.conf.py',
                            BACKEND_PORT=backend_port, TRAC_ENV=trac_env,
                            TRAC_ENV_PARENT_DIR=parent_dir)


@pytest.fixture
def one_project(public_tmp, plugin_site, servers):
    """nginx-gunicorn.conf with gunicorn behind it; (port, base_url,
    env)."""
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
    return port, base_url, env


def password_file(folder):
    path = os.path.join(folder, 'alice.password')
    with open(path, 'w') as f:
        f.write(PASSWORD + '\n')
    return path


def test_nginx_gunicorn_one_project(one_project, tmp_path):
    port, base_url, env = one_project
    check_deployment(port, '/prefix', base_url, basic())
    check_selftest_clean(env, base_url)
    # Logged in as a test account, /login is checked too; the probe
    # logs nobody in.
    logins = env.db("SELECT cookie FROM auth_cookie")
    lines = check_selftest_clean(env, base_url, '--user=alice',
                                 '--password-file=' +
                                 password_file(str(tmp_path)))
    assert not [ln for ln in lines if 'asks for a login first' in ln and
                '/prefix/login:' in ln], lines
    assert any(ln.startswith('OK       /prefix/, /prefix/login,') for ln in
               lines), lines
    assert env.db("SELECT cookie FROM auth_cookie") == logins
    r = http(port, '/prefix')
    assert r.status == 301 and r.header('Location').endswith('/prefix/')


def test_chromium_logs_in_through_nginx(one_project, tmp_path):
    """A real browser: Basic authentication on /login, the redirect back,
    the trac_auth cookie, and the page it renders."""
    port, base_url, env = one_project
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
        check_selftest_clean(envs[name], base_url)
    # A project's login is its own.
    r = http(port, '/prefix/beta/wiki/WikiStart', [cookies['alpha']])
    assert 'logged in as' not in r.body


class Backend(object):
    """gunicorn from the samples, started once for the broken front
    ends below; each test puts its own nginx in front of it."""

    def __init__(self, workdir, site):
        self.dir = workdir
        self.port, self.backend = free_port(), free_port()
        self.base_url = 'http://127.0.0.1:%d/prefix' % self.port
        self.env = make_env(workdir, options=[
            ('trac', 'base_url', self.base_url)])
        self.htdocs = deploy_static(self.env.path,
                                    os.path.join(workdir, 'static'))
        self.users = htpasswd(os.path.join(workdir, 'htpasswd'), ['alice'])
        self.gunicorn = start_gunicorn_service(workdir, site, self.backend,
                                               trac_env=self.env.path)

    @contextlib.contextmanager
    def nginx(self, edit):
        """nginx-gunicorn.conf, changed by `edit` (text -> text), in
        front of the backend while the `with` block runs."""
        conf = render('nginx-gunicorn.conf',
                      os.path.join(self.dir, 'site.conf'), PORT=self.port,
                      BACKEND_PORT=self.backend, HTDOCS=self.htdocs,
                      HTPASSWD=self.users)
        with open(conf) as f:
            text = edit(f.read())
        with open(conf, 'w') as f:
            f.write(text)
        nginx = Nginx(self.dir, conf, self.port)
        try:
            yield nginx
        finally:
            nginx.stop()


#: /login and the RPC paths below it, which the sample authenticates
#: alike: the self-test names them together.
LOGIN_PATHS = ('/prefix/login, /prefix/login/rpc, /prefix/login/xmlrpc, '
               '/prefix/login/jsonrpc')


@pytest.fixture(scope='module')
def backend(plugin_site):
    from deploy import public_dir
    workdir = public_dir('ruatest-')
    made = Backend(workdir, plugin_site)
    yield made
    made.gunicorn.stop()
    shutil.rmtree(workdir, ignore_errors=True)


# A location of its own for attachments (larger uploads): its own
# proxy_set_header lines mean it inherits none from /prefix/, so the
# client's Remote-User goes through to Trac.
ATTACHMENT_LOCATION = '''
        location /prefix/attachment/ {
            client_max_body_size 50m;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_pass http://127.0.0.1:%d;
        }
'''


def test_selftest_finds_a_location_that_passes_remote_user(backend):
    with backend.nginx(edit(
            '        location /prefix/login {',
            ATTACHMENT_LOCATION % backend.backend +
            '        location /prefix/login {')):
        rv, lines = selftest(backend.env, backend.base_url)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith(
        "CRITICAL /prefix/attachment/wiki/WikiStart/: a client's "
        "Remote-User header is accepted as the user name"), lines
    assert '`proxy_set_header Remote-User $trac_user;` in every ' \
        'location' in critical
    assert lines[-1].endswith('the front end can be fooled')
    # The probe logged nobody in and stored nothing.
    assert backend.env.db("SELECT sid FROM session WHERE sid LIKE "
                          "'ruaprobe-%%'") == []
    assert backend.env.db("SELECT name FROM auth_cookie") == []


def test_selftest_finds_remote_user_where_no_password_is_checked(backend):
    """The sample as it was: $remote_user for the whole site, auth_basic
    on /login only. nginx fills $remote_user from any client's Basic
    credentials, checked or not; the self-test's forged credentials
    (a wrong password) show it."""
    with backend.nginx(edit(
            '        proxy_set_header Remote-User $trac_user;',
            '        proxy_set_header Remote-User $remote_user;')):
        r = http(backend.port, '/prefix/wiki/WikiStart',
                 forged_basic('admin'))
        assert logged_in_as(r) == 'admin'       # what the test is about
        rv, lines = selftest(backend.env, backend.base_url)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith(
        "CRITICAL /prefix/, /prefix/logout, /prefix/wiki/WikiStart and "
        "10 more: "), lines
    assert "the user name of a client's Basic credentials is accepted " \
        "although their password is wrong" in critical
    assert 'set $trac_user $remote_user;' in critical
    assert '/prefix/login:' not in critical
    assert any(ln.startswith('OK       %s: the front end asks for a login '
                             'first' % LOGIN_PATHS) for ln in lines), lines


def test_selftest_finds_satisfy_any_on_login(backend):
    """`satisfy any` with an `allow` line: a client from an allowed
    address skips the password, and $remote_user is whatever its
    Authorization header names. The forged credentials show it."""
    with backend.nginx(edit(
            '            auth_basic "Trac";\n',
            '            satisfy any;\n'
            '            allow 127.0.0.0/8;\n'
            '            deny all;\n'
            '            auth_basic "Trac";\n')):
        rv, lines = selftest(backend.env, backend.base_url)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith(
        "CRITICAL %s: the user name of a client's Basic credentials is "
        "accepted although their password is wrong" % LOGIN_PATHS), lines
    assert backend.env.db("SELECT name FROM auth_cookie") == []


def test_selftest_logged_in_finds_a_login_location_that_passes_groups(
        backend, tmp_path):
    """The site's location clears the groups header, but /login got
    proxy_set_header lines of its own (and so inherits none): a user
    who can log in there names their own groups. Anonymous, the
    self-test only sees /login's 401; with --user it sees the hole."""
    backend.env.configure('remoteuser', groups_header='X-Remote-Groups',
                          sync_groups='developers')

    def broken(text):
        text = edit('        proxy_set_header Remote-User $trac_user;\n',
                    '        proxy_set_header Remote-User $trac_user;\n'
                    '        proxy_set_header X-Remote-Groups "";\n')(text)
        return edit('            set $trac_user $remote_user;\n',
                    '            set $trac_user $remote_user;\n'
                    '            proxy_set_header Remote-User $trac_user;\n'
                    '            proxy_set_header SCRIPT_NAME /prefix;\n'
                    '            proxy_set_header Host $host;\n')(text)
    try:
        with backend.nginx(broken):
            rv, anonymous = selftest(backend.env, backend.base_url)
            rv_user, logged_in = selftest(
                backend.env, backend.base_url, '--user=alice',
                '--password-file=' + password_file(str(tmp_path)))
            rv_wrong, refused = selftest(
                backend.env, backend.base_url, '--user=mallory',
                '--password-file=' + password_file(str(tmp_path)))
    finally:
        backend.env.configure('remoteuser', groups_header='',
                              sync_groups='')
    assert rv == 0, anonymous
    assert any(ln.startswith('OK       %s: the front end asks for a login '
                             'first' % LOGIN_PATHS) for ln in anonymous)
    assert the_critical_finding(rv_user, logged_in).startswith(
        "CRITICAL %s: a client's X-Remote-Groups reaches Trac: a user "
        "logged in on this path could put themself in [remoteuser] "
        "sync_groups" % LOGIN_PATHS), logged_in
    assert any(ln.startswith('WARN     %s: the front end refused the '
                             'credentials of mallory (HTTP 401)'
                             % LOGIN_PATHS) for ln in refused), refused
    # The probe logged nobody in and synced nothing.
    assert backend.env.db("SELECT name FROM auth_cookie") == []
    assert backend.env.db("SELECT username FROM permission WHERE "
                          "action='developers'") == []


# API clients

#: The sample as it was: an exact match for /login, so that the RPC
#: paths below it reach Trac without a name (issue 19).
EXACT_LOGIN = edit('        location /prefix/login {',
                   '        location = /prefix/login {')

#: A token location written with proxy_set_header lines of its own: it
#: inherits none of the site's, and the client's Remote-User goes
#: through.
LEAKY_TOKEN_LOCATION = edit(
    '            set $trac_authorization $http_authorization;\n',
    '            set $trac_authorization $http_authorization;\n'
    '            proxy_set_header Authorization $trac_authorization;\n'
    '            proxy_set_header SCRIPT_NAME /prefix;\n'
    '            proxy_set_header Host $host;\n')


def warnings(lines):
    return [ln for ln in lines if ln.startswith('WARN')]


def test_rpc_paths_below_an_exact_login_location(backend, tmp_path):
    """With `location = /prefix/login`, a Basic RPC client's calls to
    /prefix/login/xmlrpc reach Trac without a name: the end-to-end check
    of API clients fails on it, and the self-test warns, anonymous and
    with the test account; the sample passes both."""
    with backend.nginx(EXACT_LOGIN):
        with pytest.raises(AssertionError):
            check_api_clients(backend.port, '/prefix', basic())
        r = xmlrpc_call(backend.port, '/prefix/login/xmlrpc',
                        'system.whoami', headers=basic())
        assert r.result == 'anonymous'      # what the test is about
        rv, anonymous = selftest(backend.env, backend.base_url)
        rv_user, logged_in = selftest(
            backend.env, backend.base_url, '--user=alice',
            '--password-file=' + password_file(str(tmp_path)))
    for code, lines in ((rv, anonymous), (rv_user, logged_in)):
        assert code == 0, lines
        assert warnings(lines) == [
            "WARN     /prefix/login/rpc, /prefix/login/xmlrpc, "
            "/prefix/login/jsonrpc: the front end asks for a login on "
            "/prefix/login but not on this path below it: an RPC client's "
            "credentials are never checked here, and its calls stay "
            "anonymous. Fix: nginx: make the login location a prefix "
            "match (`location <prefix>/login`, not `location = "
            "<prefix>/login`), so that auth_basic checks the RPC paths "
            "below it too (as in nginx-gunicorn.conf); or, with "
            "[remoteuser] tokens = true, list the path in token_paths and "
            "pass the client's Authorization on there"], lines
    with backend.nginx(lambda text: text):
        check_api_clients(backend.port, '/prefix', basic())
        check_selftest_clean(backend.env, backend.base_url)


def test_token_paths_through_nginx(backend):
    """tokens on: the sample's token path takes the client's
    Authorization to Trac; the default token_paths would include the
    paths below /login, where nginx asks for a password (WARN); a token
    location that drops Authorization, or lets a client's Remote-User
    through, is found."""
    backend.env.configure('remoteuser', tokens='true', token_paths='')
    backend.env.admin('upgrade')
    try:
        with backend.nginx(lambda text: text):
            backend.env.configure('remoteuser', token_paths='/ticketrpc')
            check_selftest_clean(backend.env, backend.base_url)
            backend.env.configure('remoteuser', token_paths=(
                '/login/rpc, /login/xmlrpc, /login/jsonrpc, /ticketrpc'))
            rv, lines = selftest(backend.env, backend.base_url)
        assert rv == 0, lines
        assert [ln[:60] for ln in warnings(lines)] == [
            'WARN     /prefix/login/rpc, /prefix/login/xmlrpc, /prefix/lo'
        ], lines
        assert 'the front end asks for a login on this token path (HTTP ' \
            '401): token clients cannot pass a single sign-on or a ' \
            'password check. Fix: let token_paths through to Trac: ' \
            'nginx: ' in warnings(lines)[0]
        backend.env.configure('remoteuser', token_paths='/ticketrpc')
        with backend.nginx(edit(
                '            set $trac_authorization $http_authorization;',
                '            set $trac_authorization "";')):
            rv, lines = selftest(backend.env, backend.base_url)
        assert rv == 0, lines
        assert warnings(lines) == [
            "WARN     /prefix/ticketrpc: the front end does not pass the "
            "client's Authorization header on to Trac on this token path: "
            "no token ever arrives. Fix: nginx: `set $trac_authorization "
            "$http_authorization;` in the token paths' location and "
            "`proxy_set_header Authorization $trac_authorization;` (as in "
            "nginx-gunicorn.conf), never `proxy_set_header Authorization "
            "\"\";` there"], lines
        with backend.nginx(LEAKY_TOKEN_LOCATION):
            r = jsonrpc_call(backend.port, '/prefix/ticketrpc',
                             'ticket.create', new_ticket(),
                             [('Remote-User', 'admin')])
            assert r.result['reporter'] == 'admin'  # what it is about
            with pytest.raises(AssertionError):
                check_api_clients(backend.port, '/prefix', basic())
            rv, lines = selftest(backend.env, backend.base_url)
        critical = the_critical_finding(rv, lines)
        assert critical.startswith(
            "CRITICAL /prefix/ticketrpc: a client's Remote-User header is "
            "accepted as the user name"), lines
    finally:
        backend.env.configure('remoteuser', tokens='false', token_paths='')


FORWARDED_HEADERS = '''
        proxy_set_header X-Forwarded-Host $host;
        proxy_set_header X-Forwarded-Port $server_port;
        proxy_set_header X-Forwarded-Prefix "";
        proxy_set_header X-Forwarded-Proto $scheme;'''


def test_selftest_finds_a_forwarded_host_from_the_client(backend):
    """trust_forwarded without base_url: nginx sets X-Forwarded-Proto
    but passes the client's X-Forwarded-Host; then the fix."""
    backend.env.configure('trac', base_url='')
    backend.env.configure('remoteuser', trust_forwarded='true')
    try:
        with backend.nginx(lambda text: text):
            rv, lines = selftest(backend.env, backend.base_url)
        assert rv == 1, lines
        forwarded = [ln for ln in lines if 'X-Forwarded' in ln and
                     ln.startswith('CRITICAL')]
        assert forwarded and 'X-Forwarded-Host' in forwarded[0], lines
        assert 'proxy_set_header X-Forwarded-Host $host;' in forwarded[0]
        with backend.nginx(edit(
                '        proxy_set_header X-Forwarded-Proto $scheme;',
                FORWARDED_HEADERS)):
            rv, lines = selftest(backend.env, backend.base_url)
        assert rv == 0, lines
        assert not [ln for ln in lines if ln.startswith('CRITICAL')], lines
        # What is left: the Host header still decides the address.
        assert [ln for ln in lines if ln.startswith('WARN')] == [
            "WARN     configuration: [trac] base_url is not set: Trac "
            "builds links from the Host header the front end passes on. "
            "Fix: set [trac] base_url to the public address"], lines
    finally:
        backend.env.configure('trac', base_url=backend.base_url)
        backend.env.configure('remoteuser', trust_forwarded='false')


def test_chromium_runs_the_panel_self_test(backend, tmp_path):
    """The admin panel's button in a real browser: forged headers sent by
    the page's script through nginx, the findings shown on the page;
    first with the broken attachment location, then with the sample."""
    backend.env.admin('permission add alice TRAC_ADMIN')
    login = 'http://alice:%s@127.0.0.1:%d/prefix/login' % (PASSWORD,
                                                           backend.port)
    panel = backend.base_url + '/admin/general/remoteuser'
    summary = "document.getElementById('remoteuser-selftest-summary')"
    rows = "Array.from(document.querySelectorAll('tr.remoteuser-finding'))" \
           ".map(function (r) { return Array.from(r.cells).map(" \
           "function (c) { return c.textContent; }); })"
    browser = Chromium(str(tmp_path))
    try:
        with backend.nginx(edit(
                '        location /prefix/login {',
                ATTACHMENT_LOCATION % backend.backend +
                '        location /prefix/login {')):
            browser.go(login)
            browser.wait_for("document.querySelector('.trac-author-user')")
            assert browser.evaluate("document.querySelector("
                                    "'.trac-author-user').textContent") \
                == 'alice'
            browser.go(panel)
            browser.wait_for("document.getElementById("
                             "'remoteuser-selftest-run')")
            browser.click('#remoteuser-selftest-run')
            browser.wait_for(summary)
            assert browser.evaluate(summary + '.textContent').startswith(
                '1 critical')
            found = browser.evaluate(rows)
        critical = [r for r in found if r[0] == 'CRITICAL']
        assert len(critical) == 1, found
        assert critical[0][1] == '/prefix/attachment/wiki/WikiStart/'
        assert critical[0][2].startswith("a client's Remote-User header is "
                                         "accepted as the user name")
        assert 'proxy_set_header Remote-User $trac_user;' in critical[0][3]
        with backend.nginx(lambda text: text):
            browser.go(panel)
            browser.wait_for("document.getElementById("
                             "'remoteuser-selftest-run')")
            browser.click('#remoteuser-selftest-run')
            browser.wait_for(summary)
            clean = browser.evaluate(summary + '.textContent')
            assert clean.startswith('0 critical, 0 warnings'), clean
            assert clean.endswith('no forged name or address got through')
    finally:
        browser.stop()
    # The browser's probes logged nobody in.
    assert backend.env.db("SELECT name FROM auth_cookie") == [('alice',)]


# A backend that dies in the middle of an answer

DYING_APP = '''\
import os


def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/html;charset=utf-8')])
    yield b'<html><body><p>the first half of the page'
    os._exit(1)     # the worker dies (killed, out of memory, its host down)
'''


@pytest.mark.parametrize('sample, path', [
    ('nginx-gunicorn.conf', '/prefix/wiki/WikiStart'),
    ('nginx-gunicorn-multi.conf', '/prefix/project/wiki/WikiStart'),
    ('nginx-gunicorn-cluster.conf', '/prefix/wiki/WikiStart')])
def test_an_answer_cut_off_is_never_a_whole_page(public_tmp, sample, path):
    """Trac sends pages without Content-Length. Over HTTP/1.0, nginx's
    default towards a backend, gunicorn ends such an answer by closing
    the connection, so nginx cannot tell a backend that died from an
    answer that ended: the browser got a 200 with half a page, or none,
    as if complete (the cluster test saw an empty page once when it
    killed a backend). The samples speak HTTP/1.1 to gunicorn, which
    then sends the answer in chunks: a missing last chunk is an error
    nginx passes on, by cutting the browser's connection."""
    with open(os.path.join(public_tmp, 'dying.py'), 'w') as f:
        f.write(DYING_APP)
    backend = free_port()
    gunicorn = Server([sys.executable, '-m', 'gunicorn', '--workers', '1',
                       '--bind', '127.0.0.1:%d' % backend, '--chdir',
                       public_tmp, 'dying:app'], backend,
                      os.path.join(public_tmp, 'gunicorn.log'))
    try:
        port = free_port()
        address = '127.0.0.1:%d' % backend
        conf = render(sample, os.path.join(public_tmp, 'site.conf'),
                      PORT=port, BACKEND_PORT=backend, BACKEND_1=address,
                      BACKEND_2=address, BACKEND_3=address,
                      HTDOCS=public_tmp,
                      HTPASSWD=os.path.join(public_tmp, 'htpasswd'))
        nginx = Nginx(public_tmp, conf, port)
        try:
            for _ in range(3):
                try:
                    r = http(port, path)
                except (http_client.IncompleteRead, ConnectionError):
                    continue    # the browser sees the error
                pytest.fail("a cut-off answer passed for a whole one: %s %r"
                            % (r.status, r.body[:100]))
        finally:
            nginx.stop()
        with open(os.path.join(public_tmp, 'error.log')) as f:
            assert 'upstream prematurely closed connection' in f.read()
    finally:
        gunicorn.stop()
