"""Signed identity assertions: believing a user name because it carries
a valid signature, whatever address it came from.

Identity-aware proxies (Pomerium, Cloudflare Access, Google IAP) and
OpenID Connect relying parties (oauth2-proxy, Apache mod_auth_openidc)
hand the application a JSON Web Token signed by the proxy or by the
identity provider. Anyone can send such a header, so the token proves
something only once every check passes: the signature verifies with a
key the administrator configured (never a key the token names itself),
with an asymmetric algorithm the administrator allowed and that fits
that key, the token has not expired, and it was issued by the expected
issuer for this application (``iss``, ``aud``). ``none`` and the HMAC
family are never accepted: an unsigned token proves nothing, and an
HMAC "signature" checked with a public key is the classic forgery.

Everything here is plain Python over PyJWT's signature primitives (the
optional ``jwt`` extra); it imports nothing from Trac. The clock and the
function that fetches a key URL are parameters, so that tests control
time and count fetches.
"""

import base64
import collections
import json
import math
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import namedtuple

from remoteuserauth import groups, trust
from remoteuserauth.names import client_text

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import (ec, ed448,
                                                           ed25519, rsa)
    from cryptography.hazmat.primitives.serialization import (
        load_pem_public_key)
    from jwt import algorithms as jwt_algorithms
    _ALGORITHM_OBJECTS = jwt_algorithms.get_default_algorithms()
    HAVE_PYJWT = jwt_algorithms.has_crypto
except ImportError:     # the optional `jwt` extra is not installed
    _ALGORITHM_OBJECTS = {}
    HAVE_PYJWT = False

#: The longest header value looked at, in characters; longer ones are
#: refused before any parsing (real assertions are 1 to 4 KiB).
MAX_TOKEN_LENGTH = 16 * 1024

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

#: How many verified tokens are remembered until they expire.
CACHE_SIZE = 1024

#: RSA keys shorter than this are not used.
MIN_RSA_BITS = 2048

DEFAULT_ALGORITHMS = ('RS256', 'PS256', 'ES256', 'EdDSA')

# Each algorithm this module accepts, with the key type (and curve)
# that can verify it. ES512 is ECDSA over P-521, as RFC 7518 names it.
_KEY_TYPES = {
    'RS256': ('RSA', None), 'RS384': ('RSA', None), 'RS512': ('RSA', None),
    'PS256': ('RSA', None), 'PS384': ('RSA', None), 'PS512': ('RSA', None),
    'ES256': ('EC', 'P-256'), 'ES384': ('EC', 'P-384'),
    'ES512': ('EC', 'P-521'),
    'EdDSA': ('OKP', None),
}
SUPPORTED_ALGORITHMS = tuple(_KEY_TYPES)

#: Header parameters by which a token names its own key; never used,
#: their URLs never fetched.
TOKEN_KEY_PARAMETERS = ('jku', 'x5u', 'jwk', 'x5c')

#: Why a token was refused; `Verdict.rule`.
CONFIG = 'configuration'
NOT_BEARER = 'not-bearer'
SEVERAL = 'several-values'
TOO_LARGE = 'too-large'
MALFORMED = 'malformed'
UNSUPPORTED = 'unsupported-header'
FORBIDDEN_ALGORITHM = 'forbidden-algorithm'
ALGORITHM = 'algorithm'
NO_KEYS = 'no-keys'
UNKNOWN_KEY = 'unknown-key'
NO_KID = 'no-kid'
KEY_MISMATCH = 'key-mismatch'
SIGNATURE = 'bad-signature'
NO_EXPIRY = 'no-exp'
EXPIRED = 'expired'
NOT_YET_VALID = 'not-yet-valid'
ISSUED_IN_FUTURE = 'issued-in-future'
ISSUER = 'wrong-issuer'
AUDIENCE = 'wrong-audience'

#: Refusals that mean "no assertion was sent" (an ``Authorization``
#: header with another scheme, such as a browser's Basic credentials):
#: nobody, rather than a forged or broken assertion.
NOBODY = frozenset((NOT_BEARER,))

Extracted = namedtuple('Extracted', 'token rule reason')
Extracted.__doc__ = """A token taken out of a header value: `token`, or
`rule` and `reason` when the value was refused, or all `None` when no
value was sent."""

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

Key = namedtuple('Key', 'kid kty crv alg key source')
Key.__doc__ = """A verification key: its `kid` (or `None`), type
(``RSA``, ``EC``, ``OKP``), curve, the `alg` it states (or `None`), the
public key object and where it came from (a URL or a path)."""

KeyState = namedtuple('KeyState', 'keys generation loaded_at attempted_at '
                      'error problems')
KeyState.__doc__ = """The keys a source holds now: `keys` (a tuple of
`Key`), a `generation` that changes whenever they change, when they were
loaded and last tried (clock seconds, or `None`), the last error (or
`None`), and the entries of the key set that were left out."""

_EMPTY_STATE = KeyState((), 0, None, None, None, ())


# Reading tokens

_SEPARATOR = re.compile(r'[\s,]').search


def extract_token(value, bearer=False):
    """Take the token out of a header value.

    :param value: the header value as the server passed it, or `None`.
    :param bearer: the header is ``Authorization``: the value must be
                   ``Bearer <token>`` (the scheme in any case).
    :return: an `Extracted`. A value longer than `MAX_TOKEN_LENGTH` is
             refused before anything else is done with it; a comma or
             white space inside the token means the server joined
             several headers, and is refused.
    """
    if value is None:
        return Extracted(None, None, None)
    if len(value) > MAX_TOKEN_LENGTH:
        return Extracted(None, TOO_LARGE, "the assertion is %d characters "
                         "long, over the limit of %d"
                         % (len(value), MAX_TOKEN_LENGTH))
    text = value.strip(' \t')
    if not text:
        return Extracted(None, None, None)
    if bearer:
        scheme, _, text = text.partition(' ')
        if scheme.lower() != 'bearer':
            return Extracted(None, NOT_BEARER, "the Authorization header "
                             "holds %s credentials, not a Bearer token"
                             % client_text(scheme[:20]))
        text = text.lstrip(' ')
        if not text:
            return Extracted(None, MALFORMED, "the Authorization header "
                             "says Bearer but holds no token")
    if _SEPARATOR(text):
        return Extracted(None, SEVERAL, "the header holds several values "
                         "(a comma or white space inside the token): it "
                         "was sent more than once or under two spellings; "
                         "make the proxy set [remoteuser] jwt_header "
                         "exactly once")
    return Extracted(text, None, None)


class _Refusal(Exception):
    def __init__(self, rule, reason):
        Exception.__init__(self, reason)
        self.rule = rule
        self.reason = reason


_B64URL = re.compile(r'[A-Za-z0-9_-]*\Z')


def _b64decode(part, what):
    """Strict base64url: the alphabet only, no padding, and the one
    canonical spelling of the bytes (decoders ignore the low bits of the
    last character, so several spellings would verify alike)."""
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise _Refusal(MALFORMED, "the %s is not base64url" % what)
    data = base64.urlsafe_b64decode(part + '=' * (-len(part) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii') != part:
        raise _Refusal(MALFORMED, "the %s is not canonical base64url" % what)
    return data


def _no_duplicates(pairs):
    seen = {}
    for name, value in pairs:
        if name in seen:
            raise ValueError("member %s appears twice" % client_text(name))
        seen[name] = value
    return seen


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def _json_object(data, what):
    try:
        value = json.loads(data.decode('utf-8'),
                           object_pairs_hook=_no_duplicates,
                           parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _Refusal(MALFORMED, "the %s is not valid JSON (%s)"
                       % (what, client_text(str(e), 120)))
    if not isinstance(value, dict):
        raise _Refusal(MALFORMED, "the %s is not a JSON object" % what)
    return value


def decode(token):
    """Split and decode a compact JWS without verifying anything.

    :return: ``(header, claims, signing_input, signature)``.
    :raise _Refusal: (rule `MALFORMED`) for anything that is not a
                     well-formed signed JWT.
    """
    if not token.isascii() or token.count('.') != 2:
        raise _Refusal(MALFORMED, "the assertion is not a signed JWT (three "
                       "base64url parts joined by dots); check that "
                       "[remoteuser] jwt_header names the header that "
                       "carries it")
    header_b64, payload_b64, signature_b64 = token.split('.')
    header = _json_object(_b64decode(header_b64, 'token header'),
                          'token header')
    claims = _json_object(_b64decode(payload_b64, 'token payload'),
                          'token payload')
    signature = _b64decode(signature_b64, 'signature')
    return (header, claims, (header_b64 + '.' + payload_b64).encode('ascii'),
            signature)


# Keys

def _describe_key_object(public):
    """``(kty, crv)`` of a public key object, or `None` when it cannot
    verify any algorithm accepted here."""
    if isinstance(public, rsa.RSAPublicKey):
        return 'RSA', None
    if isinstance(public, ec.EllipticCurvePublicKey):
        crv = {'secp256r1': 'P-256', 'secp384r1': 'P-384',
               'secp521r1': 'P-521'}.get(public.curve.name)
        return ('EC', crv) if crv else None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return 'OKP', 'Ed25519'
    if isinstance(public, ed448.Ed448PublicKey):
        return 'OKP', 'Ed448'
    return None


def _public(key):
    """The public half of `key`, and whether `key` was private."""
    for private in (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
                    ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey):
        if isinstance(key, private):
            return key.public_key(), True
    return key, False


def _make_key(public, kid, alg, source, label, problems):
    described = _describe_key_object(public)
    if described is None:
        problems.append("%s: not an RSA, EC (P-256, P-384, P-521) or "
                        "Ed25519/Ed448 public key; left out" % label)
        return None
    kty, crv = described
    if kty == 'RSA' and public.key_size < MIN_RSA_BITS:
        problems.append("%s: RSA key of %d bits, under %d; left out"
                        % (label, public.key_size, MIN_RSA_BITS))
        return None
    if alg is not None and not fits(alg, kty, crv):
        problems.append("%s: states alg %s, which a%s %s key cannot verify "
                        "here; left out" % (label, client_text(alg),
                                            'n' if kty[0] in 'AEIOU' else '',
                                            crv or kty))
        return None
    return Key(kid, kty, crv, alg, public, source)


def _jwk_key(entry, source, index, problems):
    label = "key %d of %s" % (index, source)
    if not isinstance(entry, dict):
        problems.append("%s is not a JSON object; left out" % label)
        return None
    kid = entry.get('kid')
    if kid is not None:
        if not isinstance(kid, str):
            problems.append("%s: kid is not a string; left out" % label)
            return None
        label = "key %s of %s" % (client_text(kid), source)
    kty = entry.get('kty')
    use = entry.get('use')
    if use is not None and use != 'sig':
        return None     # an encryption key of the same set
    ops = entry.get('key_ops')
    if ops is not None and (not isinstance(ops, list) or 'verify' not in ops):
        return None
    alg = entry.get('alg')
    if alg is not None and not isinstance(alg, str):
        problems.append("%s: alg is not a string; left out" % label)
        return None
    if kty == 'oct' or (alg or '').upper().startswith('HS'):
        problems.append("%s is a shared secret (HMAC), which is never "
                        "accepted; left out" % label)
        return None
    loaders = {'RSA': 'RSAAlgorithm', 'EC': 'ECAlgorithm',
               'OKP': 'OKPAlgorithm'}
    if kty not in loaders:
        problems.append("%s: key type %s is not supported; left out"
                        % (label, client_text(kty)))
        return None
    try:
        key = getattr(jwt_algorithms, loaders[kty]).from_jwk(entry)
    except Exception as e:
        problems.append("%s does not load (%s); left out"
                        % (label, client_text(str(e), 120)))
        return None
    public, was_private = _public(key)
    if was_private:
        problems.append("%s holds a private key: publish only public keys "
                        "(its public half is used)" % label)
    return _make_key(public, kid, alg, source, label, problems)


_PEM_BLOCK = re.compile(rb'-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----',
                        re.S)


def _pem_keys(data, source, problems):
    keys = []
    for index, match in enumerate(_PEM_BLOCK.finditer(data), 1):
        label = "PEM block %d of %s" % (index, source)
        kind = match.group(1).decode('ascii')
        try:
            if kind == 'CERTIFICATE':
                public = x509.load_pem_x509_certificate(
                    match.group(0)).public_key()
            elif kind in ('PUBLIC KEY', 'RSA PUBLIC KEY'):
                public = load_pem_public_key(match.group(0))
            else:
                problems.append("%s is a %s, not a public key or "
                                "certificate; left out" % (label, kind))
                continue
        except Exception as e:
            problems.append("%s does not load (%s); left out"
                            % (label, client_text(str(e), 120)))
            continue
        key = _make_key(public, None, None, source, label, problems)
        if key is not None:
            keys.append(key)
    if not keys and not problems:
        problems.append("%s holds no PEM block" % source)
    return keys


def parse_keys(data, source):
    """Read a JSON Web Key Set, a single JWK, or PEM public keys and
    certificates.

    :return: ``(keys, problems)``: the usable `Key` tuples and one
             sentence for each entry left out (HMAC secrets, encryption
             keys are skipped silently, weak or malformed keys). Two keys
             with the same ``kid``: only the first is kept, so a ``kid``
             never names two keys.
    """
    problems = []
    text = data.lstrip()
    if text.startswith(b'{'):
        try:
            document = json.loads(text.decode('utf-8'),
                                  object_pairs_hook=_no_duplicates,
                                  parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            return [], ["%s is not valid JSON (%s)"
                        % (source, client_text(str(e), 120))]
        if isinstance(document.get('keys'), list):
            entries = document['keys']
        elif 'kty' in document:
            entries = [document]
        else:
            return [], ["%s is neither a JSON Web Key Set (no \"keys\" "
                        "list) nor a JSON Web Key" % source]
        found = [_jwk_key(entry, source, index, problems)
                 for index, entry in enumerate(entries, 1)]
        keys = [key for key in found if key is not None]
    elif b'-----BEGIN' in text:
        keys = _pem_keys(text, source, problems)
    else:
        return [], ["%s is neither a JSON Web Key Set nor PEM" % source]
    unique = []
    seen = set()
    for key in keys:
        if key.kid is not None and key.kid in seen:
            problems.append("two keys of %s have kid %s; only the first is "
                            "used" % (source, client_text(key.kid)))
            continue
        seen.add(key.kid)
        unique.append(key)
    return unique, problems


def fits(alg, kty, crv):
    """Whether a key of type `kty` (and curve `crv`) can verify `alg`."""
    wanted = _KEY_TYPES.get(alg)
    if wanted is None or wanted[0] != kty:
        return False
    return wanted[1] is None or wanted[1] == crv


def check_url(url):
    """`None` when `url` may serve keys, else the reason it may not:
    keys travel over https, or plain http on this machine only."""
    if re.search(r'[\s\x00-\x1f\x7f]', url):
        return "%s contains white space or a control character" % client_text(url)
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
            "jwt_keys at the final URL" % client_text(newurl, 200), headers, fp)


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
    modification time, size or inode changes (checked on each use).

    File times are only as fine as the kernel's clock tick, so a file
    rewritten twice within one tick can keep its signature: for a few
    seconds after a change the content itself is compared too.
    """

    kind = 'file'

    #: Seconds after its modification during which a file is compared
    #: by content as well as by its signature.
    RACY = 2

    def __init__(self, path, clock=time.time, report=None, limit=None):
        _KeySource.__init__(self, path, clock, report)
        self.limit = MAX_KEYS_SIZE if limit is None else limit
        self._signature = None
        self._data = None
        self._racy = False

    def state(self):
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
        return self.state()


def describe_key(key):
    """``kid 'abc' (EC P-256, alg ES256)`` for a `Key`."""
    kid = "kid %s" % client_text(key.kid) if key.kid is not None else "no kid"
    return "%s (%s%s%s)" % (kid, key.kty, ' ' + key.crv if key.crv else '',
                            ', alg ' + key.alg if key.alg else '')


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


# Settings

def parse_algorithms(entries):
    """Validate ``[remoteuser] jwt_algorithms``.

    :return: ``(algorithms, problems)``. ``none`` and the HMAC family
             are dropped (an unsigned token, or one "signed" with a
             public key used as an HMAC secret, proves nothing), and so
             are names this module does not know; the others apply.
             Names are matched without regard to case.
    """
    known = {name.lower(): name for name in SUPPORTED_ALGORITHMS}
    algorithms = []
    problems = []
    for entry in entries:
        name = entry.strip()
        if not name:
            continue
        if name.lower() == 'none' or name.upper().startswith('HS'):
            problems.append("[remoteuser] jwt_algorithms: %s is never "
                            "accepted (unsigned or HMAC tokens prove "
                            "nothing); it is ignored" % client_text(name))
        elif name.lower() in known:
            if known[name.lower()] not in algorithms:
                algorithms.append(known[name.lower()])
        else:
            problems.append("[remoteuser] jwt_algorithms: %s is not one of "
                            "%s; it is ignored"
                            % (client_text(name), ', '.join(SUPPORTED_ALGORITHMS)))
    return tuple(algorithms), problems


# Verifying

def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def format_time(timestamp):
    """A clock value (seconds since the epoch) for people, in UTC."""
    try:
        return time.strftime('%Y-%m-%d %H:%M:%S UTC',
                             time.gmtime(timestamp))
    except (OverflowError, ValueError, OSError):
        return repr(timestamp)


class _Attempt(object):
    """What one verification found so far, for its `Verdict`."""

    def __init__(self):
        self.header = self.claims = self.kid = self.alg = self.key = None
        self.checks = []

    def fail(self, name, rule, reason):
        self.checks.append(Check(name, False, reason))
        raise _Refusal(rule, reason)

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
        except _Refusal as refusal:
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

        :raise _Refusal: at the first check that fails.
        """
        fail = attempt.fail
        checks = attempt.checks
        try:
            header, claims, signing_input, signature = decode(token)
        except _Refusal as refusal:
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
            valid = _ALGORITHM_OBJECTS[alg].verify(signing_input, key.key,
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
        if not _number(exp):
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
            if not _number(value):
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
             % (client_text(aud), ', '.join(client_text(a) for a in self.audience)))

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


# Claims

def claim_text(claims, name):
    """The string claim `name`, or `None` when it is absent, not a
    string, or not encodable text (a lone surrogate)."""
    value = claims.get(name) if name else None
    if not isinstance(value, str):
        return None
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        return None
    return value


def claim_list(claims, name):
    """The claim `name` as a list of strings: a JSON list of strings,
    or one string separated by commas or ``|``; `None` when absent.
    Only ASCII spaces around an entry are removed (`groups.sort_groups`
    decides which entries are usable); empty entries and text that is
    not Unicode (lone surrogates) are left out."""
    value = claims.get(name) if name else None
    if isinstance(value, str):
        value = groups.split_groups(value)
    if not isinstance(value, list):
        return None
    items = []
    for item in value:
        if isinstance(item, str) and item.strip(' '):
            try:
                item.encode('utf-8')
            except UnicodeEncodeError:
                continue
            items.append(item.strip(' '))
    return items


# Explaining

def explain(verdict, status=None):
    """Lines explaining `verdict` for an administrator: the token's
    header and claims (marked unverified unless accepted), the key, and
    each check with its result. The verdict line itself is the caller's.
    """
    lines = []
    if verdict.header is not None:
        lines.append("token header: %s" % json.dumps(verdict.header,
                                                     sort_keys=True))
    if verdict.claims is not None:
        lines.append("claims%s: %s" % (
            '' if verdict.accepted else " (not verified)",
            json.dumps(verdict.claims, sort_keys=True, ensure_ascii=False)))
        for name in ('exp', 'nbf', 'iat'):
            if _number(verdict.claims.get(name)):
                lines.append("  %s = %s" % (name,
                                            format_time(verdict.claims[name])))
    if status is not None:
        lines.append("keys: %d from %s%s" % (
            len(status['keys']), status['source'],
            ", loaded %s" % format_time(status['loaded_at'])
            if status['loaded_at'] else ", never loaded"))
        if status['error']:
            lines.append("  last error: %s" % status['error'])
    for check in verdict.checks:
        mark = {True: 'ok', False: 'FAILED', None: 'note'}[check.ok]
        lines.append("check %s: %s: %s" % (check.name, mark, check.detail))
    return lines
