"""`trac-admin ENV remoteuser revoke USER`: forget every login of a user.

Trac keeps its logins in the database (the ``auth_cookie`` table), not in
the processes: each request looks its ``trac_auth`` cookie up there. So
deleting a user's rows logs the user out of every backend that shares the
database, on its next request, with nothing to restart or notify. The
user's personal access tokens are removed with them.
"""

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.core import Component, implements

from remoteuserauth.ownership import NameOwnership
from remoteuserauth.tokens import PersonalTokens


class LoginRevoker(Component):
    """Forgets every login of a user, for the day an account is disabled
    at the identity provider."""

    implements(IAdminCommandProvider)

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser revoke', '<user>',
               """Forget every login of <user>, on every backend at once

               Deletes the user's trac_auth cookies and personal access
               tokens from the database all
               backends share, so that the user's next request is
               anonymous wherever it lands; prints how many logins were
               forgotten. For the day an account is disabled at the
               identity provider.

               It does not stop the front end: while the proxy or single
               sign-on still authenticates the user, Trac logs them
               straight back in. Disable the account there first. The
               user's session, preferences and permissions are kept.
               """,
               self._complete_revoke, self._do_revoke)

    # Public API

    def revoke(self, user):
        """Delete every login of `user`, its ``trac_auth`` cookies and its
        personal access tokens, and return how many there were. When
        Trac or the plugin fold names to lower case (`[trac]
        ignore_auth_case`, `[remoteuser] lowercase`), the folded name is
        revoked too, since that is how its logins are stored."""
        names = {user}
        if self.config.getbool('trac', 'ignore_auth_case') or \
                self.config.getbool('remoteuser', 'lowercase'):
            names.add(user.lower())
        names = sorted(names)
        with self.env.db_transaction as db:
            cursor = db.cursor()
            cursor.execute("DELETE FROM auth_cookie WHERE name IN (%s)"
                           % ','.join(['%s'] * len(names)), names)
            count = cursor.rowcount
        tokens = PersonalTokens(self.env)
        if tokens.stored():
            count += sum(tokens.remove_owner(name) for name in names)
        self.log.info("TracRemoteUserAuth: revoked %d login(s) of %s "
                      "(trac-admin remoteuser revoke)", count,
                      ' and '.join(names))
        return count

    # Internal methods

    def _complete_revoke(self, args):
        if len(args) == 1:
            return [name for name, in self.env.db_query(
                "SELECT DISTINCT name FROM auth_cookie ORDER BY name")]
        return []

    def _do_revoke(self, user):
        if not user.strip():
            raise AdminCommandError("<user> is empty", show_usage=True)
        count = self.revoke(user)
        if count:
            print("Forgot %d login%s of %s: every backend now treats the "
                  "user as anonymous, unless the front end logs them in "
                  "again." % (count, '' if count == 1 else 's', user))
        else:
            print("%s had no login to forget." % user)
        ownership = NameOwnership(self.env)
        if ownership.enforced() and ownership.recording():
            if user in ownership.owners().names:
                print("%s belongs to the front end: no other door can log "
                      "it in; disable it at the identity provider." % user)
            elif user in ownership.local_accounts():
                print("%s is a local password account: its password still "
                      "opens the login form." % user)
