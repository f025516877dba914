"""Keys, signed tokens, key sets and a key server, for any test that
needs a signed identity assertion.

    from tokens import Signer, JWKSServer, shaped

    signer = Signer('ec')                  # 'rsa', 'ec', 'ec384', 'ed25519'
    token = signer.token(iss='https://idp.example', aud='trac', sub='alice')
    signer.write_jwks(path)                # a JWKS file with its public key
    with JWKSServer(signer) as server:     # http://127.0.0.1:PORT/jwks.json
        server.url, server.requests        # requests counted
        server.set_keys(Signer('ec'))      # rotation
        server.serve(b'garbage')           # or server.fail(503)

    s = shaped('cloudflare', user='alice') # a token as that product sends
    s.header, s.value, s.issuer, s.audience, s.signer, s.environ()

`shaped` knows each product from its own documentation (header name,
algorithm, kid style, claims), independently of remoteuserauth.presets,
so that a test of a preset checks it against the product.
"""

import base64
import hashlib
import http.server
import json
import os
import threading
import time
import uuid
from collections import namedtuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import get_default_algorithms

_ALGORITHMS = get_default_algorithms()

# kind -> (default alg, key factory)
_KINDS = {
    'rsa': ('RS256', lambda: rsa.generate_private_key(65537, 2048)),
    'ec': ('ES256', lambda: ec.generate_private_key(ec.SECP256R1())),
    'ec384': ('ES384', lambda: ec.generate_private_key(ec.SECP384R1())),
    'ec521': ('ES512', lambda: ec.generate_private_key(ec.SECP521R1())),
    'ed25519': ('EdDSA', ed25519.Ed25519PrivateKey.generate),
    'ed448': ('EdDSA', ed448.Ed448PrivateKey.generate),
}

# Generating an RSA key takes a tenth of a second: the tests take turns
# with a few (consecutive signers always differ).
_RSA_POOL = []
_RSA_POOL_SIZE = 4
AUTO = object()


def b64url(data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def sign_token(header, claims, key, alg=None):
    """A compact JWS of `header` and `claims` (dicts, or bytes used as
    they are), signed with `key` by `alg` (default: `header['alg']`).
    `alg` 'none' gives an empty signature; HMAC algorithms take bytes."""
    alg = alg or header['alg']
    parts = [b64url(part if isinstance(part, bytes) else
                    json.dumps(part, separators=(',', ':')))
             for part in (header, claims)]
    signing_input = '.'.join(parts).encode('ascii')
    signature = b'' if alg == 'none' else \
        _ALGORITHMS[alg].sign(signing_input, key)
    return '.'.join(parts + [b64url(signature)])


def claims(iss, aud, sub='alice', lifetime=300, now=None, **extra):
    """Registered claims for a token valid for `lifetime` seconds."""
    now = int(time.time() if now is None else now)
    values = {'iss': iss, 'aud': aud, 'sub': sub, 'iat': now,
              'exp': now + lifetime}
    values.update(extra)
    return values


class Signer(object):
    """A private key that signs tokens, and its public key in the forms
    a key set holds.

    :param kind: ``rsa``, ``ec`` (P-256), ``ec384``, ``ec521``,
                 ``ed25519`` or ``ed448``.
    :param kid: the key id in tokens and JWKS; a random one by default,
                `None` for none.
    :param alg: the algorithm it signs with (the kind's usual one).
    :param fresh: a new RSA key rather than one of the few the test
                  session takes turns with.
    """

    def __init__(self, kind='ec', kid=AUTO, alg=None, fresh=False):
        default_alg, factory = _KINDS[kind]
        self.kind = kind
        self.alg = alg or default_alg
        self.kid = uuid.uuid4().hex[:16] if kid is AUTO else kid
        if kind != 'rsa' or fresh:
            self.private_key = factory()
        elif len(_RSA_POOL) < _RSA_POOL_SIZE:
            self.private_key = factory()
            _RSA_POOL.append(self.private_key)
        else:
            self.private_key = _RSA_POOL.pop(0)
            _RSA_POOL.append(self.private_key)
        self.public_key = self.private_key.public_key()

    def jwk(self, alg=True, **extra):
        """The public key as a JWK dict (with `kid` and, unless `alg` is
        false, `alg`)."""
        algorithm = _ALGORITHMS['EdDSA' if self.kind.startswith('ed')
                                else 'RS256' if self.kind == 'rsa'
                                else 'ES256']
        jwk = algorithm.to_jwk(self.public_key, as_dict=True)
        jwk['use'] = 'sig'
        if self.kid is not None:
            jwk['kid'] = self.kid
        if alg:
            jwk['alg'] = self.alg
        jwk.update(extra)
        return jwk

    def private_jwk(self):
        algorithm = _ALGORITHMS['EdDSA' if self.kind.startswith('ed')
                                else 'RS256' if self.kind == 'rsa'
                                else 'ES256']
        jwk = algorithm.to_jwk(self.private_key, as_dict=True)
        jwk.pop('key_ops', None)
        if self.kid is not None:
            jwk['kid'] = self.kid
        return jwk

    def pem(self):
        """The public key, PEM (SubjectPublicKeyInfo)."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode('ascii')

    def header(self, **extra):
        header = {'alg': self.alg, 'typ': 'JWT'}
        if self.kid is not None:
            header['kid'] = self.kid
        for name, value in extra.items():
            if value is None:
                header.pop(name, None)
            else:
                header[name] = value
        return header

    def token(self, claims=None, header=None, **claim_values):
        """A token signed by this key. `claims` (a dict) and the keyword
        arguments are the payload, with `exp` five minutes ahead and
        `iat` now unless given (`None` leaves a claim out); `header`
        entries replace or (with `None`) remove those of the usual
        header (the signature is always made with this signer's own
        algorithm)."""
        payload = {'iat': int(time.time()), 'exp': int(time.time()) + 300}
        payload.update(claims or {})
        payload.update(claim_values)
        payload = {k: v for k, v in payload.items() if v is not None}
        return sign_token(self.header(**(header or {})), payload,
                          self.private_key, alg=self.alg)

    def write_jwks(self, path, *others):
        return write_jwks(path, self, *others)

    def write_pem(self, path):
        with open(str(path), 'w') as f:
            f.write(self.pem())
        return str(path)


def jwks(*signers, **jwk_options):
    """A JSON Web Key Set (a dict) of the signers' public keys."""
    return {'keys': [s.jwk(**jwk_options) for s in signers]}


def write_jwks(path, *signers, **jwk_options):
    """Write `jwks(*signers)` to `path` (atomically, so that a reader
    never sees half a file); returns the path as a string."""
    path = str(path)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(jwks(*signers, **jwk_options), f)
    os.replace(tmp, path)
    return path


class JWKSServer(object):
    """A key server on 127.0.0.1 in a thread, as an identity provider's
    ``jwks_uri``: every GET answers with the current body.

    `requests` counts the requests served; `set_keys` rotates the keys;
    `serve` answers with any body (garbage), `fail` with an error
    status; `delay` holds each answer that many seconds; `stop` ends it
    (also on leaving a ``with`` block).
    """

    def __init__(self, *signers):
        self.requests = 0
        self.delay = 0
        self._lock = threading.Lock()
        self.set_keys(*signers)
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with server._lock:
                    server.requests += 1
                    status, body, kind, headers = server._answer
                if server.delay:
                    time.sleep(server.delay)
                self.send_response(status)
                self.send_header('Content-Type', kind)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0),
                                                       Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = 'http://127.0.0.1:%d/jwks.json' % self.port
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        daemon=True)
        self._thread.start()

    def set_keys(self, *signers, **jwk_options):
        self.serve(json.dumps(jwks(*signers, **jwk_options)).encode(),
                   kind='application/json')

    def serve(self, body, status=200, kind='application/octet-stream',
              headers=()):
        with self._lock:
            self._answer = (status, body, kind, tuple(headers))

    def fail(self, status=503):
        self.serve(b'unavailable', status, 'text/plain')

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class FakeClock(object):
    """A clock for `assertion` that moves only when told: ``clock()``
    returns the time, ``clock.advance(seconds)`` moves it."""

    def __init__(self, now=None):
        self.now = time.time() if now is None else now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


Shaped = namedtuple('Shaped', 'product header value claims issuer audience '
                    'signer')


def _environ(self):
    """The WSGI environ entries that carry this token: ``HTTP_*`` for a
    header, the bare name for a server variable (``env:NAME``)."""
    if self.header.startswith('env:'):
        return {self.header[4:]: self.value}
    return {'HTTP_' + self.header.upper().replace('-', '_'): self.value}


Shaped.environ = _environ
Shaped.__doc__ = """A token as a product sends it: `header` as a client
writes it (or ``env:NAME`` for a server variable), `value` as sent
(``Bearer ...`` for Authorization), the `claims`, the `issuer` and
`audience` to configure, and the `signer` whose key verifies it."""

# What each product sends, from its own documentation.
PRODUCTS = {
    # Pomerium: ES256 from its signing key, kid a hex digest; since 0.22
    # iss and aud are both the route's domain.
    'pomerium': dict(header='X-Pomerium-Jwt-Assertion', kind='ec',
                     kid=lambda: hashlib.sha256(os.urandom(8)).hexdigest(),
                     issuer='trac.example.com', audience='trac.example.com'),
    # Cloudflare Access: RS256, kid a hex digest, aud a list holding the
    # application's AUD tag, iss the team domain.
    'cloudflare': dict(header='Cf-Access-Jwt-Assertion', kind='rsa',
                       kid=lambda: hashlib.sha256(os.urandom(8)).hexdigest(),
                       issuer='https://example.cloudflareaccess.com',
                       audience=hashlib.sha256(b'aud').hexdigest()),
    # Google IAP: ES256, short kid, iss fixed, aud the backend service.
    'iap': dict(header='X-Goog-IAP-JWT-Assertion', kind='ec',
                kid=lambda: b64url(os.urandom(4)),
                issuer='https://cloud.google.com/iap',
                audience='/projects/123456789012/global/backendServices/'
                         '4567890123456789012'),
    # oauth2-proxy --pass-authorization-header: the IdP's ID token.
    'oauth2-proxy': dict(header='Authorization', kind='rsa',
                         kid=lambda: uuid.uuid4().hex,
                         issuer='https://idp.example.com/realms/example',
                         audience='trac'),
    # mod_auth_openidc OIDCPassIDTokenAs serialized: the ID token in the
    # OIDC_id_token server variable; some providers send no kid.
    'mod_auth_openidc': dict(header='env:OIDC_id_token', kind='rsa',
                             kid=lambda: None,
                             issuer='https://idp.example.com',
                             audience='trac'),
}


def product_signer(product):
    """A `Signer` with the key type and kid style of `product`."""
    facts = PRODUCTS[product]
    return Signer(facts['kind'], kid=facts['kid']())


def shaped(product, user='alice', email=None, name=None, groups=(),
           signer=None, issuer=None, audience=None, lifetime=300, now=None,
           **extra):
    """A token shaped like the one `product` sends for `user` (the
    e-mail's local part unless `email` is given)."""
    facts = PRODUCTS[product]
    signer = signer or product_signer(product)
    issuer = issuer or facts['issuer']
    audience = audience or facts['audience']
    email = email or '%s@example.com' % user
    now = int(time.time() if now is None else now)
    body = {'iat': now, 'exp': now + lifetime, 'iss': issuer}
    if product == 'pomerium':
        body.update(aud=audience, sub='1234567890', user='1234567890',
                    email=email, groups=list(groups), jti=str(uuid.uuid4()),
                    name=name or user.title())
    elif product == 'cloudflare':
        body.update(aud=[audience], email=email, nbf=now, type='app',
                    identity_nonce=b64url(os.urandom(12)),
                    sub=str(uuid.uuid4()), country='US')
    elif product == 'iap':
        body.update(aud=audience, email=email, hd=email.partition('@')[2],
                    sub='accounts.google.com:%d' % (10 ** 20 + len(user)),
                    google={'access_levels': []})
    else:
        body.update(aud=audience, sub=user if product == 'mod_auth_openidc'
                    else str(uuid.uuid4()), email=email,
                    name=name or user.title(), auth_time=now,
                    nonce=b64url(os.urandom(12)))
        if product == 'oauth2-proxy':
            body.update(preferred_username=user, email_verified=True,
                        groups=list(groups), azp=audience)
    body.update(extra)
    token = sign_token(signer.header(), body, signer.private_key)
    value = 'Bearer ' + token if facts['header'] == 'Authorization' \
        else token
    return Shaped(product, facts['header'], value, body, issuer, audience,
                  signer)
