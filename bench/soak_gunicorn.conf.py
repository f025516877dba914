# gunicorn settings of `make soak` (bench/soak.py) only; not a sample.
#
# One sync worker serves the Trac projects of a parent folder, bound to
# a Unix socket (nginx's route, the only one trusted_proxies = unix
# believes) and to a loopback port (the forgers' direct route, an
# untrusted peer). SIGUSR2 makes the worker write what it holds into
# $SOAK_STATS: its resident memory and the size of every cache of the
# plugin (and of Trac's cache manager), each with its bound; read
# between the load's phases, never while a request runs. When
# $SOAK_STATS.freeze exists, the handler first moves every object the
# worker holds into the collector's permanent generation (gc.freeze()),
# as large sites do after start-up: Trac collects all garbage after
# each request (gc.collect() in dispatch_request), and with the warmed
# projects frozen that walks only the objects made since, a quarter of
# the request instead of three quarters. Objects made later, a leak's
# included, are walked and counted as before. A frozen object that
# becomes garbage in a cycle is never collected while it is frozen, so
# every REFREEZE requests (and before each snapshot) the worker thaws
# everything, collects, and freezes again: such garbage lives at most
# that long, and the memory measured is what the worker really holds.

import gc
import json
import os
import signal
import sys
import tracemalloc

bind = os.environ['SOAK_BINDS'].split()
wsgi_app = 'remoteuserauth.wsgi:application'
raw_env = ['TRAC_ENV_PARENT_DIR=' + os.environ['SOAK_PARENT']]
workers = 1
timeout = 120
# gunicorn believes SCRIPT_NAME and X-Forwarded-Proto from Unix socket
# peers (nginx) whatever this says; nobody on a port is believed.
forwarded_allow_ips = ''
limit_request_field_size = 32768
accesslog = None


def _rss_kb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def _sqlite_kb():
    """What SQLite itself holds in this process (its page caches, one
    per connection, each at most its cache_size), or -1 when the
    library cannot be asked."""
    try:
        import ctypes
        import ctypes.util
        lib = ctypes.CDLL(ctypes.util.find_library('sqlite3'))
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        return lib.sqlite3_memory_used() // 1024
    except Exception:
        return -1


def _caches():
    """(project, cache, size, bound) of every cache the plugin keeps in
    this process, and Trac's own cache manager's, without creating a
    component that does not exist yet."""
    import trac.env
    from trac.cache import CacheManager
    from remoteuserauth.core import trust
    from remoteuserauth import cookies, groupsync, tokens
    from remoteuserauth.auth import MAX_DOOR_VERDICTS, RemoteUserAuthenticator
    from remoteuserauth.decision import memo
    from remoteuserauth.bindings import AccountBindings
    from remoteuserauth.eventlog import EventLog
    from remoteuserauth import ownership
    from remoteuserauth.ownership import NameOwnership
    from remoteuserauth.settings import RemoteUserSettings
    rows = []
    for name in ('_trusted_network', '_trusted_network_name'):
        info = getattr(trust, name).cache_info()
        rows.append(('*', 'core.trust.%s (lru_cache)' % name, info.currsize,
                     '%d (TRUSTED_CACHE_SIZE)' % info.maxsize))
    for path, env in sorted(trac.env.env_cache.items()):
        project = os.path.basename(path)
        get = env.components.get
        log = get(EventLog)
        if log is not None:
            rows.append((project, 'EventLog throttle keys',
                         len(log._throttle._seen),
                         '%d (max_keys)' % log._throttle.max_keys))
        login = get(cookies.LoginCookies)
        if login is not None:
            rows.append((project, 'LoginCookies owners', len(login._owners),
                         '%d (MAX_REMEMBERED)' % cookies.MAX_REMEMBERED))
        pats = get(tokens.PersonalTokens)
        if pats is not None:
            rows.append((project, 'PersonalTokens last uses',
                         len(pats._touched),
                         '%d (_MAX_TOUCHED)' % tokens._MAX_TOUCHED))
            rows.append((project, 'PersonalTokens records (Trac cache)',
                         len(pats._records), 'rows of remoteuser_token'))
            rows.append((project, "PersonalTokens owners' policy verdicts",
                         len(pats._verdicts),
                         '%d (_MAX_OWNERS)' % tokens._MAX_OWNERS))
            rows.append((project, 'PersonalTokens owners let in',
                         len(pats._let_in),
                         '%d (_MAX_OWNERS)' % tokens._MAX_OWNERS))
        auth = get(RemoteUserAuthenticator)
        if auth is not None:
            rows.append((project, 'decisions remembered (DecisionMemo)',
                         len(auth._memo), '%d (memo.MAX_ENTRIES)'
                         % memo.MAX_ENTRIES))
            rows.append((project, "decisions remembered: keys' characters",
                         auth._memo.characters(), '%d (memo.MAX_CHARACTERS)'
                         % memo.MAX_CHARACTERS))
            rows.append((project, 'door verdicts remembered',
                         len(auth._door_verdicts), '%d (MAX_DOOR_VERDICTS)'
                         % MAX_DOOR_VERDICTS))
        sync = get(groupsync.GroupSynchronizer)
        if sync is not None:
            rows.append((project, 'GroupSynchronizer users in step',
                         len(sync._in_step[1]),
                         '%d (_MAX_IN_STEP)' % groupsync._MAX_IN_STEP))
        owners = get(NameOwnership)
        if owners is not None and owners.recording():
            rows.append((project, 'NameOwnership owners (Trac cache)',
                         len(owners.owners().names),
                         'rows of remoteuser_owner'))
            rows.append((project, 'NameOwnership names known owned',
                         len(owners._known), '%d (MAX_KNOWN_OWNED)'
                         % ownership.MAX_KNOWN_OWNED))
        bindings = get(AccountBindings)
        if bindings is not None:
            try:
                size = len(bindings._bindings)
            except Exception:
                size = 0
            rows.append((project, 'AccountBindings (Trac cache)', size,
                         'rows of remoteuser_binding'))
        settings = get(RemoteUserSettings)
        verifier = settings and settings._verifier_cache[1]
        if verifier is not None:
            rows.append((project, 'assertion Verifier verdicts',
                         len(verifier._cache),
                         '%d (cache_size)' % verifier.cache_size))
        manager = get(CacheManager)
        if manager is not None:
            rows.append((project, "Trac's CacheManager entries",
                         len(manager._cache), 'one per @cached property'))
    return rows


#: Requests between two full collections once the worker is frozen.
REFREEZE = 5000
_served = [0]
_frozen = [False]     # (gc.get_freeze_count() walks every frozen object)


def _refreeze():
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _frozen[0] = True


def post_request(worker, req, environ, resp):
    if _frozen[0]:
        _served[0] += 1
        if _served[0] % REFREEZE == 0:
            _refreeze()


def _snapshot(signum, frame):
    path = os.environ['SOAK_STATS']
    asked = os.path.exists(path + '.freeze')
    if asked:
        os.unlink(path + '.freeze')
    if asked or _frozen[0]:
        _refreeze()
    try:
        frozen = gc.get_freeze_count()
        data = {'rss_kb': _rss_kb(),
                'objects': len(gc.get_objects()) + frozen,
                'frozen': frozen, 'refreeze': REFREEZE,
                'python_blocks': sys.getallocatedblocks(),
                'sqlite_kb': _sqlite_kb(), 'caches': _caches()}
    except Exception as e:  # said in the snapshot, never a dead worker
        data = {'rss_kb': _rss_kb(), 'error': repr(e)}
    if tracemalloc.is_tracing():
        # Taken after the collection above, so only what is still held.
        tracemalloc.take_snapshot().dump(path + '.tracemalloc')
        data['tracemalloc'] = path + '.tracemalloc'
    with open(path + '.tmp', 'w') as f:
        json.dump(data, f)
    os.rename(path + '.tmp', path)


def post_worker_init(worker):
    # After gunicorn's own signal handlers: SIGUSR2 would otherwise end
    # the worker.
    signal.signal(signal.SIGUSR2, _snapshot)
    frames = int(os.environ.get('SOAK_TRACEMALLOC') or 0)
    if frames:
        # `bench/soak.py --trace-memory`: where each block still held
        # at a snapshot was allocated (slower, and the worker's own
        # memory then includes tracemalloc's bookkeeping).
        tracemalloc.start(frames)
