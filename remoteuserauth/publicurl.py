"""Redirects, links and cookies that follow the public address.

Behind a proxy, Trac builds every URL from what the backend sees:
``http://backend:8000`` and often no path prefix. This filter gives the
request the public address instead, from ``[trac] base_url`` or, when
``[remoteuser] trust_forwarded`` is set, from the ``X-Forwarded-*``
headers of a trusted proxy.

It also holds the response to that address: no redirect carries a
control character (Trac copies a login's ``referer`` into ``Location``
as it is, which splits the response under tracd), leaves https for
http, or leaves the site from ``/login`` and ``/logout``; and when the
public site is https every cookie is ``Secure``, Trac's own ones
``SameSite=Lax`` as well.
"""

import re
from functools import cached_property

from trac.core import Component, implements
from trac.web.api import IRequestFilter
from trac.web.href import Href

from remoteuserauth.core import trust, urls
from remoteuserauth.core.names import client_text
from remoteuserauth.eventlog import EventLog
from remoteuserauth.forwardedfor import ClientAddress
from remoteuserauth.ordering import ask_first
from remoteuserauth.settings import RemoteUserSettings


class PublicURLFilter(Component):
    """Makes redirects, links and cookie paths follow the public address
    of the site: `[trac] base_url` when it is set, otherwise the
    `X-Forwarded-*` headers of a trusted proxy when `trust_forwarded`
    is enabled.
    """

    implements(IRequestFilter)

    def __init__(self):
        self._base_cache = (None, None)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        self._client_address.apply(req.environ)
        public = self.public_url(req.environ)
        if public is not None:
            self._apply(req, public)
        self.guard_response(req)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    def configured_base(self, environ=None):
        """`[trac] base_url` as a `urls.PublicURL`, or `None` when it is
        empty or invalid (which is logged); as the request of `environ`
        reads the options, when given."""
        raw = self._settings.current(environ).base_url
        key, public = self._base_cache
        if key == raw:
            return public
        public = None
        if raw.strip():
            try:
                public = urls.parse_base_url(raw)
            except ValueError as e:
                self.log.error("TracRemoteUserAuth: [trac] base_url: %s; "
                               "it is not used for redirects and links", e)
        self._base_cache = (raw, public)
        return public

    def public_url(self, environ):
        """The public address for the request in `environ`, or `None`
        when the backend's own view is right; found once per request
        (the guard and the filter both ask)."""
        if _PUBLIC_KEY not in environ:
            environ[_PUBLIC_KEY] = self._find_public_url(environ)
        return environ[_PUBLIC_KEY]

    def guard_response(self, req):
        """Hold the response of `req` to the public site: redirects,
        cookies, and every header free of control characters. Called as
        soon as the plugin sees a request (from the authenticator too,
        so that error pages are covered); does its work once."""
        environ = req.environ
        if environ.get(_GUARDED_KEY):
            return
        environ[_GUARDED_KEY] = True
        send_cookie_headers = req._send_cookie_headers
        start_response = req._start_response

        def public():
            # Asked for only when a response needs it.
            return self.public_url(environ) or urls.request_url(environ)

        def send_secure_cookie_headers():
            if req.outcookie:
                https = public().scheme == 'https'
                for name, morsel in req.outcookie.items():
                    if https:
                        morsel['secure'] = True
                    if name.startswith('trac_') and not morsel['samesite']:
                        morsel['samesite'] = 'Lax'
            send_cookie_headers()

        def start_clean_response(status, headers, exc_info=None):
            return start_response(status,
                                  self._clean_headers(headers, public),
                                  exc_info)

        req.add_redirect_listener(self._redirect_listener(public))

        req._send_cookie_headers = send_secure_cookie_headers
        req._start_response = start_clean_response

    # Internal methods

    @cached_property
    def _settings(self):
        return RemoteUserSettings(self.env)

    @cached_property
    def _client_address(self):
        return ClientAddress(self.env)

    def _find_public_url(self, environ):
        base = self.configured_base(environ)
        if base is not None:
            return base
        current = self._settings.current(environ)
        if not (current.trust_forwarded or
                environ.get('HTTP_X_FORWARDED_PROTO')):
            # Nothing forwarded is believed, nor needs undoing.
            return None
        trusted = trust.trusted_network(trust.direct_peer(environ),
                                        current.settings.networks)
        if trusted and current.trust_forwarded:
            seen = urls.request_url(environ)
            public = urls.forwarded_url(environ, seen)
            return public if public != seen else None
        if not trusted and environ.get('HTTP_X_FORWARDED_PROTO') and \
                environ.get('wsgi.url_scheme') == 'https' and \
                not _server_says_https(environ):
            # tracd believes X-Forwarded-Proto from anyone; undo that.
            peer = trust.describe_peer(trust.direct_peer(environ))
            EventLog(self.env).write(
                'warning', 'forwarded-proto-ignored', peer,
                "ignored X-Forwarded-Proto from %s: "
                "the peer is not in [remoteuser] trusted_proxies", peer)
            return urls.request_url(dict(environ,
                                         **{'wsgi.url_scheme': 'http'}))
        return None

    def _redirect_listener(self, public):
        def listener(req, url, permanent):
            allowed = tuple(url for url in (
                self.config.get('remoteuser', 'logout_url').strip(),
                self.config.get('metanav', 'logout.redirect').strip()) if url)
            inside_only = bool(_LOGIN_PATHS.match(req.path_info))
            location, reason = urls.secure_location(url, public(),
                                                    inside_only, allowed)
            if location == url or req.environ.get(_REDIRECTED_KEY):
                return
            req.environ[_REDIRECTED_KEY] = True
            if reason:
                peer = trust.describe_peer(req.remote_addr)
                EventLog(self.env).write(
                    'warning', 'redirect-replaced', peer,
                    "a redirect of %s from %s to %s was sent to %s "
                    "instead: %s", client_text(req.path_info), peer,
                    client_text(url), location, reason)
            req.redirect(location, permanent)
        return listener

    def _clean_headers(self, headers, public):
        """The response headers without any value holding a control
        character, which no server may write as it is (tracd splits the
        response there, gunicorn answers 500). A Location dropped that
        way is replaced by the site's front page (`public()`)."""
        if not urls.has_control_character(
                ''.join([name + value for name, value in headers])):
            return headers
        clean = []
        for name, value in headers:
            if urls.has_control_character(name + value):
                EventLog(self.env).write(
                    'error', 'response-header-dropped', name,
                    "dropped the response header %s: its value holds a "
                    "control character (%s)", client_text(name),
                    client_text(value))
                if name.lower() == 'location':
                    clean.append((name, urls.url_string(public())))
                continue
            clean.append((name, value))
        return clean

    def _apply(self, req, public):
        environ = req.environ
        environ['wsgi.url_scheme'] = public.scheme
        # Cookie paths (trac_auth, trac_session, the form token) come
        # from SCRIPT_NAME through req.base_path.
        environ['SCRIPT_NAME'] = public.prefix
        req.base_url = urls.url_string(public)
        req.href = Href(public.prefix)
        req.abs_href = Href(req.base_url)


#: Set once `guard_response` has prepared a request, and once one of
#: its redirects was replaced (the replacement is not checked again).
_GUARDED_KEY = 'remoteuserauth.guarded'
_REDIRECTED_KEY = 'remoteuserauth.redirected'

#: Where a request keeps its public address.
_PUBLIC_KEY = 'remoteuserauth.public'

#: Where Trac copies a referer into the redirect.
_LOGIN_PATHS = re.compile(r'/(login|logout)/?$')


def _server_says_https(environ):
    """Whether the server itself terminated TLS, or decided the scheme
    with a trust check of its own (gunicorn's `forwarded_allow_ips`).
    Trac's own gateways (tracd, CGI, FastCGI) believe
    `X-Forwarded-Proto` from anyone and set neither."""
    return environ.get('HTTPS', '').lower() in ('on', '1', 'yes') or \
        'gunicorn.socket' in environ


ask_first(PublicURLFilter, IRequestFilter)
