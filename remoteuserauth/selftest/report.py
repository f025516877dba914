"""What the probe answers about a request: what reached Trac and what
the decision made of it, with secrets and tokens reduced to
fingerprints. This is the part of the self-test that runs in the
server.

Nothing here imports Trac.
"""

import hashlib
import socket

from remoteuserauth.core import trust
from remoteuserauth.selftest.headers import http_name, identity_header
from remoteuserauth.selftest.token import MARKER_PREFIX

# The probe's report

#: Headers reported as received, for the administrator's eyes (and
#: the self-test's: X-Real-Ip beside X-Forwarded-Server is Traefik's).
FORWARDED = ('X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-Port',
             'X-Forwarded-Prefix', 'X-Forwarded-For', 'X-Forwarded-Server',
             'Forwarded', 'X-Real-Ip')
_MAX_VALUE = 300


def report(environ, config, decision, verdict, trusted_network, secret,
           public_url, version):
    """What the probe answers: what arrived with the request and what the
    decision made of it. The secret, the secret header's value and a
    signed assertion are never echoed; `secret` is the configured secret
    (to say "matches" and to keep it out of any echoed value).

    `decision` is a `decision.Decision`; `verdict` its one-line
    explanation; `public_url` the address Trac would use for links.
    """
    kind, name = identity_header(config.header)
    key = _configured_key(config.header)
    secret_key = trust.environ_key(http_name(config.secret_header.strip())) \
        if (config.secret_header or '').strip() else None
    jwt_key = _configured_key(config.jwt_header)
    hidden = {secret_key, jwt_key, 'HTTP_AUTHORIZATION', 'HTTP_COOKIE'}

    def shown(value):
        if value is None:
            return None
        value = str(value)
        if secret and secret in value:
            return '(contains [remoteuser] secret; not shown)'
        return value[:_MAX_VALUE]

    secret_state = None
    if secret_key:
        given = environ.get(secret_key)
        secret_state = {
            'header': config.secret_header.strip(),
            'state': 'absent' if given is None else
            'matches' if trust.secret_matches(secret, given)
            else 'does not match',
            'forged': MARKER_PREFIX in (given or '')}
    jwt_state = None
    if (config.jwt_header or '').strip():
        given = environ.get(jwt_key) if jwt_key else None
        jwt_state = {
            'header': config.jwt_header.strip(),
            'state': 'absent' if given is None else 'present',
            'fingerprint': fingerprint(given) if given else None}
    authorization = environ.get('HTTP_AUTHORIZATION')
    if authorization is not None:
        # Never the value (a password, a token): its scheme, and
        # whether it is the self-test's own.
        scheme = authorization.strip().partition(' ')[0]
        plain = scheme.isascii() and scheme.isalnum() and len(scheme) <= 20
        authorization = {'scheme': scheme if plain else '(other)',
                         'forged': MARKER_PREFIX in authorization}
    markers = {}
    for env_key, value in environ.items():
        if env_key not in hidden and isinstance(value, str) and \
                MARKER_PREFIX in value and env_key != 'QUERY_STRING':
            markers[env_key] = shown(value)
    return {
        'probe': 'remoteuserauth',
        'version': version,
        'path': environ.get('PATH_INFO', ''),
        'script_name': environ.get('SCRIPT_NAME', ''),
        'peer': trust.direct_peer(environ),
        'trusted': trusted_network is not None,
        'network': str(trusted_network) if trusted_network is not None
        else None,
        'server': server_info(environ),
        'identity': {'kind': kind, 'header': config.header.strip(),
                     'key': key, 'value': shown(environ.get(key))
                     if key else None},
        'remote_user': shown(environ.get('REMOTE_USER')),
        'secret': secret_state,
        'jwt': jwt_state,
        'host': shown(environ.get('HTTP_HOST')),
        'forwarded': {h: shown(environ.get(trust.environ_key(h)))
                      for h in FORWARDED if trust.environ_key(h) in environ},
        'public_url': public_url,
        'trust_forwarded': bool(config.trust_forwarded),
        'base_url_set': bool(config.base_url_set),
        'decision': {'accepted': decision.name, 'source': decision.source,
                     'veto': bool(decision.veto), 'rule': decision.rule,
                     'verdict': verdict, 'notes': list(decision.notes)},
        'markers': markers,
        'authorization': authorization,
    }


def _configured_key(header):
    """The environ key the configured option reads, or `None`."""
    try:
        return trust.environ_key(header)
    except ValueError:
        return None


def fingerprint(value):
    """A short hash that tells a token apart without revealing it."""
    return hashlib.sha256(value.encode('utf-8', 'surrogateescape')) \
        .hexdigest()[:12]


def server_info(environ):
    """Which server runs Trac, and where the backend listens when the
    server says so (for the direct check). Under uWSGI, the address is
    that of the socket the request came in on: SERVER_NAME, SERVER_PORT
    and SERVER_ADDR are whatever the front end's uwsgi_param lines
    said."""
    frontend = environ.get('trac.web.frontend') or ''
    local = None
    sock = environ.get('gunicorn.socket')
    uwsgi_version = environ.get('uwsgi.version')
    if sock is not None:
        local = _bound(sock)
    elif uwsgi_version is not None:
        local = _uwsgi_bound()
    elif environ.get('SERVER_ADDR'):
        local = [environ['SERVER_ADDR'], environ.get('SERVER_PORT')]
    if uwsgi_version is not None:
        software = 'uWSGI/' + (uwsgi_version.decode('ascii', 'replace')
                               if isinstance(uwsgi_version, bytes)
                               else str(uwsgi_version))
    else:
        software = environ.get('SERVER_SOFTWARE') or \
            ('gunicorn' if sock is not None else frontend or None)
    return {'software': software,
            'frontend': frontend or None,
            'inside_front_end': frontend in ('mod_wsgi', 'mod_python'),
            'name': environ.get('SERVER_NAME'),
            'port': str(environ.get('SERVER_PORT') or ''),
            'local': local}


def _bound(sock):
    """Where `sock` is bound: ``[address, port]``, ``['unix', path]``,
    or `None`."""
    try:
        address = sock.getsockname()
    except OSError:
        return None
    if address is None:
        return None
    if isinstance(address, tuple):
        return [address[0], address[1]]
    return ['unix', str(address or '')]


def _uwsgi_bound():
    """Where the socket of the request uWSGI is serving is bound, from
    its descriptor (uWSGI's `uwsgi` module exists only inside it)."""
    try:
        import uwsgi
        sock = socket.socket(fileno=uwsgi.connection_fd())
    except (ImportError, AttributeError, OSError, SystemError, TypeError,
            ValueError):
        return None
    try:
        return _bound(sock)
    finally:
        sock.detach()     # the descriptor stays uWSGI's


def is_report(data):
    """Whether `data` is a probe report the judge can read (the panel's
    reports come through the browser)."""
    if not isinstance(data, dict) or data.get('probe') != 'remoteuserauth':
        return False
    for key in ('decision', 'markers', 'forwarded', 'identity', 'server'):
        if not isinstance(data.get(key), dict):
            return False
    decision = data['decision']
    return all(isinstance(v, str) for v in data['markers'].values()) and \
        all(isinstance(v, str) for v in data['forwarded'].values()) and \
        isinstance(decision.get('accepted') or '', str) and \
        isinstance(decision.get('rule') or '', str) and \
        isinstance(decision.get('notes') or [], list) and \
        isinstance(data.get('public_url') or '', str) and \
        isinstance(data.get('secret') or {}, dict) and \
        isinstance(data.get('authorization') or {}, dict) and \
        isinstance(data.get('peer') or '', str)
