"""`make demo` as a new user runs it: the printed curl lines keep their
promise."""

import os
import signal
import subprocess
import sys


from conftest import ROOT
from process import free_port, require, wait_for_port


def test_make_demo_curl_lines(tmp_path):
    require('make', 'curl')
    port = free_port()
    venv = os.path.dirname(os.path.dirname(sys.executable))
    out = tmp_path / 'demo.out'
    with open(out, 'wb') as f:
        proc = subprocess.Popen(
            ['make', '-s', 'demo', 'VENV=' + venv,
             'DEMO_DIR=' + str(tmp_path / 'demo'), 'DEMO_PORT=%d' % port],
            cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_for_port(port, proc, timeout=120, log=str(out))
        text = out.read_text()
        lines = [ln.strip() for ln in text.splitlines()
                 if ln.strip().startswith('curl ')]
        assert len(lines) == 2, text
        trusted = subprocess.run(lines[0], shell=True, capture_output=True,
                                 text=True)
        assert trusted.stdout.strip() == \
            'logged in as <span class="trac-author-user">alice'
        untrusted = subprocess.run(lines[1], shell=True,
                                   capture_output=True, text=True)
        assert untrusted.stdout.strip() == '0'
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
