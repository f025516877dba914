#!/usr/bin/env python3
"""`make demo`: a throwaway Trac on SQLite with the plugin enabled,
served by gunicorn on 127.0.0.1, and the curl lines that show a trusted
header logging a user in.

Run through `make demo`, which installs the plugin where this script's
gunicorn finds it.
"""

import argparse
import os
import shutil
import sys


def create_environment(path):
    from trac.env import Environment
    from trac.perm import PermissionSystem
    if os.path.exists(path):
        shutil.rmtree(path)
    env = Environment(path, create=True, options=[
        ('project', 'name', 'TracRemoteUserAuth demo'),
        ('components', 'remoteuserauth.*', 'enabled'),
        ('remoteuser', 'header', 'Remote-User'),
        ('remoteuser', 'trusted_proxies', '127.0.0.1, ::1'),
        ('logging', 'log_type', 'file'),
        ('logging', 'log_level', 'INFO'),
    ])
    PermissionSystem(env).grant_permission('alice', 'TRAC_ADMIN')
    env.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--dir', default='.demo')
    parser.add_argument('--port', type=int, default=8000)
    args = parser.parse_args()

    env_path = os.path.abspath(os.path.join(args.dir, 'env'))
    create_environment(env_path)
    url = 'http://127.0.0.1:%d/' % args.port
    bindir = os.path.dirname(sys.executable)
    print(f"""
Trac environment: {env_path} (SQLite, plugin enabled)
Serving {url} with gunicorn; Ctrl-C stops it.

A trusted proxy (this machine, 127.0.0.1) logs alice in:
  curl -s -H 'Remote-User: alice' {url} | grep -o 'logged in as <[^>]*>[^<]*'

The same header from a peer that is not in [remoteuser] trusted_proxies
is ignored, and the page stays anonymous:
  curl -s --interface 127.0.0.2 -H 'Remote-User: alice' {url} | grep -c 'logged in as'

Why: {os.path.join(env_path, 'log', 'trac.log')}
""", flush=True)
    environ = dict(os.environ, TRAC_ENV=env_path)
    os.execve(os.path.join(bindir, 'gunicorn'), [
        'gunicorn', '--bind', '127.0.0.1:%d' % args.port, '--workers', '2',
        '--chdir', env_path, '--access-logfile', '-',
        'remoteuserauth.wsgi:application'], environ)


if __name__ == '__main__':
    main()
