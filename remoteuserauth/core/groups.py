"""Keeping Trac's permission groups in step with an identity provider.

The proxy lists the user's groups in a header; only the groups the
administrator named in ``[remoteuser] sync_groups`` are ever added or
removed, so a header can never hand out a permission (``TRAC_ADMIN``)
or a group nobody meant to manage.

Nothing here imports Trac.
"""

import re
import unicodedata
from collections import namedtuple

from remoteuserauth.core.names import (RESERVED_NAMES, decode_header_value,
                                       has_forbidden_character)

_SEPARATORS = re.compile(r'[,|]')

#: The longest group name believed, as for user names.
MAX_GROUP_LENGTH = 255

Groups = namedtuple('Groups', 'accepted dropped')
Groups.__doc__ = """The group entries of a header or claim: the
`accepted` names (a frozenset) and the `dropped` entries, ``(entry,
reason)`` pairs in the order listed."""


def entry_problem(entry):
    """Why the group name `entry` (ASCII spaces around it already
    removed) is not believed, or `None`.

    Nothing is trimmed or normalised into a usable name: an identity
    provider group called ``developers`` followed by a no-break space
    is another group, which anyone may have been able to create or
    join, and must never grant the rights of ``developers``."""
    if len(entry) > MAX_GROUP_LENGTH:
        return "is longer than %d characters" % MAX_GROUP_LENGTH
    if entry.isascii() and entry.isprintable():
        # No control character, no white space but the space, nothing
        # NFKC would change (see `names.has_forbidden_character`).
        return None
    bad = has_forbidden_character(entry)
    if bad is None:
        bad = next((c for c in entry if c != ' ' and (
            c.isspace() or unicodedata.category(c) == 'Zs')), None)
    if bad is not None:
        return "holds the control, formatting or white space character " \
            "U+%04X" % ord(bad)
    if not unicodedata.is_normalized('NFKC', entry):
        return "is not in Unicode NFKC form (it would read %r once " \
            "normalised)" % unicodedata.normalize('NFKC', entry)
    return None


def split_groups(text):
    """The entries of a list of groups in one string (comma or ``|``
    separated), untrimmed."""
    # A list uses one separator, mostly: str.split is faster than the
    # regular expression by far.
    if ',' not in text:
        return text.split('|')
    if '|' not in text:
        return text.split(',')
    return _SEPARATORS.split(text)


def split_groups_header(value):
    """The entries of a groups header value, decoded the PEP 3333
    way."""
    if value is None:
        return []
    return split_groups(decode_header_value(value))


def sort_groups(items):
    """Sort the group entries `items` (text) into the accepted names
    and the dropped entries (`Groups`). ASCII spaces around an entry
    are ignored and empty entries skipped; nothing else is changed."""
    items = list(items)
    text = ''.join(items)
    if text.isascii() and text.isprintable() and \
            max(map(len, items), default=0) <= MAX_GROUP_LENGTH:
        # Printable ASCII of an allowed length, every entry: none has a
        # problem (`entry_problem`), and C loops find that at once.
        accepted = {item.strip(' ') for item in items} if ' ' in text \
            else set(items)
        accepted.discard('')
        return Groups(frozenset(accepted), ())
    accepted = set()
    dropped = []
    for item in items:
        entry = item.strip(' ')
        if not entry:
            continue
        problem = entry_problem(entry)
        if problem:
            dropped.append((item, problem))
        else:
            accepted.add(entry)
    return Groups(frozenset(accepted), tuple(dropped))


def parse_groups_header(value):
    """The group names a header value lists (see `sort_groups`)."""
    return sort_groups(split_groups_header(value)).accepted


def clean_groups(items):
    """The usable group names among `items` (see `sort_groups`)."""
    return sort_groups(items).accepted


def parse_sync_groups(entries):
    """Validate ``[remoteuser] sync_groups``.

    :return: ``(groups, problems)``: the usable group names and one
             sentence for each entry left out. Upper-case names are
             Trac permissions, not groups, the built-in groups are not
             memberships anyone can be given, and a name a groups header
             could not carry (`entry_problem`) could never be matched.
    """
    groups = set()
    problems = []
    for entry in entries:
        name = entry.strip(' ')
        if not name:
            continue
        problem = entry_problem(name)
        if problem:
            problems.append("[remoteuser] sync_groups: %r %s; it is ignored"
                            % (name, problem))
        elif name.isupper():
            problems.append("[remoteuser] sync_groups: %r is a permission, "
                            "not a group; it is ignored" % name)
        elif name.lower() in RESERVED_NAMES:
            problems.append("[remoteuser] sync_groups: %r is built into "
                            "Trac; it is ignored" % name)
        else:
            groups.add(name)
    return frozenset(groups), problems


def plan(user, listed, managed, permissions):
    """What to change so that `user`'s memberships among `managed`
    groups are exactly those `listed` in the header.

    :param permissions: Trac's ``(subject, action)`` pairs.
    :return: ``(to_add, to_remove)``, sorted lists of group names.
    """
    current = {action for subject, action in permissions
               if subject == user and action in managed}
    wanted = set(listed) & set(managed)
    return sorted(wanted - current), sorted(current - wanted)
