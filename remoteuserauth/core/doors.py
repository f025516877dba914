"""Who may log a name in: the front end, or another door.

A Trac site often has more doors than the front end: a password form
and registration (TracAccountManager), password reset, Basic
credentials that another plugin checks, and the `trac_auth` cookie that
any of them leaves behind. When two doors can log in one name, one
person becomes another: whoever registers ``bobby`` with a password of
their own gets the front end's ``bobby``, tickets, rights and all.

So a name the front end has handed over belongs to the front end (its
*owner* from then on, recorded in the database all backends share):

- no other door may log it in, create it or change its password, and a
  look-alike of it (another case, a local domain the front end strips)
  is refused as well;
- a cookie logs in only a name the policy accepts today, and a cookie
  of an owned name only when it is the exact name (the front end's own
  login left it);
- a local password account never silently becomes a front-end account:
  until the administrator adopts it (``trac-admin ENV remoteuser adopt
  NAME``, which removes the password), the front end's login of that
  name is refused.

Nothing here imports Trac.
"""

from collections import namedtuple

from remoteuserauth.core import names

#: The doors a name can come through, for the log and the admin panel.
FRONT_END = 'front end'
COOKIE = 'login cookie'
TOKEN = 'personal access token'
PASSWORD = 'password form'
REGISTRATION = 'registration'
RESET = 'password reset'
PASSWORD_CHANGE = 'password change'
ADMIN = 'account administration'

#: Refusals, besides those of the name policy (`names.RULES`).
OWNED = 'owned-by-front-end'
LOOKALIKE = 'look-alike'
LOCAL_ACCOUNT = 'local-account'

Owners = namedtuple('Owners', 'names keys')
Owners.__doc__ = """The names the front end owns: `names`, a frozenset,
and `keys`, mapping each name's `key` to it."""

Refusal = namedtuple('Refusal', 'rule reason')
Refusal.__doc__ = """Why a door may not log a name in: a rule (one of
the refusals above, or of `names.RULES`) and a sentence for the log."""


def key(cleaned_name):
    """What two names must differ in to be two people's: the name the
    front end's policy makes of them (`names.clean_name`), without
    regard to case, since ``Bobby`` beside ``bobby`` is a look-alike
    that a reader of a ticket cannot tell apart."""
    return cleaned_name.casefold()


def owners(owned):
    """The `Owners` of the names in `owned`."""
    owned = frozenset(owned)
    return Owners(owned, {key(name): name for name in owned})


def clean(name, policy):
    """`name`, as another door or the database holds it, cleaned by
    `policy`: ``policy(value)`` is `names.clean_name` with the site's
    options. It is handed over as UTF-8, so that it is read as exactly
    these characters (a header's value would be read as latin-1)."""
    try:
        raw = name.encode('utf-8')
    except UnicodeEncodeError:
        return names.Cleaned(None, names.CONTROL, "the user name holds a "
                             "lone surrogate, which is no character")
    return policy(raw)


def other_door(name, door, cleaned, owned):
    """May `door` (anything but the front end) log in, create or change
    the password of `name`? `None` when it may, else a `Refusal`.

    :param cleaned: `names.Cleaned` of `name` under the site's policy
                    (see `clean`).
    :param owned: the `Owners`.
    """
    if cleaned.name is None:
        return Refusal(cleaned.rule, "%s; the name policy refuses it at "
                       "every door" % cleaned.reason)
    owner = owned.keys.get(key(cleaned.name)) or owned.keys.get(key(name))
    if owner is None or door == COOKIE and name in owned.names:
        return None
    if owner == name:
        return Refusal(OWNED, "%s belongs to the front end, which logged it "
                       "in before: no %s may log it in, create it or change "
                       "its password" % (names.client_text(name), door))
    return Refusal(LOOKALIKE, "%s is a look-alike of %s, which belongs to the "
                   "front end (they differ only in case or in a domain the "
                   "front end strips): no %s may log it in or create it"
                   % (names.client_text(name), owner, door))


def front_door(name, owned, local_accounts, local_key):
    """May the front end log in `name` (accepted by the name policy)?

    :param local_accounts: the names of local password accounts.
    :param local_key: gives the `key` of a local account's name.
    :return: ``(refusal, record)``: a `Refusal` or `None`, and whether
             `name` is the front end's for the first time and is to be
             recorded as its owner.
    """
    if name in owned.names:
        return None, False
    wanted = key(name)
    clashing = sorted(account for account in local_accounts
                      if local_key(account) == wanted)
    if clashing:
        return Refusal(LOCAL_ACCOUNT, "%s is also a local password account "
                       "(%s), which the front end may not take over by "
                       "itself: once you know the two are the same person, "
                       "run trac-admin ENV remoteuser adopt %s (it removes "
                       "the local password and forgets its logins)"
                       % (name, ', '.join(clashing), name)), False
    return None, True
