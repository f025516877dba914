"""Keeping Trac's permission groups in step with an identity provider.

The proxy lists the user's groups in a header; only the groups the
administrator named in ``[remoteuser] sync_groups`` are ever added or
removed, so a header can never hand out a permission (``TRAC_ADMIN``)
or a group nobody meant to manage.

Nothing here imports Trac.
"""

import re

from remoteuserauth.names import decode_header_value, has_forbidden_character

_SEPARATORS = re.compile(r'[,|]')
_BUILTIN = frozenset(('anonymous', 'authenticated'))


def parse_groups_header(value):
    """The group names listed in a header value (comma or ``|``
    separated), decoded the PEP 3333 way; empty and malformed entries
    are left out."""
    if value is None:
        return frozenset()
    return clean_groups(_SEPARATORS.split(decode_header_value(value)))


def clean_groups(items):
    """The usable group names among `items` (text), stripped; empty and
    malformed entries are left out."""
    groups = set()
    for item in items:
        item = item.strip()
        if item and not has_forbidden_character(item) and len(item) <= 255:
            groups.add(item)
    return frozenset(groups)


def parse_sync_groups(entries):
    """Validate ``[remoteuser] sync_groups``.

    :return: ``(groups, problems)``: the usable group names and one
             sentence for each entry left out. Upper-case names are
             Trac permissions, not groups, and the built-in groups are
             not memberships anyone can be given.
    """
    groups = set()
    problems = []
    for entry in entries:
        name = entry.strip()
        if not name:
            continue
        if name.isupper():
            problems.append("[remoteuser] sync_groups: %r is a permission, "
                            "not a group; it is ignored" % name)
        elif name.lower() in _BUILTIN:
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
