"""Personal access tokens: what a token looks like, how it is presented,
and what is kept of it.

A script cannot follow a single sign-on's redirect, so a user logged in
through the front end makes tokens for their scripts. A token is
``tracpat_`` followed by 43 base62 characters carrying 256 random bits
and a 6-character checksum (a typing mistake is told from a forgery
without a look-up). Only its SHA-256 digest is kept: a token is shown
once, when it is made, and never again, logged, or put in a URL. It is
looked up by its digest alone, so how long a look-up takes says nothing
about how much of a guess was right.

Nothing here imports Trac.
"""

import base64
import binascii
import hashlib
import re
import secrets
from collections import namedtuple

from remoteuserauth.core.names import has_forbidden_character

PREFIX = 'tracpat_'
_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
_RANDOM_LENGTH = 43          # 62 ** 43 > 2 ** 256
_CHECK_LENGTH = 6            # 62 ** 6 > 2 ** 32
LENGTH = len(PREFIX) + _RANDOM_LENGTH + _CHECK_LENGTH
_SHAPE = re.compile(r'%s[0-9A-Za-z]{%d}\Z' % (PREFIX,
                                              _RANDOM_LENGTH + _CHECK_LENGTH))

try:
    # CPython's own SHA-256: the same digest as OpenSSL's, which looks
    # its implementation up again for every new hash (a few
    # microseconds each request, more than the hash itself).
    from _sha256 import sha256 as _sha256
except ImportError:     # pragma: no cover (Python 3.12 and later)
    try:
        from _sha2 import sha256 as _sha256
    except ImportError:
        _sha256 = hashlib.sha256

#: The longest Authorization header looked at for a token.
MAX_HEADER = 1024

#: Why a presented token was refused; `Refusal.rule`.
MALFORMED = 'token-malformed'
UNKNOWN = 'token-unknown'
EXPIRED = 'token-expired'
OTHER_USER = 'token-other-user'
OWNER_REFUSED = 'token-owner-refused'
FRONT_END_OTHER = 'token-front-end-other'
DISABLED = 'tokens-disabled'

Presented = namedtuple('Presented', 'token user')
Presented.__doc__ = """A token taken from an Authorization header: the
`token` (text), and the `user` of Basic credentials (`None` for a Bearer
token)."""

Record = namedtuple('Record', 'id owner name created expires last_used')
Record.__doc__ = """What is kept of a token, besides its digest: a
public `id` (what lists and commands name it by), the `owner`, the
`name` its maker gave it, and times in seconds since the epoch
(`last_used` 0 for never)."""


def _base62(number, length):
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return ''.join(reversed(digits))


def _checksum(body):
    return _base62(binascii.crc32(body.encode('ascii')), _CHECK_LENGTH)


def new_token():
    """A new token (text)."""
    body = _base62(secrets.randbits(256), _RANDOM_LENGTH)
    return PREFIX + body + _checksum(body)


def new_id():
    """A new public id for a token: 12 hex digits, nothing of the token
    itself."""
    return secrets.token_hex(6)


def is_well_formed(token):
    """Whether `token` has a token's shape and checksum."""
    if not isinstance(token, str) or not _SHAPE.match(token):
        return False
    body = token[len(PREFIX):-_CHECK_LENGTH]
    return secrets.compare_digest(token[-_CHECK_LENGTH:], _checksum(body))


def digest(token):
    """What is kept of `token`: its SHA-256, hex."""
    return _sha256(token.encode('utf-8', 'surrogatepass')).hexdigest()


_BEARER = 'Bearer ' + PREFIX
_new_tuple = tuple.__new__


def presented(header):
    """The token an ``Authorization`` header value presents: ``Bearer
    TOKEN``, or Basic credentials whose password starts with
    ``tracpat_``. `None` when it presents none (no header, another
    scheme, Basic credentials with a password: not the plugin's
    business), or a `Presented`; its `token` may still be malformed,
    which `is_well_formed` tells."""
    if not header or len(header) > MAX_HEADER:
        return None
    if header.startswith(_BEARER):
        # What clients send; the same as the general case below (made
        # without the named tuple's own constructor, a Python call).
        return _new_tuple(Presented, (header[len('Bearer '):].strip(),
                                      None))
    scheme, _, value = header.strip().partition(' ')
    value = value.strip()
    if scheme.lower() == 'bearer':
        return Presented(value, None) if value.startswith(PREFIX) else None
    if scheme.lower() != 'basic':
        return None
    try:
        text = base64.b64decode(value, validate=True).decode('utf-8')
    except (ValueError, UnicodeDecodeError):
        return None
    user, colon, password = text.partition(':')
    if not colon or not password.startswith(PREFIX):
        return None
    return Presented(password, user)


def on_token_path(path_info, paths):
    """Whether the page `path_info` (below the site's base path) is one
    of `paths`, where tokens are read. Matched exactly, the trailing
    slash aside: ``/login/rpc/x`` is not ``/login/rpc``."""
    if not path_info:
        return False
    path = path_info.rstrip('/') or '/'
    return path in paths


def parse_paths(entries):
    """Validate ``[remoteuser] token_paths``: ``(paths, problems)``."""
    paths = []
    problems = []
    for entry in entries:
        path = entry.strip()
        if not path:
            continue
        if not path.startswith('/') or any(c.isspace() or ord(c) < 32 or
                                           c in '?#' for c in path):
            problems.append("[remoteuser] token_paths: %r is not a path "
                            "below the site (it starts with /, without "
                            "query); it is ignored" % path)
            continue
        paths.append(path.rstrip('/') or '/')
    return frozenset(paths), problems


def lifetime_days(requested, default, maximum):
    """The lifetime in days a maker gets: `requested` (text from a form,
    or `None`) between 1 and `maximum`, else `default` (itself at most
    `maximum`).

    :raise ValueError: with a sentence, for a value that is no number of
                       days or is out of range.
    """
    maximum = max(int(maximum), 1)
    if requested is None or not str(requested).strip():
        return min(max(int(default), 1), maximum)
    try:
        days = int(str(requested).strip())
    except ValueError:
        raise ValueError("%r is not a number of days" % str(requested)[:20])
    if not 1 <= days <= maximum:
        raise ValueError("a token lives from 1 to %d days" % maximum)
    return days


def clean_label(value, limit=80):
    """The name a maker gives a token, or `None` when unusable (control
    or invisible characters, empty, too long)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > limit or has_forbidden_character(text):
        return None
    return text
