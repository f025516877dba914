#!/usr/bin/env python3
"""Several backends behind one balancer on one PostgreSQL, measured
(`make bench-cluster`).

1. Database statements per request at steady state, counted, not
   assumed: Trac's database cursor is wrapped and every statement it
   executes is recorded, in-process through `dispatch_request`, on a
   private PostgreSQL; PostgreSQL's own `log_statement = all` counts what
   the server received in the same requests (transaction control
   included). Cases, each after a warm-up, one environment with the
   plugin and one without:
     plugin, header   Remote-User with name, e-mail and groups headers,
                      profile and group sync on, nothing to change
     plugin, cookie   the plugin enabled, the trac_auth cookie only (what
                      the cluster sample sends after /login)
     plugin, token    a personal access token (Authorization: Bearer)
                      on a token path, tokens on (its last use is
                      written at most once in ten minutes: after the
                      warm-up, not at steady state)
     no plugin, REMOTE_USER   the server's REMOTE_USER
     no plugin, cookie        Trac's own cookie login
2. Requests per second through nginx (nginx-gunicorn-cluster.conf) over
   1, 2 and 3 gunicorn backends (gunicorn-cluster.conf.py), and over one
   backend with as many workers as three have, a logged-in page, cases
   interleaved round by round.

Nothing here asserts a time; it prints what it measured.
"""

import argparse
import collections
import os
import random
import re
import shutil
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = os.path.join(ROOT, 'tests')
for path in (ROOT, TESTS, os.path.join(TESTS, 'support'), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

from run import environ as plain_environ, load, machine  # noqa: E402
from run import one_request as run_one  # noqa: E402

PAGE = '/wiki/WikiStart'
PROFILE = {'HTTP_X_REMOTE_NAME': 'Alice Example',
           'HTTP_X_REMOTE_EMAIL': 'alice@example.com',
           'HTTP_X_REMOTE_GROUPS': 'developers|staff'}
SYNC_OPTIONS = [('remoteuser', 'name_header', 'X-Remote-Name'),
                ('remoteuser', 'email_header', 'X-Remote-Email'),
                ('remoteuser', 'groups_header', 'X-Remote-Groups'),
                ('remoteuser', 'sync_groups', 'developers, testers')]
COOKIE = 'c1u5ter'


def cluster_options(workdir, database, base_url='http://127.0.0.1/prefix'):
    from deploy import ini_options
    return ini_options('trac-cluster.ini',
                       os.path.join(workdir, 'trac-cluster.ini'),
                       DATABASE=database, BASE_URL=base_url,
                       BALANCER_ADDRESSES='127.0.0.1') + SYNC_OPTIONS + [
        ('logging', 'log_type', 'none')]


def make_env(path, options, plugin):
    """An environment on the cluster's options; alice has logged in
    before (her cookie, session and groups are stored)."""
    from conftest import TracEnv
    if not plugin:
        options = options + [('components', 'remoteuserauth.*',
                              'disabled')]
    env = TracEnv(path, options)
    env.admin('permission add developers WIKI_ADMIN')
    env.env().db_transaction(
        "INSERT INTO auth_cookie (cookie, name, ipnr, time) "
        "VALUES (%s, 'alice', '127.0.0.1', %s)", (COOKIE, int(time.time())))
    return env


def environ(env_path, cookie='', **extra):
    """A request as the balancer passes it on, from a browser that has
    Trac's form token already."""
    token = 'trac_form_token=0123456789abcdef01234567'
    return plain_environ(env_path, SCRIPT_NAME='/prefix',
                         HTTP_X_FORWARDED_FOR='192.0.2.7',
                         HTTP_COOKIE='; '.join(filter(None, (token, cookie))),
                         **extra)


def one_request(template, app, number=0):
    """One request; a callable `template` makes the environment of
    request `number`."""
    run_one(template(number) if callable(template) else template, app)


class StatementLog(object):
    """Every statement Trac's database cursor executes while `on`."""

    def __init__(self):
        from trac.db.util import IterableCursor
        self.on = False
        self.seen = collections.Counter()
        log = self

        def execute(cursor, sql, args=None):
            if log.on:
                log.seen[' '.join(sql.split())] += 1
            return execute.original(cursor, sql, args)

        def executemany(cursor, sql, args):
            if log.on:
                log.seen[' '.join(sql.split())] += len(args or ())
            return executemany.original(cursor, sql, args)
        execute.original = IterableCursor.execute
        executemany.original = IterableCursor.executemany
        IterableCursor.execute = execute
        IterableCursor.executemany = executemany


def server_statements(pg, database, start, end):
    """The statements PostgreSQL logged for `database` between the
    statements carrying the `start` and `end` markers."""
    with open(pg.log, errors='replace') as f:
        text = f.read()
    text = text[text.index(start) + len(start):text.index(end)]
    text = text[:text.rindex('\n')]     # the end marker's own line
    # A statement runs from its log line's prefix to the next line that
    # has one (its text may span lines).
    entries = re.split(r'^\S+ \S+ \S+ \[(\w*)\] ', text, flags=re.M)
    return [' '.join(message.split()[2:])
            for db, message in zip(entries[1::2], entries[2::2])
            if db == database and message.startswith('LOG:  statement: ')]


def mark(url, marker):
    import psycopg2
    cnx = psycopg2.connect(url)
    cnx.autocommit = True
    try:
        cnx.cursor().execute("SELECT %s", (marker,))
    finally:
        cnx.close()


def statements(workdir, pg, requests):
    """Statements per request at steady state, per case."""
    import psycopg2
    from trac.web.main import dispatch_request
    # The modules the entry points load (they register the components).
    import remoteuserauth.auth  # noqa: F401
    import remoteuserauth.groupsync  # noqa: F401
    import remoteuserauth.login  # noqa: F401
    from remoteuserauth.wsgi import application
    admin = psycopg2.connect('postgresql://postgres@127.0.0.1:%d/postgres'
                             % pg.port)
    admin.autocommit = True
    admin.cursor().execute(
        "ALTER SYSTEM SET log_line_prefix = '%m [%d] '")
    admin.cursor().execute("SELECT pg_reload_conf()")
    envs = {}
    # The token's page is a token path in an environment of its own: on
    # a token path no cookie logs in.
    for name, plugin, extra in (
            ('plugin', True, []), ('plain', False, []),
            ('token', True, [('remoteuser', 'tokens', 'true'),
                             ('remoteuser', 'token_paths', PAGE)])):
        url = pg.create_database('bench_' + name)
        # Every statement of this database's connections, in its log.
        admin.cursor().execute("ALTER DATABASE bench_%s SET log_statement "
                               "= 'all'" % name)
        envs[name] = (make_env(os.path.join(workdir, name),
                               cluster_options(workdir, url) + extra,
                               plugin),
                      url, 'bench_' + name)
    admin.close()
    token = envs['token'][0].admin('remoteuser token add alice').strip(
        ).splitlines()[-1]
    # Without the plugin, Trac's own WSGI application, as a server runs it.
    apps = {'plugin': application, 'plain': dispatch_request,
            'token': application}
    cases = {
        'plugin, header': ('plugin', environ(
            envs['plugin'][0].path, HTTP_REMOTE_USER='alice', **PROFILE)),
        'plugin, cookie': ('plugin', environ(
            envs['plugin'][0].path, cookie='trac_auth=' + COOKIE)),
        'plugin, token': ('token', environ(
            envs['token'][0].path,
            HTTP_AUTHORIZATION='Bearer ' + token)),
        'no plugin, REMOTE_USER': ('plain', environ(
            envs['plain'][0].path, REMOTE_USER='alice')),
        'no plugin, cookie': ('plain', environ(
            envs['plain'][0].path, cookie='trac_auth=' + COOKIE)),
        # The control: a display name that changes on every request must
        # show as writes, or the counting sees nothing.
        'control: name changes': ('plugin', lambda number: environ(
            envs['plugin'][0].path, HTTP_REMOTE_USER='bob',
            HTTP_X_REMOTE_NAME='Bob %d' % number)),
    }
    log = StatementLog()
    results = {}
    for case, (name, template) in cases.items():
        app = apps[name]
        for _ in range(20):     # the first visit's writes, Trac's caches
            one_request(template, app)
        env, url, database = envs[name]
        start, end = ['bench-%s-%s-%s' % (case, what, random.random())
                      for what in ('start', 'end')]
        mark(url, start)
        log.seen.clear()
        log.on = True
        for number in range(requests):
            one_request(template, app, number)
        log.on = False
        mark(url, end)
        time.sleep(0.5)     # the server writes its log asynchronously
        results[case] = (collections.Counter(log.seen),
                         collections.Counter(server_statements(
                             pg, database, start, end)))
    stored = envs['plugin'][0].db(
        "SELECT name, value FROM session_attribute WHERE sid='alice' "
        "ORDER BY name")
    assert stored == [('email', 'alice@example.com'),
                      ('name', 'Alice Example')], stored
    assert envs['plugin'][0].db(
        "SELECT action FROM permission WHERE username='alice'") == \
        [('developers',)]
    return results


def _writes(counter):
    return sum(n for sql, n in counter.items()
               if not sql.upper().startswith(('SELECT', 'BEGIN', 'ROLLBACK',
                                              'COMMIT', 'SHOW', 'SET')))


def print_statements(results, requests):
    print('Database statements per request at steady state (%d requests '
          'per case; Trac\'s cursor / all PostgreSQL received):' % requests)
    for case, (trac, server) in results.items():
        print('  %-24s %5.2f / %5.2f   writes %d' % (
            case, sum(trac.values()) / requests,
            sum(server.values()) / requests, _writes(trac)))
    for plugin, base in (('plugin, header', 'no plugin, REMOTE_USER'),
                         ('plugin, cookie', 'no plugin, cookie'),
                         ('plugin, token', 'no plugin, REMOTE_USER')):
        extra = results[plugin][0] - results[base][0]
        fewer = results[base][0] - results[plugin][0]
        print('  %s against %s: %+.2f statements per request'
              % (plugin, base, (sum(results[plugin][0].values()) -
                                sum(results[base][0].values())) / requests))
        for sql, n in sorted(extra.items()):
            print('    + %5.2f  %s' % (n / requests, sql[:90]))
        for sql, n in sorted(fewer.items()):
            print('    - %5.2f  %s' % (n / requests, sql[:90]))
    print('  Statements of "plugin, header", per request:')
    for sql, n in sorted(results['plugin, header'][0].items()):
        print('      %5.2f  %s' % (n / requests, sql[:90]))
    print('  What PostgreSQL received for "plugin, header", per request:')
    for sql, n in sorted(results['plugin, header'][1].items()):
        print('      %5.2f  %s' % (n / requests, sql[:90]))


def cpu_seconds(groups):
    """CPU time used so far by the processes of the process `groups`
    (each gunicorn's master and workers)."""
    total = 0
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                fields = f.read().rpartition(')')[2].split()
        except OSError:
            continue
        if int(fields[2]) in groups:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf('SC_CLK_TCK')


def sample_workers():
    """The number of workers gunicorn-cluster.conf.py starts."""
    from deploy import SAMPLES
    with open(os.path.join(SAMPLES, 'gunicorn-cluster.conf.py')) as f:
        return int(re.search(r'^workers = (\d+)', f.read(), re.M).group(1))


def throughput(workdir, pg, site, rounds, seconds, threads):
    """Requests per second through nginx over 1, 2 and 3 backends, and
    over one backend with as many workers as the three have (the
    control: is a gain more backends or more processes?)."""
    from deploy import Nginx, gunicorn_service, render
    from process import free_port
    base_url = 'http://127.0.0.1/prefix'
    url = pg.create_database('bench_cluster')
    env = make_env(os.path.join(workdir, 'cluster'),
                   cluster_options(workdir, url, base_url), True)
    workers = sample_workers()
    backends = [('127.0.0.%d' % (i + 2), free_port()) for i in range(4)]
    setups = {'1 backend': backends[:1], '2 backends': backends[:2],
              '3 backends': backends[:3],
              '1 backend, %d workers' % (3 * workers): backends[3:]}
    started = []
    try:
        for i, (address, port) in enumerate(backends):
            folder = os.path.join(workdir, 'backend%d' % (i + 1))
            os.makedirs(folder)
            started.append(gunicorn_service(
                folder, site, 'gunicorn-cluster.conf.py',
                # The control's workers, over the sample's.
                {'GUNICORN_CMD_ARGS': '--workers %d' % (3 * workers)}
                if i == 3 else None,
                BACKEND_ADDRESS=address, BACKEND_PORT=port,
                BALANCER_ADDRESSES='127.0.0.1', TRAC_ENV=env.path))
        fronts = {}
        for number, (setup, members) in enumerate(setups.items()):
            folder = os.path.join(workdir, 'nginx%d' % number)
            os.makedirs(folder)
            port = free_port()
            conf = os.path.join(folder, 'site.conf')
            render('nginx-gunicorn-cluster.conf', conf, PORT=port,
                   HTDOCS=folder, HTPASSWD='/dev/null',
                   **{'BACKEND_%d' % (i + 1): '%s:%d' % members[i]
                      if i < len(members) else 'UNUSED' for i in range(3)})
            # "add or remove server lines for more or fewer"
            with open(conf) as f:
                lines = [line for line in f if 'UNUSED' not in line]
            with open(conf, 'w') as f:
                f.writelines(lines)
            started.append(Nginx(folder, conf, port))
            fronts[setup] = port
        headers = {'Cookie': 'trac_auth=' + COOKIE}
        path = '/prefix' + PAGE
        for port in fronts.values():
            load(port, headers, 2, threads, path)     # warm up
        groups = {setup: {started[backends.index(b)].proc.pid
                          for b in members}
                  for setup, members in setups.items()}
        rates = {setup: [] for setup in fronts}
        cpu = {setup: [0.0, 0.0] for setup in fronts}
        failed = 0
        for _ in range(rounds):
            for setup in random.sample(list(fronts), len(fronts)):
                before = cpu_seconds(groups[setup])
                rate, errors = load(fronts[setup], headers, seconds,
                                    threads, path)
                cpu[setup][0] += cpu_seconds(groups[setup]) - before
                cpu[setup][1] += rate * seconds
                rates[setup].append(rate)
                failed += errors
        return {setup: (statistics.median(v),
                        1000 * cpu[setup][0] / max(cpu[setup][1], 1),
                        cpu[setup][0] / (rounds * seconds))
                for setup, v in rates.items()}, failed
    finally:
        for server in reversed(started):
            server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a short run, to check that everything works')
    parser.add_argument('--statements-only', action='store_true',
                        help='count the statements, measure no rates')
    args = parser.parse_args()
    requests = 10 if args.quick else 200
    rounds, seconds = (1, 1) if args.quick else (3, 8)
    threads = 12
    import subprocess
    import trac
    from deploy import public_dir
    from pg import PostgreSQL
    print('TracRemoteUserAuth cluster benchmark, %s'
          % time.strftime('%Y-%m-%d'))
    print('machine: %s; Trac %s' % (machine(), trac.__version__))
    print()
    workdir = public_dir('ruabench-cluster-')
    pg = PostgreSQL()
    try:
        print_statements(statements(workdir, pg, requests), requests)
        print()
        if args.statements_only:
            return
        site = os.path.join(workdir, 'site')
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet',
                        '--no-deps', '--no-build-isolation', '--target',
                        site, ROOT], check=True)
        rates, failed = throughput(workdir, pg, site, rounds, seconds,
                                   threads)
        print('Through nginx over gunicorn backends (%d sync workers each), '
              '%d client threads, %ds runs, median of %d, a logged-in page:'
              % (sample_workers(), threads, seconds, rounds))
        one = rates['1 backend'][0]
        for setup, (rate, cpu, cores) in rates.items():
            print('  %-22s %6.1f requests/s  ratio to 1 backend %.3f  '
                  'backend CPU %.1f ms per request, %.2f cores busy'
                  % (setup, rate, rate / one, cpu, cores))
        print('  failed requests: %d' % failed)
        print('  load average while measuring: %.1f' % os.getloadavg()[0])
        if os.cpu_count() <= 2:
            print('  (%d cores: every backend shares them, so no gain from '
                  'more backends is expected. A gain at the same CPU per '
                  'request is a larger share of a busy machine: Linux '
                  'schedules each session (each gunicorn here) as a group '
                  'of its own; the last line has as many workers in one.)'
                  % os.cpu_count())
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
