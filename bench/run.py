#!/usr/bin/env python3
"""What TracRemoteUserAuth costs, measured against baselines in the same
run (`make bench`).

1. In-process: the same Trac page through `dispatch_request`, CPU time
   per request, cases interleaved round by round. With the plugin:
     header        the user from a trusted Remote-User header
     remote_user+  the user from the server's REMOTE_USER
     assertion     the user from a signed assertion (ES256, jwt_header,
                   keys from a JWKS file)
     token         a personal access token (Authorization: Bearer) on a
                   token path
     cookie+       Trac's trac_auth cookie only (the plugin judges it:
                   rule 13)
     header+cookie the Remote-User header and the same user's trac_auth
                   cookie (the plugin checks whose it is: rule 10)
   Without it (the baselines):
     remote_user   the user from the server's REMOTE_USER
     cookie        the user from Trac's trac_auth cookie
   Medians, and the per-round ratios of each plugin case to
   remote_user (and of the cookie cases to cookie).
2. The plugin's own hooks in each mode: the CPU its authenticator and
   request filters spend per request, less the Trac work they only
   bring forward.
3. The decision alone, in microseconds per call; for assertions also the
   verification of a token not seen before (the cache spares it to a
   browser's next requests).
4. Through real servers: gunicorn (and nginx in front, when installed)
   under a load generator of threads on loopback, requests per second,
   plugin (header and assertion) against cookie login, interleaved.

Targets: the plugin's own hooks at most 0.25 % of a request in every
mode; every mode at most 1 % over remote_user, and no slower than
cookie. How the cost grows with the work (sessions, trusted_proxies,
local_domains, groups, keys, token sizes): bench/scaling.py.
Nothing here asserts a time; it prints what it measured.
"""

import argparse
import collections
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


def signing_key(folder, kid):
    """A new ES256 key, and the path of the JWKS file in `folder` that
    holds its public half as `kid`."""
    import json
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update(kid=kid, alg='ES256', use='sig')
    path = os.path.join(folder, 'jwks.json')
    with open(path, 'w') as f:
        json.dump({'keys': [jwk]}, f)
    # As a deployed key file is: not written in the last seconds. (A file
    # changed within two seconds is read again on every request until it
    # is older, since its time stamp cannot tell two writes apart.)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    return key, path


def signed_assertion(folder):
    """An ES256 key in a JWKS file in `folder`, a token it signs (valid
    for a day) and the [remoteuser] options that verify it."""
    import jwt
    key, path = signing_key(folder, 'bench')
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


#: The modules the plugin's entry points name (setup.py): importing them
#: registers its components, as Trac loading the installed plugin does.
ENTRY_POINTS = ('auth', 'login', 'publicurl', 'groupsync', 'profilesync',
                'bindings', 'probe', 'tokenprefs', 'admin')

#: Every case carries the same form token, as a browser's second page
#: does; only the way the user is known differs.
FORM_TOKEN = 'trac_form_token=0123456789abcdef01234567'

#: The plugin's cases, and the no-plugin case each is compared with.
PLUGIN_CASES = {'header': 'remote_user', 'remote_user+': 'remote_user',
                'assertion': 'remote_user', 'token': 'remote_user',
                'cookie+': 'cookie', 'header+cookie': 'remote_user'}
BASELINES = ('remote_user', 'cookie')


def load_plugin():
    import importlib
    for name in ENTRY_POINTS:
        importlib.import_module('remoteuserauth.' + name)


def personal_token(path, owner='alice'):
    """A personal access token of `owner`, made in the environment at
    `path` (as `trac-admin remoteuser token add` makes one)."""
    from trac.env import Environment
    from remoteuserauth.tokens import PersonalTokens
    env = Environment(path)
    try:
        return PersonalTokens(env).add(owner, 'bench', 30)[0]
    finally:
        env.shutdown()


def make_cases(tmp, names=None):
    """The request of each case (a WSGI environment to copy), each
    environment made in `tmp`; only those in `names`, when given."""
    load_plugin()
    wanted = set(names or tuple(PLUGIN_CASES) + BASELINES)
    cases = {}
    if wanted & {'header', 'remote_user+', 'cookie+', 'header+cookie'}:
        plugin = make_env(os.path.join(tmp, 'plugin'), True)
        cases.update({
            'header': environ(plugin, HTTP_REMOTE_USER='alice',
                              HTTP_COOKIE=FORM_TOKEN),
            'remote_user+': environ(plugin, REMOTE_USER='alice',
                                    HTTP_COOKIE=FORM_TOKEN),
            'cookie+': environ(plugin, HTTP_COOKIE='trac_auth=b3nch; ' +
                               FORM_TOKEN),
            'header+cookie': environ(plugin, HTTP_REMOTE_USER='alice',
                                     HTTP_COOKIE='trac_auth=b3nch; ' +
                                     FORM_TOKEN)})
    if 'assertion' in wanted:
        signed, options = signed_assertion(tmp)
        asserted = make_env(os.path.join(tmp, 'assertion'), True, options)
        cases['assertion'] = environ(asserted, HTTP_X_ASSERTION=signed,
                                     HTTP_COOKIE=FORM_TOKEN)
    if 'token' in wanted:
        # The page is a token path here: the same page as every case.
        path = make_env(os.path.join(tmp, 'token'), True, [
            ('remoteuser', 'tokens', 'true'),
            ('remoteuser', 'token_paths', PAGE)])
        cases['token'] = environ(
            path, HTTP_AUTHORIZATION='Bearer ' + personal_token(path),
            HTTP_COOKIE=FORM_TOKEN)
    if wanted & set(BASELINES):
        plain = make_env(os.path.join(tmp, 'plain'), False)
        cases.update({
            'remote_user': environ(plain, REMOTE_USER='alice',
                                   HTTP_COOKIE=FORM_TOKEN),
            'cookie': environ(plain, HTTP_COOKIE='trac_auth=b3nch; ' +
                              FORM_TOKEN)})
    return {name: cases[name] for name in cases if name in wanted}


def in_process(rounds, batch):
    tmp = tempfile.mkdtemp(prefix='ruabench-')
    try:
        cases = make_cases(tmp)
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
        # Each round measures every case within a second, so the ratio
        # inside a round is free of the machine's slower drifts.
        for case in PLUGIN_CASES:
            for base in BASELINES:
                result['%s/%s' % (case, base)] = statistics.median(
                    p / b for p, b in zip(samples[case], samples[base]))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class HookTimer(object):
    """Times the plugin's own hooks: the calls of its authenticators and
    request filters (every component of the plugin that has them), less
    the Trac work they do in Trac's place or only bring forward, which
    every request does anyway a little later: loading the session,
    Trac's permission cache and cookies, Trac's cookie login (which Trac
    asks itself without the plugin), Trac's own round of the
    authenticators (`RequestDispatcher.authenticate`, which the first
    `req.authname` runs, in a filter of the plugin or elsewhere) but not
    the plugin's authenticator inside it, and the lazy attribute that
    runs them (`Request.__getattr__`: the first to read `req.session` or
    `req.authname` runs it, the plugin or Trac's page). Each moment is
    counted for the innermost timed call running then, the plugin's or
    Trac's; less the timers' own cost (calibrated on an empty
    function). `spent` is in nanoseconds of CPU."""

    HOOKS = ('authenticate', 'pre_process_request', 'post_process_request')

    def __init__(self):
        self.spent = {'hooks': 0, 'trac': 0}
        #: The hooks' share of `spent`, by hook ('Class.method'), the
        #: timers' own cost included.
        self.by_hook = collections.Counter()
        self.calls = 0
        self._stack = []
        self._labels = []
        self._mark = 0
        self._saved = []
        self._overhead = 0

    def own(self):
        return self.spent['hooks'] - self.calls * self._overhead

    def reset(self):
        self.spent.update(hooks=0, trac=0)
        self.by_hook.clear()
        self.calls = 0

    def __enter__(self):
        from trac.core import ComponentMeta
        from trac.perm import DefaultPermissionStore, PermissionSystem
        from trac.web.api import Request
        from trac.web.auth import LoginModule
        from trac.web.main import RequestDispatcher
        for cls in ComponentMeta._components:
            if cls.__module__.startswith('remoteuserauth.'):
                for name in self.HOOKS:
                    if name in cls.__dict__:
                        self._patch(cls, name, 'hooks')
        self._patch(RequestDispatcher, '_get_session', 'trac')
        self._patch(RequestDispatcher, 'authenticate', 'trac')
        self._patch(PermissionSystem, 'get_all_permissions', 'trac')
        # The plugin asks the store itself (found once per change of the
        # options): the same cache Trac's permission checks read.
        self._patch(DefaultPermissionStore, 'get_all_permissions', 'trac')
        self._patch(Request, '_parse_cookies', 'trac')
        self._patch(Request, '__getattr__', 'trac')
        self._patch(LoginModule, 'authenticate', 'trac')
        self._overhead = self._calibrate()
        return self

    def __exit__(self, *exc):
        for cls, name, func in reversed(self._saved):
            setattr(cls, name, func)
        del self._saved[:]

    def _calibrate(self):
        """What the timers add to each call they time: the median of
        what they measure of a function that does nothing."""
        class Empty(object):
            def authenticate(self):
                pass
        self._patch(Empty, 'authenticate', 'hooks')
        empty = Empty()
        measured = []
        for _ in range(7):
            self.reset()
            for _ in range(2000):
                empty.authenticate()
            measured.append(self.spent['hooks'] / self.calls)
        self.reset()
        return statistics.median(measured)

    def _patch(self, cls, name, bucket):
        """Time `cls.name` as `bucket` ('hooks' or 'trac'); Trac's calls
        only inside a hook."""
        import functools
        func = cls.__dict__[name]
        timer = self
        stack = self._stack
        labels = self._labels
        label = '%s.%s' % (cls.__name__, name)
        spent = self.spent
        by_hook = self.by_hook
        clock = time.process_time_ns

        def count(now):
            spent[stack[-1]] += now - timer._mark
            if stack[-1] == 'hooks':
                by_hook[labels[-1]] += now - timer._mark

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            if bucket == 'trac' and 'hooks' not in stack:
                return func(*args, **kwargs)
            now = clock()
            if stack:
                count(now)
            stack.append(bucket)
            labels.append(label)
            timer.calls += 1
            timer._mark = now
            try:
                return func(*args, **kwargs)
            finally:
                now = clock()
                count(now)
                stack.pop()
                labels.pop()
                timer._mark = now
        self._saved.append((cls, name, func))
        setattr(cls, name, wrapper)


def own_code(requests, modes=tuple(PLUGIN_CASES), rounds=10):
    """The CPU time the plugin's own hooks spend per request in each of
    `modes`, in microseconds and as a share of the request, and each
    hook's microseconds (the timers' own cost included). Free of the
    run-to-run noise of whole requests.

    The modes take turns, `rounds` times, each `requests / rounds`
    requests a turn: a page's CPU drifts during a run (the VM, the
    collector's walk of a process that holds more as it goes), and
    every mode then sees the same drift instead of one stretch each."""
    tmp = tempfile.mkdtemp(prefix='ruabench-own-')
    try:
        cases = make_cases(tmp, modes)
        own = dict.fromkeys(modes, 0)
        total = dict.fromkeys(modes, 0)
        by_hook = {mode: collections.Counter() for mode in modes}
        turn = max(requests // rounds, 1)
        with HookTimer() as timer:
            for mode in modes:
                for _ in range(20):
                    one_request(cases[mode])
            for _ in range(rounds):
                for mode in modes:
                    timer.reset()
                    start = time.process_time_ns()
                    for _ in range(turn):
                        one_request(cases[mode])
                    total[mode] += time.process_time_ns() - start
                    own[mode] += timer.own()
                    by_hook[mode].update(timer.by_hook)
        done = turn * rounds
        return {mode: (own[mode] / done / 1000, own[mode] / total[mode],
                       {hook: spent / done / 1000
                        for hook, spent in by_hook[mode].items()})
                for mode in modes}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def print_per_hook(own):
    """Each hook's microseconds per request (rows) in each mode."""
    modes = list(own)
    hooks = sorted(set().union(*(own[m][2] for m in modes)),
                   key=lambda hook: -max(own[m][2].get(hook, 0)
                                         for m in modes))
    print("Each hook, us per request (the timers' own cost included):")
    print('  %-44s %s' % ('', ' '.join('%13s' % m for m in modes)))
    for hook in hooks:
        print('  %-44s %s' % (hook, ' '.join(
            '%13.1f' % own[m][2].get(hook, 0) for m in modes)))


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


#: The start of an nginx.conf of the benchmarks: everything in
#: `dir`, one worker, no access log; the `http` block left open.
NGINX_HEAD = """\
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
"""

NGINX_CONF = NGINX_HEAD + """\
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
    load_plugin()   # (its bindings make a table)
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
    parser.add_argument('--per-hook', action='store_true',
                        help="also each hook's microseconds per request "
                        "and mode")
    args = parser.parse_args()
    rounds, batch = (3, 3) if args.quick else (41, 10)
    import trac
    print('TracRemoteUserAuth benchmark, %s' % time.strftime('%Y-%m-%d'))
    print('machine: %s; Trac %s; load average %s' % (
        machine(), trac.__version__, load_average()))
    print()
    results = in_process(rounds, batch)
    print('In-process, %s, CPU ms per request (median of %d rounds of %d, '
          'quartiles):' % (PAGE, rounds, batch))
    for name in tuple(PLUGIN_CASES) + BASELINES:
        median, quartiles = results[name]
        print('  %-14s %8.3f   (%.3f .. %.3f)' % (name, median, quartiles[0],
                                                   quartiles[2]))
    print('Median of per-round ratios (target: <= 1.010 to remote_user, '
          '<= 1.000 to cookie):')
    for case, base in PLUGIN_CASES.items():
        print('  %-14s / %-11s %.3f' % (case, base,
                                        results['%s/%s' % (case, base)]))
    print()
    requests = 20 if args.quick else 300
    print("The plugin's own hooks, CPU per request (target <= 0.25 %):")
    own = own_code(requests)
    for mode, (micros, share, _) in own.items():
        print('  %-14s %6.1f us  %.3f %%' % (mode, micros, share * 100))
    if args.per_hook:
        print_per_hook(own)
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


def load_average():
    try:
        return '%.2f %.2f %.2f' % os.getloadavg()
    except OSError:
        return '?'


if __name__ == '__main__':
    main()
