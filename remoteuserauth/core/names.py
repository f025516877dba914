"""Turning what a front end sends into a Trac user name, or refusing it.

A front end hands Trac a user name in a header or in ``REMOTE_USER``.
Whatever arrives there is text that someone else produced, so it is
cleaned and refused when it could hurt. The policy, in full:

- Nothing is trimmed and nothing is normalised. A name with spaces
  around it, with white space other than the ASCII space anywhere, or
  that Unicode NFKC normalisation would change (full-width letters,
  ligatures, the Kelvin sign, decomposed accents) is refused: the
  identity provider holds such a name as an account of its own, and
  cleaning it would hand that account another one's tickets and rights.
- The only folds are the two an administrator asks for: the domain or
  realm of a name from one of ``local_domains`` is removed (with
  ``strip_domain``), and the case is folded with ``lowercase`` (or
  Trac's own ``[trac] ignore_auth_case``). A name from any other domain
  is refused, never mapped onto a local account.
- Refused: control and formatting characters, commas (servers join
  duplicate headers with commas), names over 255 characters, the names
  Trac reserves (``anonymous``, ``authenticated``), Apache's ``(null)``,
  the names of permission groups (and of the groups ``sync_groups``
  manages), and names that mean something in the syntax of Trac's
  permission policies (``@group``, ``&alias``, ``$authenticated``,
  ``~user``, ``!``, ``*``).
- Every check runs on the name that results, so a value that only
  becomes dangerous once cleaned (``EXAMPLE\\anonymous``) is refused.

Nothing here imports Trac: these are plain functions, tested directly.
"""

import unicodedata
from collections import namedtuple

#: The longest user name accepted, in characters.
MAX_NAME_LENGTH = 255

#: Names Trac gives a meaning of its own.
RESERVED_NAMES = frozenset(('anonymous', 'authenticated'))

#: What Apache's ``%{REMOTE_USER}s`` sends when nobody logged in.
APACHE_NULL = '(null)'

#: First characters that make a subject a group, an alias, a built-in
#: or an exception in authz_policy and Subversion authz files, and the
#: wildcard subject.
POLICY_PREFIXES = ('@', '&', '$', '~', '!')
WILDCARD = '*'

#: What a front end's placeholder left unreplaced looks like: Caddy's
#: ``{http.auth.user.id}``, HAProxy's ``%[http_auth_user]``, Apache's
#: ``%{REMOTE_USER}s``. No identity provider hands out such names; a
#: front end that sends one literally sends it for every visitor.
PLACEHOLDER_CHARACTERS = '{}'
PLACEHOLDER_PREFIXES = ('%[', '%{')

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
SPACE = 'space'
UNICODE = 'unicode'
AMBIGUOUS = 'ambiguous'
FOREIGN = 'foreign-domain'
RESERVED = 'reserved'
GROUP = 'group'
SYNTAX = 'policy-syntax'
PLACEHOLDER = 'placeholder'

#: Every rule, for those who explain them.
RULES = (EMPTY, NULL, CONTROL, COMMA, TOO_LONG, SPACE, UNICODE, AMBIGUOUS,
         FOREIGN, RESERVED, GROUP, SYNTAX, PLACEHOLDER)

#: Refusals that mean "the front end says nobody logged in" rather than
#: "the front end sent something wrong": Trac's own cookie login may
#: still identify the browser.
NOBODY = frozenset((EMPTY, NULL))

Cleaned = namedtuple('Cleaned', 'name rule reason')
Cleaned.__doc__ = """The outcome of `clean_name`: either `name` is set,
or `rule` (one of the constants above) and `reason` (a sentence for the
log) say why it was refused."""


class Names(frozenset):
    """A frozenset of names that also holds them case folded
    (`folded`), so that a name is compared with every one of them,
    without regard to case, in one look-up however many they are."""

    __slots__ = ('folded',)

    def __new__(cls, names=()):
        self = frozenset.__new__(cls, names)
        self.folded = frozenset(name.casefold() for name in self)
        return self


def _folded(groups):
    folded = getattr(groups, 'folded', None)
    return folded if folded is not None else \
        frozenset(group.casefold() for group in groups)


def _plain(text):
    """Whether `text` is printable ASCII only (a space is printable):
    then it holds no character of `_FORBIDDEN_CATEGORIES` (in ASCII,
    only the control characters), no white space but the space, and
    nothing NFKC would change; most text is, and this is asked of it
    all at once rather than character by character."""
    return text.isascii() and text.isprintable()


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


def client_text(value, limit=80):
    """`value`, text a client chose, as a message may show it: its repr
    (no line break, control or invisible character gets through), cut
    to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + '...'


def has_forbidden_character(text):
    """Return the first character of `text` that has no place in a name
    or a profile value, or `None`."""
    if _plain(text):
        return None
    for char in text:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            return char
    return None


def parse_local_domains(entries):
    """Validate ``[remoteuser] local_domains``.

    :return: ``(domains, problems)``: the usable domains, case folded,
             and one sentence for each entry left out.
    """
    domains = set()
    problems = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        if has_forbidden_character(text) or \
                any(c.isspace() or c in '\\@,' for c in text) or \
                not unicodedata.is_normalized('NFKC', text):
            problems.append("[remoteuser] local_domains: %r is not a domain "
                            "or realm name; it is ignored" % text)
            continue
        domains.add(text.casefold())
    return frozenset(domains), problems


def split_domain(name):
    r"""Split ``DOMAIN\user``, ``user@REALM`` and ``DOMAIN\user@REALM``.

    :return: ``(user, domains)``, `domains` being the domain parts in
             the order written; `None` when the name has more than one
             separator of a kind or an empty part, so that it cannot be
             read in one way only.
    """
    if name.count('\\') > 1 or name.count('@') > 1:
        return None
    domain, backslash, user = name.rpartition('\\')
    user, at, realm = user.partition('@')
    if '@' in domain:
        return None
    domains = tuple(part for part, sep in ((domain, backslash), (realm, at))
                    if sep)
    if not user or not all(domains):
        return None
    return user, domains


def _spacing(text):
    """Why the white space in `text` is refused, or `None`."""
    if text != text.strip(' '):
        return "the user name has spaces around it"
    if _plain(text):
        return None
    for char in text:
        if char != ' ' and (char.isspace() or
                            unicodedata.category(char) == 'Zs'):
            return "the user name contains the white space character " \
                   "U+%04X" % ord(char)
    return None


def clean_name(value, strip_domain=True, lowercase=False, groups=(),
               local_domains=()):
    r"""Clean the user name `value` received from a front end.

    :param value: the value as the server passed it (latin-1 decoded
                  text, or bytes), or `None`.
    :param strip_domain: remove ``DOMAIN\`` and ``@REALM`` when they are
                         one of `local_domains`, refuse names of other
                         domains; when false, names are kept whole.
    :param lowercase: fold the name to lower case with `str.lower`, as
                      Trac's ``ignore_auth_case`` does.
    :param groups: names no user may have (permission groups, managed
                   groups), compared without regard to case (a `Names`
                   compares them in one look-up).
    :param local_domains: the domains and realms whose users are this
                          Trac's users, case folded (see
                          `parse_local_domains`).
    :return: a `Cleaned` tuple. It never raises for any text input.
    """
    if value is None:
        return Cleaned(None, EMPTY, "no user name was sent")
    text = decode_header_value(value)
    bad = has_forbidden_character(text)
    if bad is not None:
        return Cleaned(None, CONTROL, "the user name contains the control "
                       "or formatting character U+%04X" % ord(bad))
    if not text.strip(' '):
        return Cleaned(None, EMPTY, "the user name is empty")
    if len(text) > MAX_NAME_LENGTH:
        return Cleaned(None, TOO_LONG, "the user name is %d characters "
                       "long, over the limit of %d"
                       % (len(text), MAX_NAME_LENGTH))
    if ',' in text:
        return Cleaned(None, COMMA, "the user name contains a comma: "
                       "several values were joined, usually because the "
                       "header was sent twice or under two spellings "
                       "(Remote-User and Remote_User)")
    spacing = _spacing(text)
    if spacing:
        return Cleaned(None, SPACE, "%s; it is not trimmed, since the "
                       "identity provider may hold it as an account of its "
                       "own" % spacing)
    if not unicodedata.is_normalized('NFKC', text):
        return Cleaned(None, UNICODE, "the user name is not in Unicode NFKC "
                       "form (it has compatibility or decomposed "
                       "characters: full-width letters, ligatures, the "
                       "Kelvin sign ...); it would read %r once "
                       "normalised, which may be another account"
                       % unicodedata.normalize('NFKC', text))
    name = text
    if strip_domain and ('\\' in text or '@' in text):
        parts = split_domain(text)
        if parts is None:
            return Cleaned(None, AMBIGUOUS, "the user name %r has an empty "
                           "part or more than one domain separator; it "
                           "cannot be split into a user and a domain in one "
                           "way only" % text)
        name, domains = parts
        foreign = [d for d in domains if d.casefold() not in local_domains]
        if foreign:
            return Cleaned(None, FOREIGN, "the domain %r of %r is not one of "
                           "[remoteuser] local_domains (%s): a user of "
                           "another domain is never mapped onto a local "
                           "account; list the domain there, or set "
                           "[remoteuser] strip_domain = false to keep whole "
                           "names" % (foreign[0], text,
                                      ', '.join(sorted(local_domains))
                                      or 'empty'))
        spacing = _spacing(name)
        if spacing:
            return Cleaned(None, SPACE, "%s once the domain of %r is "
                           "removed" % (spacing, text))
    if any(c in name for c in PLACEHOLDER_CHARACTERS) or \
            name.startswith(PLACEHOLDER_PREFIXES):
        return Cleaned(None, PLACEHOLDER, "%r looks like a placeholder of "
                       "the front end's configuration left unreplaced "
                       "(Caddy {...}, HAProxy %%[...], Apache %%{...}): the "
                       "front end would send it for every visitor; fix the "
                       "front end's configuration" % text)
    if lowercase:
        name = name.lower()
        if not unicodedata.is_normalized('NFKC', name):
            return Cleaned(None, UNICODE, "the user name %r is not in "
                           "Unicode NFKC form once in lower case" % name)
    folded = name.casefold()
    if folded == APACHE_NULL:
        return Cleaned(None, NULL, "the front end sent %r, which is what "
                       "Apache sends when nobody logged in" % name)
    if folded in RESERVED_NAMES:
        return Cleaned(None, RESERVED, "%r is a name Trac reserves for "
                       "itself" % name)
    if folded in _folded(groups):
        return Cleaned(None, GROUP, "%r is the name of a Trac permission "
                       "group; a user of that name would inherit the "
                       "group's rights" % name)
    if name.startswith(POLICY_PREFIXES) or name == WILDCARD:
        return Cleaned(None, SYNTAX, "%r names a group, an alias or a "
                       "wildcard in Trac's permission policies "
                       "(authz_policy, Subversion authz); a user of that "
                       "name could be given their rights" % name)
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
