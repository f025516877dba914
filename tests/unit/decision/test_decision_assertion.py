"""The decision with a signed assertion as its source, and the profile
every decision carries, on plain WSGI environments."""

import pytest

from remoteuserauth import assertion
from remoteuserauth.core import names
from remoteuserauth.decision import (ASSERTION, HEADER, NO_CLAIM, SERVER,
                                     decide, make_settings)
from tokens import Signer, write_jwks

ISS = 'https://idp.example.com'
UNTRUSTED = '192.0.2.7'


@pytest.fixture
def jwt(tmp_path, signer):
    """make_settings for assertion mode; keyword arguments override."""
    keys = write_jwks(tmp_path / 'keys.json', signer)

    def settings(audience=('trac',), **kwargs):
        verifier = assertion.build(keys, ISS, list(audience))
        options = dict(verifier=verifier, jwt_header='X-Assertion')
        options.update(kwargs)
        return make_settings(**options)
    return settings


def token(signer, **claims):
    values = {'iss': ISS, 'aud': 'trac', 'sub': 'alice', 'name': 'Alice A.',
              'email': 'alice@example.com'}
    values.update(claims)
    return signer.token(values)


def env(peer='127.0.0.1', **items):
    return dict(items, REMOTE_ADDR=peer)


# The profile of header decisions

def profile_settings(**kwargs):
    return make_settings(name_header='X-Name', email_header='X-Email',
                         groups_header='X-Groups', **kwargs)


def test_profile_from_a_trusted_proxy():
    d = decide(env(HTTP_REMOTE_USER='alice', HTTP_X_NAME='Alice A.',
                   HTTP_X_EMAIL='alice@example.com',
                   HTTP_X_GROUPS='dev|ops'), profile_settings())
    assert d.source == HEADER
    assert d.profile.name == 'Alice A.'
    assert d.profile.email == 'alice@example.com'
    assert d.profile.groups == {'dev', 'ops'}
    assert d.profile.origins['email'] == 'header X-Email'


def test_profile_not_sent_is_none():
    d = decide(env(HTTP_REMOTE_USER='alice'), profile_settings())
    assert d.profile == (None, None, None, {})


def test_no_profile_from_unproven_peers_or_without_a_name():
    headers = dict(HTTP_X_NAME='Evil', HTTP_X_GROUPS='admins',
                   REMOTE_USER='alice')
    d = decide(env(UNTRUSTED, **headers), profile_settings())
    assert (d.name, d.source) == ('alice', SERVER)
    assert d.profile.name is None and d.profile.groups is None
    s = profile_settings(secret_header='X-Secret', secret='k')
    d = decide(env(HTTP_REMOTE_USER='alice', HTTP_X_SECRET='bad',
                   **headers), s)
    assert d.profile.groups is None
    d = decide(env(HTTP_REMOTE_USER='anonymous', HTTP_X_NAME='x'),
               profile_settings())
    assert d.veto and d.profile.name is None


def test_profile_server_variables_from_any_peer():
    s = make_settings(header='', email_header='env:OIDC_CLAIM_email')
    d = decide(env(UNTRUSTED, REMOTE_USER='alice',
                   OIDC_CLAIM_email='alice@example.com',
                   HTTP_OIDC_CLAIM_EMAIL='evil@example.com'), s)
    assert d.profile.email == 'alice@example.com'


def test_unusable_profile_values_are_noted():
    d = decide(env(HTTP_REMOTE_USER='alice', HTTP_X_EMAIL='not an address',
                   HTTP_X_NAME='a\x01b'), profile_settings())
    assert d.name == 'alice'
    assert d.profile.email is None and d.profile.name is None
    assert any('ignored the email of alice in header X-Email' in n
               for n in d.notes)


def test_bad_profile_header_names_are_problems_not_failures():
    s = make_settings(name_header='X Name', groups_header='env:HTTP_X')
    assert sum('it is not read' in p for p in s.problems) == 2
    assert decide(env(HTTP_REMOTE_USER='alice'), s).name == 'alice'


# The assertion as the source

def test_valid_assertion_from_any_peer(jwt, signer):
    for peer in ('127.0.0.1', UNTRUSTED, None):
        d = decide(env(peer, HTTP_X_ASSERTION=token(signer)), jwt())
        assert (d.name, d.source, d.veto) == ('alice', ASSERTION, False)
        assert d.received == 'alice'
        assert d.assertion.accepted
    assert d.profile.name == 'Alice A.'
    assert d.profile.email == 'alice@example.com'
    assert d.profile.origins == {'name': 'claim name',
                                 'email': 'claim email'}


def test_header_and_remote_user_are_not_read(jwt, signer):
    d = decide(env(HTTP_REMOTE_USER='alice', REMOTE_USER='alice'), jwt())
    assert d.name is None and not d.veto and d.source is None
    assert len(d.notes) == 2 and 'jwt_header is set' in d.notes[0]
    d = decide(env(HTTP_X_ASSERTION=token(signer, sub='bob'),
                   HTTP_REMOTE_USER='alice', REMOTE_USER='alice'), jwt())
    assert d.name == 'bob' and d.notes == ()


def test_invalid_assertion_vetoes(jwt, signer):
    for value, rule in (
            (token(Signer('ec', kid=signer.kid)), assertion.SIGNATURE),
            (token(signer, aud='other'), assertion.AUDIENCE),
            (token(signer, exp=1), assertion.EXPIRED),
            ('garbage', assertion.MALFORMED),
            (token(signer) + ',' + token(signer), assertion.SEVERAL),
            ('x' * 20000, assertion.TOO_LARGE)):
        d = decide(env(HTTP_X_ASSERTION=value, REMOTE_USER='alice'), jwt())
        assert d.name is None and d.veto and d.rule == rule
        assert d.source == ASSERTION
        assert d.received is None


def test_bearer_tokens_and_other_schemes(jwt, signer):
    s = jwt(jwt_header='Authorization')
    assert s.assertion.bearer
    d = decide(env(HTTP_AUTHORIZATION='Bearer ' + token(signer)), s)
    assert d.name == 'alice'
    d = decide(env(HTTP_AUTHORIZATION='Basic YWxpY2U6eA=='), s)
    assert d.name is None and not d.veto
    assert 'not a Bearer token' in d.notes[0]


def test_server_variable_assertion(jwt, signer):
    s = jwt(jwt_header='env:OIDC_id_token')
    assert s.assertion.header_key == 'OIDC_id_token'
    assert decide(env(OIDC_id_token=token(signer)), s).name == 'alice'
    assert decide(env(HTTP_OIDC_ID_TOKEN=token(signer)), s).name is None


def test_claim_names_follow_the_name_rules(jwt, signer, tmp_path):
    email = dict(jwt_claim='email', local_domains=['example.com'])
    assert decide(env(HTTP_X_ASSERTION=token(signer)),
                  jwt(**email)).name == 'alice'
    d = decide(env(HTTP_X_ASSERTION=token(signer,
                                          email='carol@other.example')),
               jwt(**email))
    assert d.veto and d.rule == names.FOREIGN
    assert d.reason.startswith('claim email of the assertion')
    d = decide(env(HTTP_X_ASSERTION=token(signer, sub='admins')), jwt(),
               groups={'admins'})
    assert d.veto and d.rule == names.GROUP
    d = decide(env(HTTP_X_ASSERTION=token(signer, sub='JDoe')),
               jwt(lowercase=True))
    assert d.name == 'jdoe' and d.received == 'JDoe'
    for sub in ('', ' alice', 'anonymous', '(null)', 'a,b', 'x\ud800'):
        d = decide(env(HTTP_X_ASSERTION=token(signer, sub=sub)), jwt())
        assert d.name is None and d.veto, repr(sub)


def test_missing_name_claim(jwt, signer):
    for claims in ({'sub': None}, {'sub': 5}, {'sub': ['alice']}):
        d = decide(env(HTTP_X_ASSERTION=token(signer, **claims)), jwt())
        assert d.veto and d.rule == NO_CLAIM and 'jwt_claim' in d.reason


def test_groups_claim(jwt, signer):
    s = jwt(jwt_groups_claim='groups')
    d = decide(env(HTTP_X_ASSERTION=token(signer, groups=['dev', ' ops ',
                                                          '', 7])), s)
    assert d.profile.groups == {'dev', 'ops'}
    d = decide(env(HTTP_X_ASSERTION=token(signer, groups='dev|ops')), s)
    assert d.profile.groups == {'dev', 'ops'}
    d = decide(env(HTTP_X_ASSERTION=token(signer)), s)
    assert d.profile.groups is None
    d = decide(env(HTTP_X_ASSERTION=token(signer, email='bad address',
                                          name=7)), s)
    assert d.name == 'alice' and d.profile.email is None
    assert any('claim email' in n for n in d.notes)


def test_broken_assertion_settings_believe_nothing(jwt, signer):
    s = jwt(jwt_header='X Assertion')
    assert any('jwt_header' in p for p in s.problems)
    d = decide(env(HTTP_X_ASSERTION=token(signer), REMOTE_USER='alice'), s)
    assert d.name is None
    s = jwt(audience=())
    assert any('jwt_audience' in p for p in s.problems)
    d = decide(env(HTTP_X_ASSERTION=token(signer), REMOTE_USER='alice'), s)
    assert d.veto and d.rule == assertion.CONFIG
    assert decide(env(REMOTE_USER='alice'), s).name is None
    s = jwt(jwt_claim=' ')
    assert any('jwt_claim is empty' in p for p in s.problems)
