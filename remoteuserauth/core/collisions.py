"""Which existing Trac names a new name policy would merge or lock out.

Turning on `lowercase`, `strip_domain` (with `local_domains`) or
`[trac] ignore_auth_case` changes the name a login yields. Two users
whose names differed only in case or domain (``JDoe`` and ``jdoe``,
``EXAMPLE\\bob`` and ``bob``) then become one Trac user, who holds the
tickets, permissions and preferences of both; a user whose stored name
the policy now refuses or spells differently loses them. Before the
change, `evaluate` runs every name Trac knows through the very cleaning
a request runs (`names.clean_name`) and reports what would happen.

Nothing here imports Trac.
"""

import unicodedata
from collections import namedtuple

from remoteuserauth.core import names

#: A local password account (TracAccountManager's stores): logged in by
#: its password form, which keeps the name as it is written (the front
#: end's `lowercase` and domain stripping do not apply to it; Trac's
#: `ignore_auth_case` does).
PASSWORD_ACCOUNT = 'password account'

#: A name the front end owns (it logged in through it).
FRONT_END = 'front end'

#: Places that make a name an account someone logs in with: renaming or
#: refusing it locks that someone out of what the name holds.
ACCOUNT_PLACES = ('session', 'permission', 'login cookie', PASSWORD_ACCOUNT,
                  FRONT_END)

#: Trac's own subjects, which are no user's name.
BUILTIN_SUBJECTS = names.RESERVED_NAMES

Policy = namedtuple('Policy', 'strip_domain lowercase local_domains '
                    'ignore_auth_case')
Policy.__doc__ = """The name policy to evaluate: the `[remoteuser]`
options `strip_domain`, `lowercase`, `local_domains` (a sequence) and
`[trac] ignore_auth_case`."""

Report = namedtuple('Report', 'merged renamed refused unaccounted '
                    'lookalikes', defaults=((),))
Report.__doc__ = """What a policy does to the names Trac knows.

- `merged`: ``(target, [(name, places), ...])`` for each group of two or
  more names that become the one name `target`.
- `renamed`: ``(name, target, places)`` for each account whose name
  changes without meeting another.
- `refused`: ``(name, places, reason)`` for each account the policy
  refuses: nobody can log in as it any more.
- `unaccounted`: how many refused names appear only in fields (ticket
  cc lists, authors): e-mail addresses and free text, no account.
- `lookalikes`: ``(name, places, others)`` for each password account
  that stays an account of its own while the front end's names
  `others` read the same but for case or a stripped domain: two
  accounts a reader cannot tell apart, and the password form refuses
  the password account while the front end owns one of them.

`places` maps a place (``'session'``, ``'ticket owner'`` ...) to the
number of times the name occurs there."""


_TRUE = ('true', 'yes', 'on', 'enabled', '1')
_FALSE = ('false', 'no', 'off', 'disabled', '0')


def parse_policy(args, current):
    """The `Policy` that command-line `args` describe, starting from
    `current` (trac.ini): ``lowercase`` or ``lowercase=false``,
    ``ignore_auth_case[=...]``, ``strip_domain=true|false``,
    ``local_domains=A,B`` (empty for none).

    :raise ValueError: for an argument that is none of these.
    """
    policy = current
    for arg in args:
        key, eq, value = arg.partition('=')
        key = key.strip().lower()
        if key not in Policy._fields:
            raise ValueError("%r is not one of %s" % (
                arg, ', '.join(sorted(Policy._fields))))
        if key == 'local_domains':
            if not eq:
                raise ValueError("local_domains needs a value: "
                                 "local_domains=EXAMPLE,example.com")
            policy = policy._replace(local_domains=tuple(
                d.strip() for d in value.split(',') if d.strip()))
            continue
        value = value.strip().lower() if eq else 'true'
        if value not in _TRUE + _FALSE:
            raise ValueError("%s: %r is not true or false" % (key, value))
        policy = policy._replace(**{key: value in _TRUE})
    return policy


def policy_name(name, policy, groups=()):
    """The `names.Cleaned` result of a login as `name` under `policy`.

    `name` is a name as Trac stores it; it is handed to `clean_name` as
    a front end would send it (UTF-8, latin-1 decoded as PEP 3333
    wants), and cleaned as a request is: `[trac] ignore_auth_case` folds
    the case like `lowercase`.
    """
    try:
        sent = name.encode('utf-8').decode('latin-1')
    except UnicodeEncodeError:
        # Lone surrogates cannot be sent; clean_name refuses them.
        sent = name
    domains = names.parse_local_domains(policy.local_domains)[0]
    return names.clean_name(
        sent, strip_domain=policy.strip_domain,
        lowercase=policy.lowercase or policy.ignore_auth_case,
        groups=groups, local_domains=domains)


def evaluate(occurrences, policy, groups=()):
    """Evaluate `policy` over the names Trac knows.

    :param occurrences: a mapping of each name to a mapping of the
                        places it occurs in to a count.
    :param groups: the names of Trac's permission groups (refused as
                   user names, like a request does).
    :return: a `Report`, every list sorted.
    """
    targets = {}
    refused = []
    passwords = []
    unaccounted = 0
    for name, places in occurrences.items():
        if not name or name in BUILTIN_SUBJECTS or not places:
            continue
        cleaned = policy_name(name, policy, groups)
        if cleaned.name is None:
            if is_account(places):
                refused.append((name, dict(places), cleaned.reason))
            else:
                unaccounted += 1
            continue
        target = cleaned.name
        if PASSWORD_ACCOUNT in places:
            # Its form logs it in as written (but for Trac's own fold).
            target = name.lower() if policy.ignore_auth_case else name
            passwords.append((name, target, cleaned.name, dict(places)))
        targets.setdefault(target, []).append((name, dict(places)))
    merged = []
    renamed = []
    for target, members in targets.items():
        members.sort(key=lambda member: member[0])
        if len(members) > 1:
            merged.append((target, members))
        elif members[0][0] != target and is_account(members[0][1]):
            renamed.append((members[0][0], target, members[0][1]))
    lookalikes = []
    for name, own, cleaned, places in passwords:
        key = cleaned.casefold()
        others = sorted(target for target in targets if target != own and
                        target.casefold() == key)
        if others:
            lookalikes.append((name, places, others))
    merged.sort(key=lambda group: group[0])
    renamed.sort(key=lambda item: item[0])
    refused.sort(key=lambda item: item[0])
    lookalikes.sort(key=lambda item: item[0])
    return Report(merged, renamed, refused, unaccounted, lookalikes)


def is_account(places):
    """Whether a name occurring in `places` is someone's login."""
    return any(place in places for place in ACCOUNT_PLACES)


def report_lines(report, policy):
    """The report as lines for a terminal: the policy, one line per
    merged group, renamed and locked-out account, and a summary."""
    lines = ["policy: strip_domain=%s local_domains=%s lowercase=%s "
             "[trac] ignore_auth_case=%s"
             % (_flag(policy.strip_domain),
                ','.join(policy.local_domains) or '(none)',
                _flag(policy.lowercase), _flag(policy.ignore_auth_case))]
    lines.extend("warning: " + problem for problem in
                 names.parse_local_domains(policy.local_domains)[1])
    for target, members in report.merged:
        lines.append("merged into %s: %s" % (shown(target), ' + '.join(
            "%s (%s)" % (shown(name), _places(places))
            for name, places in members)))
    for name, target, places in report.renamed:
        lines.append("renamed: %s (%s) would log in as %s, without what "
                     "%s holds" % (shown(name), _places(places),
                                   shown(target), shown(name)))
    for name, places, reason in report.refused:
        lines.append("locked out: %s (%s): %s"
                     % (shown(name), _places(places), reason))
    for name, places, others in report.lookalikes:
        lines.append("look-alike: %s (%s) stays an account of its own "
                     "beside %s; the password form refuses it while the "
                     "front end owns %s: if they are one person, run "
                     "remoteuser adopt %s, else rename one"
                     % (shown(name), _places(places),
                        ' and '.join(shown(o) for o in others),
                        'that name' if len(others) == 1 else 'one of them',
                        shown(others[0])))
    if report.unaccounted:
        lines.append("(%d more names the policy refuses occur only in "
                     "ticket, wiki or repository fields: e-mail addresses "
                     "and free text that no one logs in as)"
                     % report.unaccounted)
    summary = "%d group(s) of names would merge, %d account(s) would be " \
        "renamed, %d locked out" % (len(report.merged), len(report.renamed),
                                    len(report.refused))
    if report.lookalikes:
        summary += ", %d password account(s) look like front-end names" \
            % len(report.lookalikes)
    lines.append(summary)
    return lines


def shown(name):
    """`name` for a terminal: as it is, unless it holds characters that
    would hide what it is; then quoted, and escaped when it has
    invisible characters or look-alikes (``\uff4adoe`` reads ``jdoe``)."""
    if not name.isprintable() or \
            not unicodedata.is_normalized('NFKC', name):
        return ascii(name)
    if not name or any(c.isspace() or c in "'\"()+:," for c in name):
        return repr(name)
    return name


def _flag(value):
    return 'true' if value else 'false'


def _places(places):
    return ', '.join(place if count == 1 else '%s x%d' % (place, count)
                     for place, count in sorted(places.items(),
                                                key=_place_order))


def _place_order(item):
    place = item[0]
    return (ACCOUNT_PLACES.index(place) if place in ACCOUNT_PLACES
            else len(ACCOUNT_PLACES), place)
