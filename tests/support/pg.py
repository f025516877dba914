"""A private PostgreSQL cluster on a loopback port, for the tests."""

import glob
import os
import pwd
import shutil
import subprocess

from deploy import public_dir
from process import Server, free_port, require


def pg_bindir():
    found = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    if not found:
        require('/usr/lib/postgresql/<version>/bin/initdb')
    return os.path.dirname(found[-1])


class PostgreSQL(Server):
    """initdb + postgres in a temporary folder; trust authentication on
    127.0.0.1 only (the cluster exists for the duration of the tests)."""

    def __init__(self):
        bindir = pg_bindir()
        self.dir = public_dir('ruapg-')
        data = os.path.join(self.dir, 'data')
        run_as = []
        if os.getuid() == 0:
            # PostgreSQL refuses to run as root.
            pw = pwd.getpwnam('postgres')
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            run_as = ['runuser', '-u', 'postgres', '--']
        subprocess.run(run_as + [os.path.join(bindir, 'initdb'), '-D', data,
                                 '-U', 'postgres', '--auth=trust',
                                 '--no-sync', '-E', 'UTF8'],
                       check=True, capture_output=True)
        port = free_port()
        Server.__init__(
            self, run_as + [os.path.join(bindir, 'postgres'), '-D', data,
                            '-p', str(port), '-h', '127.0.0.1', '-k',
                            self.dir, '-c', 'fsync=off', '-c',
                            'max_connections=200'],
            port, os.path.join(self.dir, 'postgres.log'))
        self.bindir = bindir

    def create_database(self, name):
        subprocess.run([os.path.join(self.bindir, 'createdb'), '-h',
                        '127.0.0.1', '-p', str(self.port), '-U', 'postgres',
                        name], check=True, capture_output=True)
        return 'postgres://postgres@127.0.0.1:%d/%s' % (self.port, name)

    def stop(self):
        Server.stop(self)
        shutil.rmtree(self.dir, ignore_errors=True)
