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
    for count in (1, 2, 3):
        assert re.search(r'%d backends?\s+\d+\.\d+ requests/s' % count,
                         out.stdout)
    assert 'failed requests: 0' in out.stdout
