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
    assert re.search(r'ratio plugin/remote_user\s+\d+\.\d+', out.stdout)
    assert re.search(r'ratio plugin/cookie\s+\d+\.\d+', out.stdout)
    assert re.search(r'Decision alone: \d+\.\d+ us per call', out.stdout)
    assert re.search(r"The plugin's own hooks: \d+ us per request, "
                     r"\d+\.\d+ % of it", out.stdout)
