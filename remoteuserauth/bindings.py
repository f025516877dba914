"""Each Trac name belongs to one account at the identity provider.

A signed assertion proves what the identity provider says today. When
it hands a name on to another person (an account deleted and the name
reused, a rename), that person would inherit the Trac user's tickets,
wiki pages and rights. The first verified login of a Trac name records
the account it came from, the token's issuer and subject (``iss``,
``sub``: the provider's own identifier, which it never reuses); a later
token naming the same Trac user from another account is refused and
logged, until an administrator releases the binding:

    trac-admin ENV remoteuser bindings               # list them
    trac-admin ENV remoteuser bindings release NAME  # bind again on login

The bindings live in a table of the plugin's own, which no Trac page
writes.
"""

import time

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.cache import cached
from trac.core import Component, implements
from trac.env import IEnvironmentSetupParticipant
from trac.util.text import exception_to_unicode, print_table

from remoteuserauth import schema
from remoteuserauth.core import trust
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.writelock import WRITE_LOCK
from remoteuserauth.eventlog import EventLog

#: The refusal of a token whose account is not the one the name is
#: bound to.
BINDING = 'binding'
#: The refusal of a token without the subject a binding needs.
NO_SUBJECT = 'binding-no-subject'
#: The refusal while the bindings cannot be read.
UNREADABLE = 'binding-unreadable'


class AccountBindings(Component):
    """Binds each Trac name to the identity provider's account (issuer
    and subject) of its first verified assertion, and refuses tokens of
    any other account for that name."""

    implements(IAdminCommandProvider, IEnvironmentSetupParticipant)

    # IEnvironmentSetupParticipant methods

    def environment_created(self):
        self.upgrade_environment()

    def environment_needs_upgrade(self):
        # Only sites that use signed assertions need the bindings, only
        # sites with another door (a password form) the owners, and
        # only sites with tokens the tokens: the others keep running
        # when they install this version.
        required = 0
        if any(self.config.get('remoteuser', option).strip()
               for option in ('jwt_header', 'jwt_preset')):
            required = schema.BINDINGS_VERSION
        ownership = NameOwnership(self.env)
        if ownership.enforced():
            required = schema.OWNERS_VERSION
        if RemoteUserOptions(self.env).tokens:
            required = schema.TOKENS_VERSION
        return schema.current_version(self.env) < required

    def upgrade_environment(self):
        ownership = NameOwnership(self.env)
        with self.env.db_transaction:
            schema.upgrade(self.env, ownership.local_accounts())
            # Trac creates a cache's row when it is first invalidated;
            # doing it now spares two first logins colliding on it.
            del self._bindings
            ownership.forget_table_state()

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser bindings', '[release <name>...]',
               """List or release the accounts Trac names are bound to

               Without arguments, list each Trac name with the issuer and
               subject (the identity provider's account) of its first
               verified assertion. "release NAME..." forgets the binding
               of each NAME ("*" for all), so that its next verified
               login binds it again: do it when the identity provider
               moved the name to another account on purpose, or when
               you change identity providers.
               """,
               self._complete, self._do_bindings)

    # Public API

    def bound(self, name):
        """``(issuer, subject, time)`` of `name`'s binding, or `None`."""
        return self._bindings.get(name)

    def check(self, decision):
        """Whether the account of `decision`'s assertion may use its
        name: ``(allowed, reason, bound)``, `bound` being the binding
        found (`None` for a first login)."""
        rule, reason, bound = self._verdict(decision)
        return rule is None, reason, bound

    def enforce(self, decision):
        """`decision`, or a veto when its account is not the one its name
        is bound to; a first login records the binding."""
        rule, reason, bound = self._verdict(decision)
        if rule is None and bound is None:
            reason = self._record(decision)
            rule = reason and BINDING
        if rule is None:
            return decision
        EventLog(self.env).write('warning', 'refused-' + rule,
                                 trust.describe_peer(decision.peer),
                                 "refused %s: %s", decision.name, reason)
        return decision._replace(name=None, veto=True, rule=rule,
                                 reason=reason)

    def release(self, names):
        """Forget the bindings of `names` (``*``: all); returns the names
        released."""
        released = sorted(self._bindings) if '*' in names else \
            [name for name in names if name in self._bindings]
        with WRITE_LOCK:
            with self.env.db_transaction as db:
                for name in released:
                    db("DELETE FROM remoteuser_binding WHERE name=%s",
                       (name,))
                del self._bindings
        for name in released:
            self.log.info("TracRemoteUserAuth: released the binding of %s",
                          name)
        return released

    # Internal methods

    def _verdict(self, decision):
        """``(rule, reason, bound)``: `rule` is `None` when the account
        may use its name, else one of the refusals above."""
        claims = decision.assertion.claims
        issuer, subject = claims.get('iss'), claims.get('sub')
        if not isinstance(subject, str) or not subject:
            return NO_SUBJECT, "the assertion has no sub claim: a Trac name " \
                "is bound to the account (iss and sub) of its first login", \
                None
        try:
            bound = self.bound(decision.name)
        except Exception as e:
            return UNREADABLE, "the account bindings cannot be read (%s); " \
                "the next request tries again" % exception_to_unicode(e), None
        if bound is None or bound[:2] == (issuer, subject):
            return None, None, bound
        return BINDING, self._mismatch(decision.name, bound, issuer,
                                       subject), bound

    @cached
    def _bindings(self):
        return {name: (issuer, subject, when) for name, issuer, subject, when
                in self.env.db_query("SELECT name, issuer, subject, time "
                                     "FROM remoteuser_binding")}

    def _mismatch(self, name, bound, issuer, subject):
        return "%s is bound to the account %r of %r since %s, and this " \
               "token comes from the account %r of %r: the identity " \
               "provider gave the name to another account (a recycled or " \
               "renamed account). If it is the same person, run " \
               "trac-admin ENV remoteuser bindings release %s" % (
                   name, bound[1], bound[0],
                   time.strftime('%Y-%m-%d', time.gmtime(bound[2] or 0)),
                   subject, issuer, name)

    def _record(self, decision):
        """Record the binding of a first login; `None` when recorded (or
        when the database is busy: the next request tries again), else
        why the name is taken."""
        claims = decision.assertion.claims
        issuer, subject = claims['iss'], claims['sub']
        try:
            # The INSERT takes the database lock before the cache is
            # invalidated, the order Trac's own writes use.
            with WRITE_LOCK:
                with self.env.db_transaction as db:
                    db("INSERT INTO remoteuser_binding (name, issuer, "
                       "subject, time) VALUES (%s, %s, %s, %s)",
                       (decision.name, issuer, subject, int(time.time())))
                    del self._bindings
        except Exception as e:
            # A concurrent first login of the same name may have won.
            try:
                rows = self.env.db_query(
                    "SELECT issuer, subject, time FROM remoteuser_binding "
                    "WHERE name=%s", (decision.name,))
            except Exception:
                rows = []
            if rows and tuple(rows[0][:2]) != (issuer, subject):
                return self._mismatch(decision.name, rows[0], issuer,
                                      subject)
            if not rows:
                EventLog(self.env).write(
                    'warning', 'binding-not-recorded', decision.name,
                    "binding of %s not recorded (%s); "
                    "the next request tries again", decision.name,
                    exception_to_unicode(e))
            return None
        self.log.info("TracRemoteUserAuth: bound %s to the account %r of "
                      "%r (first verified login)", decision.name, subject,
                      issuer)
        return None

    def _complete(self, args):
        if len(args) == 1:
            return ['release']
        return sorted(self._bindings)

    def _do_bindings(self, *args):
        try:
            self._bindings
        except Exception as e:
            raise AdminCommandError("the bindings cannot be read (%s); "
                                    "run trac-admin ENV upgrade"
                                    % exception_to_unicode(e))
        if not args:
            rows = [(name, issuer, subject,
                     time.strftime('%Y-%m-%d %H:%M', time.gmtime(when or 0)))
                    for name, (issuer, subject, when)
                    in sorted(self._bindings.items())]
            print_table(rows, ['Name', 'Issuer', 'Subject', 'Since (UTC)'])
            return
        if args[0] != 'release' or len(args) < 2:
            raise AdminCommandError("expected: remoteuser bindings [release "
                                    "<name>...]", show_usage=True)
        released = self.release(args[1:])
        unknown = [n for n in args[1:] if n != '*' and n not in released]
        for name in released:
            print("released %s" % name)
        if unknown:
            raise AdminCommandError("no binding for %s" % ', '.join(unknown))
