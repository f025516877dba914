"""Logging users in with the name a trusted front end hands over.

The front end (nginx, Apache, an SSO agent) authenticates the user and
passes the name in a header or in ``REMOTE_USER``. Since a header can be
sent by anyone who reaches the backend, it is believed only from the
proxies listed in ``[remoteuser] trusted_proxies``; the name is cleaned
and refused when dangerous (see `remoteuserauth.names`).
"""

import os
import re

from trac.config import (BoolOption, ConfigurationError, IntOption,
                         ListOption, Option)
from trac.core import Component, ComponentMeta, TracError, implements
from trac.perm import PermissionSystem
from trac.util import as_bool
from trac.util.text import exception_to_unicode
from trac.util.translation import _
from trac.web.api import IAuthenticator, IRequestFilter
from trac.web.auth import LoginModule
from trac.web.chrome import add_warning
from trac.web.main import RequestDispatcher

from remoteuserauth import (assertion, eventlog, names, presets, selftest,
                            trust)
from remoteuserauth import decision as decisions, doors
from remoteuserauth.bindings import AccountBindings
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.remoteaddr import ClientAddress
from remoteuserauth.secretfile import SecretFile
from remoteuserauth.eventlog import EventLog

#: Where a request keeps the settings it was decided with.
_SETTINGS_KEY = 'remoteuserauth.settings'

#: Where a request keeps its decision, so it is made once per request.
DECISION_KEY = 'remoteuserauth.decision'

#: Where a request keeps the door (`doors`) that logged it in.
DOOR_KEY = 'remoteuserauth.door'

_LOGOUT_KEY = 'remoteuserauth.logout'

#: How many cookies known to belong to the user the front end names are
#: remembered, to spare a query per request.
_MAX_COOKIE_OWNERS = 4096

_BOOLEAN_WORDS = ('yes', 'true', 'enabled', 'on',
                  'no', 'false', 'disabled', 'off')

_JWT_OPTIONS = ('jwt_header', 'jwt_preset', 'jwt_keys', 'jwt_issuer',
                'jwt_audience', 'jwt_algorithms', 'jwt_claim',
                'jwt_name_claim', 'jwt_email_claim', 'jwt_groups_claim',
                'jwt_leeway', 'jwt_refresh')


class SafeBoolOption(BoolOption):
    """A boolean option whose value, when it is no boolean at all
    (`maybe`), is its default, as the log then says; Trac's own reads
    any unknown word as false, which would turn `strip_domain` off."""

    def accessor(self, section, name, default):
        value = section.get(name, default)
        if isinstance(value, str) and value.strip():
            try:
                float(value)
            except ValueError:
                if value.strip().lower() not in _BOOLEAN_WORDS:
                    value = default
        return as_bool(value)


class RemoteUserAuthenticator(Component):
    """Logs users in with the name a trusted front end hands over.

    The name comes from the `[remoteuser] header` when the direct peer
    is one of the `trusted_proxies`, or from `REMOTE_USER` set by the
    web server itself. It always wins over a `trac_auth` cookie of
    another user. `/login` and `/logout` keep working.
    """

    implements(IAuthenticator, IRequestFilter)

    header = Option('remoteuser', 'header', 'Remote-User',
        """HTTP header that carries the user name, matched the way WSGI
        servers name headers (`Remote-User`, `REMOTE_USER` and
        `HTTP_REMOTE_USER` are the same header; `SM_USER` is
        CA SiteMinder's). It is believed only from
        `trusted_proxies`. Leave empty when the web server itself
        authenticates and sets `REMOTE_USER` (Apache with mod_wsgi or
        mod_python): then no header is ever read.
        """)

    trusted_proxies = ListOption('remoteuser', 'trusted_proxies',
                                 '127.0.0.1, ::1',
        doc="""Addresses or CIDR networks (IPv4 and IPv6) of the proxies
        whose `header` is believed, comma separated, e.g.
        `127.0.0.1, ::1, 10.0.0.0/24`. Only the direct peer of the
        connection is checked, never `X-Forwarded-For`. An entry that
        does not parse is logged and ignored, so it never widens trust.
        `unix` trusts connections over a Unix domain socket (gunicorn
        `bind = unix:/run/trac.sock`), which have no address.
        The default trusts a proxy on the same machine only.
        """)

    secret_header = Option('remoteuser', 'secret_header', '',
        """With `secret`: a header the proxy must send carrying the
        `secret`, for proxies that cannot be told apart by address
        (an SSO agent inside the web server, a shared network).
        """)

    secret = Option('remoteuser', 'secret', '',
        """The shared secret the proxy sends in `secret_header`,
        compared in constant time. Keep trac.ini readable by the Trac
        process only when you set it, or use `secret_file`. It is never
        shown on the About page, the admin panel or in the log.
        """)

    secret_file = Option('remoteuser', 'secret_file', '',
        """A file holding the `secret` on its first line (the line end
        is not part of it), so that trac.ini need not hold it: make it
        readable by the Trac process only (`chmod 600`). It is read
        again when it changes (looked at once a second at most), and
        wins over `secret`. A relative path is relative to the folder
        holding trac.ini. While it is missing, unreadable, not a
        regular file, over 4 KiB, or its first line is empty or holds
        anything but printable ASCII, no header is believed at all,
        rather than falling back to `secret` (perhaps the very secret
        the file replaced): the log and the admin panel say what is
        wrong.
        """)

    strip_domain = SafeBoolOption('remoteuser', 'strip_domain', 'true',
        """Remove the Windows domain and the Kerberos realm from the
        names of `local_domains`: `EXAMPLE\\user` and `user@EXAMPLE.COM`
        become `user`. A name of any other domain is refused (logged),
        never mapped onto a local account. Set to `false` to keep whole
        names (`user@EXAMPLE.COM` is then a Trac user of its own).
        """)

    local_domains = ListOption('remoteuser', 'local_domains', '',
        doc="""The Windows domains, Kerberos realms and e-mail domains
        whose users are this Trac's users, comma separated (e.g.
        `EXAMPLE, EXAMPLE.COM, example.com`), compared without regard
        to case. With `strip_domain`, a name from one of them loses its
        domain part; a name from any other domain, or from any domain
        while this is empty, is refused: `carol@OTHER.REALM` of a
        trusted realm is not the local `carol`. (since 0.2)
        """)

    lowercase = SafeBoolOption('remoteuser', 'lowercase', 'false',
        """Fold user names to lower case, for identity providers that
        do not care about case (Active Directory) so that `JDoe` and
        `jdoe` are one Trac user. `[trac] ignore_auth_case` folds the
        same way. Run `trac-admin ENV remoteuser collisions lowercase`
        first: it lists the existing users that would become one.
        """)

    cookie_login = SafeBoolOption('remoteuser', 'cookie_login', 'true',
        """Let Trac's `trac_auth` cookie keep a browser logged in on the
        pages the front end leaves alone (a front end that protects
        `/login` only). Set to `false` when the front end authenticates
        every request: the front end is then the only authority, no
        cookie logs anyone in without its name, and a user disabled at
        the identity provider is out at once. (since 0.2)
        """)

    jwt_header = Option('remoteuser', 'jwt_header', '',
        """Header carrying a signed identity assertion (a JWT) from an
        identity-aware proxy, e.g. `X-Pomerium-Jwt-Assertion`,
        `Cf-Access-Jwt-Assertion`, `X-Goog-IAP-JWT-Assertion`;
        `Authorization` means a `Bearer` token, `env:OIDC_id_token` the
        server variable of Apache mod_auth_openidc. When set (or when
        `jwt_preset` is), the user name comes only from an assertion
        whose signature, issuer, audience and expiry verify, from any
        peer: `header` and `REMOTE_USER` are not read. A present but
        invalid assertion leaves the request anonymous whatever cookie
        it carries. Needs `pip install TracRemoteUserAuth[jwt]`.
        (since 0.2)
        """)

    jwt_preset = Option('remoteuser', 'jwt_preset', '',
        """The identity-aware proxy in front of Trac: `pomerium`,
        `cloudflare`, `iap`, `oauth2-proxy` or `mod_auth_openidc`. It
        fills `jwt_header`, `jwt_algorithms`, the claims and, where the
        product publishes its keys at a known place, `jwt_keys`, as the
        product documents them; options set here win. `jwt_issuer` and
        `jwt_audience` are always yours to set. (since 0.2)
        """)

    jwt_keys = Option('remoteuser', 'jwt_keys', '',
        """The keys that verify assertions: an `https://` URL of a JSON
        Web Key Set (`http://` only on 127.0.0.1, ::1 or localhost), or
        the path of a JWKS or PEM public-key file (relative to the
        folder of trac.ini). A URL is fetched on first use and cached;
        a token naming an unknown key causes one fetch, at most once
        every `jwt_refresh` seconds; a failed fetch keeps the keys
        fetched before. A file is read again when it changes. Keys
        named by the token itself (`jku`, `x5u`, `jwk`, `x5c`) are never
        used. (since 0.2)
        """)

    jwt_issuer = Option('remoteuser', 'jwt_issuer', '',
        """The issuer (`iss`) assertions must carry, exactly. No
        assertion is believed while it is empty. (since 0.2)
        """)

    jwt_audience = ListOption('remoteuser', 'jwt_audience', '',
        doc="""The audiences (`aud`) accepted, comma separated: this
        Trac's identifier at the proxy or identity provider (an
        application tag, a client id, a route's domain). The token's
        `aud` must hold one of them. No assertion is believed while it
        is empty. (since 0.2)
        """)

    jwt_algorithms = ListOption('remoteuser', 'jwt_algorithms',
                                'RS256, PS256, ES256, EdDSA',
        doc="""Signature algorithms accepted, comma separated (also
        RS384, RS512, PS384, PS512, ES384, ES512). An algorithm must
        suit the key's type, and be the key's own `alg` when the key
        states one. `none` and the HMAC family (HS256 ...) are never
        accepted, whatever this says: they are dropped with a log line.
        (since 0.2)
        """)

    jwt_claim = Option('remoteuser', 'jwt_claim', 'sub',
        """The claim holding the user name. It is cleaned by the same
        rules as a header's name (`strip_domain`, `local_domains`,
        `lowercase`, refusals): with `email` and `local_domains =
        example.com`, `alice@example.com` is the Trac user `alice`.
        (since 0.2)
        """)

    jwt_name_claim = Option('remoteuser', 'jwt_name_claim', 'name',
        """The claim whose value is stored as the session's display
        `name`; empty: not synced. (since 0.2)
        """)

    jwt_email_claim = Option('remoteuser', 'jwt_email_claim', 'email',
        """The claim whose value is stored as the session's `email`;
        empty: not synced. (since 0.2)
        """)

    jwt_groups_claim = Option('remoteuser', 'jwt_groups_claim', '',
        """The claim listing the user's groups (a list, or a comma or
        `|` separated string), for the group sync of `sync_groups`.
        (since 0.2)
        """)

    jwt_leeway = IntOption('remoteuser', 'jwt_leeway', 60,
        """Seconds of clock difference allowed when checking `exp`,
        `nbf` and `iat`. (since 0.2)
        """)

    jwt_refresh = IntOption('remoteuser', 'jwt_refresh', 300,
        """The least number of seconds between two fetches of a
        `jwt_keys` URL: a token naming an unknown key fetches the keys
        again only when the last fetch is older (at least 10). (since
        0.2)
        """)

    logout_url = Option('remoteuser', 'logout_url', '',
        """Where Logout sends the browser once Trac has forgotten the
        user: the sign-out page of the single sign-on, since the front
        end would otherwise log the user straight back in. An absolute
        `http(s)://` URL or a path starting with `/`.
        """)

    log_interval = IntOption('remoteuser', 'log_interval', 300,
        """Seconds during which the same refusal (same reason, same
        peer) is not logged again; the repeats are counted instead.
        """)

    def __init__(self):
        try:
            self.log_interval
        except ConfigurationError as e:
            self.log.error("TracRemoteUserAuth: [remoteuser] log_interval: "
                           "%s; %d seconds are used", e,
                           eventlog.DEFAULT_INTERVAL)
        self._settings_cache = (None, None)
        self._verifier_cache = (None, None)
        self._groups_cache = (None, None, frozenset())
        self._cookie_owners = {}
        self._secret_file = SecretFile()

    # IAuthenticator methods

    def authenticate(self, req):
        if selftest.probe_token(req.environ) is not None:
            # The self-test's probe reports the decision without acting
            # on it: Trac must store nothing for its requests.
            return 'anonymous'
        decision = self.decision(req)
        if decision.veto or not (decision.name or self.cookie_login):
            # A truthy answer stops Trac from asking the cookie login.
            return 'anonymous'
        if decision.name:
            req.environ[DOOR_KEY] = doors.FRONT_END
            return decision.name
        return self._other_doors(req)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        decision = self.decision(req)
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

    def settings(self, environ=None):
        """The current `decision.Settings`; problems are logged.

        With the request's `environ`, they are read once per request:
        comparing the options with the cached ones costs more than the
        rest of the decision."""
        if environ is not None:
            settings = environ.get(_SETTINGS_KEY)
            if settings is None:
                settings = environ[_SETTINGS_KEY] = self.settings()
            return settings
        raw = tuple(self.config.get('remoteuser', name) for name in
                    ('header', 'trusted_proxies', 'secret_header', 'secret',
                     'strip_domain', 'lowercase', 'trust_forwarded',
                     'local_domains', 'trust_forwarded_for', 'name_header',
                     'email_header', 'groups_header') + _JWT_OPTIONS) + \
            (self.config.get('trac', 'ignore_auth_case'),
             self.secret_file_status())
        key, settings = self._settings_cache
        if key == raw:
            return settings
        loaded = raw[-1]
        broken = loaded is not None and loaded.problem
        secret_header, secret = ('', '') if broken else \
            (self.secret_header, loaded.secret if loaded else self.secret)
        jwt, jwt_problems = self._assertion_options()
        settings = decisions.make_settings(
            self.header, self.trusted_proxies, secret_header, secret,
            self.strip_domain,
            self.lowercase or LoginModule(self.env).ignore_case,
            self.local_domains,
            **dict(jwt, **{name: self.config.get('remoteuser', name)
                           for name in ('name_header', 'email_header',
                                        'groups_header')}))
        if broken:
            # Neither `secret` (perhaps the one the file replaced) nor
            # no secret at all: no header is believed.
            settings = settings._replace(
                header_key=None,
                problems=(loaded.problem,) + settings.problems)
        problems = tuple(jwt_problems) + settings.problems + \
            tuple(self.boolean_problems())
        settings = settings._replace(problems=problems)
        for problem in problems:
            self.log.error("TracRemoteUserAuth: %s", problem)
        self._settings_cache = (raw, settings)
        return settings

    def secret_file_status(self):
        """The `secretfile.Loaded` secret of `secret_file`, or `None`
        when that option is empty."""
        path = self.secret_file.strip()
        if not path:
            return None
        # Relative to trac.ini's folder, as Trac's PathOption (which
        # would resolve links on every request) does it.
        path = os.path.join(os.path.dirname(self.config.filename), path)
        return self._secret_file.current(path)

    def boolean_problems(self):
        """Sentences for the boolean options whose value is no boolean
        (Trac would silently use the default)."""
        for name in ('strip_domain', 'lowercase', 'trust_forwarded',
                     'cookie_login', 'trust_forwarded_for'):
            value = self.config.get('remoteuser', name).strip()
            if not value:
                continue
            try:
                float(value)
                continue
            except ValueError:
                pass
            if value.lower() not in _BOOLEAN_WORDS:
                yield ("[remoteuser] %s: %r is not a boolean (true or "
                       "false); the default is used" % (name, value))

    def verifier(self):
        """The `assertion.Verifier` for the `jwt_*` options, or `None`
        when neither `jwt_header` nor `jwt_preset` is set."""
        jwt = self.settings().assertion
        return jwt.verifier if jwt else None

    def group_names(self):
        """Names no user may have: Trac's permission groups, and the
        groups `sync_groups` manages (which may hold permissions before
        they have a member, when Trac cannot tell them from users)."""
        perms = PermissionSystem(self.env).get_all_permissions()
        managed = self.config.get('remoteuser', 'sync_groups')
        key, raw, groups = self._groups_cache
        if key is not perms or raw != managed:
            groups = frozenset(action for subject, action in perms
                               if not action.isupper()) | \
                frozenset(self.config.getlist('remoteuser', 'sync_groups'))
            self._groups_cache = (perms, managed, groups)
        return groups

    def clean_name(self, value):
        """`names.clean_name` of `value` under the site's name policy
        (as a request runs it)."""
        settings = self.settings()
        return names.clean_name(value, settings.strip_domain,
                                settings.lowercase, self.group_names(),
                                settings.local_domains)

    def door_key(self, name):
        """The `doors.key` of `name` (as another door or the database
        holds it) under the site's name policy."""
        cleaned = doors.clean(name, self.clean_name)
        return doors.key(cleaned.name or name)

    def judge_door(self, name, door):
        """May `door` (not the front end) log in, create or change the
        password of `name`? `None`, or a `doors.Refusal`."""
        ownership = self.env[NameOwnership]
        owned = ownership.owners() if ownership is not None and \
            ownership.recording() else doors.owners(())
        return doors.other_door(name, door, doors.clean(name,
                                                        self.clean_name),
                                owned)

    def refuse_door(self, req, name, door, refusal):
        """Log the refusal of `name` at `door` (one line per peer and
        rule per `log_interval`)."""
        peer = trust.describe_peer(trust.direct_peer(req.environ))
        EventLog(self.env).write(
            'warning', 'door-' + refusal.rule, peer,
            "refused %s through the %s from %s: %s", names.client_text(name),
            door, peer, refusal.reason)

    def decide(self, environ):
        """Run the decision for a WSGI environment, without side effects
        (for diagnostics)."""
        return decisions.decide(environ, self.settings(environ),
                                self.group_names())

    def decision(self, req):
        """The decision for `req`, made once; it also leaves the
        accepted name, and only that, in ``REMOTE_USER`` so that Trac's
        own login (`/login`) records the cleaned name."""
        environ = req.environ
        decision = environ.get(DECISION_KEY)
        if decision is None:
            # The first the plugin sees of the request: the guard
            # and the client address before Trac's cookie login reads it.
            from remoteuserauth.publicurl import PublicURLFilter
            PublicURLFilter(self.env).guard_response(req)
            ClientAddress(self.env).apply(environ,
                                          self.settings(environ).networks)
            decision = self.decide(environ)
            if decision.name and decision.source == decisions.ASSERTION:
                bindings = self.env[AccountBindings]
                if bindings is not None:
                    decision = bindings.enforce(decision)
            ownership = self.env[NameOwnership]
            if decision.name and ownership is not None and \
                    ownership.recording():
                decision = ownership.enforce(
                    decision, self.door_key,
                    trust.describe_peer(decision.peer))
            environ[DECISION_KEY] = decision
            if decision.name:
                environ['REMOTE_USER'] = decision.name
            else:
                environ.pop('REMOTE_USER', None)
            self._log_decision(decision)
        return decision

    # Internal methods

    def _log_decision(self, decision):
        log = EventLog(self.env)
        peer = trust.describe_peer(decision.peer)
        for note in decision.notes:
            log.write('warning', note.kind, peer, "%s", note)
        if decision.name:
            self.log.debug("TracRemoteUserAuth: %s from %s (%s)",
                           decision.name, trust.describe_peer(decision.peer),
                           decision.source)
        elif decision.rule:
            jwt = self.settings().assertion
            where = {decisions.HEADER: "header %s" % self.header,
                     decisions.ASSERTION: "the assertion in %s" % (
                         jwt.header if jwt else '?')}.get(
                decision.source, "REMOTE_USER")
            level = 'info' if decision.rule in names.NOBODY else 'warning'
            log.write(level, 'refused-' + decision.rule, peer,
                      "refused the user name in %s from %s: %s; the request "
                      "stays anonymous", where, peer, decision.reason)

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
            refusal = self.judge_door(form_name, doors.PASSWORD)
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
        door = self._door_of(req, name, authenticator)
        refusal = self.judge_door(name, door)
        if refusal is None:
            environ[DOOR_KEY] = door
            return name
        environ.pop('REMOTE_USER', None)
        self.refuse_door(req, name, door, refusal)
        if door == doors.COOKIE:
            self._forget_cookie(req, name, "the name policy or its owner "
                                "refuses it today: " + refusal.reason)
        return 'anonymous'

    def _door_of(self, req, name, authenticator):
        """Which door gave `name`: Trac's cookie login, a password form
        (it sets ``REMOTE_USER``, which the plugin removed), or another
        plugin's login."""
        ownership = self.env[NameOwnership]
        if not req.environ.get('REMOTE_USER') and (
                ownership is None or not ownership.enforced()):
            return doors.COOKIE
        if req.environ.get('REMOTE_USER'):
            return doors.PASSWORD
        cookie = req.incookie.get('trac_auth')
        owner = self._cookie_owner(cookie.value) if cookie else None
        if owner is not None and (owner == name or owner.lower() == name):
            return doors.COOKIE
        return "login of %s" % authenticator.__class__.__name__

    def _cookie_owner(self, value):
        """The name a `trac_auth` cookie value was issued for, or `None`.
        Cookie values are random and never given to another name, so
        the answer is remembered (a bounded number of them)."""
        owner = self._cookie_owners.get(value)
        if owner is None:
            for owner, in self.env.db_query(
                    "SELECT name FROM auth_cookie WHERE cookie=%s",
                    (value,)):
                if len(self._cookie_owners) >= _MAX_COOKIE_OWNERS:
                    self._cookie_owners.clear()
                self._cookie_owners[value] = owner
        return owner

    def _forget_cookie(self, req, owner, why):
        """Delete the login of the request's `trac_auth` cookie, whose
        name is `owner`, and expire the cookie."""
        cookie = req.incookie.get('trac_auth')
        if owner is not None:
            self.env.db_transaction(
                "DELETE FROM auth_cookie WHERE cookie=%s", (cookie.value,))
            self.log.info("TracRemoteUserAuth: retired the login cookie of "
                          "%s: %s", owner, why)
        LoginModule(self.env)._expire_cookie(req)

    def _retire_cookie(self, req, decision):
        """Expire a `trac_auth` cookie that the front end contradicts
        (it names another user, or with `cookie_login` off, no user) and
        forget its login, so that a page the front end leaves alone
        cannot bring the cookie's user back."""
        cookie = req.incookie.get('trac_auth')
        if cookie is None or not (decision.name or not self.cookie_login):
            return
        owner = self._cookie_owner(cookie.value)
        if owner != decision.name:
            self._forget_cookie(req, owner, "the front end names %s" % (
                decision.name or "nobody ([remoteuser] cookie_login = "
                "false)"))

    def _assertion_options(self):
        """The keyword arguments of `decision.make_settings` for the
        `jwt_*` options (none while neither `jwt_header` nor
        `jwt_preset` is set), and what is wrong with them."""
        get = lambda name: self.config.get('remoteuser', name)
        if not (get('jwt_header').strip() or get('jwt_preset').strip()):
            return {}, []
        explicit = {name: self.config.getlist('remoteuser', name)
                    if name == 'jwt_algorithms' else get(name)
                    for name in presets.DEFAULTS
                    if self.config.has_option('remoteuser', name,
                                              defaults=False)}
        audience = self.config.getlist('remoteuser', 'jwt_audience')
        resolved = presets.resolve(get('jwt_preset'), explicit,
                                   get('jwt_issuer'), audience)
        values = resolved.values
        keys = values['jwt_keys']
        if keys and '://' not in keys and not os.path.isabs(keys):
            keys = os.path.join(os.path.dirname(self.config.filename), keys)
        raw = tuple(get(name) for name in _JWT_OPTIONS) + (keys,)
        key, verifier = self._verifier_cache
        if key != raw:
            verifier = assertion.build(
                keys, get('jwt_issuer'), audience, values['jwt_algorithms'],
                get('jwt_leeway') or 60, get('jwt_refresh') or 300,
                report=self._report_keys,
                blocked=[resolved.blocked] if resolved.blocked else [])
            self._verifier_cache = (raw, verifier)
        return dict(verifier=verifier, jwt_header=values['jwt_header'],
                    jwt_claim=values['jwt_claim'],
                    jwt_name_claim=values['jwt_name_claim'],
                    jwt_email_claim=values['jwt_email_claim'],
                    jwt_groups_claim=values['jwt_groups_claim']), \
            [p for p in resolved.problems if p != resolved.blocked]

    def _report_keys(self, level, message):
        """What the key source of `jwt_keys` has to say, for the log.

        Its messages describe the key set and the fetch, never a
        token, so each distinct one is a scope of its own: a key set
        that changes from unusable to unreachable says so."""
        EventLog(self.env).write(level, 'jwt_keys', message,
                                 "[remoteuser] jwt_keys: %s", message)

    def _check_login(self, req, decision):
        """`/login` with no name from the front end would end in Trac's
        "Authentication information not available" error; go back with
        a warning instead."""
        if req.remote_user:
            return
        if not req.is_authenticated:
            reason = decision.reason or ' '.join(decision.notes) or \
                "the front end sent no user name"
            jwt = self.settings(req.environ).assertion
            where = "a signed assertion in header %s" % jwt.header if jwt \
                else "the name in [remoteuser] header %s or in " \
                "REMOTE_USER" % self.header
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
        target = self.logout_url.strip()
        if not target or req.method != 'POST' or not req.is_authenticated:
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


def _form_login_name(req):
    """The user name a login form posts (TracAccountManager's, to
    `/login`), or `None`."""
    if req.method != 'POST' or not req.path_info.startswith('/login'):
        return None
    name = req.args.get('username')
    return name if isinstance(name, str) and name else None


def _ask_first(cls, interface):
    """Make `cls` the first implementation of `interface` that Trac
    asks.

    Trac asks authenticators in the order their classes were defined and
    takes the first name. Under tracd, Trac's LoginModule comes first
    and answers with a stale `trac_auth` cookie before the front end's
    name is looked at; under gunicorn or mod_wsgi the order depends on
    how plugins happened to load. Putting this class first makes the
    front end's name win in every server.
    """
    classes = ComponentMeta._registry.setdefault(interface, [])
    if cls in classes:
        classes.remove(cls)
    classes.insert(0, cls)


_ask_first(RemoteUserAuthenticator, IAuthenticator)
