"""Diagnostics for administrators: `trac-admin ENV remoteuser check` and
the "Remote user" admin panel, both running the very decision a request
runs; and the plugin's line on the About page."""

import pkg_resources

from trac.admin.api import (AdminCommandError, IAdminCommandProvider,
                            IAdminPanelProvider)
from trac.core import Component, implements
from trac.util.translation import _
from trac.env import ISystemInfoProvider
from trac.web.chrome import ITemplateProvider

from remoteuserauth import __version__, assertion, diagnostics, trust
from remoteuserauth.auth import RemoteUserAuthenticator
from remoteuserauth.bindings import AccountBindings
from remoteuserauth.groupsync import GroupSynchronizer
from remoteuserauth.publicurl import PublicURLFilter

_HEADER_OPTIONS = ('header', 'secret_header', 'name_header', 'email_header',
                   'groups_header')
_SHOWN_OPTIONS = ('header', 'trusted_proxies', 'secret_header', 'secret',
                  'strip_domain', 'lowercase', 'name_header', 'email_header',
                  'groups_header', 'sync_groups', 'logout_url',
                  'trust_forwarded', 'log_interval', 'jwt_header',
                  'jwt_preset', 'jwt_keys', 'jwt_issuer', 'jwt_audience',
                  'jwt_algorithms', 'jwt_claim', 'jwt_name_claim',
                  'jwt_email_claim', 'jwt_groups_claim', 'jwt_leeway',
                  'jwt_refresh')


class RemoteUserAdmin(Component):
    """Shows administrators why a request is, or is not, logged in."""

    implements(IAdminCommandProvider, IAdminPanelProvider,
               ISystemInfoProvider, ITemplateProvider)

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

    # IAdminPanelProvider methods

    def get_admin_panels(self, req):
        if 'TRAC_ADMIN' in req.perm('admin', 'general/remoteuser'):
            yield ('general', _("General"), 'remoteuser', "Remote User")

    def render_admin_panel(self, req, category, page, path_info):
        req.perm('admin', 'general/remoteuser').require('TRAC_ADMIN')
        auth = RemoteUserAuthenticator(self.env)
        settings = auth.settings()
        decision = auth.decision(req)
        received = []
        for option in _HEADER_OPTIONS:
            name = self.config.get('remoteuser', option)
            if not name.strip():
                continue
            try:
                value = req.environ.get(trust.environ_key(name))
            except ValueError:
                value = None
            if option == 'secret_header' and value is not None:
                value = _("(matches [remoteuser] secret)") \
                    if trust.secret_matches(settings.secret, value) \
                    else _("(does not match [remoteuser] secret)")
            received.append({'option': option, 'header': name,
                             'value': value})
        public = PublicURLFilter(self.env)
        data = {
            'options': [{'name': name, 'value': self._shown(name)}
                        for name in _SHOWN_OPTIONS],
            'peer': decision.peer,
            'trusted': bool(decision.network),
            'trust': diagnostics.trust_explanation(decision, settings),
            'received': received,
            'remote_user': decision.received
            if decision.source == 'server' else None,
            'verdict': diagnostics.verdict_line(decision),
            'accepted': bool(decision.name),
            'notes': decision.notes,
            'warnings': self.warnings(),
            'base_url': self.config.get('trac', 'base_url'),
            'public_url': req.abs_href(),
            'version': __version__,
            'assertion': None,
        }
        if settings.assertion:
            data['assertion'] = self._explain_assertion(decision, settings)
        if not public.configured_base():
            data['warnings'].append(
                "[trac] base_url is not set: redirects and links follow the "
                "Host header the backend receives")
        return 'remoteuser_admin.html', data

    # ISystemInfoProvider methods

    def get_system_info(self):
        yield 'TracRemoteUserAuth', __version__

    # ITemplateProvider methods

    def get_htdocs_dirs(self):
        return []

    def get_templates_dirs(self):
        return [pkg_resources.resource_filename('remoteuserauth',
                                                'templates')]

    # Public API

    def warnings(self):
        settings = RemoteUserAuthenticator(self.env).settings()
        warnings = diagnostics.risky_settings(settings)
        managed = GroupSynchronizer(self.env).managed_groups()
        for option in ('groups_header', 'jwt_groups_claim'):
            if self.config.get('remoteuser', option).strip() and \
                    not managed:
                warnings.append("[remoteuser] %s is set but sync_groups "
                                "names no group: nothing is synced" % option)
        if settings.assertion:
            warnings.extend(diagnostics.assertion_warnings(
                settings.assertion.verifier,
                settings.assertion.verifier.status()))
        return warnings

    def check(self, peer, value, extra=()):
        """Lines explaining the decision for a request from `peer` with
        `value` in the configured header and the `extra` (name, value)
        headers; the last is the verdict."""
        auth = RemoteUserAuthenticator(self.env)
        settings = auth.settings()
        environ = {'REMOTE_ADDR': peer}
        lines = []
        jwt = settings.assertion
        if jwt:
            if jwt.header_key:
                environ[jwt.header_key] = 'Bearer ' + value if jwt.bearer \
                    and not value.lower().startswith('bearer ') else value
            lines.append("assertion in %s (%d characters), believed from any "
                         "peer: [remoteuser] header and REMOTE_USER are not "
                         "read" % (jwt.header or '(no usable jwt_header)',
                                   len(value)))
        elif settings.header_key:
            environ[settings.header_key] = _as_server_passes_it(value)
            lines.append("header %s: %r" % (settings.header, value))
        else:
            environ['REMOTE_USER'] = value
            lines.append("[remoteuser] header is empty: %r checked as "
                         "REMOTE_USER" % value)
        for name, extra_value in extra:
            if name == 'REMOTE_USER':
                environ['REMOTE_USER'] = extra_value
            else:
                environ[trust.environ_key(name)] = \
                    _as_server_passes_it(extra_value)
            lines.append("%s: %r" % (name, extra_value))
        decision = auth.decide(environ)
        if jwt:
            explained = self._explain_assertion(decision, settings)
            lines.extend(explained['lines'])
            decision = explained['decision']
        else:
            lines.append("peer " + diagnostics.trust_explanation(decision,
                                                                 settings))
        lines.extend("warning: " + w for w in self.warnings())
        # Without a rule, the verdict repeats the last note.
        notes = decision.notes if decision.name or decision.rule \
            else decision.notes[:-1]
        lines.extend("note: " + note for note in notes)
        lines.append(diagnostics.verdict_line(decision))
        return lines

    # Internal methods

    def _explain_assertion(self, decision, settings):
        """The token of `decision` explained (claims, key, each check),
        the keys loaded, and the binding of its name; also the decision
        as the binding leaves it (without recording anything)."""
        verifier = settings.assertion.verifier
        status = verifier.status()
        lines = assertion.explain(decision.assertion, status) \
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
                'key_rows': diagnostics.key_rows(status),
                'status': status, 'header': settings.assertion.header,
                'present': decision.assertion is not None or
                bool(decision.rule)}

    def _shown(self, name):
        value = self.config.get('remoteuser', name)
        if name == 'secret' and value:
            return _("(set, not shown)")
        return value

    def _complete_check(self, args):
        if len(args) == 1:
            return [str(getattr(n, 'network_address', n)) for n in
                    RemoteUserAuthenticator(self.env).settings().networks]
        if len(args) == 2:
            return []
        names = [self.config.get('remoteuser', option)
                 for option in _HEADER_OPTIONS[1:]] + ['REMOTE_USER']
        return [name + '=' for name in names if name.strip()]

    def _do_check(self, peer, value, *extra):
        pairs = []
        for arg in extra:
            name, eq, extra_value = arg.partition('=')
            if not eq or not name:
                raise AdminCommandError(
                    "%r is not <header>=<value>" % arg, show_usage=True)
            pairs.append((name, extra_value))
        for line in self.check(peer, value, pairs):
            print(line)


def _as_server_passes_it(value):
    """Header values reach WSGI applications latin-1 decoded (PEP 3333)."""
    try:
        return value.encode('utf-8').decode('latin-1')
    except UnicodeEncodeError:
        return value
