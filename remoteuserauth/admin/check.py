"""`trac-admin ENV remoteuser check PEER VALUE [HEADER=VALUE...]`: who
a request would be logged in as, explained step by step by the very
decision a request runs (and, for a signed assertion, check by check).
The admin panel explains the administrator's own request the same
way."""

import time

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.core import Component, implements
from trac.util.translation import _

from remoteuserauth.admin.warnings import SiteWarnings
from remoteuserauth.assertion import explain as explain_verdict
from remoteuserauth.auth import RemoteUserAuthenticator
from remoteuserauth.bindings import AccountBindings
from remoteuserauth.core import doors, tokens as token_core, trust
from remoteuserauth.decision import explain
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.tokens import PersonalTokens

#: The options that name a header the check may be given.
HEADER_OPTIONS = ('header', 'secret_header', 'name_header', 'email_header',
                   'groups_header')


class CheckCommand(Component):
    """`remoteuser check`: who a request would be logged in as."""

    implements(IAdminCommandProvider)

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser check', '<peer> <value> [<header>=<value>...]',
               """Show who a request would be logged in as

               Runs the decision a request runs, for a request from the
               address <peer> carrying <value> in [remoteuser] header (or
               in REMOTE_USER when no header is configured). Further
               <header>=<value> arguments add headers, e.g. the secret
               header; REMOTE_USER=<name> sets the server's variable.
               With [remoteuser] jwt_header (or jwt_preset) set, <value>
               is a signed assertion (a JWT), explained check by check:
               its claims, the key that verifies it, each check and its
               result, and the account its name is bound to.
               The last line is "accepted: NAME" or "refused: REASON".
               """,
               self._complete_check, self._do_check)

    # Public API

    def check(self, peer, value, extra=()):
        """Lines explaining the decision for a request from `peer` with
        `value` in the configured header and the `extra` (name, value)
        headers; the last is the verdict."""
        auth = RemoteUserAuthenticator(self.env)
        reader = RemoteUserSettings(self.env)
        settings = reader.settings()
        environ = {'REMOTE_ADDR': peer}
        lines = []
        jwt = settings.assertion
        header = self.config.get('remoteuser', 'header').strip()
        if jwt:
            if jwt.header_key:
                environ[jwt.header_key] = 'Bearer ' + value if jwt.bearer \
                    and not value.lower().startswith('bearer ') else value
            lines.append("assertion in %s (%d characters), believed from any "
                         "peer: [remoteuser] header and REMOTE_USER are not "
                         "read" % (jwt.header or '(no usable jwt_header)',
                                   len(value)))
        elif header:
            # Where the proxy puts it, even while the settings keep it
            # from being believed.
            key = settings.header_key or header_key(header)
            if key:
                environ[key] = _as_server_passes_it(value)
            lines.append("header %s: %r" % (header, value))
        else:
            environ['REMOTE_USER'] = value
            lines.append("[remoteuser] header is empty: %r checked as "
                         "REMOTE_USER" % value)
        secret_key = header_key(self.config.get('remoteuser',
                                                  'secret_header'))
        for name, extra_value in extra:
            shown = repr(extra_value)
            if name == 'REMOTE_USER':
                environ['REMOTE_USER'] = extra_value
            else:
                key = trust.environ_key(name)
                environ[key] = _as_server_passes_it(extra_value)
                if key == secret_key:
                    # The output may be pasted into a ticket.
                    shown = self.secret_verdict(settings, environ[key])
                elif token_core.presented(extra_value):
                    shown = "(a personal access token, not shown)"
            lines.append("%s: %s" % (name, shown))
        decision = auth.decide(environ)
        if jwt:
            explained = self.explain_assertion(decision, settings)
            lines.extend(explained['lines'])
            decision = explained['decision']
        else:
            lines.append("peer " + explain.trust_explanation(decision,
                                                                 settings))
        lines.extend("warning: " + w
                     for w in SiteWarnings(self.env).warnings())
        # Without a rule, the verdict repeats the last note.
        notes = decision.notes if decision.name or decision.rule \
            else decision.notes[:-1]
        lines.extend("note: " + note for note in notes)
        decision = self._explain_owner(decision, lines)
        if decision.name:
            lines.append("door: %s" % doors.FRONT_END)
        presented = token_core.presented(environ.get('HTTP_AUTHORIZATION'))
        if presented is not None:
            lines.extend(self._explain_token(presented, decision))
        if header and not jwt and not settings.header_key and \
                not decision.name:
            lines.append("refused: header %s is not believed while "
                         "[remoteuser] is broken (the warnings above say "
                         "what to correct)" % header)
        else:
            lines.append(explain.verdict_line(decision))
        return lines

    def _explain_token(self, presented, decision):
        """Lines on a personal access token's verdict, without the
        token: whose it is, and whether it would log its owner in on
        `token_paths`."""
        tokens = PersonalTokens(self.env)
        if not tokens.stored():
            return ["token: not read (no table of tokens yet: run "
                    "trac-admin ENV upgrade)"]
        found = tokens.find(presented.token)
        lines = []
        if found is not None:
            lines.append("token: %s (%s) of %s, expires %s" % (
                found.id, found.name, found.owner,
                time.strftime('%Y-%m-%d', time.gmtime(found.expires))))
        record, refusal = tokens.verify(presented, decision.name)
        where = ', '.join(sorted(tokens.paths()))
        if refusal is not None:
            lines.append("token: refused (401): %s" % refusal.reason)
        elif not RemoteUserOptions(self.env).tokens:
            lines.append("token: valid, but not read: [remoteuser] tokens "
                         "is false")
        else:
            lines.append("token: accepted as %s on %s, and nowhere else"
                         % (record.owner, where))
        return lines

    def _explain_owner(self, decision, lines):
        """A line on who owns the accepted name of `decision`, beside
        another door; the decision refused when the front end may not
        log it in (a local password account not yet adopted)."""
        ownership = NameOwnership(self.env)
        if not decision.name or not ownership.enforced() or \
                not ownership.recording():
            return decision
        refusal, record = ownership.front_door(
            decision.name, RemoteUserSettings(self.env).door_key)
        if refusal is not None:
            return decision._replace(name=None, veto=True, rule=refusal.rule,
                                     reason=refusal.reason)
        lines.append("owner: %s" % (
            "%s is the front end's from its first login on" % decision.name
            if record else "%s belongs to the front end; no other door may "
            "log it in" % decision.name))
        return decision

    def explain_assertion(self, decision, settings):
        """The token of `decision` explained (claims, key, each check),
        the keys loaded, and the binding of its name; also the decision
        as the binding leaves it (without recording anything)."""
        verifier = settings.assertion.verifier
        status = verifier.status()
        lines = explain_verdict(decision.assertion, status) \
            if decision.assertion else []
        bindings = self.env[AccountBindings]
        if decision.name and decision.assertion and bindings is not None:
            allowed, reason, bound = bindings.check(decision)
            if not allowed:
                decision = decision._replace(name=None, veto=True,
                                             rule='binding', reason=reason)
            elif bound is None:
                lines.append("binding: %s is not bound yet; this login "
                             "would bind it to the account %r of %r"
                             % (decision.name,
                                decision.assertion.claims.get('sub'),
                                decision.assertion.claims.get('iss')))
            else:
                lines.append("binding: %s is bound to the account %r of %r, "
                             "the token's" % (decision.name, bound[1],
                                              bound[0]))
        return {'lines': lines, 'decision': decision,
                'key_rows': explain.key_rows(status),
                'status': status, 'header': settings.assertion.header,
                'present': decision.assertion is not None or
                bool(decision.rule)}

    def secret_verdict(self, settings, value):
        if trust.secret_matches(settings.secret, value):
            return _("(matches [remoteuser] secret)")
        return _("(does not match [remoteuser] secret)")

    def _complete_check(self, args):
        if len(args) == 1:
            return [str(getattr(n, 'network_address', n)) for n in
                    RemoteUserSettings(self.env).settings().networks]
        if len(args) == 2:
            return []
        names = [self.config.get('remoteuser', option)
                 for option in HEADER_OPTIONS[1:]] + ['REMOTE_USER']
        return [name + '=' for name in names if name.strip()]

    def _do_check(self, peer, value, *extra):
        pairs = []
        for arg in extra:
            name, eq, extra_value = arg.partition('=')
            if not eq or not name:
                raise AdminCommandError(
                    "%r is not <header>=<value>" % arg, show_usage=True)
            try:
                trust.environ_key(name)
            except ValueError as e:
                raise AdminCommandError(str(e), show_usage=True)
            pairs.append((name, extra_value))
        for line in self.check(peer, value, pairs):
            print(line)

def header_key(header):
    """The WSGI key of `header`, or `None` when it is empty or invalid
    (the settings report it)."""
    try:
        return trust.environ_key(header)
    except ValueError:
        return None


def _as_server_passes_it(value):
    """Header values reach WSGI applications latin-1 decoded (PEP 3333)."""
    try:
        return value.encode('utf-8').decode('latin-1')
    except UnicodeEncodeError:
        return value
