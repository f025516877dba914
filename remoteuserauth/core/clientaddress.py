"""The client's own address behind trusted proxies, from X-Forwarded-For.

The danger first: ``X-Forwarded-For`` is a request header, and a client
writes into it whatever it likes. Each proxy appends the address it
received the connection from, so only the entries on the right, the ones
appended by proxies you trust, can be believed. The walk here starts at
the right end, only when the direct peer is a trusted proxy, and moves
left past entries that are themselves trusted proxies; the first entry
that is not one is the client, as the outermost trusted proxy saw it.
That is what nginx's ``real_ip_recursive`` does, and what Werkzeug's
ProxyFix does with a counted number of proxies.

An entry that is not a plain IP address (garbage, ``unknown``, an empty
item, a control character, an over-long value) stops the walk at the
address reached so far, which is a trusted proxy or, when the rightmost
entry is bad, nothing at all: the walk never skips a bad entry to reach
one further left, since that one was written by whoever wrote the bad
one. The walk also stops after `MAX_HOPS` trusted proxies.

The direct peer keeps deciding trust (see `trust.direct_peer`); the
client address only replaces ``REMOTE_ADDR`` for Trac (its log, its
``[trac] check_auth_ip``).

Nothing here imports Trac.
"""

import re
from collections import namedtuple

from remoteuserauth.core import trust

#: The most trusted proxies one walk passes; a chain this long is not a
#: deployment but a header a trusted proxy passed on unchecked.
MAX_HOPS = 16

#: The longest entry that can be an address: a bracketed IPv6 address
#: with a zone index and a port.
MAX_ENTRY = 100

_IPV4 = r'[0-9]{1,3}(?:\.[0-9]{1,3}){3}'
_IPV6 = r'[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*'
# RFC 6874 zone identifiers are unreserved characters; the zone is
# dropped, since it names an interface of another machine.
_ZONE = r'(?:%[0-9A-Za-z._~-]{1,32})?'
_PORT = r'(?::(?P<port>[0-9]{1,5}))?'
_ENTRY_RE = re.compile(
    r'(?P<v4>%s)%s|\[(?P<v6b>%s)%s\]%s|(?P<v6>%s)%s'
    % (_IPV4, _PORT, _IPV6, _ZONE, _PORT.replace('port', 'port6'),
       _IPV6, _ZONE))

Walk = namedtuple('Walk', 'address problem')
Walk.__doc__ = """The result of a walk along X-Forwarded-For.

- `address`: the client address to give Trac, in canonical form, or
  `None` to keep ``REMOTE_ADDR`` as it is.
- `problem`: why the walk stopped early (a bad entry, too many hops),
  one sentence for the log, or `None`."""

NOTHING = Walk(None, None)


def parse_entry(text):
    """Parse one entry of X-Forwarded-For.

    Accepts an IPv4 address with an optional port (``192.0.2.1:4711``),
    an IPv6 address bare or in brackets, with an optional zone index and,
    in brackets, a port (``[2001:db8::1]:443``); IPv4-mapped IPv6
    addresses become IPv4. Spaces and tabs around the entry are ignored,
    nothing else is.
    :return: an `ipaddress` address, or `None` when `text` is not one.
    """
    text = text.strip(' \t')
    if len(text) > MAX_ENTRY:
        return None
    match = _ENTRY_RE.fullmatch(text)
    if match is None:
        return None
    port = match.group('port') or match.group('port6')
    if port is not None and int(port) > 65535:
        return None
    return trust.parse_address(match.group('v4') or match.group('v6b') or
                               match.group('v6'))


def client_address(peer, forwarded_for, networks, max_hops=MAX_HOPS):
    """Walk `forwarded_for` from the right, as far as trusted proxies
    vouch for it.

    :param peer: the direct peer (``REMOTE_ADDR`` as the server set it).
    :param forwarded_for: the X-Forwarded-For value (several headers
                          arrive joined by commas), or `None`.
    :param networks: the trusted proxies (`trust.parse_networks`).
    :return: a `Walk`; `NOTHING` when the peer is not trusted or sent
             no X-Forwarded-For.
    """
    if forwarded_for is None or \
            trust.trusted_network(peer, networks) is None:
        return NOTHING
    reached = None
    end = len(forwarded_for)
    for _ in range(max_hops):
        start = forwarded_for.rfind(',', 0, end)
        entry = forwarded_for[start + 1:end]
        address = parse_entry(entry)
        if address is None:
            return Walk(reached, "X-Forwarded-For entry %s is not an IP "
                                 "address" % _shown(entry))
        reached = str(address)
        if start < 0 or not _is_trusted(address, networks):
            # The client, or the leftmost entry when every one of them
            # is a trusted proxy.
            return Walk(reached, None)
        end = start
    return Walk(reached, "X-Forwarded-For lists more than %d trusted "
                         "proxies" % max_hops)


def take_client_address(environ, networks):
    """Put the client address into ``REMOTE_ADDR``, once per request,
    keeping the direct peer under `trust.PEER_KEY`.

    :return: the `Walk` when this call made it, `None` when an earlier
             call already had.
    """
    if trust.PEER_KEY in environ:
        return None
    peer = environ.get('REMOTE_ADDR')
    walk = client_address(peer, environ.get('HTTP_X_FORWARDED_FOR'),
                          networks)
    environ[trust.PEER_KEY] = peer
    if walk.address is not None:
        environ['REMOTE_ADDR'] = walk.address
    return walk


def _is_trusted(address, networks):
    return any(address.version == network.version and address in network
               for network in networks)


def _shown(entry):
    """A bad entry for a log line: quoted, escaped, cut short."""
    entry = entry.strip(' \t')
    if len(entry) > 40:
        return '%r... (%d characters)' % (entry[:40], len(entry))
    return repr(entry)
