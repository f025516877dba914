"""`make bench` runs end to end (a short run; nothing is timed here)."""

import os
import re
import subprocess
import sys

from conftest import ROOT


def test_bench_quick_run_prints_the_ratios():
    out = subprocess.run([sys.executable, os.path.join(ROOT, 'bench', 'run.py'),
                          '--quick', '--no-servers'], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    for case in ('plugin', 'assertion'):
        for base in ('remote_user', 'cookie'):
            assert re.search(r'ratio %s/%s\s+\d+\.\d+' % (case, base),
                             out.stdout)
        mode = 'header' if case == 'plugin' else case
        assert re.search(r"The plugin's own hooks, %s mode: \d+ us per "
                         r"request, \d+\.\d+ %% of it" % mode, out.stdout)
    assert re.search(r'Decision alone: header \d+\.\d+ us, assertion '
                     r'\d+\.\d+ us per call .* new ES256 token: \d+\.\d+ us',
                     out.stdout)
