"""Trac's `/login` and `/logout` behind a front end.

`/login` with no name from the front end would end in Trac's
"Authentication information not available" error page; it goes back
with a warning and a log line instead (unless another plugin's login
form serves it). `/logout` sends the browser on to the single sign-on's
sign-out page (`logout_url`), since the front end would otherwise log
the user straight back in. And a `trac_auth` cookie the front end
contradicts is retired on any page.
"""

import re
from functools import cached_property

from trac.core import Component, implements
from trac.web.api import IRequestFilter
from trac.web.auth import LoginModule
from trac.web.chrome import add_warning

from remoteuserauth.auth import DOOR_KEY, RemoteUserAuthenticator
from remoteuserauth.cookies import LoginCookies
from remoteuserauth.core import doors, trust
from remoteuserauth.eventlog import EventLog
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.settings import RemoteUserSettings

_LOGOUT_KEY = 'remoteuserauth.logout'


class LoginPages(Component):
    """Keeps `/login` and `/logout` working behind the front end, and
    retires the cookies it contradicts."""

    implements(IRequestFilter)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        decision = self._auth.decision(req)
        self._retire_cookie(req, decision)
        if isinstance(handler, LoginModule):
            if re.match(r'/login/?$', req.path_info):
                # A login module of another plugin (TracAccountManager's
                # form) serves those the front end does not name.
                if type(handler) is LoginModule or decision.name:
                    self._check_login(req, decision)
            elif re.match(r'/logout/?$', req.path_info):
                self._prepare_logout(req)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    def front_end_user(self, req):
        """Whether the front end logged `req` in: its name this request,
        or the cookie its login left (beside another door, the cookie
        of a name the front end owns)."""
        door = req.environ.get(DOOR_KEY)
        if door == doors.FRONT_END:
            return True
        if door != doors.COOKIE:
            return False
        ownership = NameOwnership(self.env)
        return not ownership.enforced() or (
            ownership.recording() and
            req.authname in ownership.owners().names)

    # Internal methods

    @cached_property
    def _auth(self):
        return RemoteUserAuthenticator(self.env)

    @cached_property
    def _settings(self):
        return RemoteUserSettings(self.env)

    def _retire_cookie(self, req, decision):
        """Expire a `trac_auth` cookie that the front end contradicts
        (it names another user, or with `cookie_login` off, no user) and
        forget its login, so that a page the front end leaves alone
        cannot bring the cookie's user back."""
        if not (decision.name or not self._settings.current(
                req.environ).cookie_login) or \
                'trac_auth' not in req.environ.get('HTTP_COOKIE', ''):
            # (No cookie of that name in the header: none to parse.)
            return
        cookie = req.incookie.get('trac_auth')
        if cookie is None:
            return
        cookies = LoginCookies(self.env)
        owner = cookies.owner(cookie.value)
        if owner != decision.name:
            cookies.forget(req, owner, "the front end names %s" % (
                decision.name or "nobody ([remoteuser] cookie_login = "
                "false)"))

    def _check_login(self, req, decision):
        """`/login` with no name from the front end would end in Trac's
        "Authentication information not available" error; go back with
        a warning instead."""
        if req.remote_user:
            return
        if not req.is_authenticated:
            reason = decision.reason or ' '.join(decision.notes) or \
                "the front end sent no user name"
            jwt = RemoteUserSettings(self.env).settings(req.environ).assertion
            where = "a signed assertion in header %s" % jwt.header if jwt \
                else "the name in [remoteuser] header %s or in " \
                "REMOTE_USER" % RemoteUserOptions(self.env).header
            EventLog(self.env).write(
                'warning', 'login-without-name',
                trust.describe_peer(decision.peer),
                "/login without a user name from the front end (%s); make "
                "the front end authenticate /login and pass %s", reason,
                where)
            add_warning(req, "Login is handled by the web server in front "
                             "of Trac, and it did not identify you. "
                             "Please contact your administrator.")
        # The public URL filter's guard keeps the redirect on the site.
        referer = req.args.get('referer') or req.get_header('Referer')
        if referer and not re.search(r'/login/?$', referer.split('?')[0]):
            req.redirect(referer)
        req.redirect(req.abs_href())

    def _prepare_logout(self, req):
        target = RemoteUserOptions(self.env).logout_url.strip()
        if not target or req.method != 'POST' or not req.is_authenticated \
                or not self.front_end_user(req):
            # A password form's user logs out of Trac only.
            return
        if not re.match(r'https?://|/(?!/)', target):
            EventLog(self.env).write(
                'error', 'option', 'logout_url',
                "[remoteuser] logout_url %r is neither "
                "an http(s):// URL nor a path starting with /; it is "
                "ignored", target)
            return

        def to_logout_url(req, url, permanent):
            # Trac's LoginModule has forgotten the user and redirects
            # back; send the browser to the single sign-on instead.
            if not req.environ.get(_LOGOUT_KEY):
                req.environ[_LOGOUT_KEY] = True
                req.redirect(target)
        req.add_redirect_listener(to_logout_url)
