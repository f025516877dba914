"""Sending the self-test's forged requests: through the front end to the
live site, and straight to the backend from an address that is not the
front end's (over HTTP, or in the uwsgi protocol to a uWSGI socket).

Requests go out byte for byte as planned: header names in every
spelling, two copies of one header, a Host of our choosing, and no
redirect is followed. Standard library only; nothing here imports Trac.
"""

import http.client
import json
import socket
import ssl
from concurrent.futures import ThreadPoolExecutor

from remoteuserauth.selftest.cookies import cookie_header
from remoteuserauth.selftest.plan import (Exchange, basic_credentials,
                                          direct_source, public_address)
from remoteuserauth.selftest.report import is_report
from remoteuserauth.selftest.token import PROBE_PARAM
from remoteuserauth.selftest.uwsgiproto import packet, request_variables

#: Enough for any probe report; a page that is no report is not read on.
_MAX_BODY = 256 * 1024
_WORKERS = 4


class Site(object):
    """The public address the self-test sends its requests to."""

    def __init__(self, url, timeout=15, insecure=False, credentials=None,
                 cookies=None):
        self.url = url.rstrip('/')
        self.scheme, self.host, self.port, self.prefix = \
            public_address(url)
        self.timeout = timeout
        self.insecure = insecure
        #: ``(user, password)`` of a test account, sent as Basic
        #: credentials with the probe's requests to the front end, so
        #: that the locations it authenticates are checked too.
        self.credentials = credentials
        #: The Cookie header of a session of the front end (a test
        #: user's, from ``--cookie-file``), sent where the credentials
        #: go, and beside forged Basic credentials: an authenticator that
        #: lets the session in must not let their name through.
        self.cookie = cookie_header(cookies) if cookies else None

    @property
    def host_header(self):
        host = '[%s]' % self.host if ':' in self.host else self.host
        default = 443 if self.scheme == 'https' else 80
        return host if self.port == default else '%s:%d' % (host, self.port)

    def send(self, probe, token, connect=None, source=None,
             host_header=None, prefix=None):
        """Send `probe` (a `selftest.Probe`); `connect` is another (host,
        port) to connect to with this site's request (the backend),
        from the address `source`."""
        path = (self.prefix if prefix is None else prefix) + probe.path
        query = probe.query
        if probe.token:
            query = (query + '&' if query else '') + \
                '%s=%s' % (PROBE_PARAM, token)
        target = path + ('?' + query if query else '')
        host, port = connect or (self.host, self.port)
        scheme = 'http' if connect else self.scheme
        sent = list(probe.headers)
        # Only to the front end, only with the probe's token (the probe
        # logs nobody in: Trac's own /login never sees them), and never
        # in place of a forged Authorization header.
        if self.credentials and not connect and probe.token and \
                not any(n.lower() == 'authorization' for n, v in sent):
            sent.append(('Authorization',
                         basic_credentials(*self.credentials)))
        # The same rules for the session, which also goes beside a
        # forged Authorization when the plan says so.
        if self.cookie and not connect and probe.token and probe.session:
            sent.append(('Cookie', self.cookie))
        return _exchange(probe, connect, source, lambda: self._request(
            scheme, host, int(port), target,
            host_header or self.host_header, sent, source))

    def send_uwsgi(self, probe, token, connect, source=None,
                   host_header=None, prefix=None):
        """Write `probe` (its `headers` are variables) to the uWSGI
        socket at `connect`, in the uwsgi protocol, from the address
        `source`; no credentials nor session of the administrator's go
        with it."""
        path = (self.prefix if prefix is None else prefix) + probe.path
        query = '%s=%s' % (PROBE_PARAM, token)
        return _exchange(probe, connect, source, lambda: self._uwsgi_request(
            connect[0], int(connect[1]), path, query,
            host_header or self.host_header, probe.headers, source))

    def _uwsgi_request(self, host, port, path, query, host_header,
                       variables, source):
        sock = socket.create_connection(
            (host, port), timeout=self.timeout,
            source_address=(source, 0) if source else None)
        try:
            sock.sendall(packet(request_variables(
                path, query, host_header, (host, port),
                sock.getsockname()[:2], variables)))
            # The request is whole: a socket that does not speak uwsgi
            # (uWSGI's http-socket) closes at once instead of waiting.
            sock.shutdown(socket.SHUT_WR)
            response = http.client.HTTPResponse(sock, method='GET')
            try:
                response.begin()
                return response.status, response.getheaders(), \
                    response.read(_MAX_BODY)
            finally:
                response.close()
        finally:
            sock.close()

    def _request(self, scheme, host, port, target, host_header, headers,
                 source):
        source_address = (source, 0) if source else None
        if scheme == 'https':
            context = ssl.create_default_context()
            if self.insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.timeout,
                source_address=source_address, context=context)
        else:
            conn = http.client.HTTPConnection(
                host, port, timeout=self.timeout,
                source_address=source_address)
        try:
            conn.putrequest('GET', target, skip_host=True,
                            skip_accept_encoding=True)
            conn.putheader('Host', host_header)
            conn.putheader('User-Agent', 'TracRemoteUserAuth-selftest')
            conn.putheader('Accept', 'application/json')
            for name, value in headers:
                conn.putheader(name, value)
            conn.endheaders()
            response = conn.getresponse()
            body = response.read(_MAX_BODY)
            return response.status, response.getheaders(), body
        finally:
            conn.close()


def _report(status, headers, body):
    content_type = ''
    for name, value in headers:
        if name.lower() == 'content-type':
            content_type = value
    if status != 200 or 'json' not in content_type:
        return None
    try:
        data = json.loads(body.decode('utf-8'))
    except ValueError:
        return None
    return data if is_report(data) else None


def _exchange(probe, connect, source, request):
    """The `Exchange` of `probe`: what `request()` answered (status,
    headers, body), or why it could not be made."""
    try:
        status, headers, body = request()
    except (OSError, http.client.HTTPException, ValueError) as e:
        return Exchange(probe, 0, [], None, _describe(e), connect, source)
    return Exchange(probe, status, headers,
                    _report(status, headers, body), None, connect, source)


def _describe(error):
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed the connection without an answer"
    if isinstance(error, socket.timeout):
        return "timed out"
    if isinstance(error, ssl.SSLError):
        return "TLS error: %s" % error
    return "%s: %s" % (type(error).__name__, error)


def run(site, probes, token):
    """Send `probes` through the front end; the exchanges in plan order.

    The root's baseline goes first, alone: a backend process that has
    not answered yet fixes Trac's notion of its own address with its
    first request, which must not be a forged one.
    """
    first = [p for p in probes if p.path == '/' and
             p.variant == 'baseline'][:1]
    rest = [p for p in probes if p not in first]
    exchanges = {p.id: site.send(p, token) for p in first}
    baselines = [p for p in rest if p.variant == 'baseline']
    forged = [p for p in rest if p.variant != 'baseline']
    with ThreadPoolExecutor(_WORKERS) as pool:
        for group in (baselines, forged):
            for exchange in pool.map(lambda p: site.send(p, token), group):
                exchanges[exchange.probe.id] = exchange
    return [exchanges[p.id] for p in probes]


def run_direct(site, targets, networks, probe, token, uwsgi_probe=None):
    """Send the forged `probe` straight to each backend (host, port) in
    `targets`, from a source address outside `networks` where there is
    one. The backend is asked for the public prefix, then for the root
    (a backend that is mounted without the prefix).

    `uwsgi_probe` (for a backend run by uWSGI) is written first, in the
    uwsgi protocol: an HTTP request would leave a uwsgi socket waiting
    for the rest of what it takes for a uwsgi request. A socket that
    does not answer in that protocol (uWSGI's http-socket) gets `probe`
    over HTTP."""
    exchanges = []
    public = _resolve([(site.host, site.port)])
    for address, port in _resolve(targets):
        if (address, port) in public:
            continue    # the front end itself: Trac runs inside it
        source = direct_source(address, networks)
        host_header = '[%s]:%s' % (address, port) if ':' in address \
            else '%s:%s' % (address, port)
        exchange = None
        if uwsgi_probe is not None:
            exchange = _ask(site, site.send_uwsgi, uwsgi_probe, token,
                            (address, port), source, host_header)
        if exchange is None or exchange.error:
            exchange = _ask(site, site.send, probe, token, (address, port),
                            source, host_header)
        exchanges.append(exchange)
    return exchanges


def _ask(site, send, probe, token, target, source, host_header):
    """`send` `probe` to `target` below the public prefix, then below
    the root: the first exchange the probe answered, or that failed."""
    for prefix in dict.fromkeys([site.prefix, '']):
        exchange = send(probe, token, connect=target, source=source,
                        host_header=host_header, prefix=prefix)
        if exchange.report is not None or exchange.error:
            break
    return exchange


def _resolve(targets):
    """Each (address, port) the (name, port) targets resolve to, once."""
    seen = []
    for host, port in targets:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            continue
        for family, _, _, _, sockaddr in infos:
            if family in (socket.AF_INET, socket.AF_INET6):
                pair = (sockaddr[0], str(port))
                if pair not in seen:
                    seen.append(pair)
    return seen
