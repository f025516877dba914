"""Starting and stopping real servers on loopback for the tests."""

import http.client as httplib
import importlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def require(*programs):
    """Skip (or, in CI, fail) when a system program is missing."""
    for program in programs:
        if shutil.which(program) is None and not os.path.exists(program):
            message = "%s is not installed (make test installs it as root)" \
                % program
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)


def require_module(name):
    """Import a Python module the test needs; skip (or, in CI, fail)
    when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        message = "Python module %s is not installed (%s); make test " \
            "installs it" % (name, e)
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


_GIVEN = set()


def _ephemeral_low():
    try:
        with open('/proc/sys/net/ipv4/ip_local_port_range') as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A port no socket uses on any address, below the range the kernel
    gives the clients' own sockets: the kernel's pick (bind to port 0)
    came from that range, where a client's connection could take it
    before the server binds (nginx listens on every address, and an
    outgoing connection from 127.0.0.6 holds the port it came from).
    Never the same port twice in one run."""
    top = min(_ephemeral_low(), 65536) - 1
    bottom = max(10000, top - 20000)
    for _ in range(1000):
        port = random.randint(bottom, top)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(('', port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free port between %d and %d" % (bottom, top))


def wait_for_port(port, proc=None, timeout=30, log=None, host='127.0.0.1'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("server exited with %s:\n%s"
                               % (proc.returncode, read(log)))
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on port %d after %ds:\n%s"
                       % (port, timeout, read(log)))


def read(path):
    if path and os.path.exists(path):
        with open(path, errors='replace') as f:
            return f.read()[-4000:]
    return ''


class Server(object):
    """A process started for a test; `stop` ends it and its children."""

    def __init__(self, argv, port, log, env=None, cwd=None, timeout=30,
                 host='127.0.0.1'):
        self.port = port
        self.log = log
        self.out = open(log, 'ab')
        self.proc = subprocess.Popen(argv, stdout=self.out,
                                     stderr=subprocess.STDOUT, env=env,
                                     cwd=cwd, start_new_session=True)
        try:
            wait_for_port(port, self.proc, timeout, log, host)
        except Exception:
            self.stop()
            raise

    def stop(self):
        stop_process(self.proc)
        self.out.close()


def stop_process(proc):
    """End `proc`, started with `start_new_session`, and its children."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def find_header(headers, name):
    """The value of header `name` in a list of (name, value) pairs."""
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


class Reply(object):
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        return find_header(self.headers, name)

    def cookies(self):
        return [v for k, v in self.headers if k.lower() == 'set-cookie']


def http(port, path, headers=(), method='GET', body=None, source='127.0.0.1',
         host=None, address='127.0.0.1'):
    """One HTTP request to `address`:`port` (127.0.0.1), sent from
    `source` (another loopback address makes an untrusted peer).
    `headers` are sent as given, duplicates and underscores included."""
    conn = httplib.HTTPConnection(address, port, timeout=60,
                                  source_address=(source, 0))
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader('Host', host or '%s:%d' % (address, port))
        for name, value in headers:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader('Content-Length', str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read().decode('utf-8', 'replace')
        return Reply(resp.status, resp.getheaders(), data)
    finally:
        conn.close()


def python_env(site=None, **extra):
    """The environment for a server process running the tests' Python,
    with the plugin installed in `site` (or not at all)."""
    env = dict(os.environ)
    env.pop('PYTHONPATH', None)
    if site:
        env['PYTHONPATH'] = site
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + \
        env.get('PATH', '')
    env.update(extra)
    return env
