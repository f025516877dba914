"""Reading a signed assertion: taking the token out of a header value,
decoding its three parts (nothing verified yet), and reading claims.

Nothing here imports Trac."""

import base64
import json
import math
import re
import time
from collections import namedtuple

from remoteuserauth.assertion.rules import (MALFORMED, NOT_BEARER, SEVERAL,
                                            TOO_LARGE, Refusal)
from remoteuserauth.core import groups
from remoteuserauth.core.names import client_text

#: The longest header value looked at, in characters; longer ones are
#: refused before any parsing (real assertions are 1 to 4 KiB).
MAX_TOKEN_LENGTH = 16 * 1024

#: Header parameters by which a token names its own key; never used,
#: their URLs never fetched.
TOKEN_KEY_PARAMETERS = ('jku', 'x5u', 'jwk', 'x5c')

Extracted = namedtuple('Extracted', 'token rule reason')
Extracted.__doc__ = """A token taken out of a header value: `token`, or
`rule` and `reason` when the value was refused, or all `None` when no
value was sent."""


# Reading tokens

_SEPARATOR = re.compile(r'[\s,]').search


def _separated(text):
    """Whether `text` holds a comma or white space. A token is printable
    ASCII, where the only white space is the space: two scans in C
    instead of a regular expression's test of each character against a
    Unicode class (which takes 90 us on a 16 KiB token)."""
    if text.isascii() and text.isprintable():
        return ' ' in text or ',' in text
    return _SEPARATOR(text) is not None


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
    if _separated(text):
        return Extracted(None, SEVERAL, "the header holds several values "
                         "(a comma or white space inside the token): it "
                         "was sent more than once or under two spellings; "
                         "make the proxy set [remoteuser] jwt_header "
                         "exactly once")
    return Extracted(text, None, None)


_B64URL = re.compile(r'[A-Za-z0-9_-]*\Z')


def _b64decode(part, what):
    """Strict base64url: the alphabet only, no padding, and the one
    canonical spelling of the bytes (decoders ignore the low bits of the
    last character, so several spellings would verify alike)."""
    if not _B64URL.match(part) or len(part) % 4 == 1:
        raise Refusal(MALFORMED, "the %s is not base64url" % what)
    data = base64.urlsafe_b64decode(part + '=' * (-len(part) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii') != part:
        raise Refusal(MALFORMED, "the %s is not canonical base64url" % what)
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


def strict_json(text):
    """`json.loads` of `text`, refusing what JSON allows but a signed
    document must not hold: a member named twice (which one would a
    verifier read?) and NaN or Infinity.

    :raise ValueError: for anything else than strict JSON.
    """
    return json.loads(text, object_pairs_hook=_no_duplicates,
                      parse_constant=_no_constant)


def _json_object(data, what):
    try:
        value = strict_json(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise Refusal(MALFORMED, "the %s is not valid JSON (%s)"
                       % (what, client_text(str(e), 120)))
    if not isinstance(value, dict):
        raise Refusal(MALFORMED, "the %s is not a JSON object" % what)
    return value


def decode(token):
    """Split and decode a compact JWS without verifying anything.

    :return: ``(header, claims, signing_input, signature)``.
    :raise Refusal: (rule `MALFORMED`) for anything that is not a
                     well-formed signed JWT.
    """
    if not token.isascii() or token.count('.') != 2:
        raise Refusal(MALFORMED, "the assertion is not a signed JWT (three "
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


def is_number(value):
    """Whether a claim's value is a usable number (not a boolean, not
    infinite)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def format_time(timestamp):
    """A clock value (seconds since the epoch) for people, in UTC."""
    try:
        return time.strftime('%Y-%m-%d %H:%M:%S UTC',
                             time.gmtime(timestamp))
    except (OverflowError, ValueError, OSError):
        return repr(timestamp)
