"""TracAccountManager beside the front end: its doors agree on who owns
a name.

TracAccountManager adds doors of its own: a login form, registration,
password reset, password change, and the account administration panel.
Its checks look only at its own password stores and permission
subjects, so without this module anyone could register the name of a
front-end user (and log in as them with a password of their own), or of
a group in `sync_groups`. This module:

- lists its password accounts to `ownership` (`ILocalAccounts`), so that
  the front end's first login of such a name waits for `remoteuser
  adopt`, and `adopt` removes the password;
- refuses registration, password reset, password change and account
  creation for a name the front end owns (or a look-alike), or that the
  name policy refuses, with a warning on the same page;
- keeps its password-change and e-mail verification steps away from
  front-end users, who have no password here and whose e-mail the
  front end vouches for (they would otherwise be sent to a password
  page that does not exist, or lose their permissions).

The form login itself is judged by the authenticator, for every door
alike (`auth.RemoteUserAuthenticator`). This module imports acct_mgr:
it is loaded only where TracAccountManager is installed (the
``accountmanager`` extra of the distribution's entry point).
"""

import re

from acct_mgr.api import AccountManager
from acct_mgr.register import EmailVerificationModule
from acct_mgr.web_ui import LoginModule as FormLoginModule, ResetPwStore
from trac.core import Component, implements
from trac.util.text import exception_to_unicode
from trac.web.api import IRequestFilter
from trac.web.chrome import add_warning
from trac.web.session import DetachedSession

from remoteuserauth import doors
from remoteuserauth.auth import (DOOR_KEY, RemoteUserAuthenticator,
                                 _ask_first)
from remoteuserauth.eventlog import EventLog
from remoteuserauth.ownership import ILocalAccounts, NameOwnership
from remoteuserauth.writelock import WRITE_LOCK

#: The session attributes by which TracAccountManager holds a user back
#: (a password to change, an e-mail address to verify).
_PASSWORD_STEP = 'force_change_passwd'
_VERIFY_TOKEN = 'email_verification_token'
_VERIFIED_ADDRESS = 'email_verification_sent_to'

_ADMIN_USER = re.compile(r'/admin/accounts/users/(.+)$')
_LOGIN_PATHS = re.compile(r'/(login|logout)/?$')


class AccountManagerDoors(Component):
    """Holds TracAccountManager's doors to the names the front end owns
    and to the name policy."""

    implements(ILocalAccounts, IRequestFilter)

    # ILocalAccounts methods

    def local_accounts_enabled(self):
        return self.env.is_enabled(AccountManager)

    def local_accounts(self):
        if not self.local_accounts_enabled():
            return ()
        try:
            return AccountManager(self.env).get_users()
        except Exception as e:
            # A password file that cannot be read: no account is listed,
            # which refuses nothing, and the log says why.
            EventLog(self.env).write(
                'error', 'local-accounts-unreadable', None,
                "TracAccountManager's password stores cannot be read (%s)",
                exception_to_unicode(e))
            return ()

    def remove_local_account(self, name):
        removed = False
        stores = list(AccountManager(self.env).password_stores)
        stores.append(ResetPwStore(self.env))
        for store in stores:
            delete = getattr(store, 'delete_user', None)
            if callable(delete) and name in store.get_users():
                delete(name)
                removed = True
        return removed

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        if not self.local_accounts_enabled():
            return handler
        if handler is None and _LOGIN_PATHS.match(req.path_info) and \
                self.env.is_enabled(FormLoginModule):
            handler = self._login_handler()
        if req.method == 'POST':
            door, names = _door_of(req)
            for name in names:
                self._check(req, name, door)
        if req.authname != 'anonymous':
            self._spare_front_end_user(req)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Internal methods

    def _login_handler(self):
        """TracAccountManager's login module, for /login and /logout
        when no handler answers them: with Trac's LoginModule enabled
        too, TracAccountManager disables Trac's in memory once its own
        is made, after its own has decided not to answer while Trac's
        is enabled, and both pages are 404 (the front end's login
        included). Its documentation says to disable Trac's."""
        EventLog(self.env).write(
            'warning', 'option', 'two login modules',
            "TracAccountManager's LoginModule and Trac's are both enabled, "
            "which leaves /login without a handler; /login and /logout are "
            "served by TracAccountManager's (its login form then logs "
            "nobody in). Set [components] trac.web.auth.loginmodule = "
            "disabled, as TracAccountManager's documentation says")
        return FormLoginModule(self.env)

    def _check(self, req, name, door):
        auth = RemoteUserAuthenticator(self.env)
        refusal = auth.judge_door(name, door)
        if refusal is None:
            return
        auth.refuse_door(req, name, door, refusal)
        if refusal.rule in (doors.OWNED, doors.LOOKALIKE):
            add_warning(req, "%s signs in through the single sign-on of "
                        "this site: it cannot be registered, nor have a "
                        "password here." % name)
        else:
            add_warning(req, "%s cannot be used as a user name on this "
                        "site." % name)
        req.redirect(req.href(req.path_info))

    def _spare_front_end_user(self, req):
        """A user the front end logged in, or whose cookie its login left
        (a name it owns), has no password here to change, and an e-mail
        address the front end vouches for: the address it hands over now
        (which the profile sync stores later in this request) counts as
        verified before TracAccountManager looks."""
        door = req.environ.get(DOOR_KEY)
        if door not in (doors.FRONT_END, doors.COOKIE):
            return
        ownership = NameOwnership(self.env)
        if door == doors.COOKIE and (
                not ownership.recording() or
                req.authname not in ownership.owners().names):
            return
        session = req.session
        decision = RemoteUserAuthenticator(self.env).decision(req)
        email = None
        if self.env.is_enabled(EmailVerificationModule):
            email = decision.profile.email if decision.name else None
            email = email or session.get('email')
        stale = [key for key in (_PASSWORD_STEP, _VERIFY_TOKEN)
                 if key in session]
        if not stale and (not email or session.get(_VERIFIED_ADDRESS) ==
                          email):
            return
        try:
            # Stored at once, as the profile sync stores its changes
            # (which makes Trac load the session again).
            with WRITE_LOCK:
                stored = DetachedSession(self.env, req.authname)
                for key in stale:
                    stored.pop(key, None)
                if email:
                    stored[_VERIFIED_ADDRESS] = email
                stored.save()
        except Exception as e:
            EventLog(self.env).write(
                'warning', 'session-not-stored', req.authname,
                "TracAccountManager's steps for %s not cleared (%s); the "
                "next request tries again", req.authname,
                exception_to_unicode(e))
            return
        del req.session


def _door_of(req):
    """The door a POST to TracAccountManager's pages is, and the names
    it would log in, create or give a password: ``(door, names)``."""
    path = req.path_info
    args = req.args
    if path == '/register' and args.get('action') == 'create':
        return doors.REGISTRATION, _texts(args.get('username'))
    if path == '/reset_password':
        return doors.RESET, _texts(args.get('username'))
    if path == '/prefs/account' and req.authname != 'anonymous':
        return doors.PASSWORD_CHANGE, [req.authname]
    if path == '/admin/accounts/users':
        if 'add' in args:
            return doors.ADMIN, _texts(args.get('username'))
        if 'reset' in args:
            return doors.ADMIN, _texts(args.getlist('sel'))
        return None, []
    match = _ADMIN_USER.match(path)
    if match:
        action = args.get('action')
        if action == 'edit' and args.get('password'):
            return doors.ADMIN, [match.group(1)]
        if action == 'uid':
            return doors.ADMIN, _texts(args.get('new_uid'))
    return None, []


def _texts(values):
    """The non-empty strings among `values` (one value or a list),
    stripped as TracAccountManager strips them."""
    if not isinstance(values, list):
        values = [values]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


# TracAccountManager's filters hold users back (a pending password
# change, an e-mail to verify) in their pre_process_request; a front-end
# user must be spared before that.
_ask_first(AccountManagerDoors, IRequestFilter)
