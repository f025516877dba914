"""The pure verification of signed assertions: every refusal reason, the
key sources (file, URL, a real key server on loopback), the cache, and a
property that no mutation of a valid token is ever accepted."""

import base64
import json
import os
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remoteuserauth import assertion as a
from tokens import JWKSServer, Signer, b64url, sign_token, write_jwks

ISS = 'https://idp.example.com'
AUD = 'trac'


@pytest.fixture
def verifier(keyfile, clock):
    return a.build(keyfile, ISS, [AUD], clock=clock)


def token_for(signer, clock, header=None, **claims):
    values = {'iss': ISS, 'aud': AUD, 'sub': 'alice',
              'iat': int(clock()), 'exp': int(clock()) + 300}
    values.update(claims)
    return signer.token(values, header=header)


class Fetcher(object):
    """A key URL answering from memory, counting its fetches."""

    def __init__(self, *signers):
        self.urls = []
        self.body = json.dumps({'keys': [s.jwk() for s in signers]}).encode()
        self.error = None
        self.pause = 0

    def __call__(self, url, timeout, limit):
        self.urls.append(url)
        if self.pause:
            time.sleep(self.pause)
        if self.error:
            raise self.error
        return self.body

    def set_keys(self, *signers):
        self.body = json.dumps({'keys': [s.jwk() for s in signers]}).encode()


# Taking the token out of the header

@pytest.mark.parametrize('value', [None, '', '   '])
def test_no_value_is_nobody(value):
    assert a.extract_token(value) == (None, None, None)
    assert a.extract_token(value, bearer=True) == (None, None, None)


def test_token_and_bearer_scheme_in_any_case():
    assert a.extract_token(' x.y.z ').token == 'x.y.z'
    for value in ('Bearer x.y.z', 'bearer x.y.z', 'BEARER  x.y.z'):
        assert a.extract_token(value, bearer=True).token == 'x.y.z'


def test_other_authorization_schemes_are_nobody():
    result = a.extract_token('Basic YWxpY2U6c2VjcmV0', bearer=True)
    assert result.token is None and result.rule == a.NOT_BEARER
    assert result.rule in a.NOBODY
    assert a.extract_token('Bearer', bearer=True).rule == a.MALFORMED


@pytest.mark.parametrize('value, bearer', [
    ('a.b.c, d.e.f', False),
    ('a.b.c,d.e.f', False),
    ('a.b.c d.e.f', False),
    ('a.b.c\td.e.f', False),
    ('a.b.c\r\nSet-Cookie: x', False),
    ('Bearer a.b.c, Bearer d.e.f', True),
    ('Bearer a.b.c d.e.f', True),
])
def test_joined_headers_are_refused(value, bearer):
    result = a.extract_token(value, bearer=bearer)
    assert result.token is None and result.rule == a.SEVERAL
    assert 'jwt_header' in result.reason


@given(st.text(alphabet=st.sampled_from(
    'ab.-_, \t\r\n\x0b\x0c\x1c\x85\xa0\u2028\u3000\u200b\xe9')))
def test_separators_are_found_as_the_class_finds_them(text):
    from remoteuserauth.assertion import token
    assert token._separated(text) == bool(token._SEPARATOR(text))


def test_huge_values_are_refused_before_parsing():
    for value in ('x' * (a.MAX_TOKEN_LENGTH + 1),
                  'Bearer ' + 'x' * a.MAX_TOKEN_LENGTH,
                  ',' * (a.MAX_TOKEN_LENGTH + 1)):
        result = a.extract_token(value, bearer=value.startswith('Bearer'))
        assert result.rule == a.TOO_LARGE
    assert a.extract_token('x' * a.MAX_TOKEN_LENGTH).token


# Accepting

def test_valid_token_is_accepted_with_its_checks(verifier, signer, clock):
    verdict = verifier.verify(token_for(signer, clock, nbf=int(clock())))
    assert verdict.accepted and verdict.rule is None
    assert verdict.claims['sub'] == 'alice'
    assert verdict.kid == signer.kid and verdict.alg == 'ES256'
    assert verdict.key.kid == signer.kid
    assert [c.name for c in verdict.checks] == [
        'format', 'algorithm', 'key', 'signature', 'exp', 'nbf', 'iat',
        'iss', 'aud']
    assert all(c.ok for c in verdict.checks)


@pytest.mark.parametrize('kind', ['rsa', 'ec', 'ed25519', 'ed448'])
def test_default_algorithms_and_key_types(tmp_path, clock, kind):
    signer = Signer(kind)
    verifier = a.build(write_jwks(tmp_path / 'k.json', signer), ISS, [AUD],
                       clock=clock)
    assert verifier.verify(token_for(signer, clock)).accepted


@pytest.mark.parametrize('kind, alg', [('rsa', 'PS256'), ('rsa', 'RS512'),
                                       ('ec384', 'ES384'),
                                       ('ec521', 'ES512')])
def test_other_algorithms_when_listed(tmp_path, clock, kind, alg):
    signer = Signer(kind, alg=alg)
    verifier = a.build(write_jwks(tmp_path / 'k.json', signer), ISS, [AUD],
                       algorithms=[alg], clock=clock)
    assert verifier.verify(token_for(signer, clock)).accepted


def test_audience_list_and_leeway(verifier, signer, clock):
    assert verifier.verify(token_for(signer, clock,
                                     aud=['other', AUD])).accepted
    # Within jwt_leeway (60 s) of exp, nbf and iat.
    now = int(clock())
    assert verifier.verify(token_for(signer, clock, exp=now - 59,
                                     nbf=now + 59, iat=now + 59)).accepted


# Every refusal

def refused(verifier, token, rule, *words):
    verdict = verifier.verify(token)
    assert not verdict.accepted
    assert verdict.rule == rule, verdict.reason
    for word in words:
        assert word in verdict.reason
    if verdict.checks:
        assert verdict.checks[-1].ok is False
    return verdict


def test_configuration_problems_believe_nothing(keyfile, signer, clock):
    token = token_for(signer, clock)
    for keys, issuer, audience, option in (
            ('', ISS, [AUD], 'jwt_keys'), (keyfile, '', [AUD], 'jwt_issuer'),
            (keyfile, ISS, [' '], 'jwt_audience')):
        verifier = a.build(keys, issuer, audience, clock=clock)
        assert option in verifier.blocked
        assert verifier.problems[0] == verifier.blocked
        refused(verifier, token, a.CONFIG, option)
    verifier = a.build(keyfile, ISS, [AUD], algorithms=['HS256', 'none'],
                       clock=clock)
    refused(verifier, token, a.CONFIG, 'jwt_algorithms')


def test_without_pyjwt_nothing_is_believed(monkeypatch, keyfile, signer,
                                           clock):
    monkeypatch.setattr(a.verify, 'HAVE_PYJWT', False)
    verifier = a.build(keyfile, ISS, [AUD], clock=clock)
    refused(verifier, token_for(signer, clock), a.CONFIG,
            'TracRemoteUserAuth[jwt]')


def test_malformed_tokens(verifier, signer, clock):
    good = token_for(signer, clock)
    head, body, sig = good.split('.')
    key = signer.private_key
    cases = [
        'not-a-token', head + '.' + body, good + '.x', 'é' + good,
        head + '.' + body + '.' + sig + '=',
        head + '.' + body + '!.' + sig,
        b64url('not json') + '.' + body + '.' + sig,
        b64url('[1]') + '.' + body + '.' + sig,
        sign_token(signer.header(), b'[]', key),
        sign_token(signer.header(), b'{"sub":"alice","sub":"admin"}', key),
        sign_token(signer.header(), b'{"exp":NaN}', key),
        sign_token(signer.header(), b'{"a":' + b'[' * 5000 + b']' * 5000
                   + b'}', key),
        sign_token(signer.header(), b'{"exp":1' + b'0' * 5000 + b'}', key),
        sign_token(signer.header(), b'\xff\xfe', key),
        token_for(signer, clock, header={'alg': None}),
        token_for(signer, clock, header={'kid': 7}),
        token_for(signer, clock, exp='9999999999'),
        token_for(signer, clock, exp=True),
        token_for(signer, clock, nbf='0'),
        token_for(signer, clock, iat=[1]),
    ]
    # A last character whose ignored low bits differ decodes to the same
    # bytes (an ES256 signature is 86 characters, the last one carrying
    # 2 bits): only the canonical spelling is accepted.
    alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' \
               '0123456789-_'
    twin = sig[:-1] + alphabet[alphabet.index(sig[-1]) ^ 1]
    assert base64.urlsafe_b64decode(sig + '==') == \
        base64.urlsafe_b64decode(twin + '==')
    cases.append('.'.join((head, body, twin)))
    for token in cases:
        refused(verifier, token, a.MALFORMED)


def test_critical_extensions_are_refused(verifier, signer, clock):
    refused(verifier, token_for(signer, clock, header={'crit': ['b64'],
                                                       'b64': False}),
            a.UNSUPPORTED, 'crit')


def test_none_and_hmac_are_never_accepted(verifier, signer, clock,
                                          tmp_path):
    claims = json.loads(base64.urlsafe_b64decode(
        token_for(signer, clock).split('.')[1] + '=='))
    for alg in ('none', 'None', 'NONE'):
        token = sign_token({'alg': alg, 'kid': signer.kid}, claims, None,
                           alg='none')
        refused(verifier, token, a.FORBIDDEN_ALGORITHM, 'never accepted')
    # The classic forgery: HMAC keyed with the public key everyone has.
    for secret in (signer.pem().encode(),
                   json.dumps(signer.jwk()).encode()):
        for alg in ('HS256', 'HS512', 'hs256'):
            token = sign_token({'alg': alg, 'kid': signer.kid}, claims,
                               secret, alg=alg.upper())
            refused(verifier, token, a.FORBIDDEN_ALGORITHM)
    # Whatever jwt_algorithms says.
    lax = a.build(verifier.keys.source, ISS, [AUD],
                  algorithms=['none', 'HS256', 'ES256'], clock=clock)
    assert lax.algorithms == ('ES256',)
    assert sum('never accepted' in p for p in lax.problems) == 2
    refused(lax, sign_token({'alg': 'HS256'}, claims, signer.pem().encode()),
            a.FORBIDDEN_ALGORITHM)


def test_algorithm_not_listed(tmp_path, clock):
    signer = Signer('ec384')
    verifier = a.build(write_jwks(tmp_path / 'k.json', signer), ISS, [AUD],
                       clock=clock)
    refused(verifier, token_for(signer, clock), a.ALGORITHM, 'ES384',
            'jwt_algorithms')


def test_algorithm_must_fit_the_key(tmp_path, clock):
    rsa_key = Signer('rsa')
    # The key states RS256: a PS256 token signed by the same key is not
    # accepted, although PS256 is allowed and the signature is right.
    verifier = a.build(write_jwks(tmp_path / 'k.json', rsa_key), ISS, [AUD],
                       clock=clock)
    ps = Signer('rsa', kid=rsa_key.kid, alg='PS256')
    ps.private_key = rsa_key.private_key
    refused(verifier, token_for(ps, clock), a.KEY_MISMATCH, 'states alg RS256')
    # A key without alg: the token's algorithm must suit its type.
    verifier = a.build(write_jwks(tmp_path / 'k2.json', rsa_key, alg=False),
                       ISS, [AUD], clock=clock)
    assert verifier.verify(token_for(ps, clock)).accepted
    ec_key = Signer('ec', kid=rsa_key.kid)
    refused(verifier, token_for(ec_key, clock), a.KEY_MISMATCH,
            'cannot verify')
    # ES256 needs P-256, not P-384.
    p384 = Signer('ec384')
    verifier = a.build(write_jwks(tmp_path / 'k3.json', p384, alg=False),
                       ISS, [AUD], algorithms=['ES256', 'ES384'], clock=clock)
    liar = Signer('ec', kid=p384.kid)
    refused(verifier, token_for(liar, clock), a.KEY_MISMATCH, 'P-384')


def test_unknown_kid_and_missing_kid(tmp_path, clock, signer):
    other = Signer('ec')
    verifier = a.build(write_jwks(tmp_path / 'k.json', signer, other), ISS,
                       [AUD], clock=clock)
    assert verifier.verify(token_for(other, clock)).accepted
    refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY,
            'jwt_keys')
    refused(verifier, token_for(signer, clock, header={'kid': None}),
            a.NO_KID, '2 keys')
    # With exactly one key, a token without kid is checked against it.
    single = a.build(write_jwks(tmp_path / 'one.json', signer), ISS, [AUD],
                     clock=clock)
    assert single.verify(token_for(signer, clock,
                                   header={'kid': None})).accepted


def test_kid_names_its_key_never_another(tmp_path, clock, signer):
    # Signed by `other` but naming `signer`'s kid: only that key is
    # tried, though `other` is configured too.
    other = Signer('ec')
    verifier = a.build(write_jwks(tmp_path / 'k.json', signer, other), ISS,
                       [AUD], clock=clock)
    impostor = Signer('ec', kid=signer.kid)
    impostor.private_key = other.private_key
    refused(verifier, token_for(impostor, clock), a.SIGNATURE)


def test_bad_signatures(verifier, signer, clock):
    forger = Signer('ec', kid=signer.kid)
    refused(verifier, token_for(forger, clock), a.SIGNATURE, 'jwt_keys')
    head, body, sig = token_for(signer, clock).split('.')
    evil = json.loads(base64.urlsafe_b64decode(body + '=='))
    evil['sub'] = 'admin'
    refused(verifier, '.'.join((head, b64url(json.dumps(evil)), sig)),
            a.SIGNATURE)
    refused(verifier, '.'.join((head, body, '')), a.SIGNATURE)
    short = b64url(base64.urlsafe_b64decode(sig + '==')[:-3])
    refused(verifier, '.'.join((head, body, short)), a.SIGNATURE)


def test_keys_named_by_the_token_are_never_used(tmp_path, clock, signer):
    attacker = Signer('ec', kid='attacker')
    fetcher = Fetcher(signer)
    verifier = a.build('https://keys.example.com/jwks', ISS, [AUD],
                       fetch=fetcher, clock=clock)
    with JWKSServer(attacker) as rogue:
        header = {'kid': 'attacker', 'jku': rogue.url, 'x5u': rogue.url,
                  'jwk': attacker.jwk(), 'x5c': ['MIIB']}
        verdict = refused(verifier, token_for(attacker, clock, header=header),
                          a.UNKNOWN_KEY)
        assert rogue.requests == 0
    assert set(fetcher.urls) == {'https://keys.example.com/jwks'}
    assert any(c.ok is None and 'jku' in c.detail for c in verdict.checks)
    # Naming the configured key's kid with an embedded key: still only
    # the configured key verifies.
    header['kid'] = signer.kid
    refused(verifier, token_for(Signer('ec', kid=signer.kid), clock,
                                header=header), a.SIGNATURE)


def test_expiry(verifier, signer, clock):
    now = int(clock())
    refused(verifier, token_for(signer, clock, exp=None), a.NO_EXPIRY)
    refused(verifier, token_for(signer, clock, exp=now - 60), a.EXPIRED,
            'jwt_leeway')
    refused(verifier, token_for(signer, clock, exp=now - 3600), a.EXPIRED)


def test_not_yet_valid_and_issued_in_future(verifier, signer, clock):
    now = int(clock())
    refused(verifier, token_for(signer, clock, nbf=now + 61),
            a.NOT_YET_VALID, 'jwt_leeway')
    refused(verifier, token_for(signer, clock, iat=now + 61),
            a.ISSUED_IN_FUTURE, 'clocks')


def test_issuer(verifier, signer, clock):
    for iss in ('https://evil.example.com', ISS + '/', ISS.upper(), None,
                ['https://idp.example.com']):
        refused(verifier, token_for(signer, clock, iss=iss), a.ISSUER,
                'jwt_issuer')


def test_audience(verifier, signer, clock):
    for aud in ('other', ['other', 'another'], [], None, 'TRAC', [['trac']],
                {'trac': 1}, 'trac '):
        refused(verifier, token_for(signer, clock, aud=aud), a.AUDIENCE,
                'jwt_audience')


def test_refused_tokens_keep_their_unverified_claims(verifier, clock):
    verdict = verifier.verify(token_for(Signer('ec'), clock, sub='mallory'))
    assert verdict.claims['sub'] == 'mallory' and not verdict.accepted
    lines = a.explain(verdict, verifier.status())
    assert any('not verified' in line for line in lines)
    assert lines[-1].startswith('check key: FAILED')


def test_reasons_are_safe_to_log(verifier, signer, clock):
    nasty = 'x\r\nSet-Cookie: trac_auth=1' + 'y' * 500
    for claim in ('iss', 'aud'):
        verdict = verifier.verify(token_for(signer, clock, **{claim: nasty}))
        assert '\r' not in verdict.reason and '\n' not in verdict.reason
        assert len(verdict.reason) < 400


# Key sets

def test_parse_keys_leaves_out_what_cannot_verify(signer):
    rsa_key, weak = Signer('rsa'), None
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_mod
    from jwt.algorithms import RSAAlgorithm
    weak = RSAAlgorithm.to_jwk(rsa_mod.generate_private_key(
        65537, 1024).public_key(), as_dict=True)
    document = {'keys': [
        {'kty': 'oct', 'k': 'c2VjcmV0', 'kid': 'hmac'},
        dict(signer.jwk(), alg='HS256', kid='confused'),
        dict(signer.jwk(), kid='enc', use='enc'),
        dict(signer.jwk(), kid='wrapping', key_ops=['encrypt']),
        dict(signer.jwk(), kid='wrong-alg', alg='RS256'),
        dict(weak, kid='weak'),
        dict(signer.jwk(), kid=5),
        {'kty': 'EC', 'crv': 'P-256', 'x': 'AA', 'y': 'AA', 'kid': 'bad'},
        {'kty': 'OKP', 'crv': 'X25519', 'x': b64url(b'\1' * 32),
         'kid': 'x25519'},
        'not a key',
        signer.jwk(),
        dict(rsa_key.private_jwk(), kid='private'),
        dict(signer.jwk(), alg='ES256'),
    ]}
    keys, problems = a.parse_keys(json.dumps(document).encode(), 'test')
    assert [k.kid for k in keys] == [signer.kid, 'private']
    assert keys[1].kty == 'RSA' and not hasattr(keys[1].key, 'private_numbers')
    text = '\n'.join(problems)
    for word in ('HMAC', 'RS256', '1024 bits', 'kid is not a string',
                 'does not load', 'private key', 'two keys',
                 'not a JSON object'):
        assert word in text, word
    assert 'enc' not in [k.kid for k in keys]


def test_parse_keys_formats(signer):
    assert a.parse_keys(json.dumps(signer.jwk()).encode(), 't')[0]
    assert a.parse_keys(b'  ' + signer.pem().encode(), 't')[0][0].kid is None
    for data in (b'', b'garbage', b'{"keys": 5}', b'[1, 2]', b'{"a":1}',
                 b'{broken', b'-----BEGIN PRIVATE KEY-----\nAAAA\n'
                 b'-----END PRIVATE KEY-----'):
        keys, problems = a.parse_keys(data, 't')
        assert keys == [] and problems, data


def test_pem_file_with_certificate(tmp_path, clock):
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID
    signer = Signer('rsa', kid=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'idp')])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = x509.CertificateBuilder().subject_name(name).issuer_name(name) \
        .public_key(signer.public_key).serial_number(1) \
        .not_valid_before(now).not_valid_after(now).sign(
            signer.private_key, hashes.SHA256())
    path = tmp_path / 'idp.crt'
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    verifier = a.build(str(path), ISS, [AUD], clock=clock)
    assert verifier.verify(token_for(signer, clock)).accepted
    # PEM keys have no kid: a token naming one finds no key.
    named = Signer('rsa', kid='k1')
    named.private_key = signer.private_key
    refused(verifier, token_for(named, clock), a.UNKNOWN_KEY)


def test_file_is_read_again_when_it_changes(tmp_path, clock, signer):
    path = write_jwks(tmp_path / 'k.json', signer)
    verifier = a.build(path, ISS, [AUD], clock=clock)
    token = token_for(signer, clock)
    assert verifier.verify(token).accepted
    assert verifier.verify(token).accepted
    assert verifier.keys.loads == 1
    new = Signer('ec')
    write_jwks(path, new)
    assert verifier.verify(token_for(new, clock)).accepted
    assert verifier.keys.loads == 2
    # The key that left the file no longer verifies, cached or not.
    refused(verifier, token, a.UNKNOWN_KEY)
    # A broken file keeps the keys read before.
    with open(path, 'w') as f:
        f.write('{"keys": [')
    assert verifier.verify(token_for(new, clock)).accepted
    assert 'no usable key' in verifier.status()['error']
    os.remove(path)
    assert verifier.verify(token_for(new, clock)).accepted
    assert 'reading' in verifier.status()['error']


def _settled(path):
    """`path` as a deployed key file is: last changed an hour ago."""
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    return path


def test_settled_file_is_looked_at_once_a_second(tmp_path, clock, signer,
                                                 monkeypatch):
    path = _settled(write_jwks(tmp_path / 'k.json', signer))
    verifier = a.build(path, ISS, [AUD], clock=clock)
    looks = []
    real_stat = os.stat
    monkeypatch.setattr(os, 'stat', lambda p, *args, **kw: (
        looks.append(p), real_stat(p, *args, **kw))[1])
    token = token_for(signer, clock)
    for _ in range(5):
        assert verifier.verify(token).accepted
    assert looks == [path]
    clock.advance(a.FileKeys.CHECK_INTERVAL)
    assert verifier.verify(token).accepted
    assert looks == [path, path]
    # A clock set back looks again rather than wait.
    clock.advance(-60)
    assert verifier.verify(token_for(signer, clock)).accepted
    assert len(looks) == 3


def test_removed_key_stops_verifying_within_the_interval(tmp_path, clock,
                                                         signer):
    path = _settled(write_jwks(tmp_path / 'k.json', signer))
    verifier = a.build(path, ISS, [AUD], clock=clock)
    token = token_for(signer, clock)
    assert verifier.verify(token).accepted
    new = Signer('ec')
    _settled(write_jwks(path, new))
    # A token naming a key the file did not hold looks at once: the
    # new key counts at once, and the removed one with it is gone.
    assert verifier.verify(token_for(new, clock)).accepted
    refused(verifier, token, a.UNKNOWN_KEY)
    # Without such a token, the removal counts at the next look.
    _settled(write_jwks(path, signer))
    assert verifier.verify(token).accepted
    _settled(write_jwks(path, new))
    clock.advance(a.FileKeys.CHECK_INTERVAL - 0.01)
    assert verifier.verify(token).accepted
    clock.advance(0.01)
    refused(verifier, token, a.UNKNOWN_KEY)


def test_missing_file_then_created(tmp_path, clock, signer):
    path = str(tmp_path / 'later.json')
    verifier = a.build(path, ISS, [AUD], clock=clock)
    refused(verifier, token_for(signer, clock), a.NO_KEYS, 'jwt_keys',
            'No such file')
    write_jwks(path, signer)
    assert verifier.verify(token_for(signer, clock)).accepted


@pytest.mark.parametrize('url, ok', [
    ('https://idp.example.com/jwks', True),
    ('http://127.0.0.1:8080/jwks', True),
    ('http://127.8.9.1/jwks', True),
    ('http://[::1]:8080/jwks', True),
    ('http://localhost/jwks', True),
    ('http://idp.example.com/jwks', False),
    ('http://10.0.0.1/jwks', False),
    ('ftp://idp.example.com/jwks', False),
    ('https:///jwks', False),
    ('https://idp.example.com/jw ks', False),
    ('https://idp.example.com/\r\njwks', False),
])
def test_key_urls(url, ok):
    source, problem = a.key_source(url)
    assert (source is not None) == ok, problem
    if not ok:
        assert problem.startswith('[remoteuser] jwt_keys')


def test_url_fetched_once_and_refreshed_at_most_once_per_interval(clock,
                                                                  signer):
    fetcher = Fetcher(signer)
    verifier = a.build('https://idp.example.com/jwks', ISS, [AUD],
                       refresh=300, fetch=fetcher, clock=clock)
    for _ in range(3):
        assert verifier.verify(token_for(signer, clock)).accepted
    assert len(fetcher.urls) == 1
    # Unknown kids fetch only once the last fetch is jwt_refresh old.
    for _ in range(5):
        refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    clock.advance(299)
    refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    assert len(fetcher.urls) == 1
    clock.advance(2)
    rotated = Signer('ec')
    fetcher.set_keys(signer, rotated)
    assert verifier.verify(token_for(rotated, clock)).accepted
    assert len(fetcher.urls) == 2
    for _ in range(5):
        refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    assert len(fetcher.urls) == 2
    clock.advance(300)
    refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    assert len(fetcher.urls) == 3
    assert verifier.keys.loads == 3


def test_failed_fetch_keeps_the_cached_keys(clock, signer):
    fetcher = Fetcher(signer)
    reports = []
    verifier = a.build('https://idp.example.com/jwks', ISS, [AUD],
                       fetch=fetcher, clock=clock,
                       report=lambda level, msg: reports.append((level, msg)))
    assert verifier.verify(token_for(signer, clock)).accepted
    fetcher.error = OSError('connection refused')
    clock.advance(400)
    refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    assert len(fetcher.urls) == 2
    assert verifier.verify(token_for(signer, clock)).accepted
    assert 'connection refused' in verifier.status()['error']
    assert any(level == 'error' and 'stay in use' in msg
               for level, msg in reports)
    fetcher.error = None
    fetcher.body = b'<html>maintenance</html>'
    clock.advance(400)
    refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    assert verifier.verify(token_for(signer, clock)).accepted


def test_first_fetch_failing_then_retried_after_interval(clock, signer):
    fetcher = Fetcher(signer)
    fetcher.error = OSError('unreachable')
    verifier = a.build('https://idp.example.com/jwks', ISS, [AUD],
                       fetch=fetcher, clock=clock)
    for _ in range(3):
        refused(verifier, token_for(signer, clock), a.NO_KEYS, 'unreachable')
    assert len(fetcher.urls) == 1
    fetcher.error = None
    clock.advance(300)
    assert verifier.verify(token_for(signer, clock)).accepted
    assert len(fetcher.urls) == 2


def test_old_keys_are_fetched_again(clock, signer):
    fetcher = Fetcher(signer)
    verifier = a.build('https://idp.example.com/jwks', ISS, [AUD],
                       fetch=fetcher, clock=clock)
    token = token_for(signer, clock, exp=int(clock()) + 3 * 86400)
    assert verifier.verify(token).accepted
    fetcher.set_keys(Signer('ec'))
    clock.advance(a.MAX_KEYS_AGE + 1)
    refused(verifier, token, a.UNKNOWN_KEY)
    assert len(fetcher.urls) == 2


def test_one_fetch_at_a_time_across_threads(clock, signer):
    fetcher = Fetcher(signer)
    fetcher.pause = 0.3
    verifier = a.build('https://idp.example.com/jwks', ISS, [AUD],
                       fetch=fetcher, clock=clock)
    token = token_for(signer, clock)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        verifier.verify(token).accepted)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 8
    assert len(fetcher.urls) == 1


def test_refresh_has_a_floor(keyfile):
    verifier = a.build(keyfile, ISS, [AUD], refresh=0)
    assert any('jwt_refresh' in p for p in verifier.problems)
    verifier = a.build('https://idp.example.com/k', ISS, [AUD], refresh='x',
                       leeway='y')
    assert verifier.keys.refresh_interval == 300 and verifier.leeway == 60


def test_parse_algorithms():
    algorithms, problems = a.parse_algorithms(
        ['rs256', ' ES256 ', 'RS256', '', 'none', 'HS384', 'ES256K', 'eddsa'])
    assert algorithms == ('RS256', 'ES256', 'EdDSA')
    assert len(problems) == 3


# The key server on loopback, through the real fetch

def test_key_server_rotation_and_refresh_limit(clock):
    old, new = Signer('rsa'), Signer('ec')
    with JWKSServer(old) as server:
        verifier = a.build(server.url, ISS, [AUD], refresh=60, clock=clock)
        assert verifier.verify(token_for(old, clock)).accepted
        server.set_keys(old, new)
        refused(verifier, token_for(new, clock), a.UNKNOWN_KEY)
        assert server.requests == 1
        clock.advance(61)
        assert verifier.verify(token_for(new, clock)).accepted
        assert server.requests == 2
        for _ in range(10):
            refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
        assert server.requests == 2
        clock.advance(61)
        server.set_keys(new)
        refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
        assert server.requests == 3
        refused(verifier, token_for(old, clock), a.UNKNOWN_KEY)
        assert verifier.verify(token_for(new, clock)).accepted
        assert server.requests == 3


def test_key_server_garbage_errors_and_size(clock, signer):
    with JWKSServer(signer) as server:
        verifier = a.build(server.url, ISS, [AUD], clock=clock)
        assert verifier.verify(token_for(signer, clock)).accepted
        for serve, words in (
                (lambda: server.serve(b'\x00\xff garbage'), 'neither'),
                (lambda: server.serve(b'{"keys": [{"kty": "RSA"}]}'),
                 'no usable key'),
                (lambda: server.fail(503), '503'),
                (lambda: server.serve(b'{}', 302, headers=[
                    ('Location', 'http://evil.example.com/')]), 'redirected'),
                (lambda: server.serve(b' ' * (a.MAX_KEYS_SIZE + 1)),
                 'larger than')):
            serve()
            clock.advance(400)
            before = server.requests
            refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
            assert server.requests == before + 1
            assert words in str(verifier.status()['error']) + ' '.join(
                verifier.status()['problems']), words
            assert verifier.verify(token_for(signer, clock)).accepted


def test_key_server_unreachable_and_slow(clock, signer, monkeypatch):
    server = JWKSServer(signer)
    verifier = a.build(server.url, ISS, [AUD], clock=clock)
    assert verifier.verify(token_for(signer, clock)).accepted
    server.stop()
    clock.advance(400)
    refused(verifier, token_for(Signer('ec'), clock), a.UNKNOWN_KEY)
    assert 'fetching' in verifier.status()['error']
    assert verifier.verify(token_for(signer, clock)).accepted
    monkeypatch.setattr(a.sources, 'FETCH_TIMEOUT', 0.3)
    with JWKSServer(signer) as slow:
        slow.delay = 5
        verifier = a.build(slow.url, ISS, [AUD], clock=clock)
        started = time.monotonic()
        refused(verifier, token_for(signer, clock), a.NO_KEYS, 'timed out')
        # Given up long before the server answers.
        assert time.monotonic() - started < 4


# The cache

def test_accepted_tokens_are_cached_until_they_expire(verifier, signer,
                                                      clock):
    token = token_for(signer, clock, exp=int(clock()) + 100)
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    clock.advance(159)
    assert verifier.verify(token) is first
    clock.advance(1)
    refused(verifier, token, a.EXPIRED)


def test_cache_is_bounded(keyfile, signer, clock):
    verifier = a.build(keyfile, ISS, [AUD], clock=clock)
    verifier.cache_size = 4
    for n in range(10):
        assert verifier.verify(token_for(signer, clock, jti=n)).accepted
    assert len(verifier._cache) == 4
    verifier.cache_size = 0
    token = token_for(signer, clock, jti='x')
    assert verifier.verify(token).accepted
    assert verifier.verify(token) is not verifier.verify(token)


# Claims

def test_claims():
    claims = {'sub': 'alice', 'n': 5, 'bad': 'x\ud800', 'groups': ['a', 5,
                                                                  'b\udfff',
                                                                  'c'],
              'csv': 'a, b|c'}
    assert a.claim_text(claims, 'sub') == 'alice'
    for name in ('n', 'bad', 'missing', '', None):
        assert a.claim_text(claims, name) is None
    assert a.claim_list(claims, 'groups') == ['a', 'c']
    assert a.claim_list(claims, 'csv') == ['a', 'b', 'c']
    assert a.claim_list(claims, 'n') is None


# No mutation of a valid token is ever accepted

@pytest.fixture(scope='module')
def targets(tmp_path_factory):
    """For each key type, a verifier and a token it accepts."""
    folder = tmp_path_factory.mktemp('mutations')
    found = {}
    for kind in ('ec', 'rsa', 'ed25519'):
        signer = Signer(kind)
        verifier = a.build(write_jwks(folder / kind, signer), ISS, [AUD])
        token = signer.token(iss=ISS, aud=AUD, sub='alice',
                             exp=int(time.time()) + 86400)
        assert verifier.verify(token).accepted
        found[kind] = (verifier, token)
    return found


_KINDS = st.sampled_from(['ec', 'rsa', 'ed25519'])


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=_KINDS, data=st.data())
def test_no_string_mutation_is_accepted(targets, kind, data):
    verifier, token = targets[kind]
    alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz' \
               '0123456789-_'
    chars = st.sampled_from(alphabet + '.=+/ ,\t\r\n\x00\xe9\u2024')
    # Anywhere, but often next to the dots and at the end, where the
    # spare bits of base64 sit.
    edges = [i + d for i, c in enumerate(token + '.') if c == '.'
             for d in (-1, 0, 1) if 0 <= i + d <= len(token)]
    position = data.draw(st.one_of(st.integers(0, len(token)),
                                   st.sampled_from(edges)))
    action = data.draw(st.sampled_from(['replace', 'insert', 'delete',
                                        'swap']))
    if action == 'replace' and position < len(token):
        mutated = token[:position] + data.draw(chars) + token[position + 1:]
    elif action == 'insert':
        mutated = token[:position] + data.draw(chars) + token[position:]
    elif action == 'delete' and position < len(token):
        mutated = token[:position] + token[position + 1:]
    elif position + 1 < len(token):
        mutated = token[:position] + token[position + 1] + token[position] \
            + token[position + 2:]
    else:
        mutated = token[:-1]
    extracted = a.extract_token(mutated)
    if extracted.token is not None and extracted.token != token:
        assert not verifier.verify(extracted.token).accepted


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=_KINDS, part=st.sampled_from([0, 1, 2]), data=st.data())
def test_no_byte_mutation_of_header_payload_or_signature_is_accepted(
        targets, kind, part, data):
    verifier, token = targets[kind]
    parts = token.split('.')
    raw = bytearray(base64.urlsafe_b64decode(parts[part] + '=='))
    index = data.draw(st.integers(0, len(raw)))
    action = data.draw(st.sampled_from(['flip', 'insert', 'delete',
                                        'truncate']))
    if action == 'flip' and index < len(raw):
        raw[index] ^= data.draw(st.integers(1, 255))
    elif action == 'insert':
        raw.insert(index, data.draw(st.integers(0, 255)))
    elif action == 'delete' and index < len(raw):
        del raw[index]
    else:
        raw = raw[:index]
    parts[part] = b64url(bytes(raw))
    mutated = '.'.join(parts)
    if mutated != token:
        assert not verifier.verify(mutated).accepted


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=_KINDS, part=st.sampled_from([0, 1]),
       name=st.sampled_from(['alg', 'kid', 'typ', 'sub', 'iss', 'aud', 'exp',
                             'jku', 'x', 'crit']),
       value=st.one_of(st.none(), st.booleans(), st.integers(),
                       st.text(max_size=20), st.lists(st.text(max_size=5),
                                                      max_size=2)))
def test_no_claim_or_header_change_is_accepted(targets, kind, part, name,
                                              value):
    verifier, token = targets[kind]
    parts = token.split('.')
    document = json.loads(base64.urlsafe_b64decode(parts[part] + '=='))
    if value is None:
        document.pop(name, None)
    else:
        document[name] = value
    parts[part] = b64url(json.dumps(document))
    mutated = '.'.join(parts)
    if mutated != token:
        assert not verifier.verify(mutated).accepted
