"""Where the keys come from: a URL fetched on first use and cached, or a
file read again when it changes. The clock and the function that
fetches a URL are parameters, so that tests control time and count
fetches.

Nothing here imports Trac."""

import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import namedtuple

from remoteuserauth.assertion.keys import describe_key, parse_keys
from remoteuserauth.core import trust
from remoteuserauth.core.names import client_text

#: The largest key set accepted from a URL or a file, in bytes.
MAX_KEYS_SIZE = 256 * 1024

#: Seconds a key URL may take to answer.
FETCH_TIMEOUT = 5

#: The least value of `jwt_refresh`: a flood of tokens naming unknown
#: keys must not become a flood of requests to the identity provider.
MIN_REFRESH = 10

#: Keys fetched from a URL longer ago than this are fetched again on
#: next use (within the `jwt_refresh` limit), so a key the issuer
#: withdrew stops verifying even when no token names an unknown key.
MAX_KEYS_AGE = 24 * 3600

KeyState = namedtuple('KeyState', 'keys generation loaded_at attempted_at '
                      'error problems')
KeyState.__doc__ = """The keys a source holds now: `keys` (a tuple of
`Key`), a `generation` that changes whenever they change, when they were
loaded and last tried (clock seconds, or `None`), the last error (or
`None`), and the entries of the key set that were left out."""

_EMPTY_STATE = KeyState((), 0, None, None, None, ())


def check_url(url):
    """`None` when `url` may serve keys, else the reason it may not:
    keys travel over https, or plain http on this machine only."""
    if re.search(r'[\s\x00-\x1f\x7f]', url):
        return "%s contains white space or a control character" \
            % client_text(url)
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname:
        return "%s names no host" % client_text(url)
    if parts.scheme == 'https':
        return None
    if parts.scheme == 'http' and trust.is_loopback_host(parts.hostname):
        return None
    return "%s is not an https:// URL (http:// only for 127.0.0.1, ::1 " \
           "or localhost): keys fetched in the clear could be replaced " \
           "on the way" % client_text(url)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead from https to plain http or elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(
            req.full_url, code, "redirected to %s; point [remoteuser] "
            "jwt_keys at the final URL" % client_text(newurl, 200), headers,
            fp)


def fetch_url(url, timeout=FETCH_TIMEOUT, limit=MAX_KEYS_SIZE):
    """GET `url` and return its body; at most `limit` bytes and about
    `timeout` seconds in all, no redirects.

    :raise Exception: for any failure, with a message for the log.
    """
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={
        'Accept': 'application/jwk-set+json, application/json',
        'User-Agent': 'TracRemoteUserAuth'})
    deadline = time.monotonic() + timeout
    chunks = []
    size = 0
    with opener.open(request, timeout=timeout) as response:
        while True:
            chunk = response.read1(16384)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise ValueError("the answer is larger than %d bytes" % limit)
            if time.monotonic() > deadline:
                raise TimeoutError("no complete answer within %d seconds"
                                   % timeout)
            chunks.append(chunk)
    return b''.join(chunks)


class _KeySource(object):
    """What the two kinds of key source share: the current `KeyState`,
    replaced whole (readers never lock), and one load at a time."""

    kind = None

    def __init__(self, source, clock, report):
        self.source = source
        self.clock = clock
        self.report = report or (lambda level, message: None)
        self._state = _EMPTY_STATE
        self._lock = threading.Lock()
        #: How many times the source was fetched or read.
        self.loads = 0

    @property
    def current(self):
        """The state as it is, without loading anything."""
        return self._state

    def _store(self, data, now):
        keys, problems = parse_keys(data, self.source)
        old = self._state
        for problem in problems:
            self.report('warning', problem)
        if not keys:
            error = "no usable key in %s" % self.source
            self._state = old._replace(attempted_at=now, error=error,
                                       problems=tuple(problems))
            self.report('error', error + "; the keys loaded before, if "
                        "any, stay in use")
            return
        self._state = KeyState(tuple(keys), old.generation + 1, now, now,
                               None, tuple(problems))
        self.report('info', "loaded %d key(s) from %s: %s" % (
            len(keys), self.source,
            ', '.join(describe_key(k) for k in keys)))

    def _failed(self, error, now):
        self._state = self._state._replace(attempted_at=now, error=error)
        self.report('error', "%s; the keys loaded before, if any, stay in "
                    "use" % error)


class UrlKeys(_KeySource):
    """Keys from an https URL, fetched on first use and cached.

    A token naming an unknown key causes one fetch, at most once every
    `refresh` seconds; a fetch running in one thread is waited for, not
    repeated, by the others. A failed fetch keeps the cached keys.

    :param fetch: ``fetch(url, timeout, limit) -> bytes`` (for tests).
    :param clock: seconds, `time.time` by default (for tests).
    :param report: ``report(level, message)`` for the log.
    """

    kind = 'url'

    def __init__(self, url, refresh=300, fetch=fetch_url, clock=time.time,
                 report=None, timeout=None, limit=None):
        _KeySource.__init__(self, url, clock, report)
        self.refresh_interval = refresh
        self.fetch = fetch
        self.timeout = FETCH_TIMEOUT if timeout is None else timeout
        self.limit = MAX_KEYS_SIZE if limit is None else limit

    def _may_fetch(self, state, now):
        if state.attempted_at is None:
            return True
        elapsed = now - state.attempted_at
        return elapsed < 0 or elapsed >= self.refresh_interval

    def state(self):
        """The keys to verify with now: fetched on first use, and again
        once they are older than `MAX_KEYS_AGE`."""
        state = self._state
        if state.attempted_at is None:
            return self._load(state)
        if state.loaded_at is not None and \
                self.clock() - state.loaded_at > MAX_KEYS_AGE and \
                self._may_fetch(state, self.clock()):
            return self._load(state)
        return state

    def refresh(self, seen):
        """Fetch again for a token naming a key `seen` did not hold,
        unless the last fetch is more recent than `refresh` seconds."""
        if self._state is not seen or \
                not self._may_fetch(seen, self.clock()):
            return self._state
        return self._load(seen)

    def _load(self, seen):
        with self._lock:
            if self._state is not seen:
                # Another thread fetched while this one waited.
                return self._state
            now = self.clock()
            self.loads += 1
            try:
                data = self.fetch(self.source, self.timeout, self.limit)
            except Exception as e:
                # URLError wraps the socket's error; HTTPError says the
                # status itself.
                if isinstance(e, urllib.error.URLError) and \
                        not isinstance(e, urllib.error.HTTPError):
                    e = e.reason
                self._failed("fetching %s failed: %s" % (
                    self.source, str(e)[:200]), now)
            else:
                self._store(data, now)
            return self._state


class FileKeys(_KeySource):
    """Keys from a JWKS or PEM file, read again whenever its
    modification time, size or inode changes.

    The file is looked at on first use, then at most once every
    `CHECK_INTERVAL` seconds (a look is a `stat`, a tenth of what the
    plugin spends on a signed-assertion request when made on each); a
    token naming a key the file did not hold makes it look at once. So
    a new key counts at once, and a key removed from the file stops
    verifying within `CHECK_INTERVAL` seconds.

    File times are only as fine as the kernel's clock tick, so a file
    rewritten twice within one tick can keep its signature: for a few
    seconds after a change the content itself is compared too, on every
    use.
    """

    kind = 'file'

    #: Seconds after its modification during which a file is compared
    #: by content as well as by its signature.
    RACY = 2

    #: Seconds between two looks at an unchanged file.
    CHECK_INTERVAL = 1

    def __init__(self, path, clock=time.time, report=None, limit=None):
        _KeySource.__init__(self, path, clock, report)
        self.limit = MAX_KEYS_SIZE if limit is None else limit
        self._signature = None
        self._data = None
        self._racy = False
        self._looked_at = None

    def state(self):
        """The keys to verify with now: the file's, looked at again
        once `CHECK_INTERVAL` seconds have passed (at once while it
        changed in the last `RACY` seconds)."""
        looked_at = self._looked_at
        if looked_at is not None and not self._racy:
            elapsed = self.clock() - looked_at
            if 0 <= elapsed < self.CHECK_INTERVAL:
                return self._state
        return self._look()

    def _look(self):
        self._looked_at = self.clock()
        try:
            st = os.stat(self.source)
        except OSError as e:
            if self._signature != 'missing':
                with self._lock:
                    self._signature = 'missing'
                    self._data = None
                    self._failed("reading %s failed: %s" % (
                        self.source, e.strerror or e), self.clock())
            return self._state
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self._signature and not self._racy:
            return self._state
        with self._lock:
            if signature == self._signature and not self._racy:
                return self._state
            try:
                with open(self.source, 'rb') as f:
                    data = f.read(self.limit + 1)
                if len(data) > self.limit:
                    raise ValueError("larger than %d bytes" % self.limit)
            except (OSError, ValueError) as e:
                self.loads += 1
                self._data = None
                self._failed("reading %s failed: %s" % (
                    self.source, getattr(e, 'strerror', None) or e),
                    self.clock())
            else:
                if data != self._data:
                    self.loads += 1
                    self._data = data
                    self._store(data, self.clock())
            self._signature = signature
            self._racy = time.time() - st.st_mtime < self.RACY
        return self._state

    def refresh(self, seen):
        """Look at the file now: a token names a key it did not hold."""
        return self._look()


def key_source(spec, refresh=300, fetch=fetch_url, clock=time.time,
               report=None):
    """The key source for the value of ``[remoteuser] jwt_keys``.

    :return: ``(source, problem)``: a `UrlKeys` or `FileKeys`, or `None`
             and the sentence saying why not.
    """
    spec = (spec or '').strip()
    if not spec:
        return None, "[remoteuser] jwt_keys is empty"
    if re.match(r'[A-Za-z][A-Za-z0-9+.-]*://', spec):
        problem = check_url(spec)
        if problem:
            return None, "[remoteuser] jwt_keys: " + problem
        return UrlKeys(spec, refresh, fetch, clock, report), None
    return FileKeys(spec, clock, report), None
