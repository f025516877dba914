"""Reading the shared secret from a file (``[remoteuser] secret_file``).

A secret in trac.ini travels wherever trac.ini does (backups, support
tickets, configuration management). A file of its own can be readable
by the Trac process only, and replaced by the tool that rotates it
(a Kubernetes secret volume swaps a symbolic link). The secret is the
file's first line without its line end, nothing else stripped.

Whatever the file holds is refused when it could not be what the proxy
sends in a header: an empty line, characters outside printable ASCII
(a byte order mark, control characters, UTF-8), spaces at either end
(HTTP drops them from header values), more than `MAX_BYTES`. The file
is opened without blocking and must be a regular file, so that a FIFO
or a link to ``/dev/zero`` cannot hang or exhaust a request. A problem
is a sentence naming the option; the caller then believes no header at
all. The secret itself never appears in a sentence.

Nothing here imports Trac.
"""

import errno
import os
import stat
import threading
import time
from collections import namedtuple

#: The largest file read, in bytes: a secret is a line, not a document.
MAX_BYTES = 4096

#: Seconds during which the file is not looked at again.
CHECK_INTERVAL = 1.0

Loaded = namedtuple('Loaded', 'secret problem warning stamp')
Loaded.__doc__ = """What `read_secret` found.

- `secret`: the secret, or `None` when `problem` says why not.
- `problem`: a sentence for the log and the admin panel, or `None`.
- `warning`: a sentence about a usable but risky file (others may read
  it), or `None`.
- `stamp`: what identifies this version of the file (device, inode,
  size, modification and change times), or the error that hid it."""

_NO_HEADER = "; no header is believed until it is corrected"


def _stamp(st):
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns, st.st_mode)


def file_stamp(path):
    """The stamp of `path` now, following symbolic links; an error
    stamp when it cannot be examined."""
    try:
        return _stamp(os.stat(path))
    except OSError as e:
        return ('error', e.errno)
    except ValueError:
        # A NUL in the path.
        return ('error', errno.EINVAL)


def read_secret(path):
    """Read the secret from the first line of the file at `path`.

    :return: a `Loaded`; it never raises and never blocks on a FIFO or
             device.
    """
    def refused(why, stamp, warning=None):
        return Loaded(None, "[remoteuser] secret_file %r %s%s"
                      % (path, why, _NO_HEADER), warning, stamp)

    stamp = file_stamp(path)
    if stamp[0] == 'error':
        return refused("cannot be read (%s)" % os.strerror(stamp[1]), stamp)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait
        # for a writer. The type is checked again on the open file, in
        # case the path was swapped since.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY |
                     getattr(os, 'O_CLOEXEC', 0)) \
            if stat.S_ISREG(stamp[5]) else None
    except OSError as e:
        return refused("cannot be read (%s)" % e.strerror, stamp)
    if fd is None:
        return refused("is not a regular file", stamp)
    try:
        st = os.fstat(fd)
        stamp = _stamp(st)
        if not stat.S_ISREG(st.st_mode):
            return refused("is not a regular file", stamp)
        warning = None
        if st.st_mode & 0o077:
            warning = ("[remoteuser] secret_file %r can be read or written "
                       "by users other than its owner (mode %04o): "
                       "chmod 600 it, unless its group holds the Trac "
                       "server's account only"
                       % (path, stat.S_IMODE(st.st_mode)))
        if st.st_size > MAX_BYTES:
            return refused("is %d bytes long, over the limit of %d: the "
                           "secret is its first line only"
                           % (st.st_size, MAX_BYTES), stamp, warning)
        chunks = []
        size = 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        return refused("cannot be read (%s)" % e.strerror, stamp)
    finally:
        os.close(fd)
    data = b''.join(chunks)
    if len(data) > MAX_BYTES:
        return refused("is over the limit of %d bytes: the secret is its "
                       "first line only" % MAX_BYTES, stamp, warning)
    why = line_problem(data)
    if why:
        return refused(why, stamp, warning)
    return Loaded(first_line(data).decode('ascii'), None, warning, stamp)


def first_line(data):
    """The first line of `data` (bytes), without ``\\n`` or ``\\r\\n``."""
    line = data.split(b'\n', 1)[0]
    return line[:-1] if line.endswith(b'\r') else line


def line_problem(data):
    """Why the first line of `data` cannot be a secret, or `None`. The
    sentence tells what is wrong and where, never what the secret is."""
    if data.startswith(b'\xef\xbb\xbf'):
        return ("starts with a byte order mark (some Windows editors write "
                "one): save it as plain ASCII text")
    line = first_line(data)
    if not line.strip(b' '):
        return "has an empty first line: the secret is its first line"
    for offset, byte in enumerate(line):
        if byte < 0x20 or byte == 0x7f:
            return ("holds the control character 0x%02X at byte %d of its "
                    "first line" % (byte, offset))
        if byte > 0x7f:
            return ("holds a byte outside ASCII (0x%02X) at byte %d of its "
                    "first line: proxies differ in how they send such "
                    "characters; use printable ASCII" % (byte, offset))
    if line != line.strip(b' '):
        return ("has spaces at the start or end of its first line, which "
                "HTTP removes from header values")
    return None


class SecretFile(object):
    """The secret of one file, read again when the file changes.

    The file is looked at (one ``stat``) at most once per `interval`
    seconds; it is read again only when its stamp changed. Safe to
    share between threads.

    :param clock: returns the current time in seconds (for tests).
    """

    def __init__(self, interval=None, clock=time.monotonic):
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._path = None
        self._loaded = None
        self._checked = None

    def current(self, path):
        """The `Loaded` secret of `path`, as of at most `interval` ago."""
        interval = CHECK_INTERVAL if self.interval is None else self.interval
        now = self.clock()
        with self._lock:
            loaded = self._loaded
            if path == self._path and loaded is not None:
                if now - self._checked < interval:
                    return loaded
                if file_stamp(path) == loaded.stamp:
                    self._checked = now
                    return loaded
            loaded = read_secret(path)
            self._path, self._loaded, self._checked = path, loaded, now
            return loaded
