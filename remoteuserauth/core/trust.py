"""Deciding whether the peer that sent a request may speak for the user.

Since incoming headers can be faked by anyone who can reach the
backend, a user-name header is believed only when the *direct* peer of
the connection (``REMOTE_ADDR`` as the server set it, see `direct_peer`)
is one of the configured proxies. ``X-Forwarded-For`` never decides
trust: it is one more header the client writes. An entry that cannot be
parsed is reported and left out, so a typo can only narrow trust, never
widen it.

Nothing here imports Trac.
"""

import functools
import hmac
import ipaddress
import re

# RFC 7230 token characters, the only ones a header name may have.
_TOKEN_RE = re.compile(r"[-0-9A-Za-z!#$%&'*+.^_`|~]+\Z")


class UnixSocket(object):
    """The `unix` entry of ``trusted_proxies``: connections that came over
    a Unix domain socket, which have no peer address (gunicorn leaves
    ``REMOTE_ADDR`` empty for them). Only local processes allowed by the
    socket file's permissions can connect, like a proxy on loopback."""

    version = None
    prefixlen = None

    def __str__(self):
        return 'unix'

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, UnixSocket)

    def __hash__(self):
        return hash('unix')


UNIX_SOCKET = UnixSocket()

#: Where the direct peer is kept once ``REMOTE_ADDR`` holds the client
#: address taken from X-Forwarded-For (`clientaddr.take_client_address`).
#: No header can set it: header keys start with ``HTTP_``.
PEER_KEY = 'remoteuserauth.peer'


def is_loopback_host(host):
    """Whether `host` (a URL's host name, as `urllib.parse` gives it:
    lower case, no brackets) is this machine's loopback: ``localhost``
    or a loopback address. Where nothing may travel in the clear over
    a network, http:// is allowed only to these."""
    if host is None:
        return False
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def direct_peer(environ):
    """The direct peer of the connection, the only address trust is
    decided on: ``REMOTE_ADDR`` as the server set it, even after the
    client address from X-Forwarded-For replaced it."""
    if PEER_KEY in environ:
        return environ[PEER_KEY]
    return environ.get('REMOTE_ADDR')


class Networks(tuple):
    """The trusted networks, a tuple in the order configured, indexed so
    that finding the first one holding an address takes one look-up per
    distinct prefix length (at most 33 for IPv4, 129 for IPv6) however
    many there are; its hash is computed once (a cache key)."""

    def __new__(cls, networks=()):
        self = tuple.__new__(cls, networks)
        self._hash = tuple.__hash__(self)
        self._index = {}
        for position, network in enumerate(self):
            if network is UNIX_SOCKET:
                continue
            by_length = self._index.setdefault(network.version, {}).\
                setdefault(network.prefixlen, {})
            by_length.setdefault(int(network.network_address), position)
        # Longest prefixes first: the order does not change the answer
        # (the first configured of all that hold the address wins).
        self._lengths = {
            version: [(length, ~((1 << (width - length)) - 1), table)
                      for length, table in sorted(lengths.items(),
                                                  reverse=True)]
            for version, lengths in self._index.items()
            for width in (32 if version == 4 else 128,)}
        return self

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return tuple.__eq__(self, other)

    def __ne__(self, other):
        return tuple.__ne__(self, other)

    def first_holding(self, address):
        """The first network holding the `ipaddress` address, or
        `None`."""
        value = int(address)
        found = None
        for length, mask, table in self._lengths.get(address.version, ()):
            position = table.get(value & mask)
            if position is not None and (found is None or position < found):
                found = position
        return None if found is None else self[found]


def parse_networks(entries):
    """Parse addresses and CIDR networks.

    :param entries: strings such as ``127.0.0.1``, ``10.0.0.0/8``,
                    ``::1``, ``[fd00::]/8``, or ``unix`` for connections
                    over a Unix domain socket.
    :return: ``(networks, errors)``: a tuple of `ipaddress` networks (a
             bare address is a /32 or /128) and a list of messages, one
             for each entry that was left out.
    """
    networks = []
    errors = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        if text.lower() == 'unix':
            networks.append(UNIX_SOCKET)
            continue
        candidate = text.replace('[', '').replace(']', '')
        try:
            network = ipaddress.ip_network(candidate, strict=False)
        except ValueError as e:
            errors.append("%r is not an IP address or network (%s); "
                          "it is ignored" % (text, e))
            continue
        if '/' in candidate:
            host = ipaddress.ip_interface(candidate)
            if host.ip != network.network_address:
                errors.append("%r has host bits set; it is read as %s"
                              % (text, network))
        networks.append(network)
    return Networks(networks), errors


def parse_address(text):
    """Parse a peer address as servers put it in ``REMOTE_ADDR``.

    Accepts ``[::1]``, zone indexes (``fe80::1%eth0``) and IPv4-mapped
    IPv6 addresses (``::ffff:127.0.0.1`` becomes ``127.0.0.1``).
    :return: an `ipaddress` address, or `None`.
    """
    if not text:
        return None
    text = text.strip().strip('[]').partition('%')[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


#: How many peers' verdicts `trusted_network` remembers.
TRUSTED_CACHE_SIZE = 1024


def trusted_network(peer, networks):
    """Return the first of `networks` (a `Networks`, or any sequence)
    holding the address `peer`, or `None` when the peer is not trusted
    (or is no address at all)."""
    if not isinstance(networks, Networks):
        networks = Networks(networks)
    return _trusted_network(peer, networks)


# A request asks up to three times (the decision, the public address,
# the client address), and the peers are few; bounded, so that clients
# from many addresses only churn it.
@functools.lru_cache(maxsize=TRUSTED_CACHE_SIZE)
def _trusted_network(peer, networks):
    if peer is not None and (peer == '' or peer.startswith(('/', 'unix:'))):
        return UNIX_SOCKET if UNIX_SOCKET in networks else None
    address = parse_address(peer)
    if address is None:
        return None
    return networks.first_holding(address)


def trusted_network_name(peer, networks):
    """``str`` of `trusted_network` (``10.0.0.0/8``, ``unix``), or
    `None`: every decision names the network that trusted its peer."""
    if not isinstance(networks, Networks):
        networks = Networks(networks)
    return _trusted_network_name(peer, networks)


@functools.lru_cache(maxsize=TRUSTED_CACHE_SIZE)
def _trusted_network_name(peer, networks):
    network = _trusted_network(peer, networks)
    return None if network is None else str(network)


def describe_peer(peer):
    """`peer` for a log line: the address, or what its absence means."""
    if peer is None:
        return 'an unknown peer'
    if peer == '' or peer.startswith(('/', 'unix:')):
        return 'a Unix socket peer'
    return peer


def secret_matches(expected, given):
    """Compare a shared secret in constant time.

    An empty `expected` never matches: a secret that is not set cannot
    be proven.
    """
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode('utf-8'),
                               given.encode('utf-8', 'surrogateescape'))


#: Prefix of a server variable named where a header name is expected.
VARIABLE_PREFIX = 'env:'

# Server variables a client can set or steer: a header (HTTP_*), and the
# CGI variables taken from the request line, the Host header or the
# body. Naming one of them as `env:NAME` would trust the client.
_CLIENT_VARIABLES = frozenset((
    'CONTENT_LENGTH', 'CONTENT_TYPE', 'PATH_INFO', 'PATH_TRANSLATED',
    'QUERY_STRING', 'REQUEST_METHOD', 'REQUEST_URI', 'SCRIPT_NAME',
    'SCRIPT_URL', 'SCRIPT_URI', 'SERVER_NAME', 'SERVER_PORT',
    'SERVER_PROTOCOL', 'REMOTE_ADDR', 'REMOTE_PORT', 'REMOTE_HOST'))
_VARIABLE_RE = re.compile(r'[A-Za-z][A-Za-z0-9_]*\Z')


def environ_key(header):
    """Map a header name to its key in the WSGI environment.

    ``Remote-User`` and ``REMOTE_USER`` both become ``HTTP_REMOTE_USER``,
    as every WSGI server does. A name already written the WSGI way
    (``HTTP_SM_USER``) is taken as it is. ``env:NAME`` names the server
    variable ``NAME`` itself (``env:OIDC_id_token``), which web server
    modules set and clients cannot.
    :return: the key, or `None` for an empty name.
    :raise ValueError: when `header` is not a valid header name, or names
                       a server variable that clients can set.
    """
    header = (header or '').strip()
    if not header:
        return None
    if header[:len(VARIABLE_PREFIX)].lower() == VARIABLE_PREFIX:
        name = header[len(VARIABLE_PREFIX):].strip()
        if not _VARIABLE_RE.match(name):
            raise ValueError("%r is not a valid server variable name"
                             % header)
        if name.upper().startswith('HTTP_') or \
                name.upper() in _CLIENT_VARIABLES:
            raise ValueError("%r is a variable the client sets (a request "
                             "header or part of the request line); name "
                             "the header itself if a trusted proxy sets it"
                             % header)
        return name
    if not _TOKEN_RE.match(header):
        raise ValueError("%r is not a valid HTTP header name" % header)
    key = header.upper().replace('-', '_')
    if not key.startswith('HTTP_'):
        key = 'HTTP_' + key
    return key


def is_server_variable(key):
    """Whether the environ `key` of `environ_key` is a server variable
    (set by the web server, never by the client) rather than a header."""
    return bool(key) and not key.startswith('HTTP_')


def last_list_value(value):
    """The value the nearest proxy added to a comma-separated header."""
    if value is None:
        return None
    value = value.rpartition(',')[2].strip()
    return value or None
