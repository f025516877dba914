"""Each preset against a token shaped like its product's
(tests/support/tokens.py knows the products independently of
remoteuserauth.assertion.presets)."""

import pytest

from remoteuserauth import assertion
from remoteuserauth.assertion import presets
from tokens import PRODUCTS, product_signer, shaped, write_jwks


@pytest.mark.parametrize('product', sorted(presets.PRESETS))
def test_preset_accepts_its_products_token(tmp_path, product):
    signer = product_signer(product)
    token = shaped(product, user='alice', groups=['developers'],
                   signer=signer)
    keys = write_jwks(tmp_path / 'keys.json', signer)
    resolved = presets.resolve(product, {'jwt_keys': keys}, token.issuer,
                               [token.audience])
    values = resolved.values
    assert resolved.blocked is None and resolved.problems == []
    assert values['jwt_header'] == token.header == PRODUCTS[product]['header']
    verifier = assertion.build(values['jwt_keys'], token.issuer,
                               [token.audience], values['jwt_algorithms'])
    extracted = assertion.extract_token(
        token.value, bearer=values['jwt_header'] == 'Authorization')
    verdict = verifier.verify(extracted.token)
    assert verdict.accepted, verdict.reason
    user = assertion.claim_text(verdict.claims, values['jwt_claim'])
    assert user in ('alice', 'alice@example.com')
    assert assertion.claim_text(verdict.claims,
                                values['jwt_email_claim']) == \
        'alice@example.com'
    if values['jwt_name_claim']:
        assert assertion.claim_text(verdict.claims,
                                    values['jwt_name_claim']) == 'Alice'
    if values['jwt_groups_claim']:
        assert assertion.claim_list(verdict.claims,
                                    values['jwt_groups_claim']) == \
            ['developers']


@pytest.mark.parametrize('product', sorted(presets.PRESETS))
def test_preset_refuses_another_audience_and_algorithm(tmp_path, product):
    token = shaped(product)
    keys = write_jwks(tmp_path / 'keys.json', token.signer)
    values = presets.resolve(product, {'jwt_keys': keys}, token.issuer,
                             ['someone-else']).values
    verifier = assertion.build(keys, token.issuer, ['someone-else'],
                               values['jwt_algorithms'])
    extracted = assertion.extract_token(token.value,
                                        bearer=token.header == 'Authorization')
    assert verifier.verify(extracted.token).rule == assertion.AUDIENCE
    # The preset's algorithms are exactly what the product signs with.
    assert token.signer.alg in values['jwt_algorithms']
    assert set(values['jwt_algorithms']) <= set(
        assertion.SUPPORTED_ALGORITHMS)


@pytest.mark.parametrize('product, issuer, audience, url', [
    ('pomerium', 'trac.example.com', ['trac.example.com', 'other'],
     'https://trac.example.com/.well-known/pomerium/jwks.json'),
    ('cloudflare', 'https://team.cloudflareaccess.com/', ['0123abcd'],
     'https://team.cloudflareaccess.com/cdn-cgi/access/certs'),
    ('iap', 'https://cloud.google.com/iap', ['/projects/1/apps/p'],
     'https://www.gstatic.com/iap/verify/public_key-jwk'),
])
def test_key_urls_come_from_the_configured_issuer_or_audience(
        product, issuer, audience, url):
    resolved = presets.resolve(product, {}, issuer, audience)
    assert resolved.values['jwt_keys'] == url
    assert assertion.check_url(url) is None


@pytest.mark.parametrize('product', ['oauth2-proxy', 'mod_auth_openidc'])
def test_identity_provider_tokens_need_jwt_keys(product):
    resolved = presets.resolve(product, {}, 'https://idp', ['trac'])
    assert resolved.values['jwt_keys'] == ''
    assert 'jwt_keys is needed' in resolved.problems[0]
    assert 'jwks_uri' in resolved.problems[0]


def test_key_url_left_empty_without_issuer_or_audience():
    assert presets.resolve('cloudflare', {}, '', ['x']).values[
        'jwt_keys'] == ''
    assert presets.resolve('pomerium', {}, 'x', []).values['jwt_keys'] == ''


def test_options_in_trac_ini_win():
    resolved = presets.resolve('pomerium', {
        'jwt_header': 'X-Assertion', 'jwt_algorithms': ['ES384'],
        'jwt_keys': '/etc/keys.json', 'jwt_claim': 'user',
        'jwt_name_claim': '', 'jwt_groups_claim': 'roles',
        'jwt_issuer': 'ignored'}, 'trac.example.com', ['trac.example.com'])
    values = resolved.values
    assert values['jwt_header'] == 'X-Assertion'
    assert values['jwt_algorithms'] == ('ES384',)
    assert values['jwt_keys'] == '/etc/keys.json'
    assert values['jwt_claim'] == 'user'
    assert values['jwt_name_claim'] == ''       # written empty: not synced
    assert values['jwt_email_claim'] == 'email'
    assert values['jwt_groups_claim'] == 'roles'
    assert 'jwt_issuer' not in values


def test_default_values_keep_the_presets():
    """A new trac.ini holds every option's default, written by Trac."""
    written = {name: list(value) if name == 'jwt_algorithms' else value
               for name, value in presets.DEFAULTS.items()}
    values = presets.resolve('cloudflare', written, 'https://t.example',
                             ['a']).values
    assert values['jwt_claim'] == 'email'
    assert values['jwt_name_claim'] == ''
    assert values['jwt_algorithms'] == ('RS256',)
    assert values['jwt_header'] == 'Cf-Access-Jwt-Assertion'


def test_empty_header_keys_or_algorithms_keep_the_presets():
    values = presets.resolve('iap', {'jwt_header': ' ', 'jwt_keys': '',
                                     'jwt_algorithms': ['', ' ']},
                             'https://cloud.google.com/iap', ['a']).values
    assert values['jwt_header'] == 'X-Goog-IAP-JWT-Assertion'
    assert values['jwt_algorithms'] == ('ES256',)
    assert values['jwt_keys'].startswith('https://www.gstatic.com/')


def test_no_preset_gives_the_documented_defaults():
    resolved = presets.resolve('', {'jwt_header': 'X-Jwt'})
    assert resolved.values == dict(presets.DEFAULTS, jwt_header='X-Jwt')
    assert resolved.blocked is None


def test_unknown_preset_believes_nothing():
    resolved = presets.resolve('pomerum', {'jwt_header': 'X-Jwt'})
    assert 'pomerum' in resolved.blocked and 'jwt_preset' in resolved.blocked
    assert resolved.problems == [resolved.blocked]
    # Names are matched without regard to case or surrounding spaces.
    assert presets.resolve(' Cloudflare ', {}).blocked is None
