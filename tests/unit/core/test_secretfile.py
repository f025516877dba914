"""[remoteuser] secret_file: the reader on hostile files, and requests
through dispatch_request while the file changes."""

import errno
import os
import threading

import pytest

from conftest import logged_in_as
from remoteuserauth.core import secretfile
from remoteuserauth.core.secretfile import MAX_BYTES, SecretFile, read_secret

SECRET = 'FileSecret-9f4c2e'


def write(path, data, mode=0o600):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)
    return str(path)


def read_bounded(path):
    """read_secret, failing the test instead of hanging it."""
    result = []
    reader = threading.Thread(target=lambda: result.append(read_secret(path)),
                              daemon=True)
    reader.start()
    reader.join(5)
    assert result, "read_secret(%r) hung" % path
    return result[0]


@pytest.mark.parametrize('data, secret', [
    (b'abc', 'abc'),
    (b'abc\n', 'abc'),
    (b'abc\r\n', 'abc'),
    (b'abc\nsecond line \x00\xff\n', 'abc'),
    (b'a b~!', 'a b~!'),
    (b'x' * MAX_BYTES, 'x' * MAX_BYTES),
])
def test_first_line(tmp_path, data, secret):
    loaded = read_bounded(write(tmp_path / 's', data))
    assert loaded.secret == secret and loaded.problem is None
    assert loaded.warning is None


@pytest.mark.parametrize('data, why', [
    (b'', 'empty first line'),
    (b'\n' + SECRET.encode(), 'empty first line'),
    (b'   \r\n', 'empty first line'),
    (b'\xef\xbb\xbf' + SECRET.encode(), 'byte order mark'),
    (SECRET.encode() + b'\x00', 'control character 0x00 at byte 17'),
    (b'\x00' + SECRET.encode(), 'control character 0x00 at byte 0'),
    (SECRET.encode() + b'\rmore\n', 'control character 0x0D'),
    (SECRET.encode() + b'\r\r\n', 'control character 0x0D'),
    (b'\t' + SECRET.encode(), 'control character 0x09'),
    (SECRET.encode() + b'\x7f', 'control character 0x7F'),
    (SECRET.encode() + b'\x1b[2J', 'control character 0x1B'),
    ('s\xe9cret'.encode('utf-8'), 'outside ASCII (0xC3)'),
    ('s\xe9cret'.encode('latin-1'), 'outside ASCII (0xE9)'),
    (SECRET.encode('utf-16'), 'outside ASCII'),
    (b' ' + SECRET.encode(), 'spaces at the start or end'),
    (SECRET.encode() + b' \n', 'spaces at the start or end'),
    (b'x' * (MAX_BYTES + 1), 'over the limit of 4096'),
    (b'x' * (1 << 20), '1048576 bytes long'),
])
def test_refused_contents(tmp_path, data, why):
    path = write(tmp_path / 's', data)
    loaded = read_bounded(path)
    assert loaded.secret is None
    assert why in loaded.problem
    assert loaded.problem.startswith("[remoteuser] secret_file %r " % path)
    assert loaded.problem.endswith("no header is believed until it is "
                                   "corrected")
    assert 'cret' not in loaded.problem.replace('secret', '')


def test_files_that_are_not_files(tmp_path):
    os.symlink('/dev/zero', str(tmp_path / 'zero'))
    os.mkfifo(str(tmp_path / 'fifo'))
    os.symlink(str(tmp_path / 'fifo'), str(tmp_path / 'to-fifo'))
    for name in ('zero', 'fifo', 'to-fifo', '.'):
        loaded = read_bounded(str(tmp_path / name))
        assert loaded.secret is None
        assert 'is not a regular file' in loaded.problem
    for path in (str(tmp_path / 'missing'), str(tmp_path / 'a\x00b')):
        assert 'cannot be read' in read_bounded(path).problem
    os.symlink(str(tmp_path / 'missing'), str(tmp_path / 'dangling'))
    assert 'No such file' in read_bounded(str(tmp_path / 'dangling')).problem


def test_link_to_a_file_is_followed(tmp_path):
    """A Kubernetes secret volume: the file is a link into a folder
    that is swapped by renaming another link."""
    os.mkdir(str(tmp_path / 'v1'))
    write(tmp_path / 'v1' / 'secret', b'one\n')
    os.symlink('v1', str(tmp_path / '..data'))
    os.symlink('..data/secret', str(tmp_path / 'secret'))
    reader = SecretFile(interval=0)
    path = str(tmp_path / 'secret')
    assert reader.current(path).secret == 'one'
    os.mkdir(str(tmp_path / 'v2'))
    write(tmp_path / 'v2' / 'secret', b'two\n')
    os.symlink('v2', str(tmp_path / '..tmp'))
    os.rename(str(tmp_path / '..tmp'), str(tmp_path / '..data'))
    assert reader.current(path).secret == 'two'


def test_unreadable_file(tmp_path, monkeypatch):
    # The tests run as root, which chmod cannot stop.
    path = write(tmp_path / 's', b'abc\n')

    def denied(*args):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
    monkeypatch.setattr(os, 'open', denied)
    assert 'cannot be read (Permission denied)' in \
        read_secret(path).problem


@pytest.mark.parametrize('mode, warned', [
    (0o600, False), (0o400, False), (0o640, True), (0o604, True),
    (0o620, True),
])
def test_mode_warning(tmp_path, mode, warned):
    path = write(tmp_path / 's', b'abc\n', mode)
    loaded = read_secret(path)
    assert loaded.secret == 'abc'
    assert bool(loaded.warning) == warned
    if warned:
        assert '(mode %04o)' % mode in loaded.warning
        assert 'chmod 600' in loaded.warning


class Clock(object):
    now = 100.0

    def __call__(self):
        return self.now


def test_read_again_only_when_changed(tmp_path, monkeypatch):
    path = write(tmp_path / 's', b'one\n')
    reads = []
    real = secretfile.read_secret
    monkeypatch.setattr(secretfile, 'read_secret',
                        lambda p: reads.append(p) or real(p))
    stats = []
    real_stamp = secretfile.file_stamp
    monkeypatch.setattr(secretfile, 'file_stamp',
                        lambda p: stats.append(p) or real_stamp(p))
    clock = Clock()
    reader = SecretFile(clock=clock)
    first = reader.current(path)
    assert first.secret == 'one' and len(reads) == 1
    stats.clear()
    for _ in range(100):
        assert reader.current(path) is first
    assert stats == [] and len(reads) == 1
    clock.now += 1.5
    assert reader.current(path) is first
    assert len(stats) == 1 and len(reads) == 1

    # Same size, same modification time, another inode (a rename).
    st = os.stat(path)
    write(tmp_path / 'new', b'two\n')
    os.utime(str(tmp_path / 'new'), ns=(st.st_atime_ns, st.st_mtime_ns))
    os.rename(str(tmp_path / 'new'), path)
    assert reader.current(path) is first      # within the interval
    clock.now += 1.5
    assert reader.current(path).secret == 'two'

    # Same inode, size and modification time: the change time moved.
    st = os.stat(path)
    with open(path, 'r+b') as f:
        f.write(b'six\n')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    clock.now += 1.5
    assert reader.current(path).secret == 'six'

    os.unlink(path)
    clock.now += 1.5
    gone = reader.current(path)
    assert gone.secret is None and 'No such file' in gone.problem
    clock.now += 1.5
    assert reader.current(path) is gone
    # Another path is read at once.
    other = write(tmp_path / 'other', b'seven\n')
    assert reader.current(other).secret == 'seven'


# Through dispatch_request

def as_user(name, secret):
    return [('Remote-User', name), ('X-Secret', secret)]


@pytest.fixture
def file_env(make_env, tmp_path, monkeypatch):
    monkeypatch.setattr(secretfile, 'CHECK_INTERVAL', 0)
    path = write(tmp_path / 'secret', SECRET.encode() + b'\n')
    env = make_env(('remoteuser', 'secret_header', 'X-Secret'),
                   ('remoteuser', 'secret', 'IniSecret-1234'),
                   ('remoteuser', 'secret_file', path))
    env.secret_path = path
    env.admin('permission add root TRAC_ADMIN')
    return env


def test_header_believed_with_the_file_secret(file_env):
    r = file_env.request('/', headers=as_user('alice', SECRET))
    assert r.status == 200 and logged_in_as(r) == 'alice'
    # `secret` in trac.ini is not used beside the file.
    r = file_env.request('/', headers=as_user('alice', 'IniSecret-1234'))
    assert r.status == 200 and logged_in_as(r) is None


def test_file_change_and_removal(file_env):
    assert logged_in_as(file_env.request(
        '/', headers=as_user('alice', SECRET))) == 'alice'
    write(file_env.secret_path, b'Rotated-77aa\r\n')
    r = file_env.request('/', headers=as_user('alice', SECRET))
    assert r.status == 200 and logged_in_as(r) is None
    r = file_env.request('/', headers=as_user('alice', 'Rotated-77aa'))
    assert logged_in_as(r) == 'alice'

    file_env.log()
    os.unlink(file_env.secret_path)
    for secret in ('Rotated-77aa', 'IniSecret-1234', ''):
        r = file_env.request('/', headers=as_user('alice', secret))
        assert r.status == 200 and logged_in_as(r) is None
    log = file_env.log()
    assert log.count("[remoteuser] secret_file %r cannot be read (No such "
                     "file or directory); no header is believed"
                     % file_env.secret_path) == 1
    # The server's own REMOTE_USER does not depend on the secret.
    r = file_env.request('/', remote_user='bob')
    assert logged_in_as(r) == 'bob'

    os.mkfifo(file_env.secret_path)
    r = file_env.request('/', headers=as_user('alice', 'Rotated-77aa'))
    assert r.status == 200 and logged_in_as(r) is None
    assert 'is not a regular file' in file_env.log()


def test_relative_path_and_hostile_file(file_env):
    conf = os.path.join(file_env.path, 'conf')
    write(os.path.join(conf, 'proxy.secret'), b'Rel-5150\x00\n')
    file_env.configure('remoteuser', secret_file='proxy.secret')
    r = file_env.request('/', headers=as_user('alice', 'Rel-5150\x00'))
    assert r.status == 200 and logged_in_as(r) is None
    assert 'control character 0x00' in file_env.log()
    write(os.path.join(conf, 'proxy.secret'), b'Rel-5150\n')
    r = file_env.request('/', headers=as_user('alice', 'Rel-5150'))
    assert logged_in_as(r) == 'alice'


def test_panel_and_check_explain_the_file(file_env):
    os.chmod(file_env.secret_path, 0o644)
    r = file_env.request('/admin/general/remoteuser',
                         headers=as_user('root', SECRET))
    assert r.status == 200 and 'accepted: root' in r.body
    assert 'can be read or written by users other than its owner ' \
           '(mode 0644)' in r.body
    assert '[remoteuser] secret is not used while secret_file is set' \
        in r.body
    assert SECRET not in r.body and 'IniSecret' not in r.body
    assert file_env.secret_path in r.body

    os.unlink(file_env.secret_path)
    out = file_env.admin('remoteuser check', '127.0.0.1', 'alice',
                         'X-Secret=' + SECRET).strip().splitlines()
    assert 'X-Secret: (does not match [remoteuser] secret)' in out
    assert any('cannot be read (No such file' in line for line in out)
    assert out[-1].startswith('refused: header Remote-User is not believed')
    r = file_env.request('/admin/general/remoteuser', remote_user='root')
    assert r.status == 200 and 'cannot be read (No such file' in r.body
    with open(os.path.join(file_env.path, 'log', 'trac.log')) as f:
        log = f.read()
    assert SECRET not in log and 'IniSecret' not in log
