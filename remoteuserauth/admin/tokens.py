"""`trac-admin ENV remoteuser token add|list|remove`: the administrator's
view of the personal access tokens (`remoteuserauth.tokens`). They work
whatever `[remoteuser] tokens` says; a bot account's token may live
longer than `token_max_lifetime`."""

import time

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.core import Component, implements
from trac.util.text import print_table

from remoteuserauth.core import tokens as core
from remoteuserauth.core.names import client_text
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.tokens import PersonalTokens


class TokenCommands(Component):
    """The personal access tokens, from the command line."""

    implements(IAdminCommandProvider)

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser token', 'add <user> [--name=<name>] [--days=<n>]'
               ' | list [<user>] | remove <id>...',
               """Make, list or remove personal access tokens

               "add USER" makes a token acting as USER on
               [remoteuser] token_paths and prints it alone on the last
               line: it is never shown again (only its SHA-256 is kept).
               --days (at least 1) may exceed token_max_lifetime, for a
               bot account; the default is token_lifetime. "list" shows
               each token's ID (never the token), owner, name, expiry
               and last use; "remove ID..." removes tokens. `remoteuser
               revoke USER` removes a user's tokens with every login.
               """,
               self._complete, self._do_token)

    # Internal methods

    def _tokens(self):
        tokens = PersonalTokens(self.env)
        if not tokens.stored():
            raise AdminCommandError("the table of tokens does not exist "
                                    "yet: run trac-admin ENV upgrade")
        return tokens

    def _complete(self, args):
        if len(args) == 1:
            return ['add', 'list', 'remove']
        if args[0] == 'remove':
            return [r.id for r in self._tokens().records()]
        if args[0] == 'add' and len(args) > 2:
            return ['--name=', '--days=']
        return []

    def _do_token(self, action=None, *args):
        if action == 'add':
            self._add(*args)
        elif action == 'list' and len(args) <= 1:
            self._list(*args)
        elif action == 'remove' and args:
            removed = self._tokens().remove(args)
            for record in removed:
                print("removed %s (%s) of %s"
                      % (record.id, record.name, record.owner))
            unknown = sorted(set(args) - {r.id for r in removed})
            if unknown:
                raise AdminCommandError("no token %s" % ', '.join(
                    client_text(i) for i in unknown))
        else:
            raise AdminCommandError("expected: remoteuser token add|list|"
                                    "remove", show_usage=True)

    def _add(self, user=None, *options):
        if not user or user.startswith('--'):
            raise AdminCommandError("remoteuser token add needs a user",
                                    show_usage=True)
        name, days = 'trac-admin', None
        for option in options:
            key, eq, value = option.partition('=')
            if key == '--name' and eq:
                name = core.clean_label(value)
                if name is None:
                    raise AdminCommandError("--name: up to 80 printable "
                                            "characters")
            elif key == '--days' and eq:
                try:
                    days = int(value)
                except ValueError:
                    days = 0
                if days < 1:
                    raise AdminCommandError("--days: a whole number of days, "
                                            "at least 1")
            else:
                raise AdminCommandError("unknown argument %s"
                                        % client_text(option),
                                        show_usage=True)
        tokens = self._tokens()
        refusal = tokens.owner_refusal(user, making=True)
        if refusal is not None:
            raise AdminCommandError("no token for %s: %s"
                                    % (client_text(user), refusal))
        days = days or max(RemoteUserOptions(self.env).token_lifetime, 1)
        token, record = tokens.add(user, name, days)
        print("Token %s (%s) for %s, valid until %s. It is shown once:"
              % (record.id, record.name, user, _when(record.expires)))
        print(token)

    def _list(self, user=None):
        rows = [(r.id, r.owner, r.name, _when(r.expires),
                 _when(r.last_used) if r.last_used else 'never')
                for r in self._tokens().records(user)]
        print_table(rows, ['ID', 'Owner', 'Name', 'Expires (UTC)',
                           'Last used (UTC)'])


def _when(timestamp):
    return time.strftime('%Y-%m-%d %H:%M', time.gmtime(timestamp))
