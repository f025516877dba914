"""Diagnostics for administrators: `trac-admin ENV remoteuser check` and
the "Remote user" admin panel, both running the very decision a request
runs; `remoteuser collisions`, which tells whose names a new name policy
would merge; the plugin's line on the About page, and the secrets kept
off it."""

import pkg_resources

from trac.admin.api import (AdminCommandError, IAdminCommandProvider,
                            IAdminPanelProvider)
from trac.core import Component, implements
from trac.perm import PermissionSystem
from trac.util.translation import _
from trac.env import ISystemInfoProvider
from trac.web.api import IRequestFilter
from trac.web.auth import LoginModule
from trac.web.chrome import Chrome, ITemplateProvider

from remoteuserauth import (__version__, assertion, collisions, diagnostics,
                            masking, names, trust)
from remoteuserauth.auth import RemoteUserAuthenticator
from remoteuserauth.bindings import AccountBindings
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.groupsync import GroupSynchronizer
from remoteuserauth.probe import SelfTestProbe
from remoteuserauth.publicurl import PublicURLFilter
from remoteuserauth.selftestadmin import SelfTestCommand

_HEADER_OPTIONS = ('header', 'secret_header', 'name_header', 'email_header',
                   'groups_header')
_SHOWN_OPTIONS = ('header', 'trusted_proxies', 'secret_header', 'secret',
                  'secret_file', 'strip_domain', 'local_domains',
                  'lowercase', 'name_header', 'email_header',
                  'groups_header', 'sync_groups', 'logout_url',
                  'trust_forwarded', 'trust_forwarded_for', 'log_interval',
                  'jwt_header', 'jwt_preset', 'jwt_keys', 'jwt_issuer',
                  'jwt_audience', 'jwt_algorithms', 'jwt_claim',
                  'jwt_name_claim', 'jwt_email_claim', 'jwt_groups_claim',
                  'jwt_leeway', 'jwt_refresh')


# Where Trac stores user names: (place, query of name and count).
_NAME_SOURCES = (
    ('session', "SELECT sid, COUNT(*) FROM session WHERE authenticated=1 "
                "GROUP BY sid"),
    ('permission', "SELECT username, COUNT(*) FROM permission "
                   "GROUP BY username"),
    ('login cookie', "SELECT name, COUNT(*) FROM auth_cookie GROUP BY name"),
    ('ticket owner', "SELECT owner, COUNT(*) FROM ticket GROUP BY owner"),
    ('ticket reporter', "SELECT reporter, COUNT(*) FROM ticket "
                        "GROUP BY reporter"),
    ('ticket change author', "SELECT author, COUNT(DISTINCT ticket) "
                             "FROM ticket_change GROUP BY author"),
    ('component owner', "SELECT owner, COUNT(*) FROM component "
                        "GROUP BY owner"),
    ('wiki author', "SELECT author, COUNT(*) FROM wiki GROUP BY author"),
    ('attachment author', "SELECT author, COUNT(*) FROM attachment "
                          "GROUP BY author"),
    ('report author', "SELECT author, COUNT(*) FROM report GROUP BY author"),
    ('changeset author', "SELECT author, COUNT(*) FROM revision "
                         "GROUP BY author"),
    ('notification subscription', "SELECT sid, COUNT(*) FROM "
                                  "notify_subscription WHERE "
                                  "authenticated=1 GROUP BY sid"),
    ('watch', "SELECT sid, COUNT(*) FROM notify_watch WHERE "
              "authenticated=1 GROUP BY sid"),
)


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
        yield ('remoteuser collisions',
               '[lowercase[=false]] [ignore_auth_case[=false]] '
               '[strip_domain=true|false] [local_domains=A,B]',
               """Show whose names a name policy would merge or lock out

               Before turning on [remoteuser] lowercase, strip_domain or
               local_domains, or [trac] ignore_auth_case, run every name
               Trac knows (sessions, permissions, login cookies, ticket
               owners, reporters and cc lists, the authors of ticket
               changes, wiki pages, attachments, reports and changesets,
               component owners, notification subscriptions) through the
               cleaning a login gets under that policy. Prints one line
               per group of names that would become one user (with
               where each occurs), per account that would be renamed,
               and per account that would be refused (locked out). The
               arguments change the policy read from trac.ini.
               """,
               self._complete_collisions, self._do_collisions)

    # IAdminPanelProvider methods

    def get_admin_panels(self, req):
        if 'TRAC_ADMIN' in req.perm('admin', 'general/remoteuser'):
            yield ('general', _("General"), 'remoteuser', "Remote User")

    def render_admin_panel(self, req, category, page, path_info):
        req.perm('admin', 'general/remoteuser').require('TRAC_ADMIN')
        selftest = SelfTestCommand(self.env)
        if req.method == 'POST' and 'selftest' in req.args:
            selftest.answer_browser_run(req)
        auth = RemoteUserAuthenticator(self.env)
        settings = auth.settings()
        decision = auth.decision(req)
        received = []
        for option in _HEADER_OPTIONS:
            name = self.config.get('remoteuser', option)
            if not name.strip():
                continue
            value = req.environ.get(_environ_key(name))
            if option == 'secret_header' and value is not None:
                value = self._secret_verdict(settings, value)
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
            'selftest': selftest.browser_plan(req)
            if self.env.is_component_enabled(SelfTestProbe) else None,
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
        auth = RemoteUserAuthenticator(self.env)
        settings = auth.settings()
        warnings = diagnostics.risky_settings(settings)
        loaded = auth.secret_file_status()
        if loaded is not None:
            if loaded.warning:
                warnings.append(loaded.warning)
            if self.config.get('remoteuser', 'secret'):
                warnings.append("[remoteuser] secret is not used while "
                                "secret_file is set: remove it from "
                                "trac.ini")
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
        unclaimed = self.unclaimed_subjects()
        if unclaimed:
            warnings.append(diagnostics.unclaimed_warning(unclaimed))
        ownership = NameOwnership(self.env)
        if ownership.enforced() and ownership.recording():
            lookalikes = ownership.lookalikes(auth.door_key)
            if lookalikes:
                warnings.append(
                    "%d password account(s) hold a name the front end "
                    "owns, or a look-alike of one (%s): the password form "
                    "refuses them; run trac-admin ENV remoteuser "
                    "collisions" % (len(lookalikes), ', '.join(
                        '%s/%s' % (names.client_text(a), o)
                        for a, o in lookalikes[:5])))
        return warnings

    def unclaimed_subjects(self):
        """The permission subjects a front-end user could take: they hold
        permissions, have no member, have never logged in (no
        authenticated session) and are names the plugin would accept.
        Trac cannot tell such a subject from a user: it may be a group
        still waiting for its first member, whose permissions the user
        of that name would receive. Sorted."""
        auth = RemoteUserAuthenticator(self.env)
        settings = auth.settings()
        groups = auth.group_names()
        holders = {subject for subject, action
                   in PermissionSystem(self.env).get_all_permissions()
                   if action.isupper()}
        with self.env.db_query as db:
            known = {sid for sid, in db("SELECT sid FROM session "
                                        "WHERE authenticated=1")}
        return sorted(
            subject for subject in holders - known
            if names.clean_name(subject.encode('utf-8'),
                                settings.strip_domain, settings.lowercase,
                                groups, settings.local_domains).name ==
            subject)

    def check(self, peer, value, extra=()):
        """Lines explaining the decision for a request from `peer` with
        `value` in the configured header and the `extra` (name, value)
        headers; the last is the verdict."""
        auth = RemoteUserAuthenticator(self.env)
        settings = auth.settings()
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
            key = settings.header_key or _environ_key(header)
            if key:
                environ[key] = _as_server_passes_it(value)
            lines.append("header %s: %r" % (header, value))
        else:
            environ['REMOTE_USER'] = value
            lines.append("[remoteuser] header is empty: %r checked as "
                         "REMOTE_USER" % value)
        secret_key = _environ_key(self.config.get('remoteuser',
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
                    shown = self._secret_verdict(settings, environ[key])
            lines.append("%s: %s" % (name, shown))
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
        decision = self._explain_owner(decision, lines)
        if header and not jwt and not settings.header_key and \
                not decision.name:
            lines.append("refused: header %s is not believed while "
                         "[remoteuser] is broken (the warnings above say "
                         "what to correct)" % header)
        else:
            lines.append(diagnostics.verdict_line(decision))
        return lines

    def collisions(self, policy):
        """The `collisions.Report` of `policy` over the names Trac
        knows."""
        groups = RemoteUserAuthenticator(self.env).group_names()
        return collisions.evaluate(self.name_occurrences(groups), policy,
                                   groups)

    def current_policy(self):
        """The name policy trac.ini sets now."""
        auth = RemoteUserAuthenticator(self.env)
        return collisions.Policy(
            strip_domain=auth.strip_domain, lowercase=auth.lowercase,
            local_domains=tuple(auth.local_domains),
            ignore_auth_case=LoginModule(self.env).ignore_case)

    def name_occurrences(self, groups=()):
        """Every name Trac stores where a user's name goes:
        ``{name: {place: count}}``. Permission groups are left out."""
        occurrences = {}

        def add(name, place, count=1):
            if name:
                places = occurrences.setdefault(name, {})
                places[place] = places.get(place, 0) + count

        with self.env.db_query as db:
            for place, sql in _NAME_SOURCES:
                for name, count in db(sql):
                    if place != 'permission' or name not in groups:
                        add(name, place, count)
            chrome = Chrome(self.env)
            for cc, in db("SELECT cc FROM ticket WHERE cc IS NOT NULL "
                          "AND cc != ''"):
                for name in set(chrome.cc_list(cc)):
                    add(name, 'ticket cc')
        # Which names the front end owns matters only beside another
        # door (a password form).
        ownership = NameOwnership(self.env)
        if ownership.enforced():
            for name in ownership.local_accounts():
                add(name, collisions.PASSWORD_ACCOUNT)
            if ownership.recording():
                for name in ownership.owners().names:
                    add(name, collisions.FRONT_END)
        return occurrences

    # Internal methods

    def _explain_owner(self, decision, lines):
        """A line on who owns the accepted name of `decision`, beside
        another door; the decision refused when the front end may not
        log it in (a local password account not yet adopted)."""
        ownership = NameOwnership(self.env)
        if not decision.name or not ownership.enforced() or \
                not ownership.recording():
            return decision
        auth = RemoteUserAuthenticator(self.env)
        refusal, record = ownership.front_door(decision.name, auth.door_key)
        if refusal is not None:
            return decision._replace(name=None, veto=True, rule=refusal.rule,
                                     reason=refusal.reason)
        lines.append("owner: %s" % (
            "%s is the front end's from its first login on" % decision.name
            if record else "%s belongs to the front end; no other door may "
            "log it in" % decision.name))
        return decision

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

    def _complete_collisions(self, args):
        given = set(arg.partition('=')[0].lower() for arg in args[:-1])
        words = ['lowercase', 'lowercase=false', 'ignore_auth_case',
                 'ignore_auth_case=false', 'strip_domain=true',
                 'strip_domain=false', 'local_domains=']
        if args and args[-1].startswith('local_domains='):
            words.append('local_domains=' + ','.join(
                self.config.getlist('remoteuser', 'local_domains')))
        return [w for w in words if w.partition('=')[0] not in given]

    def _do_collisions(self, *args):
        try:
            policy = collisions.parse_policy(args, self.current_policy())
        except ValueError as e:
            raise AdminCommandError(str(e), show_usage=True)
        for line in collisions.report_lines(self.collisions(policy),
                                            policy):
            print(line)

    def _secret_verdict(self, settings, value):
        if trust.secret_matches(settings.secret, value):
            return _("(matches [remoteuser] secret)")
        return _("(does not match [remoteuser] secret)")

    def _shown(self, name):
        return masking.mask('remoteuser', name,
                            self.config.get('remoteuser', name))

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
            try:
                trust.environ_key(name)
            except ValueError as e:
                raise AdminCommandError(str(e), show_usage=True)
            pairs.append((name, extra_value))
        for line in self.check(peer, value, pairs):
            print(line)


class SecretMask(Component):
    """Keeps `[remoteuser] secret` and other secrets off the About page.

    Trac shows every trac.ini value there to anyone holding CONFIG_VIEW;
    secrets are replaced by "(set, not shown)" and URL passwords masked
    (see `remoteuserauth.masking`). The TracIni macro shows defaults
    only, never the values set.
    """

    implements(IRequestFilter)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        return handler

    def post_process_request(self, req, template, data, metadata):
        # Trac's AboutModule puts trac.config.get_configinfo() there;
        # a plugin that renders it again is masked the same way.
        if isinstance(data, dict) and 'config' in data:
            masking.mask_configinfo(data['config'])
        return template, data, metadata


def _environ_key(header):
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
