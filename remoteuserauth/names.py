"""Turning what a front end sends into a Trac user name, or refusing it.

A front end hands Trac a user name in a header or in ``REMOTE_USER``.
Whatever arrives there is text that someone else produced, so it is
cleaned (domain and realm stripped, case folded) and refused when it
could hurt: a name that Trac treats specially (``anonymous``,
``authenticated``), the literal ``(null)`` Apache sends when nobody
logged in, a permission group's name (its members' rights would be
inherited), or a value that can only come from a broken or hostile
chain of proxies (control characters, commas from joined duplicate
headers, absurd lengths).

Nothing here imports Trac: these are plain functions, tested directly.
"""

import unicodedata
from collections import namedtuple

#: The longest user name accepted, in characters.
MAX_NAME_LENGTH = 255

#: Names Trac gives a meaning of its own, and Apache's "nobody logged in".
RESERVED_NAMES = frozenset(('anonymous', 'authenticated'))

#: What Apache's ``%{REMOTE_USER}s`` sends when nobody logged in.
APACHE_NULL = '(null)'

# The unicode categories that have no business in a user name: control
# characters (C0, DEL, C1), invisible formatting characters (zero-width
# joiners, bidirectional overrides that make "admin" out of other
# letters), line and paragraph separators, surrogates and unassigned
# code points.
_FORBIDDEN_CATEGORIES = frozenset(('Cc', 'Cf', 'Cs', 'Co', 'Cn', 'Zl', 'Zp'))

#: Why a name was refused; the first element of a refusal.
EMPTY = 'empty'
NULL = 'null'
CONTROL = 'control'
COMMA = 'comma'
TOO_LONG = 'too-long'
RESERVED = 'reserved'
GROUP = 'group'

#: Refusals that mean "the front end says nobody logged in" rather than
#: "the front end sent something wrong": Trac's own cookie login may
#: still identify the browser.
NOBODY = frozenset((EMPTY, NULL))

Cleaned = namedtuple('Cleaned', 'name rule reason')
Cleaned.__doc__ = """The outcome of `clean_name`: either `name` is set,
or `rule` (one of the constants above) and `reason` (a sentence for the
log) say why it was refused."""


def decode_header_value(value):
    """Undo the latin-1 decoding PEP 3333 applies to header values.

    Servers pass the raw bytes of a header decoded as latin-1, so a UTF-8
    name such as ``josé`` arrives as ``josÃ©``. Values that are not valid
    UTF-8 once re-encoded are kept as they came (they really were
    latin-1), and so are values that already hold characters outside
    latin-1 (a server that decoded them itself).
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        raw = value
    else:
        try:
            raw = value.encode('latin-1')
        except UnicodeEncodeError:
            return value
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        return raw.decode('latin-1')


def has_forbidden_character(text):
    """Return the first character of `text` that has no place in a name
    or a profile value, or `None`."""
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return char
    return None


def strip_domain_part(name):
    r"""``DOMAIN\user`` -> ``user``, ``user@REALM`` -> ``user``.

    What follows the last backslash and precedes the first ``@`` is
    kept, so that ``DOMAIN\first.last@REALM`` becomes ``first.last``
    and no separator is left in the name.
    """
    return name.rpartition('\\')[2].partition('@')[0]


def clean_name(value, strip_domain=True, lowercase=False, groups=()):
    """Clean the user name `value` received from a front end.

    :param value: the value as the server passed it (latin-1 decoded
                  text, or bytes), or `None`.
    :param strip_domain: remove ``DOMAIN\\`` and ``@REALM``.
    :param lowercase: fold the name to lower case.
    :param groups: the names of Trac's permission groups; a user may not
                   be called like one (compared without regard to case).
    :return: a `Cleaned` tuple. It never raises for any text input.
    """
    if value is None:
        return Cleaned(None, EMPTY, "no user name was sent")
    text = decode_header_value(value)
    bad = has_forbidden_character(text)
    if bad is not None:
        return Cleaned(None, CONTROL, "the user name contains the control "
                       "or formatting character U+%04X" % ord(bad))
    text = text.strip()
    if not text:
        return Cleaned(None, EMPTY, "the user name is empty")
    if ',' in text:
        return Cleaned(None, COMMA, "the user name contains a comma: "
                       "several values were joined, usually because the "
                       "header was sent twice or under two spellings "
                       "(Remote-User and Remote_User)")
    if len(text) > MAX_NAME_LENGTH:
        return Cleaned(None, TOO_LONG, "the user name is %d characters "
                       "long, over the limit of %d"
                       % (len(text), MAX_NAME_LENGTH))
    name = text
    if strip_domain:
        name = strip_domain_part(name).strip()
        if not name:
            return Cleaned(None, EMPTY, "nothing is left of %r once the "
                           "domain or realm is removed" % text)
    if lowercase:
        name = name.lower()
    folded = name.casefold()
    if folded == APACHE_NULL:
        return Cleaned(None, NULL, "the front end sent %r, which is what "
                       "Apache sends when nobody logged in" % name)
    if folded in RESERVED_NAMES:
        return Cleaned(None, RESERVED, "%r is a name Trac reserves for "
                       "itself" % name)
    if any(folded == group.casefold() for group in groups):
        return Cleaned(None, GROUP, "%r is the name of a Trac permission "
                       "group; a user of that name would inherit the "
                       "group's rights" % name)
    return Cleaned(name, None, None)


def clean_profile_value(value, limit=MAX_NAME_LENGTH):
    """Clean a display name or an e-mail address from a header.

    :return: the cleaned text, or `None` when nothing usable is left.
    """
    if value is None:
        return None
    text = decode_header_value(value)
    if has_forbidden_character(text):
        return None
    text = text.strip()
    if not text or len(text) > limit:
        return None
    return text


def clean_email(value):
    """Clean an e-mail address from a header; `None` when it is not one."""
    text = clean_profile_value(value)
    if text is None or ',' in text or ' ' in text:
        return None
    local, at, domain = text.rpartition('@')
    if not (local and at and domain):
        return None
    return text
