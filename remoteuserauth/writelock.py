"""The lock of the plugin's own writes.

Held by every write of the plugin that invalidates one of Trac's caches
(a new session, profile values, group memberships, bindings, owners), so
that no two threads of a process do that at once: on PostgreSQL, two
threads that each invalidate caches in one transaction can each hold
what the other waits for (a cache row, the cache's thread lock) for
ever. See `profilesync.ProfileSynchronizer._store_session`.
"""

import threading

WRITE_LOCK = threading.Lock()
