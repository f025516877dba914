"""The "Remote User" admin panel: the administrator's own request run
through the decision and explained, the options as set (secrets
masked), the warnings, the self-test's button; and the plugin's line on
the About page."""

import time

import pkg_resources

from trac.admin.api import IAdminPanelProvider
from trac.core import Component, implements
from trac.env import ISystemInfoProvider
from trac.util.translation import _
from trac.web.chrome import ITemplateProvider, add_notice

from remoteuserauth import __version__
from remoteuserauth.admin.check import (HEADER_OPTIONS, CheckCommand,
                                        header_key)
from remoteuserauth.admin.selftestpanel import SelfTestPanelRun
from remoteuserauth.admin.warnings import SiteWarnings
from remoteuserauth.auth import DOOR_KEY, RemoteUserAuthenticator
from remoteuserauth.core import masking
from remoteuserauth.decision import explain
from remoteuserauth.options import SECTION, declared
from remoteuserauth.probe import SelfTestProbe
from remoteuserauth.publicurl import PublicURLFilter
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.tokens import PersonalTokens


class RemoteUserAdmin(Component):
    """Shows administrators why a request is, or is not, logged in."""

    implements(IAdminPanelProvider, ISystemInfoProvider, ITemplateProvider)

    # IAdminPanelProvider methods

    def get_admin_panels(self, req):
        if 'TRAC_ADMIN' in req.perm('admin', 'general/remoteuser'):
            yield ('general', _("General"), 'remoteuser', "Remote User")

    def render_admin_panel(self, req, category, page, path_info):
        req.perm('admin', 'general/remoteuser').require('TRAC_ADMIN')
        selftest = SelfTestPanelRun(self.env)
        if req.method == 'POST' and 'selftest' in req.args:
            selftest.answer_browser_run(req)
        tokens = PersonalTokens(self.env)
        if req.method == 'POST' and 'remove_tokens' in req.args:
            removed = tokens.remove(req.args.getlist('token_id'))
            if removed:
                add_notice(req, "Removed the token(s) %s." % ', '.join(
                    '%s of %s' % (r.id, r.owner) for r in removed))
            req.redirect(req.href.admin(category, page))
        settings = RemoteUserSettings(self.env).settings()
        decision = RemoteUserAuthenticator(self.env).decision(req)
        check = CheckCommand(self.env)
        received = []
        for option in HEADER_OPTIONS:
            name = self.config.get('remoteuser', option)
            if not name.strip():
                continue
            value = req.environ.get(header_key(name))
            if option == 'secret_header' and value is not None:
                value = check.secret_verdict(settings, value)
            received.append({'option': option, 'header': name,
                             'value': value})
        public = PublicURLFilter(self.env)
        data = {
            'options': [{'name': option.name,
                         'value': self._shown(option.name)}
                        for option in declared()],
            'peer': decision.peer,
            'trusted': bool(decision.network),
            'trust': explain.trust_explanation(decision, settings),
            'received': received,
            'remote_user': decision.received
            if decision.source == 'server' else None,
            'verdict': explain.verdict_line(decision),
            'accepted': bool(decision.name),
            'notes': decision.notes,
            'warnings': SiteWarnings(self.env).warnings(),
            'base_url': self.config.get('trac', 'base_url'),
            'public_url': req.abs_href(),
            'version': __version__,
            'selftest': selftest.browser_plan(req)
            if self.env.is_component_enabled(SelfTestProbe) else None,
            'assertion': None,
            'door': req.environ.get(DOOR_KEY),
            'tokens': [dict(r._asdict(), expires_at=_when(r.expires),
                            used_at=_when(r.last_used))
                       for r in tokens.records()] if tokens.stored()
            else None,
        }
        if settings.assertion:
            data['assertion'] = check.explain_assertion(decision, settings)
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

    # Internal methods

    def _shown(self, name):
        return masking.mask(SECTION, name, self.config.get(SECTION, name))


def _when(timestamp):
    if not timestamp:
        return 'never'
    return time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(timestamp))
