"""The keys that verify assertions: reading a JSON Web Key Set or PEM
public keys, and which algorithm a key can verify.

The signature primitives come from PyJWT with cryptography (the optional
``jwt`` extra); without them no key is read. Nothing here imports Trac."""

import re
from collections import namedtuple

from remoteuserauth.assertion.token import strict_json
from remoteuserauth.core.names import client_text

try:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import (ec, ed448,
                                                           ed25519, rsa)
    from cryptography.hazmat.primitives.serialization import (
        load_pem_public_key)
    from jwt import algorithms as jwt_algorithms
    ALGORITHM_OBJECTS = jwt_algorithms.get_default_algorithms()
    HAVE_PYJWT = jwt_algorithms.has_crypto
except ImportError:     # the optional `jwt` extra is not installed
    ALGORITHM_OBJECTS = {}
    HAVE_PYJWT = False

#: RSA keys shorter than this are not used.
MIN_RSA_BITS = 2048

DEFAULT_ALGORITHMS = ('RS256', 'PS256', 'ES256', 'EdDSA')

# Each algorithm this module accepts, with the key type (and curve)
# that can verify it. ES512 is ECDSA over P-521, as RFC 7518 names it.
_KEY_TYPES = {
    'RS256': ('RSA', None), 'RS384': ('RSA', None), 'RS512': ('RSA', None),
    'PS256': ('RSA', None), 'PS384': ('RSA', None), 'PS512': ('RSA', None),
    'ES256': ('EC', 'P-256'), 'ES384': ('EC', 'P-384'),
    'ES512': ('EC', 'P-521'),
    'EdDSA': ('OKP', None),
}
SUPPORTED_ALGORITHMS = tuple(_KEY_TYPES)

Key = namedtuple('Key', 'kid kty crv alg key source')
Key.__doc__ = """A verification key: its `kid` (or `None`), type
(``RSA``, ``EC``, ``OKP``), curve, the `alg` it states (or `None`), the
public key object and where it came from (a URL or a path)."""


# Keys

def _describe_key_object(public):
    """``(kty, crv)`` of a public key object, or `None` when it cannot
    verify any algorithm accepted here."""
    if isinstance(public, rsa.RSAPublicKey):
        return 'RSA', None
    if isinstance(public, ec.EllipticCurvePublicKey):
        crv = {'secp256r1': 'P-256', 'secp384r1': 'P-384',
               'secp521r1': 'P-521'}.get(public.curve.name)
        return ('EC', crv) if crv else None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return 'OKP', 'Ed25519'
    if isinstance(public, ed448.Ed448PublicKey):
        return 'OKP', 'Ed448'
    return None


def _public(key):
    """The public half of `key`, and whether `key` was private."""
    for private in (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey,
                    ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey):
        if isinstance(key, private):
            return key.public_key(), True
    return key, False


def _make_key(public, kid, alg, source, label, problems):
    described = _describe_key_object(public)
    if described is None:
        problems.append("%s: not an RSA, EC (P-256, P-384, P-521) or "
                        "Ed25519/Ed448 public key; left out" % label)
        return None
    kty, crv = described
    if kty == 'RSA' and public.key_size < MIN_RSA_BITS:
        problems.append("%s: RSA key of %d bits, under %d; left out"
                        % (label, public.key_size, MIN_RSA_BITS))
        return None
    if alg is not None and not fits(alg, kty, crv):
        problems.append("%s: states alg %s, which a%s %s key cannot verify "
                        "here; left out" % (label, client_text(alg),
                                            'n' if kty[0] in 'AEIOU' else '',
                                            crv or kty))
        return None
    return Key(kid, kty, crv, alg, public, source)


def _jwk_key(entry, source, index, problems):
    label = "key %d of %s" % (index, source)
    if not isinstance(entry, dict):
        problems.append("%s is not a JSON object; left out" % label)
        return None
    kid = entry.get('kid')
    if kid is not None:
        if not isinstance(kid, str):
            problems.append("%s: kid is not a string; left out" % label)
            return None
        label = "key %s of %s" % (client_text(kid), source)
    kty = entry.get('kty')
    use = entry.get('use')
    if use is not None and use != 'sig':
        return None     # an encryption key of the same set
    ops = entry.get('key_ops')
    if ops is not None and (not isinstance(ops, list) or 'verify' not in ops):
        return None
    alg = entry.get('alg')
    if alg is not None and not isinstance(alg, str):
        problems.append("%s: alg is not a string; left out" % label)
        return None
    if kty == 'oct' or (alg or '').upper().startswith('HS'):
        problems.append("%s is a shared secret (HMAC), which is never "
                        "accepted; left out" % label)
        return None
    loaders = {'RSA': 'RSAAlgorithm', 'EC': 'ECAlgorithm',
               'OKP': 'OKPAlgorithm'}
    if kty not in loaders:
        problems.append("%s: key type %s is not supported; left out"
                        % (label, client_text(kty)))
        return None
    try:
        key = getattr(jwt_algorithms, loaders[kty]).from_jwk(entry)
    except Exception as e:
        problems.append("%s does not load (%s); left out"
                        % (label, client_text(str(e), 120)))
        return None
    public, was_private = _public(key)
    if was_private:
        problems.append("%s holds a private key: publish only public keys "
                        "(its public half is used)" % label)
    return _make_key(public, kid, alg, source, label, problems)


_PEM_BLOCK = re.compile(rb'-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----',
                        re.S)


def _pem_keys(data, source, problems):
    keys = []
    for index, match in enumerate(_PEM_BLOCK.finditer(data), 1):
        label = "PEM block %d of %s" % (index, source)
        kind = match.group(1).decode('ascii')
        try:
            if kind == 'CERTIFICATE':
                public = x509.load_pem_x509_certificate(
                    match.group(0)).public_key()
            elif kind in ('PUBLIC KEY', 'RSA PUBLIC KEY'):
                public = load_pem_public_key(match.group(0))
            else:
                problems.append("%s is a %s, not a public key or "
                                "certificate; left out" % (label, kind))
                continue
        except Exception as e:
            problems.append("%s does not load (%s); left out"
                            % (label, client_text(str(e), 120)))
            continue
        key = _make_key(public, None, None, source, label, problems)
        if key is not None:
            keys.append(key)
    if not keys and not problems:
        problems.append("%s holds no PEM block" % source)
    return keys


def parse_keys(data, source):
    """Read a JSON Web Key Set, a single JWK, or PEM public keys and
    certificates.

    :return: ``(keys, problems)``: the usable `Key` tuples and one
             sentence for each entry left out (HMAC secrets, encryption
             keys are skipped silently, weak or malformed keys). Two keys
             with the same ``kid``: only the first is kept, so a ``kid``
             never names two keys.
    """
    problems = []
    text = data.lstrip()
    if text.startswith(b'{'):
        try:
            document = strict_json(text.decode('utf-8'))
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            return [], ["%s is not valid JSON (%s)"
                        % (source, client_text(str(e), 120))]
        if isinstance(document.get('keys'), list):
            entries = document['keys']
        elif 'kty' in document:
            entries = [document]
        else:
            return [], ["%s is neither a JSON Web Key Set (no \"keys\" "
                        "list) nor a JSON Web Key" % source]
        found = [_jwk_key(entry, source, index, problems)
                 for index, entry in enumerate(entries, 1)]
        keys = [key for key in found if key is not None]
    elif b'-----BEGIN' in text:
        keys = _pem_keys(text, source, problems)
    else:
        return [], ["%s is neither a JSON Web Key Set nor PEM" % source]
    unique = []
    seen = set()
    for key in keys:
        if key.kid is not None and key.kid in seen:
            problems.append("two keys of %s have kid %s; only the first is "
                            "used" % (source, client_text(key.kid)))
            continue
        seen.add(key.kid)
        unique.append(key)
    return unique, problems


def fits(alg, kty, crv):
    """Whether a key of type `kty` (and curve `crv`) can verify `alg`."""
    wanted = _KEY_TYPES.get(alg)
    if wanted is None or wanted[0] != kty:
        return False
    return wanted[1] is None or wanted[1] == crv

def describe_key(key):
    """``kid 'abc' (EC P-256, alg ES256)`` for a `Key`."""
    kid = "kid %s" % client_text(key.kid) if key.kid is not None else "no kid"
    return "%s (%s%s%s)" % (kid, key.kty, ' ' + key.crv if key.crv else '',
                            ', alg ' + key.alg if key.alg else '')


# Settings

def parse_algorithms(entries):
    """Validate ``[remoteuser] jwt_algorithms``.

    :return: ``(algorithms, problems)``. ``none`` and the HMAC family
             are dropped (an unsigned token, or one "signed" with a
             public key used as an HMAC secret, proves nothing), and so
             are names this module does not know; the others apply.
             Names are matched without regard to case.
    """
    known = {name.lower(): name for name in SUPPORTED_ALGORITHMS}
    algorithms = []
    problems = []
    for entry in entries:
        name = entry.strip()
        if not name:
            continue
        if name.lower() == 'none' or name.upper().startswith('HS'):
            problems.append("[remoteuser] jwt_algorithms: %s is never "
                            "accepted (unsigned or HMAC tokens prove "
                            "nothing); it is ignored" % client_text(name))
        elif name.lower() in known:
            if known[name.lower()] not in algorithms:
                algorithms.append(known[name.lower()])
        else:
            problems.append("[remoteuser] jwt_algorithms: %s is not one of "
                            "%s; it is ignored"
                            % (client_text(name),
                               ', '.join(SUPPORTED_ALGORITHMS)))
    return tuple(algorithms), problems
