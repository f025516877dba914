"""Keeping repeated refusals from flooding the log.

A misconfigured proxy refuses the same name on every request, and an
attacker can send a hostile header thousands of times a second. The
first occurrence of a message is logged; the same message within the
interval is counted, and the count is reported with the next one that
gets through.
"""

import threading
import time


class LogThrottle(object):
    """Decides which of many identical log messages get written.

    :param interval: seconds during which a message is not repeated.
    :param clock: returns the current time in seconds (for tests).
    :param max_keys: how many distinct messages are remembered; the
                     oldest are forgotten first, so hostile input cannot
                     grow this without bound.
    """

    def __init__(self, interval=300, clock=time.monotonic, max_keys=1024):
        self.interval = interval
        self.clock = clock
        self.max_keys = max_keys
        self._seen = {}  # key -> [time last written, suppressed count]
        self._lock = threading.Lock()

    def admit(self, key):
        """Return `None` when a message for `key` is to be dropped,
        otherwise the number of copies dropped since it was last
        written (0 the first time)."""
        now = self.clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.interval:
                entry[1] += 1
                return None
            suppressed = entry[1] if entry is not None else 0
            self._seen.pop(key, None)
            if len(self._seen) >= self.max_keys:
                del self._seen[next(iter(self._seen))]
            self._seen[key] = [now, 0]
            return suppressed

    def log(self, logfunc, key, message, *args, stacklevel=2):
        """Call `logfunc(message, *args)` unless throttled; `stacklevel`
        as `logging.Logger.log` takes it, counted from the caller."""
        suppressed = self.admit(key)
        if suppressed is None:
            return False
        if suppressed:
            message += " (%d similar messages suppressed)"
            args += (suppressed,)
        # stacklevel: the log names the caller's module, not this one.
        logfunc(message, *args, stacklevel=stacklevel)
        return True
