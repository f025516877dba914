"""Redirects, links and cookies that follow the public address.

Behind a proxy, Trac builds every URL from what the backend sees:
``http://backend:8000`` and often no path prefix. This filter gives the
request the public address instead, from ``[trac] base_url`` or, when
``[remoteuser] trust_forwarded`` is set, from the ``X-Forwarded-*``
headers of a trusted proxy.
"""

from trac.config import BoolOption
from trac.core import Component, implements
from trac.web.api import IRequestFilter
from trac.web.href import Href

from remoteuserauth import trust, urls
from remoteuserauth.auth import RemoteUserAuthenticator, _ask_first
from remoteuserauth.remoteaddr import ClientAddress
from remoteuserauth.throttle import LogThrottle


class PublicURLFilter(Component):
    """Makes redirects, links and cookie paths follow the public address
    of the site: `[trac] base_url` when it is set, otherwise the
    `X-Forwarded-*` headers of a trusted proxy when `trust_forwarded`
    is enabled.
    """

    implements(IRequestFilter)

    trust_forwarded = BoolOption('remoteuser', 'trust_forwarded', 'false',
        """Honour `X-Forwarded-Proto`, `X-Forwarded-Host`,
        `X-Forwarded-Port` and `X-Forwarded-Prefix` (the part of the path
        the proxy removed) from `trusted_proxies`, taking the value the
        nearest proxy added (the last of a list). From any other peer
        they change nothing. `[trac] base_url`, when set, wins over
        them. Leave it off unless your proxy sets all of these headers
        on every request.
        """)

    def __init__(self):
        self._throttle = LogThrottle(300)
        self._base_cache = (None, None)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        ClientAddress(self.env).apply(
            req.environ, RemoteUserAuthenticator(self.env).settings().networks)
        public = self.public_url(req.environ)
        if public is not None:
            self._apply(req, public)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    def configured_base(self):
        """`[trac] base_url` as a `urls.PublicURL`, or `None` when it is
        empty or invalid (which is logged)."""
        raw = self.config.get('trac', 'base_url')
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
        when the backend's own view is right."""
        base = self.configured_base()
        if base is not None:
            return base
        settings = RemoteUserAuthenticator(self.env).settings()
        trusted = trust.trusted_network(trust.direct_peer(environ),
                                        settings.networks)
        seen = urls.request_url(environ)
        if trusted and self.trust_forwarded:
            public = urls.forwarded_url(environ, seen)
            return public if public != seen else None
        if not trusted and environ.get('HTTP_X_FORWARDED_PROTO') and \
                seen.scheme == 'https' and not _server_says_https(environ):
            # tracd believes X-Forwarded-Proto from anyone; undo that.
            peer = trust.describe_peer(trust.direct_peer(environ))
            self._throttle.log(
                self.log.warning, peer,
                "TracRemoteUserAuth: ignored X-Forwarded-Proto from %s: "
                "the peer is not in [remoteuser] trusted_proxies", peer)
            return urls.request_url(dict(environ,
                                         **{'wsgi.url_scheme': 'http'}))
        return None

    # Internal methods

    def _apply(self, req, public):
        environ = req.environ
        environ['wsgi.url_scheme'] = public.scheme
        # Cookie paths (trac_auth, trac_session, the form token) come
        # from SCRIPT_NAME through req.base_path.
        environ['SCRIPT_NAME'] = public.prefix
        req.base_url = urls.url_string(public)
        req.href = Href(public.prefix)
        req.abs_href = Href(req.base_url)


def _server_says_https(environ):
    """Whether the server itself terminated TLS, or decided the scheme
    with a trust check of its own (gunicorn's `forwarded_allow_ips`).
    Trac's own gateways (tracd, CGI, FastCGI) believe
    `X-Forwarded-Proto` from anyone and set neither."""
    return environ.get('HTTPS', '').lower() in ('on', '1', 'yes') or \
        'gunicorn.socket' in environ


_ask_first(PublicURLFilter, IRequestFilter)
