"""`trac-admin ENV remoteuser adopt NAME` and `remoteuser owners`: the
names the front end owns, and giving it one a local password account
also holds (see `ownership`)."""

import time

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.core import Component, implements
from trac.util.text import print_table

from remoteuserauth.core import doors
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.admin.revoke import LoginRevoker


class OwnershipCommands(Component):
    """The administrator's commands for the names the front end owns."""

    implements(IAdminCommandProvider)

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser adopt', '<name>',
               """Let the front end log in <name>, which a local password
               account also holds

               Until then, the front end's login of such a name is
               refused, since whoever made the password account (a
               registration, perhaps before the person's first single
               sign-on) could still open it with the password. Do it once
               you know the two are the same person: the local password
               (and that of any look-alike: another case, a local domain
               the front end strips) is removed, the name's logins are
               forgotten, and the name belongs to the front end from now
               on.
               """,
               self._complete_adopt, self._do_adopt)
        yield ('remoteuser owners', '',
               """List the names the front end owns

               No password form, registration or password reset may log
               these names in, create them or change their password.
               """,
               None, self._do_owners)

    # Internal methods

    def _ownership(self):
        ownership = NameOwnership(self.env)
        if not ownership.recording():
            raise AdminCommandError("the table of the names the front end "
                                    "owns does not exist yet: run "
                                    "trac-admin ENV upgrade")
        return ownership

    def _complete_adopt(self, args):
        if len(args) == 1:
            return sorted(NameOwnership(self.env).local_accounts())
        return []

    def _do_adopt(self, name):
        settings = RemoteUserSettings(self.env)
        cleaned = doors.clean(name, settings.clean_name)
        if cleaned.name is None:
            raise AdminCommandError("%s cannot be adopted: %s"
                                    % (name, cleaned.reason))
        if cleaned.name != name:
            raise AdminCommandError("the front end hands this name over as "
                                    "%s: adopt that" % cleaned.name)
        accounts, removed = self._ownership().adopt(name, settings.door_key)
        revoker = LoginRevoker(self.env)
        forgotten = sum(revoker.revoke(user)
                        for user in sorted(set(accounts) | {name}))
        for account in removed:
            print("Removed the local password of %s." % account)
        print("Forgot %d login(s)." % forgotten)
        print("%s belongs to the front end." % name)

    def _do_owners(self):
        rows = [(name, time.strftime('%Y-%m-%d %H:%M',
                                     time.gmtime(when or 0)))
                for name, when in self._ownership().env.db_query(
                    "SELECT name, time FROM remoteuser_owner ORDER BY name")]
        print_table(rows, ['Name', 'Since (UTC)'])
