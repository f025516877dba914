"""The header names the self-test speaks of: which header carries the
user's name, and how a name is written on the wire.

Nothing here imports Trac.
"""


def identity_header(header):
    """How [remoteuser] header names the user: ``(kind, name)`` with kind
    ``'header'`` (a request header), ``'env'`` (``env:NAME``, a server
    variable no client can set) or ``'none'`` (empty: only REMOTE_USER);
    `name` is the header the self-test forges (for `env` and `none`,
    the header a client would try)."""
    header = (header or '').strip()
    if header.lower().startswith('env:'):
        name = header[4:].strip()
        return 'env', http_name(name) or 'Remote-User'
    if not header:
        return 'none', 'Remote-User'
    return 'header', http_name(header)


def http_name(name):
    """`HTTP_SM_USER` and `SM_USER` are the header `SM-USER` on the
    wire; `Remote-User` stays as written."""
    if name.upper().startswith('HTTP_'):
        name = name[5:]
    return name.replace('_', '-')


def header_value(headers, name, default=None):
    """The value of header `name` among (name, value) `headers`, in any
    case, or `default`."""
    for key, value in headers or ():
        if key.lower() == name.lower():
            return value
    return default
