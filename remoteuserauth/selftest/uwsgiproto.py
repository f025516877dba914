"""The uwsgi protocol, as much of it as the self-test speaks: the
request that nginx's ``uwsgi_pass`` writes to uWSGI.

uWSGI believes every variable of such a request as its writer sends
it, REMOTE_USER and REMOTE_ADDR included: whoever can connect to a
uWSGI socket names the user, whatever [remoteuser] trusted_proxies
says. The self-test writes one to a backend that listens on TCP, from
an address the front end does not use, to show whether that is so.

A request (https://uwsgi-docs.readthedocs.io/en/latest/Protocol.html):
a four-byte header (`modifier1`, 0 for a WSGI request; the size of the
block of variables, 16 bits little endian; `modifier2`, 0), then the
block, each variable a name and a value, each of those a 16-bit
little-endian size followed by its bytes; then the request's body (none
here). uWSGI answers with an HTTP response.

Standard library only; nothing here imports Trac.
"""

import struct
from urllib.parse import unquote_to_bytes

#: The largest block of variables a request can announce, and so the
#: largest name or value: its size is 16 bits.
MAX_BLOCK = 0xFFFF

#: Variables uWSGI acts on itself (UWSGI_FILE and UWSGI_SCRIPT load
#: code, UWSGI_CHDIR moves the process): never written by the self-test.
_MAGIC = b'UWSGI_'


def packet(variables):
    """The bytes of a uwsgi request carrying `variables`, (name, value)
    pairs written in their order. Text goes as UTF-8 (the bytes a server
    passes on for the text it got), bytes as they are; nothing in a
    value (CR, LF, NUL) can end it early, its size does.

    :raise ValueError: for an empty name, a name uWSGI acts on itself
                       (``UWSGI_...``), or variables beyond the
                       protocol's 16-bit sizes (never cut or wrapped).
    """
    block = bytearray()
    for name, value in variables:
        name, value = _bytes(name), _bytes(value)
        if not name:
            raise ValueError("a uwsgi variable needs a name")
        if name.upper().startswith(_MAGIC):
            raise ValueError("%r is a variable uWSGI acts on itself"
                             % name[:40].decode('latin-1'))
        for part in (name, value):
            if len(part) > MAX_BLOCK:
                raise ValueError("a uwsgi variable of %d bytes: the "
                                 "protocol carries at most %d"
                                 % (len(part), MAX_BLOCK))
            block += struct.pack('<H', len(part)) + part
    if len(block) > MAX_BLOCK:
        raise ValueError("uwsgi variables of %d bytes: the protocol "
                         "carries at most %d" % (len(block), MAX_BLOCK))
    return struct.pack('<BHB', 0, len(block), 0) + bytes(block)


def request_variables(path, query, host_header, server, peer, extra=()):
    """The variables of a GET of `path` (as in a URL: percent-escapes
    are decoded into PATH_INFO) with the query string `query`, as
    nginx's uwsgi_params file describes one, then `extra`: `server` is
    the (address, port) written to, `peer` the (address, port) written
    from, given as they are (the writer of a uwsgi request says who it
    is)."""
    return [('REQUEST_METHOD', 'GET'),
            ('REQUEST_URI', path + ('?' + query if query else '')),
            ('PATH_INFO', unquote_to_bytes(path)),
            ('QUERY_STRING', query),
            ('SERVER_PROTOCOL', 'HTTP/1.1'),
            ('REQUEST_SCHEME', 'http'),
            ('SERVER_NAME', str(server[0])),
            ('SERVER_PORT', str(server[1])),
            ('REMOTE_ADDR', str(peer[0])),
            ('REMOTE_PORT', str(peer[1])),
            ('HTTP_HOST', host_header),
            ('HTTP_USER_AGENT', 'TracRemoteUserAuth-selftest'),
            ('HTTP_ACCEPT', 'application/json')] + list(extra)


def _bytes(text):
    return text if isinstance(text, bytes) else str(text).encode('utf-8')
