"""The front-end self-test: which forged requests to send to the live
site, the tokens that let them ask the probe, and what the probe
answers about each.

The plugin can only be as safe as the proxy in front of it. A proxy that
passes the client's own `Remote-User` on one location, lets the
underscore spelling through, or leaves the backend reachable around it
looks exactly like a working set-up. The self-test sends requests that
carry forged identity and address headers through the front end, on the
paths front ends treat differently, and asks the probe
(`remoteuserauth.probe`) what reached Trac and what the decision made of
it. The forged names are random markers (``ruaprobe-<hex>``), so nothing
real is impersonated, and the probe never logs anyone in. What the
answers mean is `findings`.

Nothing here imports Trac.
"""

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections import namedtuple
from urllib.parse import parse_qsl, quote, urlsplit

from remoteuserauth import trust

#: The query parameter that makes any page answer as the probe.
PROBE_PARAM = 'remoteuser-probe'
MARKER_PREFIX = 'ruaprobe-'
#: Lifetimes of the probe tokens: the command's run takes seconds, the
#: admin panel's page may stay open a while before the button is used.
COMMAND_TOKEN_LIFETIME = 300
PANEL_TOKEN_LIFETIME = 900
#: The header the CR/LF referer tries to plant in /login's answer.
INJECTED_HEADER = 'X-Ruaprobe'

#: The paths front ends most often route differently: Trac's login and
#: logout, its static files, attachments (upload limits, buffering),
#: RPC plugins (/login/xmlrpc is authenticated at the front end), the
#: admin pages, and plain deep pages.
DEFAULT_PATHS = ('/', '/login', '/login/xmlrpc', '/logout',
                 '/chrome/common/css/trac.css', '/chrome/site/ruaprobe.css',
                 '/wiki/WikiStart', '/wiki/RuaProbe/Deep/Page',
                 '/attachment/wiki/WikiStart/',
                 '/raw-attachment/wiki/WikiStart/ruaprobe.txt',
                 '/newticket', '/timeline', '/browser', '/admin', '/xmlrpc',
                 '/jsonrpc')

Config = namedtuple('Config', 'header secret_header jwt_header '
                    'trust_forwarded base_url_set name_header email_header '
                    'groups_header sync_groups',
                    defaults=('', '', '', False))
Config.__doc__ = """The [remoteuser] options the self-test plans for:
the option values as written (`header` may be ``env:NAME``);
`sync_groups` says whether any group is synced."""

#: The profile options, and the forged value each gets.
PROFILE = (('name_header', 'name'), ('email_header', 'email'),
           ('groups_header', 'groups'))

Probe = namedtuple('Probe', 'id path variant headers query token session',
                   defaults=(True,))
Probe.__doc__ = """One planned request: `path` below the public base,
`headers` as (name, value) pairs sent as given (duplicates included),
`query` an extra query string, `token` whether it carries the probe
token (the /login referer checks do not: they test Trac's real answer),
`session` whether the front end's session (``--cookie-file``) may go
with it (the forged Basic credentials are sent once without it, once
with it).
"""

Exchange = namedtuple('Exchange', 'probe status headers report error '
                      'target source')
Exchange.__doc__ = """A planned request and what came back: the HTTP
`status` (0 for none), response `headers`, the probe's `report` (a dict,
or `None` when something else answered), an `error` sentence when the
request failed; `target` and `source` for a direct request to the
backend."""


def new_marker():
    """A random marker name: nothing real is impersonated."""
    return MARKER_PREFIX + secrets.token_hex(4)


def is_marker(value):
    return bool(re.match(re.escape(MARKER_PREFIX) + r'[0-9a-f]{8}\Z',
                         value or ''))


# Tokens

def make_token(key, now, lifetime, nonce=None):
    """A probe token valid for `lifetime` seconds from `now`, signed
    with `key` (bytes kept in the environment, never in trac.ini)."""
    expires = int(now) + int(lifetime)
    nonce = nonce or secrets.token_hex(8)
    return '%d.%s.%s' % (expires, nonce, _mac(key, expires, nonce))


def check_token(key, token, now, max_lifetime=PANEL_TOKEN_LIFETIME):
    """`None` when `token` is a valid probe token, else why it is not."""
    if not key:
        return "no probe key in this environment yet"
    match = re.match(r'([0-9]{1,12})\.([0-9a-f]{16})\.([0-9a-f]{64})\Z',
                     token or '')
    if not match:
        return "malformed token"
    expires, nonce, mac = int(match.group(1)), match.group(2), \
        match.group(3)
    if not hmac.compare_digest(mac, _mac(key, expires, nonce)):
        return "bad signature (a token of another environment?)"
    if expires < now:
        return "expired token"
    if expires > now + max_lifetime + 60:
        return "token valid for longer than a probe token can be"
    return None


def _mac(key, expires, nonce):
    message = ('remoteuserauth-probe:%d:%s' % (expires, nonce)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def probe_token(environ):
    """The probe token a request carries, or `None` for any request that
    is no probe. Cheap: every request is asked."""
    query = environ.get('QUERY_STRING') or ''
    if PROBE_PARAM not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == PROBE_PARAM:
            return value
    return None


# Header names

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


def environ_key(name):
    """The WSGI key a header lands in."""
    return 'HTTP_' + name.upper().replace('-', '_')


def spellings(name):
    """(variant, spelling) of a header name a client may send: as
    written, lower case, upper case, and with underscores instead of
    dashes (servers map both to one WSGI key)."""
    result = [('header', name)]
    for variant, spelled in (('lower', name.lower()),
                             ('upper', name.upper())):
        if spelled != name:
            result.append((variant, spelled))
    if '-' in name:
        result.append(('underscore', name.replace('-', '_')))
    return result


def value_for(marker, variant):
    return '%s-%s' % (marker, variant)


#: The password of the forged Basic credentials: nobody's.
FORGED_PASSWORD = 'ruaprobe-wrong-password'


def forged_basic(marker, variant='basic'):
    """An ``Authorization: Basic`` value naming the marker, with a wrong
    password: a front end that passes on the name without checking the
    password (nginx's ``$remote_user`` outside ``auth_basic``, or after
    an ``auth_request`` that let a session in) makes anyone anyone."""
    return basic_credentials(value_for(marker, variant), FORGED_PASSWORD)


def basic_credentials(user, password):
    """The ``Authorization`` value of Basic credentials (UTF-8, as
    browsers send them today)."""
    return 'Basic ' + base64.b64encode(
        ('%s:%s' % (user, password)).encode('utf-8')).decode('ascii')


# The front end's session (--cookie-file)

#: The most a Cookie header may hold: nginx's and Apache's default
#: limits for one request header are about 8 KiB.
MAX_COOKIE_HEADER = 8000
_COOKIE_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
# RFC 6265's cookie-octet, optionally quoted: no control character,
# space, quote, comma, semicolon, backslash or anything beyond ASCII.
_COOKIE_VALUE = re.compile(
    r'("?)[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+\1\Z')


def parse_cookies(text):
    """The cookies of a ``--cookie-file``: ``NAME=VALUE`` pairs separated
    by ``;`` (as a browser's Cookie header shows them) or on lines of
    their own; blank lines and lines starting with ``#`` are left out.
    Returns a list of (name, value).

    :raise ValueError: saying what is wrong, never with a value in it
        (the values are a browser's session)."""
    cookies = []
    for number, line in enumerate(text.split('\n'), 1):
        line = line[:-1] if line.endswith('\r') else line
        content = line.strip(' ')
        if not content or content.startswith('#'):
            continue
        if line.count('\t') >= 6:
            raise ValueError("line %d looks like a cookie jar (curl -c, "
                             "Netscape format); write the cookie as "
                             "NAME=VALUE" % number)
        for pair in content.split(';'):
            pair = pair.strip(' ')
            if not pair:
                continue
            name, equals, value = pair.partition('=')
            if not equals:
                raise ValueError("line %d: a cookie is written NAME=VALUE "
                                 "(no '=' found)" % number)
            cookies.append((name.strip(' '), value.strip(' ')))
            check_cookie(*cookies[-1], where='line %d: ' % number)
    if not cookies:
        raise ValueError("no cookie in it (write NAME=VALUE)")
    cookie_header(cookies)
    return cookies


def check_cookie(name, value, where=''):
    """Whether (`name`, `value`) can go in a Cookie header as it is.

    :raise ValueError: why not, without the value."""
    if not _COOKIE_NAME.match(name):
        raise ValueError("%sa cookie name is made of ASCII letters, digits "
                         "and !#$%%&'*+-.^_`|~ (the name before '=' is not)"
                         % where)
    if name.lower().startswith('trac_'):
        raise ValueError("%s%s is a cookie of Trac itself; give the front "
                         "end's session cookie (its authenticator's)"
                         % (where, name))
    if not value:
        raise ValueError("%scookie %s has no value" % (where, name))
    if not _COOKIE_VALUE.match(value):
        raise ValueError("%sthe value of cookie %s holds a character a "
                         "cookie cannot carry (a control character, a "
                         "space, a quote, a comma, a semicolon, a backslash "
                         "or a letter beyond ASCII)" % (where, name))


def cookie_header(cookies):
    """The Cookie header carrying `cookies`, (name, value) pairs.

    :raise ValueError: when one cannot be sent as it is, or the header
        would be longer than front ends take (never with a value)."""
    for name, value in cookies:
        check_cookie(name, value)
    header = '; '.join('%s=%s' % pair for pair in cookies)
    if len(header) > MAX_COOKIE_HEADER:
        raise ValueError("the cookies make a header of %d bytes, more than "
                         "the %d a front end takes in one header"
                         % (len(header), MAX_COOKIE_HEADER))
    return header


# The plan

def plan(config, marker, paths=DEFAULT_PATHS, public_scheme='http',
         public_base='', jwt_token=None, browser=False, session=False):
    """The forged requests, path by path: first a baseline without
    forged headers, then each forgery. `browser` leaves out what a
    page's script cannot send (two copies of a header, a Referer).
    `session`: the requests will carry a session of the front end, so
    the forged Basic credentials are also sent beside it."""
    kind, name = identity_header(config.header)
    probes = []

    def add(path, variant, headers, query='', token=True, session=True):
        probes.append(Probe(str(len(probes)), path, variant, tuple(headers),
                            query, token, session))

    for path in paths:
        add(path, 'baseline', ())
        for variant, spelled in spellings(name):
            add(path, variant, [(spelled, value_for(marker, variant))])
        if not browser:
            add(path, 'duplicate', [(name, value_for(marker, 'd1')),
                                    (name, value_for(marker, 'd2'))])
            # Not from a page's script: a 401 to it may make the browser
            # ask the administrator for a password.
            add(path, 'basic', [('Authorization', forged_basic(marker))],
                session=False)
            if session:
                # An authenticator that lets the session in says yes,
                # and a front end that takes the name from the client's
                # Authorization header (nginx's $remote_user after
                # auth_request) passes on a name nobody checked.
                add(path, 'basic-session', [('Authorization', forged_basic(
                    marker, 'basic-session'))])
        secret = (config.secret_header or '').strip()
        if secret and kind == 'header':
            add(path, 'secret', [(name, value_for(marker, 'secret')),
                                 (secret, value_for(marker, 'wrong'))])
        jwt_header = (config.jwt_header or '').strip()
        if jwt_token and jwt_header and \
                not jwt_header.lower().startswith('env:'):
            value = 'Bearer ' + jwt_token \
                if jwt_header.lower() == 'authorization' else jwt_token
            add(path, 'jwt', [(jwt_header, value)])
        profile = profile_headers(config, marker)
        if profile:
            add(path, 'profile', profile)
        add(path, 'forwarded', forwarded_headers(marker, public_scheme))
    if not browser:
        inside = public_base.rstrip('/') + '/wiki/WikiStart\r\n' + \
            INJECTED_HEADER + ': ' + marker
        add('/login', 'referer-crlf', (),
            query='referer=' + quote(inside, safe=''), token=False)
        foreign = 'http://%s.invalid/' % marker
        add('/login', 'referer-foreign', [('Referer', foreign)],
            query='referer=' + quote(foreign, safe=''), token=False)
    return probes


def profile_headers(config, marker):
    """Forged values for the profile headers Trac reads from requests
    (those naming a server variable cannot be forged)."""
    headers = []
    for option, tag in PROFILE:
        header = (getattr(config, option) or '').strip()
        if header and not header.lower().startswith('env:'):
            headers.append((http_name(header), value_for(marker, tag)))
    return headers


def forwarded_headers(marker, public_scheme):
    """Forged X-Forwarded-* values: a host, port and prefix that are the
    marker's own, and the scheme the site does not use."""
    return [('X-Forwarded-Host', '%s.invalid' % marker),
            ('X-Forwarded-Proto',
             'http' if public_scheme == 'https' else 'https'),
            ('X-Forwarded-Port', '1'),
            ('X-Forwarded-Prefix', '/' + marker)]


def jwt_available():
    """Whether a forged assertion can be made (PyJWT with cryptography,
    the plugin's `jwt` extra)."""
    try:
        import jwt  # noqa: F401
        from cryptography.hazmat.primitives import asymmetric  # noqa: F401
    except ImportError:
        return False
    return True


def forged_jwt(marker, issuer='', audience='', algorithms=()):
    """A syntactically valid signed assertion for the marker, with the
    configured issuer and audience, signed by a throwaway key nobody
    trusts with the first algorithm of `algorithms` that the plugin
    accepts (ES256 by default); `None` without PyJWT.

    It names no key (`kid`): an unknown key would make the plugin fetch
    `jwt_keys` again, and a forged request should cost nothing."""
    if not jwt_available():
        return None
    import time
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    makers = {'RS': lambda: rsa.generate_private_key(65537, 2048),
              'PS': lambda: rsa.generate_private_key(65537, 2048),
              'ES': lambda: ec.generate_private_key(ec.SECP256R1()),
              'Ed': ed25519.Ed25519PrivateKey.generate}
    algorithm = next((a.strip() for a in algorithms
                      if a.strip() in ('RS256', 'PS256', 'ES256', 'EdDSA')),
                     'ES256')
    now = int(time.time())
    claims = {'sub': value_for(marker, 'jwt'), 'iat': now, 'nbf': now,
              'exp': now + COMMAND_TOKEN_LIFETIME}
    if issuer:
        claims['iss'] = issuer
    if audience:
        claims['aud'] = audience
    return jwt.encode(claims, makers[algorithm[:2]](), algorithm=algorithm)


# The probe's report

#: Headers reported as received, for the administrator's eyes.
FORWARDED = ('X-Forwarded-Host', 'X-Forwarded-Proto', 'X-Forwarded-Port',
             'X-Forwarded-Prefix', 'X-Forwarded-For', 'X-Forwarded-Server',
             'Forwarded')
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
    secret_key = environ_key(http_name(config.secret_header.strip())) \
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
            'matches' if secret and hmac.compare_digest(
                secret.encode('utf-8'),
                given.encode('utf-8', 'surrogateescape'))
            else 'does not match',
            'forged': MARKER_PREFIX in (given or '')}
    jwt_state = None
    if (config.jwt_header or '').strip():
        given = environ.get(jwt_key) if jwt_key else None
        jwt_state = {
            'header': config.jwt_header.strip(),
            'state': 'absent' if given is None else 'present',
            'fingerprint': fingerprint(given) if given else None}
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
        'forwarded': {h: shown(environ.get(environ_key(h)))
                      for h in FORWARDED if environ_key(h) in environ},
        'public_url': public_url,
        'trust_forwarded': bool(config.trust_forwarded),
        'base_url_set': bool(config.base_url_set),
        'decision': {'accepted': decision.name, 'source': decision.source,
                     'veto': bool(decision.veto), 'rule': decision.rule,
                     'verdict': verdict, 'notes': list(decision.notes)},
        'markers': markers,
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
    server says so (for the direct check)."""
    frontend = environ.get('trac.web.frontend') or ''
    local = None
    sock = environ.get('gunicorn.socket')
    if sock is not None:
        try:
            address = sock.getsockname()
        except OSError:
            address = None
        if isinstance(address, tuple):
            local = [address[0], address[1]]
        elif address is not None:
            local = ['unix', str(address or '')]
    elif environ.get('SERVER_ADDR'):
        local = [environ['SERVER_ADDR'], environ.get('SERVER_PORT')]
    return {'software': environ.get('SERVER_SOFTWARE') or
            ('gunicorn' if sock is not None else frontend or None),
            'frontend': frontend or None,
            'inside_front_end': frontend in ('mod_wsgi', 'mod_python'),
            'name': environ.get('SERVER_NAME'),
            'port': str(environ.get('SERVER_PORT') or ''),
            'local': local}


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
        isinstance(data.get('peer') or '', str)


# Reaching the backend around the front end

def backend_targets(report, public_host, public_port):
    """(host, port) pairs where the backend may be reached directly, from
    what the probe learnt about its server; none when Trac runs inside
    the front end or listens on a Unix socket."""
    server = report.get('server') or {}
    if server.get('inside_front_end'):
        return []
    local = server.get('local')
    if local and local[0] == 'unix':
        return []
    targets = []
    if local:
        targets.append((local[0], str(local[1])))
    name, port = server.get('name'), server.get('port')
    if name and port and (name, port) not in targets:
        targets.append((name, port))
    return [(h, p) for h, p in targets
            if (h.lower(), p) != (public_host.lower(), str(public_port))
            and h not in ('0.0.0.0', '::')]


#: Loopback sources other than 127.0.0.1, which a proxy on the same
#: machine uses: a client there that is not the proxy.
_LOOPBACK_SOURCES = ('127.0.0.2', '127.0.0.3', '127.1.0.1',
                     '127.255.255.254')


def direct_source(address, networks):
    """The source address for a direct request to `address`: on IPv4
    loopback, one outside `networks` when there is one; elsewhere the
    system's choice (`None`)."""
    try:
        target = ipaddress.ip_address(address)
    except ValueError:
        return None
    if target.version != 4 or not target.is_loopback:
        return None
    for source in _LOOPBACK_SOURCES:
        ip = ipaddress.ip_address(source)
        if not any(getattr(n, 'version', None) == 4 and ip in n
                   for n in networks):
            return source
    return _LOOPBACK_SOURCES[0]


def direct_probe(marker, name, path):
    """The forged request sent straight to the backend."""
    return Probe('direct', path, 'direct',
                 ((name, value_for(marker, 'direct')),), '', True, False)


def public_address(url):
    """``(scheme, host, port, prefix)`` of the public URL.

    :raise ValueError: when it is not an absolute http(s) URL.
    """
    parts = urlsplit((url or '').strip())
    scheme = parts.scheme.lower()
    if scheme not in ('http', 'https') or not parts.hostname:
        raise ValueError("%r is not an absolute http:// or https:// URL"
                         % url)
    port = parts.port or (443 if scheme == 'https' else 80)
    return scheme, parts.hostname, port, parts.path.rstrip('/')
