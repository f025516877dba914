"""`make bench` runs end to end (a short run; nothing is timed here)."""

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_bench_quick_run_prints_the_ratios():
    out = subprocess.run([sys.executable,
                          os.path.join(ROOT, 'bench', 'run.py'),
                          '--quick', '--no-servers', '--per-hook'],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    for case, base in (('header', 'remote_user'),
                       ('remote_user+', 'remote_user'),
                       ('assertion', 'remote_user'),
                       ('token', 'remote_user'),
                       ('cookie+', 'cookie'),
                       ('header+cookie', 'remote_user')):
        assert re.search(r'^  %s\s+/ %s\s+\d+\.\d+$' % (
            re.escape(case), base), out.stdout, re.M), case
        assert re.search(r'^  %s\s+\d+\.\d+ us\s+\d+\.\d+ %%$'
                         % re.escape(case), out.stdout, re.M), case
    # --per-hook: a row per hook, a number per mode (six).
    for hook in ('RemoteUserAuthenticator.authenticate',
                 'PublicURLFilter.pre_process_request'):
        assert re.search(r'^  %s\s+(\d+\.\d+\s+){5}\d+\.\d+$'
                         % re.escape(hook), out.stdout, re.M), hook
    assert re.search(r'Decision alone: header \d+\.\d+ us, assertion '
                     r'\d+\.\d+ us per call .* new ES256 token: \d+\.\d+ us',
                     out.stdout)


def test_bench_cluster_quick_run():
    """bench/cluster.py runs end to end; its statement counting sees the
    control's writes, and none from the plugin at steady state."""
    out = subprocess.run([sys.executable,
                          os.path.join(ROOT, 'bench', 'cluster.py'),
                          '--quick'], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    counts = dict(re.findall(r'^  (\S.*?)\s+\d+\.\d+ / \d+\.\d+   '
                             r'writes (\d+)$', out.stdout, re.M))
    assert counts['plugin, header'] == counts['plugin, cookie'] == '0'
    assert int(counts['control: name changes']) > 0
    assert re.search(r'plugin, header against no plugin, REMOTE_USER: '
                     r'[+-]\d+\.\d+ statements per request', out.stdout)
    for setup in ('1 backend', '2 backends', '3 backends',
                  r'1 backend, \d+ workers'):
        assert re.search(r'^  %s\s+\d+\.\d+ requests/s' % setup, out.stdout,
                         re.M)
    assert 'failed requests: 0' in out.stdout


def short_soak(db):
    """A soak of 300 requests on `db`, which ran to its end with every
    answer right, no 5xx and every cache read."""
    out = subprocess.run([sys.executable,
                          os.path.join(ROOT, 'bench', 'soak.py'),
                          '--requests', '300', '--db', db],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'snapshot error' not in out.stdout, out.stdout
    assert re.search(r'5xx or failed: 0; wrong answers: 0', out.stdout), \
        out.stdout[-3000:]
    return out


def test_soak_short_run():
    """`make soak` runs end to end on a few hundred requests: every
    answer right, no 5xx, and every cache read inside the worker (a
    cache the report can no longer read is an error line, which failed
    nothing before this test)."""
    out = short_soak('sqlite')
    # The warmed worker is frozen, and what SQLite and Python hold is
    # reported beside the resident memory, per tenth too.
    assert 'objects frozen after the warm-up' in out.stdout, out.stdout
    assert re.search(r"of which SQLite's own .*: \d+\.\d MB -> \d+\.\d MB; "
                     r"Python's allocated blocks \d+ -> \d+", out.stdout), \
        out.stdout
    assert re.search(r'resident memory per tenth of the run \(highest '
                     r'seen\), MB: \d+\.\d', out.stdout), out.stdout
    for cache in ('core.trust._trusted_network ', 'EventLog throttle keys',
                  "PersonalTokens owners' policy verdicts",
                  'PersonalTokens owners let in',
                  'NameOwnership names known owned',
                  'GroupSynchronizer users in step',
                  'assertion Verifier verdicts'):
        assert cache in out.stdout, cache


def test_soak_short_run_on_postgresql():
    """The soak on PostgreSQL (its own server on loopback): every answer
    right, and the dead row versions of the tables read as the run
    went, a row per table that held any, or a line saying none did."""
    out = short_soak('postgres')
    report = out.stdout.split('PostgreSQL dead row versions')[1]
    report = report.split('Latency per tenth')[0]
    assert re.search(r'\n  (site|sso) +\w+ +(( +-| +\d+){10}) +vacuums \d+ '
                     r'+live \d+\n|\n  none\n', report), report
