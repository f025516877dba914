"""Which names the front end owns, recorded where every backend sees it.

The first time the front end hands over a name, the name is recorded as
the front end's (table ``remoteuser_owner``); from then on no other door
may log it in, create it or change its password (see `doors`). Plugins
that keep local password accounts (TracAccountManager) tell this
component about them through `ILocalAccounts`, so that a local account
never silently becomes a front-end account until the administrator
adopts it (`adopt`: ``trac-admin ENV remoteuser adopt NAME``).

Without such a plugin, or another authenticator, there is no other door
and nothing is enforced; the names are recorded all the same once the
table exists, so that a door added later finds them.

A name the front end owns stays its own: no door and no command removes
one (`adopt` adds one). So a process that found a name among the owners
once does not look again (`owns`).
"""

import time

from trac.cache import cached
from trac.core import Component, ExtensionPoint, Interface
from trac.util.text import exception_to_unicode
from trac.web.api import IAuthenticator
from trac.web.auth import LoginModule

from remoteuserauth import schema
from remoteuserauth.core import doors, trust
from remoteuserauth.eventlog import EventLog
from remoteuserauth.writelock import WRITE_LOCK

#: How many names the front end owns a process remembers as its own
#: without a look at the owners (`NameOwnership.owns`).
MAX_KNOWN_OWNED = 4096


class ILocalAccounts(Interface):
    """A plugin that keeps password accounts of its own, which a door
    other than the front end logs in (a password form)."""

    def local_accounts_enabled():
        """Whether the plugin keeping local accounts is enabled in this
        environment (so that its doors exist)."""

    def local_accounts():
        """The names of the local password accounts."""

    def remove_local_account(name):
        """Remove the local password of `name`; return whether it had
        one."""


class NameOwnership(Component):
    """Records the names the front end hands over and refuses them at
    every other door."""

    local_stores = ExtensionPoint(ILocalAccounts)
    authenticators = ExtensionPoint(IAuthenticator)

    def __init__(self):
        self._table = None
        self._enforced = None
        self._known = set()

    # Public API

    def enforced(self):
        """Whether a door other than the front end exists: a plugin with
        local password accounts, or an authenticator besides Trac's
        cookie login and this plugin's. (Which components are enabled
        changes only with trac.ini, which makes Trac start the
        environment, and this component, anew.)"""
        if self._enforced is None:
            self._enforced = any(store.local_accounts_enabled()
                                 for store in self.local_stores) or any(
                type(a) is not LoginModule and
                not type(a).__module__.startswith('remoteuserauth.')
                for a in self.authenticators)
        return self._enforced

    def forget_table_state(self):
        """Look again whether the owners' table exists (after an
        upgrade in this process) and forget the owners read."""
        self._table = None
        self._known = set()
        del self._owners

    def recording(self):
        """Whether the table of owners exists (it is made by `trac-admin
        ENV upgrade`, which Trac asks for once another door exists)."""
        if self._table is None:
            self._table = schema.current_version(self.env) >= \
                schema.OWNERS_VERSION
        return self._table

    def owners(self):
        """The `doors.Owners`."""
        return self._owners

    def owns(self, name):
        """Whether the front end owns `name`. A name found among the
        owners is remembered (names are never removed), so that the
        front end's users cost no look-up of the owners on their next
        requests; at most `MAX_KNOWN_OWNED` are."""
        known = self._known
        if name in known:
            return True
        if name not in self.owners().names:
            return False
        if len(known) >= MAX_KNOWN_OWNED:
            known.clear()
        known.add(name)
        return True

    def local_accounts(self):
        """The names of all local password accounts."""
        accounts = set()
        for store in self.local_stores:
            accounts.update(store.local_accounts())
        return accounts

    def front_door(self, name, local_key):
        """``(refusal, record)`` of `doors.front_door` for `name`, the
        front end's name of a request, without recording anything."""
        return doors.front_door(name, self.owners(),
                                self.local_accounts() if self.enforced()
                                else (), local_key)

    def lookalikes(self, local_key):
        """``(account, owner)`` for each local password account whose
        key is that of a name the front end owns (the password form
        refuses it), sorted."""
        owned = self.owners()
        return sorted((account, owned.keys[local_key(account)])
                      for account in self.local_accounts()
                      if local_key(account) in owned.keys)

    def enforce(self, decision, local_key):
        """`decision` (the front end named a user), or a veto when the
        name is also a local password account not yet adopted; a name
        handed over for the first time is recorded as the front end's.

        :param local_key: gives the `doors.key` of a local account's
                          name under the site's policy.
        """
        if self.owns(decision.name):
            return decision
        refusal, record = self.front_door(decision.name, local_key)
        if refusal is None:
            # Not to be recorded when another worker or thread recorded
            # it since the look above.
            if record:
                self.record(decision.name)
            return decision
        peer = trust.describe_peer(decision.peer)
        EventLog(self.env).write('warning', 'refused-' + refusal.rule, peer,
                                 "refused the front end's %s: %s",
                                 decision.name, refusal.reason)
        return decision._replace(name=None, veto=True, rule=refusal.rule,
                                 reason=refusal.reason)

    def record(self, name):
        """Record `name` as the front end's (a busy database costs the
        record, which the next request tries again, never the page)."""
        try:
            with WRITE_LOCK:
                with self.env.db_transaction as db:
                    if not db("SELECT 1 FROM remoteuser_owner WHERE name=%s",
                              (name,)):
                        db("INSERT INTO remoteuser_owner (name, time) "
                           "VALUES (%s, %s)", (name, int(time.time())))
                    del self._owners
        except Exception as e:
            EventLog(self.env).write(
                'warning', 'owner-not-recorded', name,
                "%s not recorded as the front end's (%s); the next request "
                "tries again", name, exception_to_unicode(e))
            return
        self.log.info("TracRemoteUserAuth: %s belongs to the front end from "
                      "now on (its first login through it)", name)

    def adopt(self, name, local_key):
        """Give `name` to the front end: remove the local passwords of
        the accounts whose key is `name`'s and record `name` as the
        front end's.

        :return: ``(accounts, removed)``: the local accounts of that key
                 (whose logins the caller forgets), and those whose
                 password was removed.
        """
        wanted = doors.key(name)
        accounts = sorted(a for a in self.local_accounts()
                          if local_key(a) == wanted)
        removed = [a for a in accounts
                   if any(store.remove_local_account(a)
                          for store in self.local_stores)]
        self.record(name)
        self.log.info("TracRemoteUserAuth: adopted %s (local passwords "
                      "removed: %s)", name, ', '.join(removed) or 'none')
        return accounts, removed

    # Internal methods

    @cached
    def _owners(self):
        if not self.recording():
            return doors.owners(())
        return doors.owners(name for name, in self.env.db_query(
            "SELECT name FROM remoteuser_owner"))
