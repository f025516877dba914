"""The self-test's probe: what reached Trac, as the live site sees it.

Any page of the site answers as the probe when its query carries
``remoteuser-probe=TOKEN``, so that the self-test can ask on every path
the front end routes differently (``/login``, ``/chrome/...``, a deep
page): the peer, whether it is trusted, the identity headers under
every spelling that arrived, ``X-Forwarded-*``, the address Trac would
use and the decision. The token is short-lived and signed with a key
kept in the environment's database (never in trac.ini); only
``trac-admin ENV remoteuser selftest`` and the admin panel (TRAC_ADMIN)
issue tokens. Without a valid token the page answers 404 and the
refusal is logged.

The probe reports the decision and never acts on it: its requests stay
anonymous (`RemoteUserAuthenticator.authenticate`), it answers before
any other request filter (no session, no profile or group write), and
its answer carries no cookie. It never shows the secret, the secret
header's value (only "matches" or "does not match") or a signed
assertion (only a short fingerprint).
"""

import json
import secrets
import time

import pkg_resources
from trac.core import Component, implements
from trac.web.api import HTTPNotFound, IRequestFilter, RequestDone
from trac.web.chrome import ITemplateProvider
from trac.web.session import SessionDict

from remoteuserauth import __version__, selftest
# Imported before the probe asks to be first (at the end of this
# module), so that the probe stays before the authenticator's filters.
from remoteuserauth.auth import DECISION_KEY, RemoteUserAuthenticator
from remoteuserauth.core import trust, urls
from remoteuserauth.decision import explain
from remoteuserauth.eventlog import EventLog
from remoteuserauth.options import SECTION, RemoteUserOptions
from remoteuserauth.ordering import ask_first
from remoteuserauth.publicurl import PublicURLFilter
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.tokens import PersonalTokens

#: Where the probe's signing key is kept (the `system` table).
KEY_NAME = 'remoteuserauth.probe_key'


class SelfTestProbe(Component):
    """Answers the front-end self-test's probe requests: what arrived
    with the request and what the decision made of it, without logging
    anyone in or changing anything. Requests need a token from
    `trac-admin ENV remoteuser selftest` or the admin panel.
    """

    implements(IRequestFilter, ITemplateProvider)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        token = selftest.probe_token(req.environ)
        if token is not None:
            self._answer(req, token)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # ITemplateProvider methods

    def get_htdocs_dirs(self):
        return [('remoteuserauth',
                 pkg_resources.resource_filename('remoteuserauth',
                                                 'htdocs'))]

    def get_templates_dirs(self):
        return []

    # Public API

    def issue_token(self, lifetime):
        """A probe token valid for `lifetime` seconds; the first one
        creates the environment's probe key."""
        return selftest.make_token(self._key(create=True), time.time(),
                                   lifetime)

    def selftest_config(self):
        """The options the self-test plans for."""
        def get(name):
            return self.config.get(SECTION, name)
        return selftest.Config(
            get('header'), get('secret_header'), get('jwt_header'),
            RemoteUserOptions(self.env).trust_forwarded,
            bool(self.config.get('trac', 'base_url').strip()),
            get('name_header'), get('email_header'), get('groups_header'),
            bool(get('sync_groups').strip()), self._token_paths())

    def forged_assertion(self, config, marker):
        """A signed assertion naming `marker`, made with a key nobody
        configured, or `None` when the site reads none (or PyJWT is
        missing)."""
        if not self.assertion_planned(config):
            return None
        audience = self.config.getlist('remoteuser', 'jwt_audience')
        return selftest.forged_jwt(
            marker, self.config.get('remoteuser', 'jwt_issuer'),
            audience[0] if audience else '',
            self.config.getlist('remoteuser', 'jwt_algorithms'))

    def assertion_planned(self, config):
        """Whether the self-test forges a signed assertion for the site
        whose options are `config`."""
        header = (config.jwt_header or '').strip()
        return bool(header) and not header.lower().startswith('env:') \
            and selftest.jwt_available()

    # Internal methods

    def _token_paths(self):
        """The paths where personal access tokens are read: none while
        they are not (`[remoteuser] tokens` off, or no table yet)."""
        tokens = PersonalTokens(self.env)
        return tuple(sorted(tokens.paths())) if tokens.enabled() else ()

    def _answer(self, req, token):
        environ = req.environ
        peer = trust.describe_peer(trust.direct_peer(environ))
        try:
            key = self._key()
        except ValueError as e:
            key = None
            self.log.error("TracRemoteUserAuth: the self-test probe key in "
                           "the system table is unusable (%s)", e)
        reason = selftest.check_token(key, token, time.time())
        if reason:
            EventLog(self.env).write(
                'warning', 'probe-refused', peer,
                "refused a self-test probe request from "
                "%s: %s; `trac-admin ENV remoteuser selftest` and the "
                "Remote User admin panel issue valid ones", peer, reason)
            raise HTTPNotFound("No handler matched request to %s",
                               req.path_info)
        auth = RemoteUserAuthenticator(self.env)
        settings = RemoteUserSettings(self.env).settings()
        decision = environ.get(DECISION_KEY) or auth.decide(environ)
        public = PublicURLFilter(self.env).public_url(environ) or \
            urls.request_url(environ)
        data = selftest.report(
            environ, self.selftest_config(), decision,
            explain.verdict_line(decision), decision.network,
            settings.secret, urls.url_string(public), __version__)
        self.log.debug("TracRemoteUserAuth: self-test probe from %s on %s",
                       peer, req.path_info)
        self._send(req, json.dumps(data, sort_keys=True).encode('utf-8'))

    def _send(self, req, body):
        # Trac saves the session of every answer under 400 and sends a
        # new visitor a session cookie: the probe leaves no trace.
        req.session = _Unsaved()
        req.outcookie.clear()
        req.send_response(200)
        req.send_header('Content-Type', 'application/json;charset=utf-8')
        req.send_header('Cache-Control', 'no-store')
        req.send_header('X-Content-Type-Options', 'nosniff')
        req.send_header('Content-Length', len(body))
        req.end_headers()
        if req.method != 'HEAD':
            req.write(body)
        raise RequestDone

    def _key(self, create=False):
        """The probe's signing key (bytes), or `None` before the first
        token was issued.

        :raise ValueError: when the stored key is not hexadecimal.
        """
        query = "SELECT value FROM system WHERE name=%s"
        for value, in self.env.db_query(query, (KEY_NAME,)):
            return bytes.fromhex(value)
        if not create:
            return None
        with self.env.db_transaction as db:
            for value, in db(query, (KEY_NAME,)):
                return bytes.fromhex(value)
            value = secrets.token_hex(32)
            db("INSERT INTO system (name, value) VALUES (%s, %s)",
               (KEY_NAME, value))
        self.log.info("TracRemoteUserAuth: created the self-test probe key")
        return bytes.fromhex(value)


class _Unsaved(SessionDict):
    """The probe's session: empty, and never stored."""

    def save(self):
        pass


# The probe answers before any other filter can write (a first visit's
# session, group memberships) or redirect (a login-required plugin).
ask_first(SelfTestProbe, IRequestFilter)
