"""Verifying a signed assertion against one configuration: every check
in order (format, algorithm, key, signature, expiry, issuer, audience),
the first refusal named by its rule, accepted tokens remembered until
they expire.

Nothing here imports Trac."""

import collections
import threading
import time
from collections import namedtuple

from remoteuserauth.assertion.keys import (ALGORITHM_OBJECTS,
                                           DEFAULT_ALGORITHMS, HAVE_PYJWT,
                                           SUPPORTED_ALGORITHMS, describe_key,
                                           fits, parse_algorithms)
from remoteuserauth.assertion.rules import (
    ALGORITHM, AUDIENCE, CONFIG, EXPIRED, FORBIDDEN_ALGORITHM,
    ISSUED_IN_FUTURE, ISSUER, KEY_MISMATCH, MALFORMED, NO_EXPIRY, NO_KEYS,
    NO_KID, NOT_YET_VALID, SIGNATURE, UNKNOWN_KEY, UNSUPPORTED, Refusal)
from remoteuserauth.assertion.sources import MIN_REFRESH, fetch_url, key_source
from remoteuserauth.assertion.token import (TOKEN_KEY_PARAMETERS, decode,
                                            format_time, is_number)
from remoteuserauth.core.names import client_text

#: How many verified tokens are remembered until they expire.
CACHE_SIZE = 1024

Check = namedtuple('Check', 'name ok detail')
Check.__doc__ = """One step of a verification: `ok` is `True`, `False`
(the step refused the token) or `None` (information only)."""

Verdict = namedtuple('Verdict', 'accepted claims header kid alg key checks '
                     'rule reason')
Verdict.__doc__ = """The outcome of `Verifier.verify`.

- `accepted`: every check passed; `claims` may then be believed.
- `claims`, `header`: the decoded payload and JOSE header, when the
  token could be decoded (not verified unless `accepted`), else `None`.
- `kid`, `alg`: the key id and algorithm the token names.
- `key`: the configured `Key` that verified it (or was tried).
- `checks`: the `Check` steps, in order, up to the first failure.
- `rule`, `reason`: why it was refused (one of the constants above and a
  sentence naming the option to change); `None` when accepted."""

class _Attempt(object):
    """What one verification found so far, for its `Verdict`."""

    def __init__(self):
        self.header = self.claims = self.kid = self.alg = self.key = None
        self.checks = []

    def fail(self, name, rule, reason):
        self.checks.append(Check(name, False, reason))
        raise Refusal(rule, reason)

    def verdict(self, accepted, rule=None, reason=None):
        return Verdict(accepted, self.claims, self.header, self.kid,
                       self.alg, self.key, tuple(self.checks), rule, reason)


class Verifier(object):
    """Checks signed assertions against one configuration.

    Build it with `build`. `verify` is safe to call from many threads;
    accepted tokens are remembered until they expire (or the keys
    change), so a browser's next request costs a dictionary lookup.
    The token itself is the key: equal strings, not equal digests, find
    a verdict, and only verified tokens (at most `cache_size` of them,
    each at most `MAX_TOKEN_LENGTH` long) are kept.
    """

    def __init__(self, keys, issuer, audience, algorithms, leeway=60,
                 clock=time.time, problems=(), blocked=None,
                 cache_size=CACHE_SIZE):
        self.keys = keys
        self.issuer = issuer
        self.audience = tuple(audience)
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.clock = clock
        #: Sentences about the configuration, for the log and the panel.
        self.problems = tuple(problems)
        #: Why no assertion is believed at all, or `None`.
        self.blocked = blocked
        self.cache_size = cache_size
        self._cache = collections.OrderedDict()
        self._cache_lock = threading.Lock()

    def verify(self, token):
        """Verify the compact JWS `token` (from `extract_token`).

        :return: a `Verdict`; it never raises for any input.
        """
        if self.blocked:
            return Verdict(False, None, None, None, None, None, (), CONFIG,
                           self.blocked)
        # No digest: inside a request OpenSSL's sha256 costs 13 us (its
        # code and tables are out of the CPU's caches by then), the
        # lookup by the string well under one.
        now = self.clock()
        state = self.keys.state()
        cached = self._cache.get(token)
        if cached is not None:
            verdict, generation, until = cached
            if generation == state.generation and now < until:
                return verdict
        attempt = _Attempt()
        try:
            generation = self._verify(token, state, now, attempt)
        except Refusal as refusal:
            return attempt.verdict(False, refusal.rule, refusal.reason)
        verdict = attempt.verdict(True)
        if self.cache_size <= 0:
            return verdict
        until = verdict.claims['exp'] + self.leeway
        with self._cache_lock:
            self._cache.pop(token, None)
            while len(self._cache) >= self.cache_size:
                self._cache.popitem(last=False)
            self._cache[token] = (verdict, generation, until)
        return verdict

    def _verify(self, token, state, now, attempt):
        """Run the checks in order, recording them in `attempt`; return
        the generation of the keys that verified the token.

        :raise Refusal: at the first check that fails.
        """
        fail = attempt.fail
        checks = attempt.checks
        try:
            header, claims, signing_input, signature = decode(token)
        except Refusal as refusal:
            fail('format', refusal.rule, refusal.reason)
        attempt.header, attempt.claims = header, claims
        checks.append(Check('format', True, "a signed JWT (JWS compact "
                            "serialization)"))
        alg = header.get('alg')
        kid = header.get('kid')
        attempt.alg = alg if isinstance(alg, str) else None
        attempt.kid = kid if isinstance(kid, str) else None
        if 'crit' in header:
            fail('header', UNSUPPORTED, "the token header lists critical "
                 "extensions (crit), which are not supported")
        named = [p for p in TOKEN_KEY_PARAMETERS if p in header]
        if named:
            checks.append(Check('header', None, "%s in the token header "
                                "ignored: a token never chooses its own key"
                                % ', '.join(named)))
        if not isinstance(alg, str):
            fail('algorithm', MALFORMED, "the token header has no alg")
        if alg.lower() == 'none' or alg.upper().startswith('HS'):
            fail('algorithm', FORBIDDEN_ALGORITHM, "the token's algorithm %s "
                 "is never accepted: an unsigned or HMAC token proves "
                 "nothing; make the proxy sign with a public key "
                 "algorithm" % client_text(alg))
        if alg not in self.algorithms:
            fail('algorithm', ALGORITHM, "the token is signed with %s, which "
                 "[remoteuser] jwt_algorithms (%s) does not list"
                 % (client_text(alg), ', '.join(self.algorithms)))
        checks.append(Check('algorithm', True, "%s is in [remoteuser] "
                            "jwt_algorithms" % alg))
        key, state = self._select_key(kid, state, fail)
        attempt.key = key
        if key.alg is not None and key.alg != alg:
            fail('key', KEY_MISMATCH, "the token is signed with %s but its "
                 "key (%s) states alg %s" % (alg, describe_key(key), key.alg))
        if not fits(alg, key.kty, key.crv):
            fail('key', KEY_MISMATCH, "the token is signed with %s, which "
                 "its key (%s) cannot verify" % (alg, describe_key(key)))
        checks.append(Check('key', True, "%s from %s"
                            % (describe_key(key), key.source)))
        try:
            valid = ALGORITHM_OBJECTS[alg].verify(signing_input, key.key,
                                                   signature)
        except Exception:
            valid = False
        if not valid:
            fail('signature', SIGNATURE, "the signature does not verify with "
                 "%s of [remoteuser] jwt_keys: the token was altered, or "
                 "signed by another issuer" % describe_key(key))
        checks.append(Check('signature', True, "verified"))
        self._check_times(claims, now, fail, checks)
        self._check_issuer(claims, fail, checks)
        self._check_audience(claims, fail, checks)
        return state.generation

    def _select_key(self, kid, state, fail):
        if kid is not None and not isinstance(kid, str):
            fail('key', MALFORMED, "the token's kid is not a string")
        if kid is None:
            if not state.keys:
                state = self.keys.refresh(state)
            if len(state.keys) == 1:
                return state.keys[0], state
            if not state.keys:
                fail('key', NO_KEYS, self._no_keys(state))
            fail('key', NO_KID, "the token names no key (kid) and "
                 "[remoteuser] jwt_keys holds %d keys: a token without kid "
                 "is only checked against a set of exactly one key"
                 % len(state.keys))
        for candidate in state.keys:
            if candidate.kid == kid:
                return candidate, state
        state = self.keys.refresh(state)
        for candidate in state.keys:
            if candidate.kid == kid:
                return candidate, state
        if not state.keys:
            fail('key', NO_KEYS, self._no_keys(state))
        fail('key', UNKNOWN_KEY, "the token's key (kid %s) is not among the "
             "%d key(s) of [remoteuser] jwt_keys (%s); check that jwt_keys "
             "is the issuer's key set" % (client_text(kid), len(state.keys),
                                          self.keys.source))

    def _no_keys(self, state):
        return "no key is loaded from [remoteuser] jwt_keys (%s)%s" % (
            self.keys.source,
            ": " + state.error if state.error else "")

    def _check_times(self, claims, now, fail, checks):
        exp = claims.get('exp')
        if exp is None:
            fail('exp', NO_EXPIRY, "the token has no expiry (exp); tokens "
                 "that never expire are not accepted")
        if not is_number(exp):
            fail('exp', MALFORMED, "the token's exp is not a number")
        if now >= exp + self.leeway:
            fail('exp', EXPIRED, "the token expired at %s, %d s ago "
                 "([remoteuser] jwt_leeway allows %d s): the proxy sent a "
                 "stale token, or the clocks differ"
                 % (format_time(exp), now - exp, self.leeway))
        checks.append(Check('exp', True, "expires at %s" % format_time(exp)))
        for name, rule, what in (('nbf', NOT_YET_VALID, "is not valid "
                                  "before"),
                                 ('iat', ISSUED_IN_FUTURE, "was issued at")):
            value = claims.get(name)
            if value is None:
                continue
            if not is_number(value):
                fail(name, MALFORMED, "the token's %s is not a number" % name)
            if value > now + self.leeway:
                fail(name, rule, "the token %s %s, %d s from now "
                     "([remoteuser] jwt_leeway allows %d s): the clocks "
                     "differ" % (what, format_time(value), value - now,
                                 self.leeway))
            checks.append(Check(name, True, "%s %s"
                                % (what, format_time(value))))

    def _check_issuer(self, claims, fail, checks):
        iss = claims.get('iss')
        if iss != self.issuer:
            fail('iss', ISSUER, "the token's issuer (iss) %s is not "
                 "[remoteuser] jwt_issuer %s" % (client_text(iss),
                                                  client_text(self.issuer)))
        checks.append(Check('iss', True, "%s is [remoteuser] jwt_issuer"
                            % client_text(iss)))

    def _check_audience(self, claims, fail, checks):
        aud = claims.get('aud')
        values = [aud] if isinstance(aud, str) else aud \
            if isinstance(aud, list) else []
        for value in values:
            if isinstance(value, str) and value in self.audience:
                checks.append(Check('aud', True, "%s is in [remoteuser] "
                                    "jwt_audience" % client_text(value)))
                return
        fail('aud', AUDIENCE, "the token's audience (aud) %s holds none of "
             "[remoteuser] jwt_audience (%s)"
             % (client_text(aud),
                ', '.join(client_text(a) for a in self.audience)))

    def status(self):
        """The key source as it is now, for diagnostics: a dict with
        `source`, `kind`, `keys` (`Key` tuples), `loaded_at`,
        `attempted_at`, `error`, `problems` and `loads`."""
        if self.keys is None:
            return None
        state = self.keys.current
        return {'source': self.keys.source, 'kind': self.keys.kind,
                'keys': state.keys, 'loaded_at': state.loaded_at,
                'attempted_at': state.attempted_at, 'error': state.error,
                'problems': state.problems, 'loads': self.keys.loads}


def build(keys='', issuer='', audience=(), algorithms=DEFAULT_ALGORITHMS,
          leeway=60, refresh=300, fetch=fetch_url, clock=time.time,
          report=None, blocked=()):
    """A `Verifier` for the ``[remoteuser] jwt_*`` option values.

    `Verifier.problems` lists what is wrong, one sentence each naming
    the option; while PyJWT is missing or `keys`, `issuer` or `audience`
    is empty (or no algorithm is left, or the caller gives reasons in
    `blocked`), `Verifier.blocked` says so and no token is accepted.
    """
    problems = []
    blocked = list(blocked)
    if not HAVE_PYJWT:
        blocked.append("PyJWT with cryptography is not installed (pip "
                       "install TracRemoteUserAuth[jwt])")
    algorithms, alg_problems = parse_algorithms(algorithms)
    problems.extend(alg_problems)
    if not algorithms:
        blocked.append("[remoteuser] jwt_algorithms names no usable "
                       "algorithm (%s)" % ', '.join(SUPPORTED_ALGORITHMS))
    issuer = (issuer or '').strip()
    if not issuer:
        blocked.append("[remoteuser] jwt_issuer is empty")
    audience = tuple(a.strip() for a in audience if a.strip())
    if not audience:
        blocked.append("[remoteuser] jwt_audience is empty")
    try:
        leeway = max(int(leeway), 0)
    except (TypeError, ValueError):
        problems.append("[remoteuser] jwt_leeway: %s is not a number of "
                        "seconds; 60 is used" % client_text(leeway))
        leeway = 60
    try:
        refresh = int(refresh)
    except (TypeError, ValueError):
        problems.append("[remoteuser] jwt_refresh: %s is not a number of "
                        "seconds; 300 is used" % client_text(refresh))
        refresh = 300
    if refresh < MIN_REFRESH:
        problems.append("[remoteuser] jwt_refresh: %d seconds is too short; "
                        "%d is used" % (refresh, MIN_REFRESH))
        refresh = MIN_REFRESH
    source = None
    if HAVE_PYJWT:
        source, problem = key_source(keys, refresh, fetch, clock, report)
        if problem:
            blocked.append(problem)
    if blocked:
        blocked_text = "no assertion is believed: %s" % '; '.join(blocked)
        problems.insert(0, blocked_text)
    else:
        blocked_text = None
    return Verifier(source, issuer, audience, algorithms, leeway, clock,
                    problems, blocked_text)
