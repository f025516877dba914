"""Which forged requests the self-test sends to the live site: header
spellings, forged credentials and assertions, the paths front ends treat
differently, and the requests straight to the backend around the front
end.

Nothing here imports Trac.
"""

import base64
import ipaddress
from collections import namedtuple
from urllib.parse import quote, urlsplit

from remoteuserauth.assertion.keys import DEFAULT_ALGORITHMS
from remoteuserauth.selftest.headers import http_name, identity_header
from remoteuserauth.selftest.token import COMMAND_TOKEN_LIFETIME

#: The header the CR/LF referer tries to plant in /login's answer.
INJECTED_HEADER = 'X-Ruaprobe'

#: The API paths of the RPC plugins: TracXMLRPC's below /login (which
#: front ends authenticate with /login, or let through for tokens),
#: its anonymous ones, and trac-ticketrpc's JSON-RPC.
API_PATHS = ('/login/rpc', '/login/xmlrpc', '/login/jsonrpc', '/xmlrpc',
             '/jsonrpc', '/ticketrpc')

#: The paths front ends most often route differently: Trac's login and
#: logout, its static files, attachments (upload limits, buffering),
#: the API paths, the admin pages, and plain deep pages.
DEFAULT_PATHS = ('/', '/login', '/logout',
                 '/chrome/common/css/trac.css', '/chrome/site/ruaprobe.css',
                 '/wiki/WikiStart', '/wiki/RuaProbe/Deep/Page',
                 '/attachment/wiki/WikiStart/',
                 '/raw-attachment/wiki/WikiStart/ruaprobe.txt',
                 '/newticket', '/timeline', '/browser',
                 '/admin') + API_PATHS

Config = namedtuple('Config', 'header secret_header jwt_header '
                    'trust_forwarded base_url_set name_header email_header '
                    'groups_header sync_groups token_paths',
                    defaults=('', '', '', False, ()))
Config.__doc__ = """The [remoteuser] options the self-test plans for:
the option values as written (`header` may be ``env:NAME``);
`sync_groups` says whether any group is synced; `token_paths` the paths
where personal access tokens are read (none while `tokens` is off)."""

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


# Header names

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
    token_paths = tuple(config.token_paths or ())

    def add(path, variant, headers, query='', token=True, session=True):
        probes.append(Probe(str(len(probes)), path, variant, tuple(headers),
                            query, token, session))

    for path in tuple(paths) + tuple(p for p in token_paths
                                     if p not in paths):
        add(path, 'baseline', ())
        if path in token_paths and not browser:
            # What an API client sends: its Authorization and nothing
            # else of the front end's (no test account, no session).
            # Not a token (tracpat_...): nothing for the plugin to
            # refuse, only to see arrive.
            add(path, 'bearer', [('Authorization', 'Bearer ' +
                                  value_for(marker, 'bearer'))],
                session=False)
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
                      if a.strip() in DEFAULT_ALGORITHMS), 'ES256')
    now = int(time.time())
    claims = {'sub': value_for(marker, 'jwt'), 'iat': now, 'nbf': now,
              'exp': now + COMMAND_TOKEN_LIFETIME}
    if issuer:
        claims['iss'] = issuer
    if audience:
        claims['aud'] = audience
    return jwt.encode(claims, makers[algorithm[:2]](), algorithm=algorithm)


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
    # Under uWSGI they are the front end's uwsgi_param lines.
    if name and port and (name, port) not in targets and \
            not backend_is_uwsgi(report):
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


def backend_is_uwsgi(report):
    """Whether uWSGI runs Trac: its socket may speak the uwsgi protocol,
    in which the writer of a request sets every variable, REMOTE_USER
    among them."""
    software = (report.get('server') or {}).get('software') or ''
    return software.startswith('uWSGI/')


def uwsgi_probe(marker, path):
    """The forged request written straight to a uWSGI socket, in the
    uwsgi protocol: its `headers` are variables of the request, a
    REMOTE_USER that no front end checked."""
    return Probe('uwsgi', path, 'uwsgi',
                 (('REMOTE_USER', value_for(marker, 'uwsgi')),), '', True,
                 False)


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
