#!/usr/bin/env python3
"""What TracRemoteUserAuth costs, measured against baselines in the same
run (`make bench`).

1. In-process: the same Trac page through `dispatch_request`, CPU time
   per request, cases interleaved round by round:
     plugin      the plugin enabled, user from a trusted Remote-User header
     assertion   the plugin enabled, user from a signed assertion (ES256,
                 jwt_header, keys from a JWKS file)
     remote_user the plugin disabled, user from the server's REMOTE_USER
     cookie      the plugin disabled, user from Trac's trac_auth cookie
   Medians and the ratios of plugin and assertion to remote_user and
   cookie.
2. The decision alone, in microseconds per call; for assertions also the
   verification of a token not seen before (the cache spares it to a
   browser's next requests).
3. Through real servers: gunicorn (and nginx in front, when installed)
   under a load generator of threads on loopback, requests per second,
   plugin (header and assertion) against cookie login, interleaved.

Targets: plugin and assertion at most 1% over remote_user, and no slower
than cookie.
Nothing here asserts a time; it prints what it measured.
"""

import argparse
import http.client
import io
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PAGE = '/wiki/WikiStart'


def make_env(path, plugin, options=()):
    from trac.env import Environment
    env = Environment(path, create=True, options=[
        ('components', 'remoteuserauth.*',
         'enabled' if plugin else 'disabled'),
        ('logging', 'log_type', 'none')] + list(options))
    env.db_transaction("INSERT INTO auth_cookie (cookie, name, ipnr, time) "
                       "VALUES ('b3nch', 'alice', '127.0.0.1', %s)",
                       (int(time.time()),))
    env.shutdown()
    return path


ISSUER = 'https://idp.example.com'


def signed_assertion(folder):
    """An ES256 key in a JWKS file in `folder`, a token it signs (valid
    for a day) and the [remoteuser] options that verify it."""
    import json
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid='bench', alg='ES256', use='sig')
    path = os.path.join(folder, 'jwks.json')
    with open(path, 'w') as f:
        json.dump({'keys': [jwk]}, f)
    # As a deployed key file is: not written in the last seconds. (A file
    # changed within two seconds is read again on every request until it
    # is older, since its time stamp cannot tell two writes apart.)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    token = jwt.encode({'iss': ISSUER, 'aud': 'trac', 'sub': 'alice',
                        'exp': int(time.time()) + 86400,
                        'iat': int(time.time())}, key, algorithm='ES256',
                       headers={'kid': 'bench'})
    options = [('remoteuser', 'jwt_header', 'X-Assertion'),
               ('remoteuser', 'jwt_keys', path),
               ('remoteuser', 'jwt_issuer', ISSUER),
               ('remoteuser', 'jwt_audience', 'trac')]
    return token, options


def environ(env_path, **extra):
    base = {
        'REQUEST_METHOD': 'GET', 'SCRIPT_NAME': '', 'PATH_INFO': PAGE,
        'QUERY_STRING': '', 'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'REMOTE_ADDR': '127.0.0.1',
        'HTTP_HOST': 'localhost', 'wsgi.url_scheme': 'http',
        'wsgi.errors': sys.stderr, 'wsgi.run_once': False,
        'wsgi.multithread': False, 'wsgi.multiprocess': False,
        'wsgi.version': (1, 0), 'trac.env_path': env_path}
    base.update(extra)
    return base


def one_request(template, app=None):
    """One request through `app` (Trac's `dispatch_request`); it must
    answer a logged-in page."""
    from trac.web.main import dispatch_request
    env = dict(template, **{'wsgi.input': io.BytesIO(b'')})
    out = []
    written = []

    def start_response(status, headers, exc_info=None):
        out.append(status)
        return written.append
    written.extend((app or dispatch_request)(env, start_response))
    body = b''.join(written)
    assert out[0].startswith('200'), out
    assert b'logged in as' in body
    return body


def in_process(rounds, batch):
    # The modules the entry points load (they register the components).
    import remoteuserauth.auth  # noqa: F401
    import remoteuserauth.groupsync  # noqa: F401
    import remoteuserauth.login  # noqa: F401
    import remoteuserauth.profilesync  # noqa: F401
    tmp = tempfile.mkdtemp(prefix='ruabench-')
    try:
        plugin = make_env(os.path.join(tmp, 'plugin'), True)
        plain = make_env(os.path.join(tmp, 'plain'), False)
        signed, options = signed_assertion(tmp)
        asserted = make_env(os.path.join(tmp, 'assertion'), True, options)
        # Every case carries the same form token, as a browser's second
        # page does; only the way the user is known differs.
        token = 'trac_form_token=0123456789abcdef01234567'
        cases = {
            'plugin': environ(plugin, HTTP_REMOTE_USER='alice',
                              HTTP_COOKIE=token),
            'assertion': environ(asserted, HTTP_X_ASSERTION=signed,
                                 HTTP_COOKIE=token),
            'remote_user': environ(plain, REMOTE_USER='alice',
                                   HTTP_COOKIE=token),
            'cookie': environ(plain, HTTP_COOKIE='trac_auth=b3nch; ' + token),
        }
        for template in cases.values():    # warm up: caches, templates
            for _ in range(20):
                one_request(template)
        samples = {name: [] for name in cases}
        order = list(cases)
        for _ in range(rounds):
            random.shuffle(order)
            for name in order:
                start = time.process_time_ns()
                for _ in range(batch):
                    one_request(cases[name])
                samples[name].append((time.process_time_ns() - start) /
                                     batch / 1e6)
        result = {name: (statistics.median(values),
                         statistics.quantiles(values, n=4))
                  for name, values in samples.items()}
        # Each round measures every case within a few hundred ms, so the
        # ratio inside a round is free of the machine's slower drifts.
        for case in ('plugin', 'assertion'):
            for base in ('remote_user', 'cookie'):
                result['%s/%s' % (case, base)] = statistics.median(
                    p / b for p, b in zip(samples[case], samples[base]))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def own_code(requests, assertion=False):
    """CPU time the plugin's own hooks (its authenticator and request
    filters, outermost calls) spend per request, less the Trac work they
    only bring forward: loading the session and Trac's permission cache,
    which every request does anyway a little later. Free of the
    run-to-run noise of whole requests."""
    import functools
    from trac.perm import PermissionSystem
    from trac.web.main import RequestDispatcher
    from remoteuserauth.auth import RemoteUserAuthenticator
    from remoteuserauth.groupsync import GroupSynchronizer
    from remoteuserauth.login import LoginPages
    from remoteuserauth.profilesync import ProfileSynchronizer
    from remoteuserauth.publicurl import PublicURLFilter
    spent = {'hooks': 0, 'trac': 0}
    depth = [0]
    saved = []

    def timed(func, bucket, only_inside=False):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if only_inside and not depth[0]:
                return func(*args, **kwargs)
            depth[0] += 1
            start = time.process_time_ns()
            try:
                return func(*args, **kwargs)
            finally:
                depth[0] -= 1
                if bucket == 'trac' or not depth[0]:
                    spent[bucket] += time.process_time_ns() - start
        return wrapper

    def patch(cls, name, bucket, only_inside=False):
        saved.append((cls, name, cls.__dict__[name]))
        setattr(cls, name, timed(cls.__dict__[name], bucket, only_inside))
    for cls in (RemoteUserAuthenticator, LoginPages, PublicURLFilter,
                GroupSynchronizer, ProfileSynchronizer):
        for name in ('authenticate', 'pre_process_request',
                     'post_process_request'):
            if name in cls.__dict__:
                patch(cls, name, 'hooks')
    patch(RequestDispatcher, '_get_session', 'trac', only_inside=True)
    patch(PermissionSystem, 'get_all_permissions', 'trac', only_inside=True)
    tmp = tempfile.mkdtemp(prefix='ruabench-own-')
    try:
        if assertion:
            signed, options = signed_assertion(tmp)
            plugin = make_env(os.path.join(tmp, 'plugin'), True, options)
            template = environ(plugin, HTTP_X_ASSERTION=signed)
        else:
            plugin = make_env(os.path.join(tmp, 'plugin'), True)
            template = environ(plugin, HTTP_REMOTE_USER='alice')
        for _ in range(20):
            one_request(template)
        spent.update(hooks=0, trac=0)
        start = time.process_time_ns()
        for _ in range(requests):
            one_request(template)
        total = time.process_time_ns() - start
        own = spent['hooks'] - spent['trac']
        return own / requests / 1000, own / total
    finally:
        for cls, name, func in reversed(saved):
            setattr(cls, name, func)
        shutil.rmtree(tmp, ignore_errors=True)


def decision_cost(calls):
    """Microseconds per call: the header decision, the assertion decision
    (the token verified before, as on a browser's next request), and the
    verification of a token never seen."""
    tmp = tempfile.mkdtemp(prefix='ruabench-decide-')
    try:
        return _decision_cost(calls, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _decision_cost(calls, tmp):
    from remoteuserauth import assertion
    from remoteuserauth.decision import decide, make_settings
    signed, options = signed_assertion(tmp)
    keys = dict((name, value) for _, name, value in options)
    verifier = assertion.build(keys['jwt_keys'], ISSUER, ['trac'])
    uncached = assertion.build(keys['jwt_keys'], ISSUER, ['trac'])
    uncached.cache_size = 0
    groups = frozenset(['admins', 'developers'])
    header = make_settings(local_domains=['EXAMPLE'])
    asserted = make_settings(verifier=verifier, jwt_header='X-Assertion')
    cases = {
        'header': lambda: decide({'REMOTE_ADDR': '127.0.0.1',
                                  'HTTP_REMOTE_USER': 'EXAMPLE\\alice'},
                                 header, groups),
        'assertion': lambda: decide({'REMOTE_ADDR': '192.0.2.1',
                                     'HTTP_X_ASSERTION': signed},
                                    asserted, groups),
        'verify': lambda: uncached.verify(signed),
    }
    assert cases['assertion']().name == 'alice'
    assert cases['verify']().accepted
    result = {}
    for name, call in cases.items():
        n = calls if name != 'verify' else max(calls // 20, 10)
        timings = []
        for _ in range(7):
            start = time.process_time_ns()
            for _ in range(n):
                call()
            timings.append((time.process_time_ns() - start) / n / 1000)
        result[name] = statistics.median(timings)
    return result


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError('port %d never opened' % port)


def load(port, headers, seconds, threads, path=PAGE):
    """Requests per second from `threads` keep-alive clients on loopback,
    for `seconds` (bounded in time and count), and the number of
    failed requests."""
    stop = time.time() + seconds
    counts = [0] * threads
    errors = [0] * threads

    def client(i):
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        while time.time() < stop and counts[i] < 100000:
            try:
                conn.request('GET', path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    counts[i] += 1
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = http.client.HTTPConnection('127.0.0.1', port,
                                                  timeout=30)
        conn.close()
    workers = [threading.Thread(target=client, args=(i,))
               for i in range(threads)]
    start = time.time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.time() - start), sum(errors)


NGINX_CONF = """\
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream backend {{ server 127.0.0.1:{backend}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Remote-User $http_x_bench_user;
            proxy_pass http://backend;
        }}
    }}
}}
"""


def through_servers(rounds, seconds, threads):
    """gunicorn alone and nginx -> gunicorn: plugin (header and
    assertion) vs cookie login."""
    import remoteuserauth.auth  # noqa: F401  (its bindings make a table)
    tmp = tempfile.mkdtemp(prefix='ruabench-srv-')
    procs = []
    try:
        site = os.path.join(tmp, 'site')
        subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet',
                        '--no-deps', '--no-build-isolation', '--target',
                        site, ROOT], check=True)
        gunicorn = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
        ports = {}
        signed, options = signed_assertion(tmp)
        for name, plugin, extra in (('plugin', True, ()),
                                    ('assertion', True, options),
                                    ('cookie', False, ())):
            path = make_env(os.path.join(tmp, name), plugin, extra)
            port = free_port()
            env = dict(os.environ, PYTHONPATH=site, TRAC_ENV=path)
            procs.append(subprocess.Popen(
                [gunicorn, '--bind', '127.0.0.1:%d' % port, '--workers',
                 '2', 'remoteuserauth.wsgi:application' if plugin else
                 'trac.web.main:dispatch_request'], env=env, cwd=tmp,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
            wait_port(port)
            ports[name] = port
        setups = {'gunicorn': dict(ports)}
        nginx = shutil.which('nginx') or (
            '/usr/sbin/nginx' if os.path.exists('/usr/sbin/nginx') else None)
        if nginx:
            fronts = {}
            for name, backend in ports.items():
                port = free_port()
                workdir = os.path.join(tmp, 'nginx-' + name)
                os.makedirs(workdir)
                conf = os.path.join(workdir, 'nginx.conf')
                with open(conf, 'w') as f:
                    f.write(NGINX_CONF.format(dir=workdir, port=port,
                                              backend=backend))
                procs.append(subprocess.Popen(
                    [nginx, '-c', conf, '-g', 'daemon off;'],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True))
                wait_port(port)
                fronts[name] = port
            setups['nginx+gunicorn'] = fronts
        headers = {'plugin': {'Remote-User': 'alice',
                              'X-Bench-User': 'alice'},
                   'assertion': {'X-Assertion': signed},
                   'cookie': {'Cookie': 'trac_auth=b3nch'}}
        results = {}
        for setup, by_case in setups.items():
            for name, port in by_case.items():
                load(port, headers[name], 1, threads)     # warm up
            rates = {name: [] for name in by_case}
            failed = 0
            for _ in range(rounds):
                for name in random.sample(list(by_case), len(by_case)):
                    rate, errors = load(by_case[name], headers[name],
                                        seconds, threads)
                    rates[name].append(rate)
                    failed += errors
            results[setup] = ({n: statistics.median(v)
                               for n, v in rates.items()}, failed)
        return results
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return '%s, %d cores, Python %s, %s' % (cpu, os.cpu_count(),
                                             platform.python_version(),
                                             platform.system())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a short run, to check that everything works')
    parser.add_argument('--no-servers', action='store_true')
    args = parser.parse_args()
    rounds, batch = (3, 3) if args.quick else (61, 10)
    import trac
    print('TracRemoteUserAuth benchmark, %s' % time.strftime('%Y-%m-%d'))
    print('machine: %s; Trac %s' % (machine(), trac.__version__))
    print()
    results = in_process(rounds, batch)
    names = ('plugin', 'assertion', 'remote_user', 'cookie')
    medians = {name: results[name][0] for name in names}
    print('In-process, %s, CPU ms per request (median of %d rounds of %d, '
          'quartiles):' % (PAGE, rounds, batch))
    for name in names:
        quartiles = results[name][1]
        print('  %-12s %8.3f   (%.3f .. %.3f)' % (name, medians[name],
                                                   quartiles[0], quartiles[2]))
    for case in ('plugin', 'assertion'):
        for base, target in (('remote_user', 1.01), ('cookie', 1.0)):
            print('  ratio %s/%s  %.3f  (median of per-round ratios %.3f; '
                  'target <= %.3f)' % (
                      case, base, medians[case] / medians[base],
                      results['%s/%s' % (case, base)], target))
    print()
    requests = 20 if args.quick else 300
    for label, mode in (('header', False), ('assertion', True)):
        micros, share = own_code(requests, assertion=mode)
        print("The plugin's own hooks, %s mode: %.0f us per request, "
              "%.2f %% of it (target <= 1 %%)" % (label, micros, share * 100))
    costs = decision_cost(2000 if args.quick else 50000)
    print('Decision alone: header %.2f us, assertion %.2f us per call '
          '(token verified before); verifying a new ES256 token: %.1f us'
          % (costs['header'], costs['assertion'], costs['verify']))
    if args.no_servers:
        return
    print()
    seconds, srounds = (1, 1) if args.quick else (5, 3)
    results = through_servers(srounds, seconds, threads=8)
    print('Through servers, 8 client threads on loopback, %ds runs, median '
          'of %d, requests/s:' % (seconds, srounds))
    for setup, (rates, failed) in results.items():
        print('  %-15s plugin %7.1f  assertion %7.1f  cookie %7.1f  ratios '
              '%.3f %.3f  (errors: %d)'
              % (setup, rates['plugin'], rates['assertion'], rates['cookie'],
                 rates['plugin'] / rates['cookie'],
                 rates['assertion'] / rates['cookie'], failed))


if __name__ == '__main__':
    main()
