"""Verdicts remembered while what they depend on stays the same.

A verdict on a name (may this door log it in, may this token's owner
use it) depends on the options, Trac's groups and the front end's
names; each of those is a new object when it changes. `Verdicts` keeps
the verdicts made under one such tuple of objects and forgets them all
when another is given. The names are often the client's choice, so it
holds at most `max_entries`, and is emptied when full.

`Admitted` keeps only the items let in, the same way, for a yes that
stays a yes while its objects do when a no may not (a token's owner the
front end does not own yet is asked again on every request).
"""

_MISSING = object()


class Verdicts(object):
    """A bounded memo of verdicts, valid for one `depends` at a time."""

    def __init__(self, max_entries):
        self.max_entries = max_entries
        # (depends, {item: verdict}): replaced whole, so that a thread
        # never reads one dependency's verdicts under another's.
        self._state = (_MISSING, {})

    def __len__(self):
        return len(self._state[1])

    def get(self, depends, item, judge):
        """The verdict on `item` under `depends`: the one remembered,
        or ``judge()``, then remembered."""
        state = self._state
        if state[0] != depends:
            state = self._state = (depends, {})
        kept = state[1]
        verdict = kept.get(item, _MISSING)
        if verdict is _MISSING:
            verdict = judge()
            if len(kept) >= self.max_entries:
                kept.clear()
            kept[item] = verdict
        return verdict


class Admitted(object):
    """The items let in under one `depends` at a time, where a yes stays
    a yes while `depends` does (and a no may not: it is asked again).
    At most `max_entries`; emptied when full."""

    def __init__(self, max_entries):
        self.max_entries = max_entries
        # (depends, {item}): replaced whole, as in `Verdicts`.
        self._state = (_MISSING, set())

    def __len__(self):
        return len(self._state[1])

    def __contains__(self, entry):
        """Whether ``(depends, item)`` was let in."""
        depends, item = entry
        state = self._state
        return state[0] == depends and item in state[1]

    def add(self, depends, item):
        """Remember that `item` is let in under `depends`."""
        state = self._state
        if state[0] != depends:
            state = self._state = (depends, set())
        kept = state[1]
        if len(kept) >= self.max_entries:
            kept.clear()
        kept.add(item)
