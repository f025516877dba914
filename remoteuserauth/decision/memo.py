"""The decisions of header and ``REMOTE_USER`` requests, remembered.

A browser behind a front end sends the same name, from the same proxy,
on every request; `decide` would clean and judge it anew each time.
`DecisionMemo` keeps each decision under every value `decide` reads for
it (`inputs`), for as long as the settings and the names no user may
have are the same objects (each a new object when it changes).

A signed assertion's decision also depends on the time (its expiry) and
on the keys: it is kept only when the assertion was accepted, with the
token, and given again only while the verifier gives the very verdict
it was made with (the verifier keeps a verdict while the token is
unexpired and the keys the same, and makes a new one otherwise).

The values are the client's choice, so the memo is bounded twice: in
entries, and in the characters its keys and decisions hold (a decision
notes every value it ignored); it is emptied when either is reached. A
request whose key and notes are too large to keep is decided every
time.
"""

from remoteuserauth.assertion import extract_token
from remoteuserauth.core import trust
from remoteuserauth.decision.decide import decide

#: How many decisions are kept, and how many characters their keys,
#: notes and assertions' tokens may hold together: two megabytes of
#: text at most.
MAX_ENTRIES = 1024
MAX_CHARACTERS = 2 << 20

#: A request whose inputs hold more characters than this is decided
#: every time (a groups header of a few hundred entries, or an
#: assertion of 16 KiB, the plugin's limit, with its token, still fit).
MAX_KEY_CHARACTERS = 40000


def inputs(environ, settings):
    """Every value of `environ` that `decide` reads under `settings`:
    the direct peer, the user-name header, the secret header,
    ``REMOTE_USER``, the profile headers and the assertion's header, in
    a tuple; what is absent is `None`."""
    get = environ.get
    jwt = settings.assertion
    key = (trust.direct_peer(environ),
           get(settings.header_key) if settings.header_key else None,
           get(settings.secret_key) if settings.secret_key else None,
           get('REMOTE_USER'),
           get(jwt.header_key) if jwt and jwt.header_key else None)
    if settings.profile_headers:
        key += tuple([get(name) for _, _, name in settings.profile_headers])
    return key


def size(key):
    """The characters of the text values in `key`."""
    return sum(len(value) for value in key if isinstance(value, str))


class DecisionMemo(object):
    """`decide`, remembered for header and ``REMOTE_USER`` requests."""

    def __init__(self, max_entries=MAX_ENTRIES,
                 max_characters=MAX_CHARACTERS):
        self.max_entries = max_entries
        self.max_characters = max_characters
        # (settings, groups, {key: decision}, [characters held]): one
        # object, replaced whole, so that a thread never pairs one
        # settings' decisions with another's.
        self._state = (None, None, {}, [0])

    def __len__(self):
        return len(self._state[2])

    def characters(self):
        """The characters the keys, notes and tokens kept hold."""
        return self._state[3][0]

    def decide(self, environ, settings, groups=()):
        """`decide(environ, settings, groups)`, the same decision."""
        key = inputs(environ, settings)
        state = self._state
        if state[0] is not settings or state[1] is not groups:
            state = self._state = (settings, groups, {}, [0])
        kept = state[2]
        jwt = settings.assertion
        try:
            found = kept.get(key)
        except TypeError:
            # A value that is no text (not from a WSGI server).
            return decide(environ, settings, groups)
        if found is not None:
            decision, token = found
            if jwt is None or jwt.verifier.verify(token) is \
                    decision.assertion:
                return decision
        decision = decide(environ, settings, groups)
        # The notes quote what was ignored, one for each bad group entry:
        # they may hold far more than the key.
        held = size(key) + sum(map(len, decision.notes))
        if held > MAX_KEY_CHARACTERS:
            return decision
        token = None
        if jwt is not None:
            if decision.assertion is None or \
                    not decision.assertion.accepted:
                return decision
            token = extract_token(key[4], jwt.bearer).token
            held += len(token)
        if len(kept) >= self.max_entries or \
                state[3][0] + held > self.max_characters:
            kept.clear()
            state[3][0] = 0
        kept[key] = (decision, token)
        state[3][0] += held
        return decision
