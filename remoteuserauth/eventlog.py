"""The plugin's throttled log: one line per peer and kind of event.

A hostile client can send a refused header thousands of times a second,
each time spelt differently. A log throttle keyed by anything the client
chose (the refused name, a token's `kid`, an Authorization scheme) would
let every spelling through: the key here is only the kind of event, a
constant of the plugin's, and the peer (or, for a configuration problem,
the option), never the text. What the client sent may appear in the line
itself, escaped and cut short by `names.client_text`.
"""

from trac.core import Component

from remoteuserauth.core.throttle import LogThrottle

#: `log_interval` when its value is unusable.
DEFAULT_INTERVAL = 300


class EventLog(Component):
    """The one throttle every component of the plugin logs refusals and
    repeated problems through; `[remoteuser] log_interval` applies to
    all of them."""

    def __init__(self):
        self._throttle = LogThrottle(DEFAULT_INTERVAL)

    def write(self, level, kind, scope, message, *args):
        """Log `message % args` at `level` (``'warning'`` ...) unless a
        line of the same `kind` (a constant naming the event, never
        client text) and `scope` (the peer's address, or an option or
        user name the server vouches for) was written within
        `log_interval` seconds. Returns whether it was written."""
        self._throttle.interval = self.interval()
        return self._throttle.log(getattr(self.log, level), (kind, scope),
                                  "TracRemoteUserAuth: " + message, *args,
                                  stacklevel=3)

    def interval(self):
        """`[remoteuser] log_interval`, or its default when unusable
        (the settings' problems say so)."""
        try:
            return max(self.config.getint('remoteuser', 'log_interval',
                                          DEFAULT_INTERVAL), 0)
        except Exception:
            return DEFAULT_INTERVAL
