"""Several backends behind one load balancer on one PostgreSQL: the
cluster samples (nginx-gunicorn-cluster.conf, gunicorn-cluster.conf.py
started by trac-gunicorn.service, trac-cluster.ini) with three gunicorn
"hosts" on 127.0.0.2-4 behind nginx, on a private PostgreSQL.

A login made through one backend is good on all; the same users' first
visits on every backend at once, with profile and group sync, lose
nothing; a backend killed under load costs no request; logout and
`trac-admin remoteuser revoke` are seen by every backend at once; Trac
sees the client's address, so `[trac] check_auth_ip` works.
"""

import http.client as http_client
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import TracEnv, logged_in_as
from deploy import (RPC_COMPONENTS, Nginx, add_rpc_handler, deploy_static,
                    gunicorn_service, htpasswd, ini_options, public_dir,
                    render)
from e2e import (basic, check_deployment, check_selftest_clean,
                 check_selftest_clean_logged_in)
from process import free_port, http, python_env

BACKENDS = ('127.0.0.2', '127.0.0.3', '127.0.0.4')
# nginx reaches 127.0.0.2-4 from 127.0.0.1 (the kernel's source address
# for loopback): the balancer's address, as the backends see it.
BALANCER = '127.0.0.1'
# Browsers, on loopback addresses of their own.
CLIENT, OTHER_CLIENT = '127.0.0.6', '127.0.0.7'
TOKEN = 'c1a5e7c1a5e7c1a5e7c1a5e7'

# What a single sign-on front end would feed (the nginx sample clears
# these headers, since Basic authentication has no name or groups).
SYNC_OPTIONS = [('remoteuser', 'name_header', 'X-Remote-Name'),
                ('remoteuser', 'email_header', 'X-Remote-Email'),
                ('remoteuser', 'groups_header', 'X-Remote-Groups'),
                ('remoteuser', 'sync_groups', 'developers, testers'),
                ('trac', 'check_auth_ip', 'true')]


class Cluster(object):
    """nginx over three gunicorn backends, one environment, one
    database, all rendered from the samples."""

    def __init__(self, workdir, site, database):
        self.dir = workdir
        self.site = site
        self.port = free_port()
        self.base_url = 'http://127.0.0.1:%d/prefix' % self.port
        options = ini_options('trac-cluster.ini',
                              os.path.join(workdir, 'trac-cluster.ini'),
                              DATABASE=database, BASE_URL=self.base_url,
                              BALANCER_ADDRESSES=BALANCER)
        self.env = TracEnv(os.path.join(workdir, 'env'),
                           RPC_COMPONENTS + options + SYNC_OPTIONS)
        add_rpc_handler(self.env)
        self.env.admin('permission add developers WIKI_ADMIN')
        htdocs = deploy_static(self.env.path,
                               os.path.join(workdir, 'static'))
        users = htpasswd(os.path.join(workdir, 'htpasswd'),
                         ['alice', 'bob', 'carol'])
        self.backends = [(address, free_port()) for address in BACKENDS]
        self.servers = [None] * len(self.backends)
        self.nginx = None
        try:
            for i in range(len(self.backends)):
                self.start(i)
            conf = render(
                'nginx-gunicorn-cluster.conf',
                os.path.join(workdir, 'site.conf'), PORT=self.port,
                HTDOCS=htdocs, HTPASSWD=users,
                **{'BACKEND_%d' % (i + 1): '%s:%d' % backend
                   for i, backend in enumerate(self.backends)})
            self.nginx = Nginx(workdir, conf, self.port)
        except Exception:
            self.stop()
            raise

    def start(self, i):
        address, port = self.backends[i]
        workdir = os.path.join(self.dir, 'backend%d' % (i + 1))
        os.makedirs(workdir, exist_ok=True)
        self.servers[i] = gunicorn_service(
            workdir, self.site, 'gunicorn-cluster.conf.py',
            BACKEND_ADDRESS=address, BACKEND_PORT=port,
            BALANCER_ADDRESSES=BALANCER, TRAC_ENV=self.env.path)

    def kill(self, i):
        """Kill backend `i`, master and workers at once, as when its host
        goes down."""
        server = self.servers[i]
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
        server.stop()

    def stop(self):
        for server in [self.nginx] + self.servers:
            if server is not None:
                server.stop()

    def front(self, path, headers=(), source=CLIENT, **kwargs):
        """A browser's request to the balancer."""
        return http(self.port, '/prefix' + path, headers, source=source,
                    **kwargs)

    def direct(self, i, path, headers=(), client=CLIENT, **kwargs):
        """A request to backend `i` as the balancer passes it on."""
        address, port = self.backends[i]
        return http(port, '/prefix' + path,
                    [('SCRIPT_NAME', '/prefix'),
                     ('X-Forwarded-For', client)] + list(headers),
                    address=address, source=BALANCER, **kwargs)

    def login(self, user, source=CLIENT, extra=(), query=''):
        r = self.front('/login' + query, basic(user) + list(extra),
                       source=source)
        assert r.status == 302, (r.status, r.body[:300])
        return ('Cookie', 'trac_auth=' + _cookie(r, 'trac_auth'))

    def log(self, i):
        with open(self.servers[i].log, errors='replace') as f:
            return f.read()

    def answered(self, marker, count):
        """How many requests whose URL holds `marker` each backend
        answered, once `count` are in gunicorn's access logs (a worker
        writes its line after the response)."""
        deadline = time.time() + 10
        while True:
            found = [self.log(i).count(marker) for i in range(3)]
            if sum(found) >= count or time.time() > deadline:
                return found
            time.sleep(0.05)

    def logs(self):
        return ''.join(self.log(i) for i in range(3))

    def logged_in_everywhere(self, cookie, client=CLIENT,
                             backends=(0, 1, 2)):
        """The user each backend finds for `cookie`."""
        return [logged_in_as(self.direct(i, '/wiki/WikiStart', [cookie],
                                         client=client))
                for i in backends]


def _cookie(reply, name):
    for value in reply.cookies():
        if value.startswith(name + '='):
            return value.split(';')[0].split('=', 1)[1]
    raise AssertionError("no %s cookie in %r" % (name, reply.headers))


@pytest.fixture(scope='module')
def cluster(postgresql, plugin_site):
    workdir = public_dir('ruacluster-')
    cluster = Cluster(workdir, plugin_site,
                      postgresql.create_database('trac_cluster'))
    try:
        # A live site is past Trac's once-in-a-lifetime race on creating
        # its cache rows (see test_load.py): one visit with every sync.
        r = cluster.direct(0, '/wiki/WikiStart', [
            ('Remote-User', 'warmup'), ('X-Remote-Name', 'Warm Up'),
            ('X-Remote-Groups', 'testers')])
        assert r.status == 200, r.body[:300]
        # Every worker of every backend up, as on a live site.
        with ThreadPoolExecutor(max_workers=9) as pool:
            assert set(pool.map(
                lambda i: cluster.direct(i % 3, '/chrome/common/js/'
                                         'jquery.js').status,
                range(18))) == {200}
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def test_the_cluster_sample_passes_the_deployment_checks(cluster):
    check_deployment(cluster.port, '/prefix', cluster.base_url, basic())
    check_selftest_clean(cluster.env, cluster.base_url)
    check_selftest_clean_logged_in(cluster.env, cluster.base_url)
    assert 'Traceback' not in cluster.logs()


def test_login_through_one_backend_is_good_on_all(cluster):
    cookie = cluster.login('alice', query='?m=l0g1n')
    assert sorted(cluster.answered('l0g1n', 1)) == [0, 0, 1]
    # Trac stored the browser's address, not the balancer's.
    assert cluster.env.db("SELECT ipnr FROM auth_cookie WHERE cookie=%s",
                          (cookie[1].split('=')[1],)) == [(CLIENT,)]
    assert cluster.logged_in_everywhere(cookie) == ['alice'] * 3
    for _ in range(6):
        assert logged_in_as(cluster.front('/wiki/WikiStart?m=r0und',
                                          [cookie])) == 'alice'
    # Round robin: every backend answered some of them.
    assert all(cluster.answered('r0und', 6))
    # [trac] check_auth_ip: the cookie is no good from another browser,
    # on any backend, even when that browser claims the first one's
    # address in X-Forwarded-For.
    assert cluster.logged_in_everywhere(cookie, OTHER_CLIENT) == [None] * 3
    for forged in ([], [('X-Forwarded-For', CLIENT)]):
        r = cluster.front('/wiki/WikiStart', [cookie] + forged,
                          source=OTHER_CLIENT)
        assert r.status == 200 and logged_in_as(r) is None


def test_front_end_clears_profile_and_group_headers(cluster):
    cluster.login('carol', extra=[('X-Remote-Name', 'Evil'),
                                  ('X-Remote-Groups', 'developers'),
                                  ('Remote-User', 'admin')])
    assert cluster.env.db("SELECT username FROM permission "
                          "WHERE username='carol'") == []
    assert cluster.env.db("SELECT value FROM session_attribute "
                          "WHERE sid='carol' AND name='name'") == []


def test_first_visits_on_every_backend_at_once(cluster):
    """Each user's first three requests go to the three backends at the
    same moment, with name, e-mail and groups: one session per user,
    every value and membership stored once."""
    users = ['first%02d' % i for i in range(30)]

    def visit(job):
        i, user = job
        return user, cluster.direct(i, '/wiki/WikiStart', [
            ('Remote-User', user),
            ('X-Remote-Name', 'Fïrst %s' % user[-2:]),
            ('X-Remote-Email', '%s@example.com' % user),
            ('X-Remote-Groups', 'developers|staff')])
    jobs = [(i, user) for user in users for i in range(3)]
    with ThreadPoolExecutor(max_workers=18) as pool:
        results = list(pool.map(visit, jobs))
    assert [r.status for user, r in results] == [200] * len(jobs)
    for user, r in results:
        assert logged_in_as(r) in (user, 'Fïrst %s' % user[-2:])
    like = ('first%%',)
    assert cluster.env.db(
        "SELECT sid, COUNT(*) FROM session WHERE authenticated=1 AND "
        "sid LIKE %s GROUP BY sid ORDER BY sid", like) == \
        [(user, 1) for user in users]
    assert cluster.env.db(
        "SELECT sid, name, value FROM session_attribute WHERE "
        "authenticated=1 AND sid LIKE %s AND name IN ('name', 'email') "
        "ORDER BY sid, name", like) == \
        [row for user in users for row in (
            (user, 'email', '%s@example.com' % user),
            (user, 'name', 'Fïrst %s' % user[-2:]))]
    assert cluster.env.db(
        "SELECT username, action FROM permission WHERE username LIKE %s "
        "ORDER BY username", like) == \
        [(user, 'developers') for user in users]
    assert 'Traceback' not in cluster.logs()


def test_logout_and_revoke_are_seen_by_every_backend(cluster):
    first, second = cluster.login('bob'), cluster.login('bob')
    assert cluster.logged_in_everywhere(first) == ['bob'] * 3
    assert cluster.logged_in_everywhere(second) == ['bob'] * 3
    r = cluster.front('/logout', [
        ('Cookie', '%s; trac_form_token=%s' % (first[1], TOKEN)),
        ('Content-Type', 'application/x-www-form-urlencoded')],
        method='POST', body=('__FORM_TOKEN=' + TOKEN).encode())
    assert r.status in (302, 303), (r.status, r.body[:300])
    assert cluster.logged_in_everywhere(first) == [None] * 3
    assert cluster.logged_in_everywhere(second) == ['bob'] * 3
    # The day bob's account is disabled: the real trac-admin.
    out = subprocess.run(
        [sys.executable, '-m', 'trac.admin.console', cluster.env.path,
         'remoteuser', 'revoke', 'bob'], env=python_env(cluster.site),
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('Forgot 1 login of bob')
    assert cluster.logged_in_everywhere(second) == [None] * 3
    r = cluster.front('/wiki/WikiStart', [second])
    assert r.status == 200 and logged_in_as(r) is None


def test_a_backend_killed_under_load_loses_nothing(cluster):
    """Pages and logins through the balancer while one backend dies
    (master and workers killed at once): every request is answered, by
    the others, and every login made is good everywhere. The one
    exception is an answer the dead backend had begun to send: nginx
    cannot pass it to another backend, having passed part of it on, and
    cuts the browser's connection, which the browser shows as an error
    (never as a page that looks whole: the sample speaks HTTP/1.1 to the
    backends, see test_nginx_gunicorn)."""
    cookie = cluster.login('alice')
    stop = time.time() + 8
    failures, logins, pages, cut = [], [], [], []
    lock = threading.Lock()

    def front(path, headers):
        try:
            return cluster.front(path, headers)
        except (http_client.IncompleteRead, ConnectionError) as e:
            with lock:
                cut.append((path, time.time(), repr(e)[:200]))
        except Exception as e:
            with lock:
                failures.append((path, 'error', repr(e)[:200]))
        return None

    def browse():
        while time.time() < stop:
            r = front('/wiki/WikiStart', [cookie])
            if r is None:
                continue
            with lock:
                pages.append(r.status)
                if r.status != 200 or logged_in_as(r) != 'alice' or \
                        '</html>' not in r.body:
                    failures.append(('page', r.status, r.body[:200]))

    def log_in():
        while time.time() < stop:
            r = front('/login', basic('carol'))
            if r is None:
                continue
            with lock:
                if r.status != 302:
                    failures.append(('login', r.status, r.body[:200]))
                else:
                    logins.append(('Cookie', 'trac_auth=' +
                                   _cookie(r, 'trac_auth')))
    threads = [threading.Thread(target=browse) for _ in range(5)] + \
        [threading.Thread(target=log_in) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        time.sleep(2.5)
        killed = time.time()
        cluster.kill(1)
        done = time.time()
    finally:
        for t in threads:
            t.join()
    assert failures == []
    assert len(pages) > 20 and len(logins) > 4
    # At most the answers in flight on the dead backend, when it died.
    assert len(cut) <= 3, cut
    assert all(killed - 1 <= when <= done + 5 for _, when, _ in cut), cut
    # nginx did send requests to the dead backend (refused, or cut off
    # in the middle), and passed them on.
    with open(os.path.join(cluster.dir, 'error.log')) as f:
        assert '%s:%d' % cluster.backends[1] in f.read()
    stored = {row[0] for row in cluster.env.db(
        "SELECT cookie FROM auth_cookie WHERE name='carol'")}
    assert {c[1].split('=')[1] for c in logins} <= stored
    for login in logins[0], logins[-1]:
        assert cluster.logged_in_everywhere(login, backends=(0, 2)) == \
            ['carol', 'carol']
    # The host comes back: the same configuration, the same database.
    cluster.start(1)
    assert cluster.logged_in_everywhere(cookie) == ['alice'] * 3
    assert 'Traceback' not in cluster.logs()
