"""The "API tokens" preferences panel: a user logged in through the
front end makes tokens for their scripts (shown once), sees when each
was last used, and removes them. Never offered to a token's request, a
password form's user, or anonymous visitors."""

import time

from trac.core import Component, implements
from trac.prefs.api import IPreferencePanelProvider
from trac.util.translation import _
from trac.web.chrome import add_notice, add_warning

from remoteuserauth.core import tokens as core
from remoteuserauth.login import LoginPages
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.tokens import PersonalTokens

PANEL = 'apitokens'


class TokenPreferences(Component):
    """The user's own personal access tokens, in Preferences."""

    implements(IPreferencePanelProvider)

    # IPreferencePanelProvider methods

    def get_preference_panels(self, req):
        if self._may_make_tokens(req):
            yield PANEL, _("API tokens")

    def render_preference_panel(self, req, panel):
        if not self._may_make_tokens(req):
            # The panel is not offered; a direct link finds nothing.
            add_warning(req, "API tokens are made by users logged in "
                             "through the single sign-on.")
            return 'prefs_remoteuser_tokens.html', {'allowed': False}
        tokens = PersonalTokens(self.env)
        options = RemoteUserOptions(self.env)
        data = {'allowed': True, 'made': None,
                'default_days': min(options.token_lifetime,
                                    options.token_max_lifetime),
                'max_days': options.token_max_lifetime}
        if req.method == 'POST':
            if 'create' in req.args:
                data['made'] = self._create(req, tokens, options)
            elif 'remove' in req.args:
                removed = tokens.remove(req.args.getlist('token_id'),
                                        owner=req.authname)
                if removed:
                    add_notice(req, "Removed %s." % ', '.join(
                        '%s (%s)' % (r.id, r.name) for r in removed))
        data['tokens'] = [dict(record._asdict(),
                               created_at=_when(record.created),
                               expires_at=_when(record.expires),
                               used_at=_when(record.last_used),
                               expired=record.expires <= time.time())
                          for record in tokens.records(req.authname)]
        return 'prefs_remoteuser_tokens.html', data

    # Internal methods

    def _may_make_tokens(self, req):
        """Only a session the front end logged in makes tokens: never a
        token (a script could then make itself more), never a password
        form's user (the front end does not own the name)."""
        if req.authname == 'anonymous':
            return False
        return PersonalTokens(self.env).enabled() and \
            LoginPages(self.env).front_end_user(req)

    def _create(self, req, tokens, options):
        name = core.clean_label(req.args.get('name'))
        if name is None:
            add_warning(req, "Give the token a name of up to 80 printable "
                             "characters (what it is for).")
            return None
        try:
            days = core.lifetime_days(req.args.get('days'),
                                      options.token_lifetime,
                                      options.token_max_lifetime)
        except ValueError as e:
            add_warning(req, "%s." % e)
            return None
        refusal = tokens.owner_refusal(req.authname, making=True)
        if refusal is not None:
            add_warning(req, "No token can be made: %s." % refusal)
            return None
        token, record = tokens.add(req.authname, name, days)
        return {'token': token, 'id': record.id, 'name': record.name,
                'expires_at': _when(record.expires)}


def _when(timestamp):
    if not timestamp:
        return _("never")
    return time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(timestamp))
