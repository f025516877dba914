"""Logging users in with the name a trusted front end hands over, and
judging every other door into Trac.

The front end (nginx, Apache, an SSO agent) authenticates the user and
passes the name in a header or in ``REMOTE_USER``. Since a header can be
sent by anyone who reaches the backend, it is believed only from the
proxies listed in ``[remoteuser] trusted_proxies``; the name is cleaned
and refused when dangerous (`core.names`). Every other door (Trac's
cookie login, a password form, another plugin's login) is asked by this
authenticator itself, and its name believed only when the name policy
and the name's owner allow that door (`core.doors`).
"""

import time

from trac.config import ConfigurationError
from trac.core import Component, TracError, implements
from trac.util.text import exception_to_unicode
from trac.util.translation import _
from trac.web.api import IAuthenticator
from trac.web.chrome import add_warning
from trac.web.main import RequestDispatcher

from remoteuserauth import decision as decisions, eventlog, selftest
from remoteuserauth.bindings import AccountBindings
from remoteuserauth.cookies import LoginCookies
from remoteuserauth.core import doors, names, trust
from remoteuserauth.core import tokens as token_core
from remoteuserauth.core.verdicts import Verdicts
from remoteuserauth.decision.memo import DecisionMemo
from remoteuserauth.eventlog import EventLog
from remoteuserauth.forwardedfor import ClientAddress
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.ordering import ask_first
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.publicurl import PublicURLFilter
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.tokens import REFUSED_KEY, PersonalTokens

#: Where a request keeps its decision, so it is made once per request.
DECISION_KEY = 'remoteuserauth.decision'

#: Where a request keeps the door (`core.doors`) that logged it in.
DOOR_KEY = 'remoteuserauth.door'

#: How many verdicts on other doors' names are remembered, and the
#: longest name remembered.
MAX_DOOR_VERDICTS = 4096
_MAX_KEPT_NAME = 255

_NO_OWNERS = doors.owners(())


class RemoteUserAuthenticator(Component):
    """Logs users in with the name a trusted front end hands over.

    The name comes from the `[remoteuser] header` when the direct peer
    is one of the `trusted_proxies`, or from `REMOTE_USER` set by the
    web server itself. It always wins over a `trac_auth` cookie of
    another user.
    """

    implements(IAuthenticator)

    def __init__(self):
        self._memo = DecisionMemo()
        self._door_verdicts = Verdicts(MAX_DOOR_VERDICTS)
        # Asked for on every request: held, not looked up each time.
        self._settings = RemoteUserSettings(self.env)
        self._public_url = PublicURLFilter(self.env)
        self._client_address = ClientAddress(self.env)
        # `None` when disabled (Trac keeps that until trac.ini changes).
        self._bindings = self.env[AccountBindings]
        self._ownership = self.env[NameOwnership]
        self._tokens = self.env[PersonalTokens]
        _check_log_interval(self)

    # IAuthenticator methods

    def authenticate(self, req):
        if selftest.probe_token(req.environ) is not None:
            # The self-test's probe reports the decision without acting
            # on it: Trac must store nothing for its requests.
            return 'anonymous'
        decision = self.decision(req)
        current = self._settings.current(req.environ)
        if current.tokens:
            token_owner = self._token_login(req, decision, current)
            if token_owner is not None:
                return token_owner
        if decision.veto or not (decision.name or current.cookie_login):
            # A truthy answer stops Trac from asking the cookie login.
            return 'anonymous'
        if decision.name:
            req.environ[DOOR_KEY] = doors.FRONT_END
            return decision.name
        return self._other_doors(req)

    # Public API

    def judge_door(self, name, door, environ=None):
        """May `door` (not the front end) log in, create or change the
        password of `name`? `None`, or a `doors.Refusal`. (With the
        request's `environ`, under the options it was decided with.)

        A verdict is remembered while the options, Trac's groups and
        the front end's names are the objects it was made with (each a
        new object when it changes): a browser's cookie login is judged
        on every request. Names are the client's choice (a login form
        posts any), so only short ones are kept, and at most
        `MAX_DOOR_VERDICTS`."""
        ownership = self._ownership
        owned = ownership.owners() if ownership is not None and \
            ownership.recording() else _NO_OWNERS
        settings = self._settings

        def judge():
            return doors.other_door(name, door, doors.clean(
                name, lambda value: settings.clean_name(value, environ)),
                owned)
        if not isinstance(name, str) or len(name) > _MAX_KEPT_NAME:
            return judge()
        return self._door_verdicts.get(
            (settings.current(environ), settings.group_names(environ),
             owned), (name, door), judge)

    def refuse_door(self, req, name, door, refusal):
        """Log the refusal of `name` at `door` (one line per peer and
        rule per `log_interval`)."""
        peer = trust.describe_peer(trust.direct_peer(req.environ))
        EventLog(self.env).write(
            'warning', 'door-' + refusal.rule, peer,
            "refused %s through the %s from %s: %s", names.client_text(name),
            door, peer, refusal.reason)

    def decide(self, environ):
        """Run the decision for a WSGI environment (diagnostics ask it
        too); it changes nothing but the memo of decisions."""
        settings = self._settings
        return self._memo.decide(environ, settings.settings(environ),
                                 settings.group_names(environ))

    def decision(self, req):
        """The decision for `req`, made once; it also leaves the
        accepted name, and only that, in ``REMOTE_USER`` so that Trac's
        own login (`/login`) records the cleaned name."""
        environ = req.environ
        decision = environ.get(DECISION_KEY)
        if decision is None:
            # The first the plugin sees of the request: the guard
            # and the client address before Trac's cookie login reads it.
            self._public_url.guard_response(req)
            self._client_address.apply(environ)
            decision = self.decide(environ)
            if decision.name and decision.source == decisions.ASSERTION \
                    and self._bindings is not None:
                decision = self._bindings.enforce(decision)
            ownership = self._ownership
            if decision.name and ownership is not None and \
                    ownership.recording():
                decision = ownership.enforce(decision,
                                             self._settings.door_key)
            environ[DECISION_KEY] = decision
            if decision.name:
                environ['REMOTE_USER'] = decision.name
            else:
                environ.pop('REMOTE_USER', None)
            self._log_decision(decision)
        return decision

    # Internal methods

    def _log_decision(self, decision):
        if decision.name:
            self.log.debug("TracRemoteUserAuth: %s from %s (%s)",
                           decision.name, decision.peer, decision.source)
            if not decision.notes:
                return
        elif not (decision.notes or decision.rule):
            # Nobody named, and nothing ignored: nothing to say.
            return
        log = EventLog(self.env)
        peer = trust.describe_peer(decision.peer)
        for note in decision.notes:
            log.write('warning', note.kind, peer, "%s", note)
        if decision.name:
            return
        if decision.rule:
            jwt = self._settings.settings().assertion
            where = {decisions.HEADER: "header %s"
                     % RemoteUserOptions(self.env).header,
                     decisions.ASSERTION: "the assertion in %s" % (
                         jwt.header if jwt else '?')}.get(
                decision.source, "REMOTE_USER")
            level = 'info' if decision.rule in names.NOBODY else 'warning'
            log.write(level, 'refused-' + decision.rule, peer,
                      "refused the user name in %s from %s: %s; the request "
                      "stays anonymous", where, peer, decision.reason)

    def _token_login(self, req, decision, current):
        """The owner of a personal access token presented on a
        `token_paths` page, ``'anonymous'`` when the token is refused
        (the request is then answered with 401), or `None` when no token
        is read here."""
        tokens = self._tokens
        if tokens is None:
            return None
        if current.token_path_problems:
            tokens.paths(current)       # logs them
        environ = req.environ
        path = environ.get('PATH_INFO', '')
        if not isinstance(path, str) or not path.isascii():
            # WSGI hands the path over as ISO-8859-1 text of its bytes:
            # an ASCII path is Trac's `req.path_info` without its
            # decoding on each read, as nearly every path is.
            path = req.path_info
        # A path as written in `token_paths`, as clients nearly always
        # write it, is found without the call (which also reads a
        # trailing slash).
        paths = current.token_paths
        if path not in paths and not token_core.on_token_path(path, paths) \
                or not tokens.stored():
            return None
        now = time.time()
        presented = token_core.presented(environ.get('HTTP_AUTHORIZATION'))
        if presented is None:
            # An API end point takes no cookie: a page elsewhere could
            # make a browser post to it (a JSON post carries no form
            # token), and the browser would send its cookie along.
            return None if decision.name or decision.veto else 'anonymous'
        if decision.veto:
            record, refusal = None, doors.Refusal(
                token_core.FRONT_END_OTHER, "the front end sent a name it "
                "may not: %s" % decision.reason)
        else:
            record, refusal = tokens.verify(presented, decision.name, now,
                                            environ)
        if refusal is not None:
            environ[REFUSED_KEY] = refusal
            environ.pop('REMOTE_USER', None)
            peer = trust.describe_peer(decision.peer)
            EventLog(self.env).write('warning', refusal.rule, peer,
                                     "refused a token from %s on %s: %s",
                                     peer, names.client_text(req.path_info),
                                     refusal.reason)
            return 'anonymous'
        tokens.touch(record, now)
        environ[DOOR_KEY] = doors.TOKEN
        self.log.debug("TracRemoteUserAuth: %s by token %s", record.owner,
                       record.id)
        return record.owner

    def _other_doors(self, req):
        """Ask the other authenticators (Trac's cookie login, a password
        form, another plugin), as Trac would, and believe their name
        only when the name policy and its owner allow that door (rules
        13 and 15); always an answer, so that Trac asks none of them a
        second time."""
        environ = req.environ
        form_name = _form_login_name(req)
        if form_name is not None:
            # Refused before any password is checked (or counted by a
            # lock-out guard) for it.
            refusal = self.judge_door(form_name, doors.PASSWORD, environ)
            if refusal is not None:
                self.refuse_door(req, form_name, doors.PASSWORD, refusal)
                return 'anonymous'
        name = None
        for authenticator in RequestDispatcher(self.env).authenticators:
            if authenticator is self:
                continue
            try:
                name = authenticator.authenticate(req)
            except TracError as e:
                self.log.error("Can't authenticate using %s: %s",
                               authenticator.__class__.__name__,
                               exception_to_unicode(e, traceback=True))
                add_warning(req, _("Authentication error. "
                                   "Please contact your administrator."))
                return 'anonymous'
            if name:
                break
        if not name:
            return 'anonymous'
        door = _door_of(self.env, self._ownership, req, name,
                        authenticator)
        refusal = self.judge_door(name, door, environ)
        if refusal is None:
            environ[DOOR_KEY] = door
            return name
        environ.pop('REMOTE_USER', None)
        self.refuse_door(req, name, door, refusal)
        if door == doors.COOKIE:
            LoginCookies(self.env).forget(
                req, name, "the name policy or its owner refuses it today: "
                + refusal.reason)
        return 'anonymous'


def _door_of(env, ownership, req, name, authenticator):
    """Which door gave `name`: Trac's cookie login, a password form (it
    sets ``REMOTE_USER``, which the plugin removed), or another plugin's
    login. `ownership` is the `NameOwnership` of `env`, or `None`."""
    if not req.environ.get('REMOTE_USER') and (
            ownership is None or not ownership.enforced()):
        return doors.COOKIE
    if req.environ.get('REMOTE_USER'):
        return doors.PASSWORD
    cookie = req.incookie.get('trac_auth')
    owner = LoginCookies(env).owner(cookie.value) if cookie else None
    if owner is not None and (owner == name or owner.lower() == name):
        return doors.COOKIE
    return "login of %s" % authenticator.__class__.__name__


def _check_log_interval(component):
    """Log, once, a `log_interval` that is no number of seconds."""
    try:
        RemoteUserOptions(component.env).log_interval
    except ConfigurationError as e:
        component.log.error("TracRemoteUserAuth: [remoteuser] log_interval: "
                            "%s; %d seconds are used", e,
                            eventlog.DEFAULT_INTERVAL)


def _form_login_name(req):
    """The user name a login form posts (TracAccountManager's, to
    `/login`), or `None`."""
    if req.method != 'POST' or not req.path_info.startswith('/login'):
        return None
    name = req.args.get('username')
    return name if isinstance(name, str) and name else None


ask_first(RemoteUserAuthenticator, IAuthenticator)
