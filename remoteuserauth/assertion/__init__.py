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

The modules follow the steps: `token` (reading a header and a token),
`keys` (key sets), `sources` (fetching and caching them), `verify` (the
checks), `explain` (for administrators), `rules` (why a token is
refused), `presets` (the products' conventions). This package is their
public face; nothing in it imports Trac.
"""

from remoteuserauth.assertion.explain import explain
from remoteuserauth.assertion.keys import (DEFAULT_ALGORITHMS, HAVE_PYJWT,
                                           SUPPORTED_ALGORITHMS, Key,
                                           describe_key, fits, parse_keys,
                                           parse_algorithms)
from remoteuserauth.assertion.rules import (
    ALGORITHM, AUDIENCE, CONFIG, EXPIRED, FORBIDDEN_ALGORITHM,
    ISSUED_IN_FUTURE, ISSUER, KEY_MISMATCH, MALFORMED, NO_EXPIRY, NO_KEYS,
    NO_KID, NOBODY, NOT_BEARER, NOT_YET_VALID, SEVERAL, SIGNATURE, TOO_LARGE,
    UNKNOWN_KEY, UNSUPPORTED)
from remoteuserauth.assertion.sources import (MAX_KEYS_AGE, MAX_KEYS_SIZE,
                                              MIN_REFRESH, FileKeys, KeyState,
                                              UrlKeys, check_url, fetch_url,
                                              key_source)
from remoteuserauth.assertion.token import (MAX_TOKEN_LENGTH,
                                            TOKEN_KEY_PARAMETERS, Extracted,
                                            claim_list, claim_text, decode,
                                            extract_token, format_time)
from remoteuserauth.assertion.verify import (CACHE_SIZE, Check, Verdict,
                                             Verifier, build)

__all__ = [
    'ALGORITHM', 'AUDIENCE', 'CACHE_SIZE', 'CONFIG', 'Check',
    'DEFAULT_ALGORITHMS', 'EXPIRED', 'Extracted', 'FORBIDDEN_ALGORITHM',
    'FileKeys', 'HAVE_PYJWT', 'ISSUED_IN_FUTURE', 'ISSUER', 'KEY_MISMATCH',
    'Key', 'KeyState', 'MALFORMED', 'MAX_KEYS_AGE', 'MAX_KEYS_SIZE',
    'MAX_TOKEN_LENGTH', 'MIN_REFRESH', 'NOBODY', 'NOT_BEARER',
    'NOT_YET_VALID', 'NO_EXPIRY', 'NO_KEYS', 'NO_KID', 'SEVERAL',
    'SIGNATURE', 'SUPPORTED_ALGORITHMS', 'TOKEN_KEY_PARAMETERS',
    'TOO_LARGE', 'UNKNOWN_KEY', 'UNSUPPORTED', 'UrlKeys', 'Verdict',
    'Verifier', 'build', 'check_url', 'claim_list', 'claim_text', 'decode',
    'describe_key', 'explain', 'extract_token', 'fetch_url', 'fits',
    'format_time', 'key_source', 'parse_algorithms', 'parse_keys',
]
