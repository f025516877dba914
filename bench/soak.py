#!/usr/bin/env python3
"""A long run of one real gunicorn worker behind nginx, mixed traffic as
a public site sees it (`make soak`; not part of `make test`).

One gunicorn sync worker (bench/soak_gunicorn.conf.py) serves two Trac
projects of a parent folder, as nginx-gunicorn-multi.conf does: `site`
(the user in the `Remote-User` header nginx sets, profile and group
headers, personal access tokens on /ticketrpc) and `sso` (the user in a
signed ES256 assertion, keys from a JWKS file, profile and groups from
its claims). nginx talks to the worker over a Unix socket, the only
peer `trusted_proxies = unix` believes; the worker also listens on a
loopback port, where the forgers connect directly (an untrusted peer).
nginx stands in for the sample's auth_basic with a header of the load
generator's, X-Soak-User (and X-Soak-Name, -Email, -Groups): only on
loopback, only here.

The requests, after a warm-up that makes every regular user's first
visit, logs the cookie users in and fills the assertion cache to its
bound:

  anonymous       readers without a login, some with a stale trac_auth
  header          regular users by the trusted header, their profile
  cookie          users with a trac_auth cookie from /login
  assertion       regular users' signed assertions (a browser's, reused)
  assertion-new   distinct valid assertions (a new token each time)
  assertion-bad   bad signature, expired, wrong audience or issuer,
                  random kid, alg none or HS256, garbage
  forged-direct   Remote-User, groups and X-Forwarded-* straight to
                  gunicorn from an untrusted peer
  forged-nginx    a client's own Remote-User and groups through nginx
  refused         names the policy refuses: control characters,
                  look-alikes, group names, placeholders, commas,
                  foreign domains, too long (each spelt anew)
  token           a personal access token (JSON-RPC ticket.details)
  token-bad       unknown, malformed, another user's Basic name
  new-user        a new user's first visit, profile and group sync
                  (header or assertion)
  profile-change  a regular user whose display name changed

Reported for each database: the worker's resident memory after the
warm-up and at the end (target: growth <= 5 MB), every cache's size at
the end with its bound, the log lines written after the warm-up, the
database writes after the warm-up per table (counted by triggers) and
the rows added, latency percentiles per tenth of the run, and the
answers that were wrong or 5xx (target: none). Nothing here asserts a
time; it prints what it measured.
"""

import argparse
import base64
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = os.path.join(ROOT, 'tests')
for path in (ROOT, TESTS, os.path.join(TESTS, 'support'), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from run import NGINX_HEAD, machine, signing_key  # noqa: E402

ISSUER = 'https://idp.example.com'
AUDIENCE = 'trac'
#: The pages: mostly the soak's own small page, which says who the
#: request is logged in as (cheap, so that the plugin's code makes a
#: larger share of the work), and Trac's wiki pages.
WHOAMI = '/soak/whoami'
PAGES = (WHOAMI,) * 8 + ('/wiki/WikiStart', '/wiki/TracGuide')
REGULAR_USERS = 100      # per project
COOKIE_USERS = 50
TOKENS = 20
SYNC_GROUPS = 'developers, testers'

#: Each kind of request per 1000.
MIX = collections.OrderedDict([
    ('anonymous', 300), ('header', 230), ('cookie', 120),
    ('assertion', 100), ('assertion-new', 20), ('assertion-bad', 40),
    ('forged-direct', 40), ('forged-nginx', 20), ('refused', 60),
    ('token', 40), ('token-bad', 20), ('new-user', 5),
    ('profile-change', 5)])

NGINX_CONF = NGINX_HEAD + """\
    server {{
        listen 127.0.0.1:{port};
        underscores_in_headers off;
        large_client_header_buffers 4 32k;
        location /prefix/ {{
            # nginx-gunicorn-multi.conf's location, with the load
            # generator's X-Soak-User in the place of auth_basic's
            # $remote_user (loopback only, the soak only). A client's
            # own Remote-User and profile headers never pass.
            set $trac_user $http_x_soak_user;
            proxy_set_header Remote-User $trac_user;
            proxy_set_header X-Remote-Name $http_x_soak_name;
            proxy_set_header X-Remote-Email $http_x_soak_email;
            proxy_set_header X-Remote-Groups $http_x_soak_groups;
            set $trac_authorization "";
            proxy_set_header Authorization $trac_authorization;
            proxy_set_header SCRIPT_NAME /prefix;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_http_version 1.1;
            proxy_pass http://unix:{socket}:;

            location ~ ^/prefix/[^/]+/ticketrpc$ {{
                set $trac_user "";
                set $trac_authorization $http_authorization;
                proxy_pass http://unix:{socket}:;
            }}
        }}
    }}
}}
"""

WHOAMI_PLUGIN = '''\
"""The soak's page at %s: who the request is logged in as, with
every request filter of a Trac page run (bench/soak.py)."""

from trac.core import Component, implements
from trac.web.api import IRequestHandler


class SoakWhoAmI(Component):

    implements(IRequestHandler)

    def match_request(self, req):
        return req.path_info == %r

    def process_request(self, req):
        req.send(('authname=%%s\\n' %% req.authname).encode('utf-8'),
                 'text/plain', 200)
''' % (WHOAMI, WHOAMI)

#: The tables whose writes are counted, where they exist.
TABLES = ('session', 'session_attribute', 'auth_cookie', 'permission',
          'remoteuser_owner', 'remoteuser_binding', 'remoteuser_token',
          'cache', 'ticket', 'ticket_change', 'wiki', 'system')


# --- the site ---------------------------------------------------------

def sign(key, sub, kid='soak', lifetime=3 * 3600, **claims):
    import jwt
    now = int(time.time())
    body = {'iss': ISSUER, 'aud': AUDIENCE, 'sub': sub, 'iat': now,
            'exp': now + lifetime, 'jti': '%x' % random.getrandbits(64),
            'name': 'User %s' % sub, 'email': '%s@example.com' % sub}
    body.update(claims)
    return jwt.encode(body, key, algorithm='ES256', headers={'kid': kid})


def make_projects(parent, database, jwks):
    """The two projects, their groups, a ticket for the token clients
    and the tokens; returns the tokens ((owner, token) pairs)."""
    from conftest import TracEnv
    from remoteuserauth.tokens import PersonalTokens
    import trac.env
    common = [('components', 'remoteuserauth.*', 'enabled'),
              ('components', 'soakwhoami.*', 'enabled'),
              ('logging', 'log_type', 'file'),
              ('logging', 'log_level', 'INFO'),
              # "logged in as" names the user, not the display name.
              ('trac', 'show_full_names', 'false'),
              ('remoteuser', 'trusted_proxies', 'unix'),
              ('remoteuser', 'sync_groups', SYNC_GROUPS)]
    site = common + [
        ('components', 'tracticketrpc.*', 'enabled'),
        ('remoteuser', 'header', 'Remote-User'),
        ('remoteuser', 'name_header', 'X-Remote-Name'),
        ('remoteuser', 'email_header', 'X-Remote-Email'),
        ('remoteuser', 'groups_header', 'X-Remote-Groups'),
        ('remoteuser', 'tokens', 'true'),
        ('remoteuser', 'token_paths', '/ticketrpc')]
    sso = common + [
        ('remoteuser', 'jwt_header', 'X-Assertion'),
        ('remoteuser', 'jwt_keys', jwks),
        ('remoteuser', 'jwt_issuer', ISSUER),
        ('remoteuser', 'jwt_audience', AUDIENCE),
        ('remoteuser', 'jwt_groups_claim', 'groups')]
    tokens = []
    for name, options in (('site', site), ('sso', sso)):
        if database.get(name):
            options = options + [('trac', 'database', database[name])]
        env = TracEnv(os.path.join(parent, name), options)
        with open(os.path.join(env.path, 'plugins', 'soakwhoami.py'),
                  'w') as f:
            f.write(WHOAMI_PLUGIN)
        env.admin('upgrade')
        for group, action in (('admins', 'TRAC_ADMIN'),
                              ('developers', 'WIKI_ADMIN'),
                              ('testers', 'TICKET_MODIFY')):
            env.admin('permission add %s %s' % (group, action))
        # A member makes admins a group to Trac (and to the name policy):
        # a subject that only holds permissions is a user.
        env.admin('permission add operator admins')
        if name == 'site':
            env.env().db_transaction(
                "INSERT INTO ticket (id, type, time, changetime, summary, "
                "reporter, status) VALUES (1, 'defect', 0, 0, 'soak', "
                "'admin', 'new')")
            pats = PersonalTokens(env.env())
            for i in range(TOKENS):
                token, _ = pats.add('u%04d' % i, 'soak', 30)
                tokens.append(('u%04d' % i, token))
        count_writes(database.get(name) or os.path.join(env.path, 'db',
                                                        'trac.db'))
        # The load generator keeps no environment open: the worker's
        # log and caches are the worker's alone.
        opened = env.env()
        trac.env.env_cache.pop(env.path, None)
        opened.shutdown()
    return tokens


def connect(database):
    """A plain connection to the project's database (not Trac's)."""
    if database.startswith('postgres://'):
        import psycopg2
        cnx = psycopg2.connect(database.replace('postgres://',
                                                'postgresql://', 1))
        cnx.autocommit = True
        return cnx
    import sqlite3
    return sqlite3.connect(database, timeout=30, isolation_level=None)


def _tables(cnx, database):
    cursor = cnx.cursor()
    if database.startswith('postgres://'):
        cursor.execute("SELECT tablename FROM pg_tables "
                       "WHERE schemaname = 'public'")
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type='table'")
    present = {row[0] for row in cursor.fetchall()}
    return [t for t in TABLES if t in present]


def count_writes(database):
    """Triggers that count every row inserted, updated or deleted in the
    TABLES, in the table soak_writes."""
    cnx = connect(database)
    cursor = cnx.cursor()
    tables = _tables(cnx, database)
    cursor.execute("CREATE TABLE soak_writes (tbl text, op text, "
                   "n integer)")
    for table in tables:
        for op in ('INSERT', 'UPDATE', 'DELETE'):
            cursor.execute("INSERT INTO soak_writes VALUES ('%s', '%s', 0)"
                           % (table, op))
    if database.startswith('postgres://'):
        cursor.execute("""
            CREATE FUNCTION soak_count() RETURNS trigger AS $$ BEGIN
                UPDATE soak_writes SET n = n + 1
                WHERE tbl = TG_TABLE_NAME AND op = TG_OP;
                RETURN NULL;
            END $$ LANGUAGE plpgsql""")
        for table in tables:
            cursor.execute("CREATE TRIGGER soak_%s AFTER INSERT OR UPDATE "
                           "OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION "
                           "soak_count()" % (table, table))
    else:
        for table in tables:
            for op in ('INSERT', 'UPDATE', 'DELETE'):
                cursor.execute(
                    "CREATE TRIGGER soak_%s_%s AFTER %s ON %s BEGIN "
                    "UPDATE soak_writes SET n = n + 1 WHERE tbl = '%s' "
                    "AND op = '%s'; END" % (table, op.lower(), op, table,
                                           table, op))
    cnx.close()


def database_state(database):
    """{table: (rows, {op: writes})}."""
    cnx = connect(database)
    try:
        cursor = cnx.cursor()
        state = {}
        for table in _tables(cnx, database):
            cursor.execute("SELECT COUNT(*) FROM %s" % table)
            rows = cursor.fetchone()[0]
            cursor.execute("SELECT op, n FROM soak_writes WHERE tbl = %s"
                           % ("'%s'" % table))
            state[table] = (rows, dict(cursor.fetchall()))
        return state
    finally:
        cnx.close()


def table_statistics(cnx):
    """PostgreSQL's statistics of the tables of a connection's
    database: {table: (live rows, dead row versions, vacuums so far,
    automatic or not)}. They lag the writes by a second or so."""
    cursor = cnx.cursor()
    cursor.execute("SELECT relname, n_live_tup, n_dead_tup, "
                   "vacuum_count + autovacuum_count FROM pg_stat_user_tables")
    return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def dead_rows_per_tenth(samples, total):
    """From `samples` [(requests sent, {project: {table: (live, dead,
    vacuums)}})], taken as a run of `total` requests went: for each
    (project, table) that had a dead row version, the most seen in each
    tenth of the run, the vacuums during the run, and its live rows at
    the end; sorted by the most dead row versions seen."""
    tenth = max(total // 10, 1)
    dead = {}
    vacuums = {}
    live = {}
    for sent, projects in samples:
        part = min(sent // tenth, 9)
        for project, tables in projects.items():
            for table, (rows, dead_now, vacuumed) in tables.items():
                key = (project, table)
                highest = dead.setdefault(key, [None] * 10)
                highest[part] = max(highest[part] or 0, dead_now)
                vacuums.setdefault(key, [vacuumed, vacuumed])[1] = vacuumed
                live[key] = rows
    found = [(key, highest, vacuums[key][1] - vacuums[key][0], live[key])
             for key, highest in dead.items() if any(highest)]
    return sorted(found, key=lambda item: (-max(n or 0 for n in item[1]),
                                           item[0]))


# --- the servers ------------------------------------------------------

class Servers(object):
    """The gunicorn worker and nginx in front of it."""

    def __init__(self, workdir, parent, site, trace=0):
        from process import Server, free_port, python_env, require
        require('nginx')
        self.sock = os.path.join(workdir, 'gunicorn.sock')
        self.direct = free_port()
        self.stats = os.path.join(workdir, 'stats.json')
        gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
        self.gunicorn_log = os.path.join(workdir, 'gunicorn.out')
        self.gunicorn = Server(
            [gunicorn, '--config', os.path.join(HERE,
                                                'soak_gunicorn.conf.py')],
            self.direct, self.gunicorn_log, cwd=workdir,
            env=python_env(site, SOAK_PARENT=parent, SOAK_STATS=self.stats,
                           SOAK_TRACEMALLOC=str(trace),
                           SOAK_BINDS='unix:%s 127.0.0.1:%d'
                           % (self.sock, self.direct)))
        self.port = free_port()
        conf = os.path.join(workdir, 'nginx.conf')
        with open(conf, 'w') as f:
            f.write(NGINX_CONF.format(dir=workdir, port=self.port,
                                      socket=self.sock))
        try:
            self.nginx = Server([shutil.which('nginx'), '-c', conf, '-g',
                                 'daemon off;'], self.port,
                                os.path.join(workdir, 'nginx.out'))
        except Exception:
            self.gunicorn.stop()
            raise

    def worker(self):
        """The pid of gunicorn's one worker."""
        pid = self.gunicorn.proc.pid
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            children = f.read().split()
        assert len(children) == 1, children
        return int(children[0])

    def snapshot(self, freeze=False):
        """What the worker holds, written by its SIGUSR2 handler; first
        freezes what it holds, when `freeze` is true."""
        if os.path.exists(self.stats):
            os.unlink(self.stats)
        if freeze:
            open(self.stats + '.freeze', 'w').close()
        os.kill(self.worker(), signal.SIGUSR2)
        deadline = time.time() + 60
        while not os.path.exists(self.stats):
            if time.time() > deadline:
                raise RuntimeError("the worker wrote no snapshot")
            time.sleep(0.1)
        with open(self.stats) as f:
            return json.load(f)

    def rss_kb(self):
        """The worker's resident memory now, in kB (0 when unreadable)."""
        try:
            with open('/proc/%d/status' % self.worker()) as f:
                for line in f:
                    if line.startswith('VmRSS:'):
                        return int(line.split()[1])
        except (OSError, AssertionError):
            pass
        return 0

    def cpu_seconds(self):
        """The CPU time the worker used so far."""
        with open('/proc/%d/stat' % self.worker()) as f:
            fields = f.read().rpartition(')')[2].split()
        return (int(fields[11]) + int(fields[12])) / \
            os.sysconf('SC_CLK_TCK')

    def stop(self):
        self.nginx.stop()
        self.gunicorn.stop()


# --- the load ---------------------------------------------------------

class Answer(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def user(self):
        """Who the page says the request is logged in as, or None."""
        if self.body.startswith(b'authname='):
            name = self.body[9:].decode('utf-8', 'replace').strip()
            return None if name == 'anonymous' else name
        m = re.search(rb'logged in as <span class="trac-author-user">'
                      rb'([^<]+)</span>', self.body)
        return m.group(1).decode('utf-8', 'replace') if m else None


#: The last request each thread sent (for the report of a wrong answer).
_sent = {}


def _send(conn, method, path, headers, body=None):
    _sent[threading.current_thread().name] = (method, path, headers)
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader('Host', 'trac.example.com')
    for name, value in headers:
        conn.putheader(name, value.encode('utf-8')
                       if isinstance(value, str) else value)
    if body is not None:
        conn.putheader('Content-Length', str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    data = resp.read()
    return Answer(resp.status, resp.getheaders(), data)


class Client(object):
    """One load generator thread's connections: kept alive to nginx, a
    new one for each direct request (gunicorn's sync worker closes)."""

    def __init__(self, servers):
        self.servers = servers
        self.conn = None

    def nginx(self, method, path, headers=(), body=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    '127.0.0.1', self.servers.port, timeout=120)
            try:
                return _send(self.conn, method, path, headers, body)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise

    def direct(self, path, headers=()):
        conn = http.client.HTTPConnection('127.0.0.1', self.servers.direct,
                                          timeout=120)
        try:
            return _send(conn, 'GET', path, headers)
        finally:
            conn.close()


class Site(object):
    """What the load generator knows of the users, and the requests of
    each kind: `request(kind, client, rnd, thread)` sends one and says
    whether its answer was the right one."""

    def __init__(self, key, tokens, threads):
        from cryptography.hazmat.primitives.asymmetric import ec
        self.key = key
        self.other_key = ec.generate_private_key(ec.SECP256R1())
        self.tokens = tokens
        self.threads = threads
        self.lock = threading.Lock()
        self.header_users = ['u%04d' % i for i in range(REGULAR_USERS)]
        self.profile = {u: 'User %s' % u for u in self.header_users}
        self.sso_users = ['s%04d' % i for i in range(REGULAR_USERS)]
        self.sso_tokens = {}
        self.cookies = {}        # user -> trac_auth
        self.new_users = 0
        self.new_header = []     # new users, who are regulars from then on
        self.profile_changes = 0
        self.fresh = 0
        self.wrong = []          # the first wrong answers, for the report

    def page(self, rnd, project='site'):
        return '/prefix/%s%s' % (project, rnd.choice(PAGES))

    def header_headers(self, user):
        return [('X-Soak-User', user), ('X-Soak-Name', self.profile[user]),
                ('X-Soak-Email', '%s@example.com' % user),
                ('X-Soak-Groups', 'developers|staff')]

    def sso_token(self, user):
        token = self.sso_tokens.get(user)
        if token is None:
            token = self.sso_tokens[user] = sign(self.key, user,
                                                 groups=['testers'])
        return token

    # Each returns (answer, expected user or None, expected status).

    def anonymous(self, client, rnd, thread):
        headers = []
        if rnd.random() < 0.2:      # a stale cookie of a forgotten login
            headers.append(('Cookie', 'trac_auth=%032x'
                            % rnd.getrandbits(128)))
        project = 'sso' if rnd.random() < 0.3 else 'site'
        return client.nginx('GET', self.page(rnd, project), headers), \
            None, 200

    def _mine(self, users, rnd, thread):
        # A user's requests all come from one thread: its profile
        # changes in order.
        mine = users[thread::self.threads]
        return rnd.choice(mine)

    def header(self, client, rnd, thread):
        with self.lock:
            users = self.header_users + self.new_header
        user = self._mine(users, rnd, thread)
        return client.nginx('GET', self.page(rnd),
                            self.header_headers(user)), user, 200

    def cookie(self, client, rnd, thread):
        user, cookie = rnd.choice(sorted(self.cookies.items()))
        return client.nginx('GET', self.page(rnd),
                            [('Cookie', 'trac_auth=' + cookie)]), user, 200

    def assertion(self, client, rnd, thread):
        user = rnd.choice(self.sso_users)
        return client.nginx('GET', self.page(rnd, 'sso'),
                            [('X-Assertion', self.sso_token(user))]), \
            user, 200

    def assertion_new(self, client, rnd, thread):
        user = rnd.choice(self.sso_users)
        with self.lock:
            self.fresh += 1
        return client.nginx('GET', self.page(rnd, 'sso'),
                            [('X-Assertion', sign(self.key, user,
                                                  groups=['testers']))]), \
            user, 200

    def assertion_bad(self, client, rnd, thread):
        user = rnd.choice(self.sso_users)
        how = rnd.randrange(8)
        if how == 0:
            token = sign(self.other_key, user)
        elif how == 1:
            token = sign(self.key, user, lifetime=-3600)
        elif how == 2:
            token = sign(self.key, user, aud='another-app')
        elif how == 3:
            token = sign(self.key, user, iss='https://evil.example')
        elif how == 4:
            token = sign(self.key, user, kid='%016x' % rnd.getrandbits(64))
        elif how == 5:
            token = _unsigned(user, 'none')
        elif how == 6:
            token = _unsigned(user, 'HS256')
        else:
            token = '.'.join(base64.urlsafe_b64encode(
                rnd.randbytes(n)).rstrip(b'=').decode() for n in (20, 60, 64))
        return client.nginx('GET', self.page(rnd, 'sso'),
                            [('X-Assertion', token)]), None, 200

    def forged_direct(self, client, rnd, thread):
        project = 'sso' if rnd.random() < 0.3 else 'site'
        return client.direct(
            '/%s%s' % (project, rnd.choice(PAGES)),
            [('Remote-User', rnd.choice(('admin', 'u0001', 'root%d'
                                         % rnd.randrange(10 ** 6)))),
             ('X-Remote-Groups', 'admins|developers'),
             ('X-Remote-Name', 'Forged %d' % rnd.randrange(10 ** 6)),
             ('X-Forwarded-Host', 'evil.example'),
             ('X-Forwarded-Proto', 'https'),
             ('X-Forwarded-For', '203.0.113.%d' % rnd.randrange(256))]), \
            None, 200

    def forged_nginx(self, client, rnd, thread):
        return client.nginx('GET', self.page(rnd), [
            ('Remote-User', 'admin'), ('Remote_User', 'admin'),
            ('X-Remote-Groups', 'admins|developers'),
            ('X-Remote-Name', 'Forged')]), None, 200

    def refused(self, client, rnd, thread):
        n = rnd.randrange(10 ** 6)
        name = rnd.choice((
            'ali\x01ce%d' % n, 'bob\tx%d' % n,                # control
            '\uff55ser%d' % n, '\ufb01le%d' % n,              # NFKC
            'A\u030angstr\u00f6m%d' % n,                      # combining
            'admins', 'developers', 'testers', '@staff%d' % n,
            'anonymous', 'Authenticated', '(null)',
            'alice,mallory%d' % n, 'EVIL\\alice%d' % n,
            'bob%d@evil.example' % n, 'x' * 300))
        # gunicorn answers 400 to a header with a control character
        # itself: such a name never reaches Trac.
        return client.nginx('GET', self.page(rnd), [
            ('X-Soak-User', name), ('X-Soak-Groups', 'developers')]), \
            None, (200, 400) if re.search('[\x00-\x1f]', name) else 200

    def token(self, client, rnd, thread):
        owner, token = rnd.choice(self.tokens)
        if rnd.random() < 0.5:
            auth = 'Bearer ' + token
        else:
            auth = 'Basic ' + base64.b64encode(
                ('%s:%s' % (owner, token)).encode()).decode()
        return self._rpc(client, auth), owner, 200

    def token_bad(self, client, rnd, thread):
        owner, token = rnd.choice(self.tokens)
        how = rnd.randrange(3)
        if how == 0:
            auth = 'Bearer tracpat_' + ''.join(rnd.choice(
                'abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(43))
        elif how == 1:
            auth = 'Bearer tracpat_%d' % rnd.randrange(10 ** 6)
        else:
            auth = 'Basic ' + base64.b64encode(
                ('u%04d:%s' % (TOKENS + rnd.randrange(50), token))
                .encode()).decode()
        return self._rpc(client, auth), None, 401

    def _rpc(self, client, auth):
        body = json.dumps({'jsonrpc': '2.0', 'id': 1,
                           'method': 'ticket.details',
                           'params': {'id': '1', 'project': 'soak'}
                           }).encode()
        return client.nginx('POST', '/prefix/site/ticketrpc', [
            ('Authorization', auth), ('Content-Type', 'application/json')],
            body)

    def new_user(self, client, rnd, thread):
        with self.lock:
            self.new_users += 1
            number = self.new_users
        if number % 2:
            user = 'n%05d' % number
            with self.lock:
                self.profile[user] = 'New User %d' % number
            answer = client.nginx('GET', self.page(rnd),
                                  self.header_headers(user))
            with self.lock:
                # A regular from now on (nobody changes its profile).
                self.new_header.append(user)
        else:
            user = 'm%05d' % number
            answer = client.nginx('GET', self.page(rnd, 'sso'), [
                ('X-Assertion', sign(self.key, user, groups=['developers',
                                                             'testers']))])
        return answer, user, 200

    def profile_change(self, client, rnd, thread):
        user = self._mine(self.header_users, rnd, thread)
        with self.lock:
            self.profile_changes += 1
            self.profile[user] = 'User %s (%d)' % (user, self.profile_changes)
        return client.nginx('GET', self.page(rnd),
                            self.header_headers(user)), user, 200

    def request(self, kind, client, rnd, thread):
        answer, user, status = getattr(self, kind.replace('-', '_'))(
            client, rnd, thread)
        if answer.status not in (status if isinstance(status, tuple)
                                 else (status,)):
            return answer, False
        if answer.status == 400:
            return answer, True
        if kind.startswith('token'):
            ok = status != 200 or user is not None and \
                b'"result"' in answer.body
        else:
            ok = answer.user() == user
        return answer, ok


def _unsigned(user, alg):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()) \
            .rstrip(b'=').decode()
    now = int(time.time())
    return '%s.%s.%s' % (part({'alg': alg, 'kid': 'soak'}),
                         part({'iss': ISSUER, 'aud': AUDIENCE, 'sub': user,
                               'exp': now + 3600}),
                         part('x' * 32))


def run_load(site, servers, kinds, threads, deadline, seed, memory=None,
             probe=None):
    """Send the requests `kinds` (a list), `threads` at a time; returns
    [(index, kind, seconds, status, ok)] in order of index and whether
    the deadline stopped it. Every five seconds, appends (requests sent,
    the worker's resident kB) to the list `memory`, when given, and
    calls `probe(requests sent)`, when given."""
    results = [None] * len(kinds)
    cursor = [0]
    lock = threading.Lock()
    stopped = [False]

    def work(thread):
        client = Client(servers)
        while True:
            with lock:
                index = cursor[0]
                if index >= len(kinds) or time.time() > deadline:
                    if index < len(kinds):
                        stopped[0] = True
                    return
                cursor[0] += 1
            rnd = random.Random(seed * 1000003 + index)
            start = time.perf_counter()
            try:
                answer, ok = site.request(kinds[index], client, rnd, thread)
                status = answer.status
            except (OSError, http.client.HTTPException) as e:
                status, ok = 'error: %s' % e, False
            results[index] = (kinds[index], time.perf_counter() - start,
                              status, ok)
            if not ok:
                with lock:
                    if len(site.wrong) < 10:
                        site.wrong.append((kinds[index], index, status,
                                           _sent.get(threading
                                                     .current_thread().name),
                                           answer.body[:200] if
                                           isinstance(status, int) else ''))
    workers = [threading.Thread(target=work, args=(i,), daemon=True)
               for i in range(threads)]
    for w in workers:
        w.start()
    while any(w.is_alive() for w in workers):
        if memory is not None:
            # The worker's resident memory as the run goes: (requests
            # sent, kB), read from /proc, the worker untouched.
            memory.append((cursor[0], servers.rss_kb()))
        if probe is not None:
            probe(cursor[0])
        workers[0].join(5)
    for w in workers:
        w.join()
    return [r for r in results if r is not None], stopped[0]


def parse_mix(text):
    """`MIX` changed by ``kind=per-1000,...``.

    :raise ValueError: for an item that is not a known kind and a
                       whole number, or a mix of nothing.
    """
    mix = collections.OrderedDict(MIX)
    for item in filter(None, (i.strip() for i in text.split(','))):
        kind, _, weight = (part.strip() for part in item.partition('='))
        if kind not in mix or not weight.isdigit():
            raise ValueError('%r is not kind=number with a kind of %s'
                             % (item, ', '.join(MIX)))
        mix[kind] = int(weight)
    if not any(mix.values()):
        raise ValueError('every kind is 0')
    return mix


def mixed(count, rnd, mix=MIX):
    kinds = list(mix)
    weights = list(mix.values())
    return rnd.choices(kinds, weights, k=count)


def warm_up(site, servers, threads, count, seed):
    """Every regular user's first visit, the cookie users' logins, every
    token once, the assertion cache filled to its bound, then `count`
    mixed requests. Returns the results."""
    from remoteuserauth.assertion.verify import CACHE_SIZE
    client = Client(servers)
    for i, user in enumerate(site.header_users):
        answer = client.nginx('GET', '/prefix/site/wiki/WikiStart',
                              site.header_headers(user))
        assert answer.user() == user, (answer.status, answer.body[:300])
        if i < COOKIE_USERS:
            answer = client.nginx('GET', '/prefix/site/login',
                                  [('X-Soak-User', user)])
            cookie = re.search(r'trac_auth=(\w+)', ' '.join(
                v for k, v in answer.headers if k.lower() == 'set-cookie'))
            assert answer.status == 302 and cookie, answer.status
            site.cookies[user] = cookie.group(1)
    for user in site.sso_users:
        answer = client.nginx('GET', '/prefix/sso/wiki/WikiStart',
                              [('X-Assertion', site.sso_token(user))])
        assert answer.user() == user, (answer.status, answer.body[:300])
    for owner, token in site.tokens:
        answer = site._rpc(client, 'Bearer ' + token)
        assert answer.status == 200, (answer.status, answer.body[:300])
    kinds = ['assertion-new'] * (CACHE_SIZE + 100) + mixed(
        count, random.Random(seed))
    return run_load(site, servers, kinds, threads, float('inf'),
                    seed + 1)[0]


# --- the report -------------------------------------------------------

def log_lines(parent, offsets=None):
    """The size of each project's trac.log, or, with the `offsets` of
    an earlier call, the lines written since: {project: [line]}."""
    result = {}
    for project in ('site', 'sso'):
        path = os.path.join(parent, project, 'log', 'trac.log')
        if offsets is None:
            result[project] = os.path.getsize(path) \
                if os.path.exists(path) else 0
            continue
        with open(path, 'rb') as f:
            f.seek(offsets[project])
            text = f.read().decode('utf-8', 'replace')
        result[project] = [line for line in text.splitlines()
                           if re.match(r'\d{4}-\d\d-\d\d ', line)]
    return result


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float('nan')
    return values[min(len(values) - 1, int(q * len(values)))]


def memory_growth(before, after, lines=15):
    """The allocation sites whose held memory grew most between two
    tracemalloc snapshots of the worker, as printable lines."""
    import tracemalloc
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__),
              tracemalloc.Filter(False, '<frozen importlib._bootstrap>')]
    old = tracemalloc.Snapshot.load(before).filter_traces(ignore)
    new = tracemalloc.Snapshot.load(after).filter_traces(ignore)
    out = []
    for stat in new.compare_to(old, 'traceback')[:lines]:
        out.append('%+8.1f kB %+7d blocks' % (stat.size_diff / 1024,
                                              stat.count_diff))
        # Named from the frames themselves: format() adds a source line
        # after each frame only where it can read one.
        for frame in list(stat.traceback)[::-1][:6]:
            out.append('      File "%s", line %d' % (frame.filename,
                                                     frame.lineno))
    return out


def soak(db, requests, threads, minutes, seed, site_dir, pg, freeze=True,
         mix=MIX, trace=0):
    from deploy import public_dir
    workdir = public_dir('ruasoak-%s-' % db)
    parent = os.path.join(workdir, 'projects')
    os.makedirs(parent)
    servers = None
    try:
        key, jwks = signing_key(workdir, 'soak')
        database = {}
        if db == 'postgres':
            database = {name: pg.create_database('soak_%s_%s' % (
                name, os.path.basename(workdir).replace('-', '_').lower()))
                for name in ('site', 'sso')}
        tokens = make_projects(parent, database, jwks)
        databases = {name: database.get(name) or os.path.join(
            parent, name, 'db', 'trac.db') for name in ('site', 'sso')}
        servers = Servers(workdir, parent, site_dir, trace)
        site = Site(key, tokens, threads)
        started = time.time()
        warm = warm_up(site, servers, threads, 500, seed)
        warm_seconds = time.time() - started
        before = servers.snapshot(freeze)
        if trace:
            os.rename(before['tracemalloc'], before['tracemalloc'] + '.0')
        rows_before = {n: database_state(d) for n, d in databases.items()}
        offsets = log_lines(parent)
        gunicorn_offset = os.path.getsize(servers.gunicorn_log)
        counts_before = (site.new_users, site.profile_changes)
        kinds = mixed(requests, random.Random(seed + 2), mix)
        started = time.time()
        cpu = servers.cpu_seconds()
        memory = []
        table_samples = []
        stats_cnx = {}
        probe = None
        if db == 'postgres':
            # Dead row versions as the run goes: PostgreSQL keeps them
            # until a vacuum, and a table read on every request (Trac's
            # cache table) gets slower the more it holds.
            stats_cnx = {name: connect(d) for name, d in databases.items()}

            def probe(sent):
                table_samples.append((sent, {
                    name: table_statistics(cnx)
                    for name, cnx in stats_cnx.items()}))
            probe(0)
        try:
            results, stopped = run_load(site, servers, kinds, threads,
                                        started + minutes * 60, seed + 3,
                                        memory, probe)
            if probe is not None:
                time.sleep(1.5)
                probe(len(kinds))
        finally:
            for cnx in stats_cnx.values():
                cnx.close()
        seconds = time.time() - started
        cpu = servers.cpu_seconds() - cpu
        after = servers.snapshot()
        growth = memory_growth(before['tracemalloc'] + '.0',
                               after['tracemalloc']) if trace else []
        rows_after = {n: database_state(d) for n, d in databases.items()}
        lines = log_lines(parent, offsets)
        with open(servers.gunicorn_log, 'rb') as f:
            f.seek(gunicorn_offset)
            gunicorn_lines = f.read().decode('utf-8', 'replace').splitlines()
        return dict(
            db=db, warm=warm, warm_seconds=warm_seconds, results=results,
            stopped=stopped, seconds=seconds, cpu=cpu, before=before,
            after=after,
            rows_before=rows_before, rows_after=rows_after, lines=lines,
            gunicorn_lines=gunicorn_lines,
            new_users=site.new_users - counts_before[0],
            profile_changes=site.profile_changes - counts_before[1],
            tokens=len(tokens), requested=requests, wrong=site.wrong,
            freeze=freeze, memory=memory, growth=growth,
            dead_rows=dead_rows_per_tenth(table_samples, requests)
            if table_samples else None)
    finally:
        if servers is not None:
            servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def report(r):
    results = r['results']
    print('=== %s: %d requests in %.0f s (%.1f/s)%s; warm-up %d requests '
          'in %.0f s' % (r['db'], len(results), r['seconds'],
                         len(results) / max(r['seconds'], 1e-9),
                         ', STOPPED by the time limit before %d'
                         % r['requested'] if r['stopped'] else '',
                         len(r['warm']), r['warm_seconds']))
    print('Worker CPU: %.1f ms per request; load average at the end %.1f'
          % (1000 * r['cpu'] / max(len(results), 1), os.getloadavg()[0]))
    before, after = r['before'], r['after']
    print('Worker resident memory: %.1f MB after the warm-up, %.1f MB at '
          'the end: %+.2f MB (target <= +5 MB); Python objects %d -> %d'
          % (before['rss_kb'] / 1024, after['rss_kb'] / 1024,
             (after['rss_kb'] - before['rss_kb']) / 1024,
             before.get('objects', 0), after.get('objects', 0)))
    print('  %s' % ('the warmed worker\'s %d objects frozen after the '
                    'warm-up (gc.freeze), thawed, collected and frozen '
                    'again every %s requests and before each snapshot; '
                    'counted above' % (before.get('frozen', 0),
                                       before.get('refreeze', '?'))
                    if r['freeze'] else 'nothing frozen (--no-freeze)'))
    print('  of which SQLite\'s own (its page caches, at most cache_size '
          'per connection): %.1f MB -> %.1f MB; Python\'s allocated blocks '
          '%s -> %s' % (before.get('sqlite_kb', -1) / 1024,
                        after.get('sqlite_kb', -1) / 1024,
                        before.get('python_blocks', '?'),
                        after.get('python_blocks', '?')))
    tenth = max(len(results) // 10, 1)
    highest = {}
    for sent, kb in r['memory']:
        part = min(sent // tenth, 9)
        highest[part] = max(highest.get(part, 0), kb)
    print('  resident memory per tenth of the run (highest seen), MB: %s'
          % ' '.join('%.1f' % (highest[i] / 1024) for i in sorted(highest)))
    if 'error' in after:
        print('  snapshot error: %s' % after['error'])
    if r['growth']:
        print('  held memory that grew most, by where it was allocated '
              '(tracemalloc, most recent call first):')
        for line in r['growth']:
            print('    ' + line)
    print('Caches (after the warm-up -> at the end, bound):')
    sizes = {(p, n): s for p, n, s, b in before.get('caches', ())}
    for project, name, size, bound in after.get('caches', ()):
        print('  %-5s %-40s %6s -> %6d   bound %s' % (
            project, name, sizes.get((project, name), '-'), size, bound))
    print('Log lines written after the warm-up:')
    for project, lines in sorted(r['lines'].items()):
        levels = collections.Counter(
            re.search(r' (\w+): ', line).group(1) if re.search(
                r' (\w+): ', line) else '?' for line in lines)
        print('  %-5s %d  (%s)' % (project, len(lines), ', '.join(
            '%s %d' % item for item in sorted(levels.items()))))
        kinds = collections.Counter(_line_kind(line) for line in lines)
        for kind, n in kinds.most_common(12):
            print('        %5d  %s' % (n, kind))
    print('  gunicorn: %d' % len(r['gunicorn_lines']))
    for line in r['gunicorn_lines'][:5]:
        print('        %s' % line[:150])
    print('Database writes after the warm-up (rows inserted/updated/'
          'deleted; rows before -> after); new users %d, profile changes '
          '%d, tokens %d:' % (r['new_users'], r['profile_changes'],
                              r['tokens']))
    for project in sorted(r['rows_after']):
        for table, (rows, ops) in sorted(r['rows_after'][project].items()):
            rows0, ops0 = r['rows_before'][project][table]
            delta = {op: ops.get(op, 0) - ops0.get(op, 0)
                     for op in ('INSERT', 'UPDATE', 'DELETE')}
            if any(delta.values()) or rows != rows0:
                print('  %-5s %-20s +%d/~%d/-%d   rows %d -> %d' % (
                    project, table, delta['INSERT'], delta['UPDATE'],
                    delta['DELETE'], rows0, rows))
    if r.get('dead_rows') is not None:
        print('PostgreSQL dead row versions, the most seen in each tenth '
              '(n_dead_tup); vacuums during the run; live rows at the end:')
        for (project, table), highest, vacuums, live in r['dead_rows']:
            print('  %-5s %-20s %s   vacuums %d   live %d' % (
                project, table, ' '.join('%6s' % ('-' if n is None else n)
                                         for n in highest), vacuums, live))
        if not r['dead_rows']:
            print('  none')
    tenth = max(len(results) // 10, 1)
    print('Latency per tenth of the run, ms (p50 / p90 / p99 / max):')
    for i in range(10):
        part = [s * 1000 for _, s, _, _ in results[i * tenth:(i + 1) * tenth]]
        if part:
            print('  %2d  %7.1f %7.1f %7.1f %7.1f' % (
                i + 1, percentile(part, .5), percentile(part, .9),
                percentile(part, .99), max(part)))
    statuses = collections.Counter(s for _, _, s, _ in results)
    fives = sum(n for s, n in statuses.items()
                if not isinstance(s, int) or s >= 500)
    wrong = collections.Counter(k for k, _, _, ok in results if not ok)
    print('Answers: %s; 5xx or failed: %d; wrong answers: %d %s' % (
        ', '.join('%s %d' % (s, n) for s, n in sorted(
            statuses.items(), key=str)), fives, sum(wrong.values()),
        dict(wrong) if wrong else ''))
    for wrong in r['wrong']:
        print('  wrong: %r' % (wrong,))
    kinds = collections.Counter(k for k, _, _, _ in results)
    print('Mix: %s' % ', '.join('%s %d' % item for item in kinds.items()))
    print()


def _line_kind(line):
    """A log line without its time and the client's text, to group by."""
    text = re.sub(r'^\S+ \S+ ', '', line)
    text = re.sub(r'\d+', 'N', text)
    return text[:110]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--requests', type=int, default=200000)
    parser.add_argument('--quick', action='store_true',
                        help='about 5,000 requests, to check that '
                        'everything works')
    parser.add_argument('--db', choices=('sqlite', 'postgres', 'both'),
                        default='both')
    parser.add_argument('--threads', type=int, default=2,
                        help='load generator threads (default 2: one '
                        'request at the worker, one waiting)')
    parser.add_argument('--minutes', type=float, default=240,
                        help='stop a database\'s run after this long')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--no-freeze', dest='freeze', action='store_false',
                        help="do not freeze the warmed worker's objects "
                        '(gc.freeze): Trac then walks them all in its '
                        'collection after every request, about four '
                        'times the CPU per request')
    parser.add_argument('--mix', default='',
                        help='change the mix: kind=per-1000,... (e.g. '
                        'new-user=0 to tell growth per new user from '
                        'growth per request)')
    parser.add_argument('--trace-memory', type=int, default=0,
                        metavar='FRAMES',
                        help='trace allocations in the worker (tracemalloc, '
                        'FRAMES deep) and report where held memory grew')
    args = parser.parse_args()
    requests = 5000 if args.quick else args.requests
    try:
        mix = parse_mix(args.mix)
    except ValueError as e:
        parser.error('--mix: %s' % e)
    import trac
    from deploy import public_dir
    print('TracRemoteUserAuth soak, %s' % time.strftime('%Y-%m-%d %H:%M'))
    print('machine: %s; Trac %s; load average %.1f' % (
        machine(), trac.__version__, os.getloadavg()[0]))
    print()
    dbs = ('sqlite', 'postgres') if args.db == 'both' else (args.db,)
    site_dir = public_dir('ruasoak-site-')
    pg = None
    try:
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet',
                        '--no-deps', '--no-build-isolation', '--target',
                        site_dir, ROOT], check=True)
        if 'postgres' in dbs:
            from pg import PostgreSQL
            pg = PostgreSQL()
        for db in dbs:
            report(soak(db, requests, args.threads, args.minutes,
                        args.seed, site_dir, pg, args.freeze, mix,
                        args.trace_memory))
    finally:
        if pg is not None:
            pg.stop()
        shutil.rmtree(site_dir, ignore_errors=True)


if __name__ == '__main__':
    socket.setdefaulttimeout(120)
    main()
