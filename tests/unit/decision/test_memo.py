"""The remembered decisions: always the decision `decide` makes, never
one made under other settings or names, and bounded whatever clients
send."""

import pytest
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from remoteuserauth import assertion
from remoteuserauth.core import names
from remoteuserauth.decision import decide, make_settings
from remoteuserauth.decision.memo import (MAX_KEY_CHARACTERS, DecisionMemo,
                                          inputs)
from tokens import Signer, write_jwks

SETTINGS = make_settings(trusted_proxies=('127.0.0.1', '192.0.2.0/28'),
                         secret_header='X-Proxy-Secret', secret='s3cret',
                         local_domains=('example.org',),
                         name_header='X-Name', email_header='X-Email',
                         groups_header='X-Groups')

#: Small pools, so that a sequence repeats values and keys.
PEERS = ['127.0.0.1', '192.0.2.3', '198.51.100.7', '::1', '', None]
VALUES = ['alice', 'Alice', 'EXAMPLE\\alice', 'alice@example.org',
          'bob@other.org', 'anonymous', '(null)', 'a,b', 'al\x00ice',
          'ａｌｉｃｅ', 'admins', ' alice ', '', None]
PROFILE = ['Alice A.', 'alice@example.org', 'devs, admins', '\r\nX: 1',
           '', None]


def environ(peer, header, server, secret, name, email, groups):
    items = {'REMOTE_ADDR': peer, 'HTTP_REMOTE_USER': header,
             'REMOTE_USER': server, 'HTTP_X_PROXY_SECRET': secret,
             'HTTP_X_NAME': name, 'HTTP_X_EMAIL': email,
             'HTTP_X_GROUPS': groups}
    return {key: value for key, value in items.items() if value is not None}


requests = st.builds(environ, st.sampled_from(PEERS),
                     st.sampled_from(VALUES), st.sampled_from(VALUES),
                     st.sampled_from(['s3cret', 'wrong', None]),
                     st.sampled_from(PROFILE), st.sampled_from(PROFILE),
                     st.sampled_from(PROFILE))


@hsettings(max_examples=200, deadline=None)
@given(st.lists(requests, min_size=1, max_size=30),
       st.sampled_from([(), names.Names(['admins', 'devs'])]))
def test_always_the_decision_decide_makes(sequence, groups):
    memo = DecisionMemo(max_entries=8)
    for environ in sequence * 2:
        assert memo.decide(environ, SETTINGS, groups) == \
            decide(environ, SETTINGS, groups)


@hsettings(max_examples=200, deadline=None)
@given(requests, requests)
def test_requests_with_the_same_inputs_have_the_same_decision(one, other):
    """The key holds every value `decide` reads: two requests with the
    same key are decided alike (so either's decision may be kept)."""
    if inputs(one, SETTINGS) == inputs(other, SETTINGS):
        assert decide(one, SETTINGS) == decide(other, SETTINGS)


def test_a_value_outside_the_key_changes_no_decision():
    """Other headers are not read: a request differing only there is the
    same request to the decision."""
    base = environ('127.0.0.1', 'alice', None, 's3cret', None, None, None)
    other = dict(base, HTTP_X_FORWARDED_FOR='192.0.2.9',
                 HTTP_COOKIE='trac_auth=x', PATH_INFO='/login')
    assert inputs(base, SETTINGS) == inputs(other, SETTINGS)
    assert decide(base, SETTINGS) == decide(other, SETTINGS)


def test_new_settings_or_names_are_never_answered_from_the_old():
    memo = DecisionMemo()
    request = environ('127.0.0.1', 'Alice', None, 's3cret', None, None,
                      None)
    assert memo.decide(request, SETTINGS).name == 'Alice'
    lowered = SETTINGS._replace(lowercase=True)
    assert memo.decide(request, lowered).name == 'alice'
    groups = names.Names(['alice'])
    refused = memo.decide(request, lowered, groups)
    assert refused.name is None and refused.veto
    assert memo.decide(request, lowered, names.Names()).name == 'alice'
    untrusted = SETTINGS._replace(networks=make_settings(
        trusted_proxies=('10.0.0.1',)).networks)
    assert memo.decide(request, untrusted).name is None


def test_the_peer_is_part_of_the_key():
    memo = DecisionMemo()
    trusted = environ('127.0.0.1', 'alice', None, 's3cret', None, None,
                      None)
    forged = dict(trusted, REMOTE_ADDR='198.51.100.7')
    assert memo.decide(trusted, SETTINGS).name == 'alice'
    assert memo.decide(forged, SETTINGS).name is None
    # The direct peer kept by the client-address filter counts, not the
    # REMOTE_ADDR it replaced.
    moved = dict(forged, **{'remoteuserauth.peer': '127.0.0.1'})
    assert inputs(moved, SETTINGS)[0] == '127.0.0.1'
    assert memo.decide(moved, SETTINGS) == decide(moved, SETTINGS)


def test_bounded_in_entries_and_characters():
    memo = DecisionMemo(max_entries=16, max_characters=4096)
    for i in range(5000):
        memo.decide(environ('192.0.2.%d' % (i % 14), 'user%d' % i, None,
                            's3cret', 'x' * (i % 300), None, None), SETTINGS)
        assert len(memo) <= 16 and memo.characters() <= 4096


def test_a_value_too_large_is_decided_every_time():
    memo = DecisionMemo()
    big = environ('127.0.0.1', 'alice', None, 's3cret', None, None,
                  'g,' * MAX_KEY_CHARACTERS)
    assert memo.decide(big, SETTINGS) == decide(big, SETTINGS)
    assert len(memo) == 0 and memo.characters() == 0


# Signed assertions

ISS = 'https://idp.example.com'


@pytest.fixture
def jwt(keyfile, clock):
    return make_settings(verifier=assertion.build(keyfile, ISS, ['trac'],
                                                  clock=clock),
                         jwt_header='X-Assertion', groups_header='X-Groups')


def signed(signer, clock, lifetime=300, **claims):
    values = {'iss': ISS, 'aud': 'trac', 'sub': 'alice',
              'iat': int(clock()), 'exp': int(clock()) + lifetime}
    values.update(claims)
    return signer.token(values)


def asserting(token, peer='127.0.0.1'):
    return {'REMOTE_ADDR': peer, 'HTTP_X_ASSERTION': token}


def test_an_accepted_assertion_is_kept_and_decided_alike(jwt, signer, clock):
    memo = DecisionMemo()
    request = asserting(signed(signer, clock))
    first = memo.decide(request, jwt)
    assert first.name == 'alice' and len(memo) == 1
    assert memo.decide(request, jwt) is first
    assert memo.decide(request, jwt) == decide(request, jwt)


def test_an_expired_assertion_is_not_answered_from_the_memo(jwt, signer,
                                                            clock):
    memo = DecisionMemo()
    request = asserting(signed(signer, clock, lifetime=30))
    assert memo.decide(request, jwt).name == 'alice'
    clock.advance(30 + 60 + 1)       # its lifetime and the leeway
    late = memo.decide(request, jwt)
    assert late.name is None and late.veto
    assert late == decide(request, jwt)


def test_new_keys_are_not_answered_from_the_memo(jwt, signer, clock,
                                                 keyfile):
    memo = DecisionMemo()
    request = asserting(signed(signer, clock))
    assert memo.decide(request, jwt).name == 'alice'
    write_jwks(keyfile, Signer('ec'))        # the signer's key removed
    removed = memo.decide(request, jwt)
    assert removed.name is None and removed.veto
    assert removed == decide(request, jwt)


def test_refused_assertions_are_not_kept(jwt, signer, clock):
    memo = DecisionMemo()
    for token in ('a.b.c', signed(signer, clock, aud='other'),
                  signed(Signer('ec'), clock), 'x' * 20000):
        request = asserting(token)
        assert memo.decide(request, jwt) == decide(request, jwt)
    assert len(memo) == 0


@hsettings(max_examples=60, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(PEERS[:3]),
                          st.integers(0, 200)), min_size=1, max_size=20))
def test_assertions_always_decided_as_decide_does(jwt, signer, clock, steps):
    """Tokens accepted, expiring, for another audience, from another key
    and of a refused name, from several peers, as time goes by."""
    tokens = [signed(signer, clock, lifetime=60),
              signed(signer, clock, lifetime=600, sub='EXAMPLE\\Bob'),
              signed(signer, clock, aud='other'),
              signed(signer, clock, sub='anonymous')]
    memo = DecisionMemo(max_entries=2)
    for which, peer, seconds in steps:
        clock.advance(seconds)
        request = asserting(tokens[which], peer)
        assert memo.decide(request, jwt) == decide(request, jwt)


def test_a_value_that_is_no_text_is_decided_without_error():
    memo = DecisionMemo()
    odd = {'REMOTE_ADDR': '127.0.0.1', 'HTTP_X_GROUPS': ['not', 'text']}
    assert memo.decide(odd, SETTINGS) == decide(odd, SETTINGS)


def test_an_assertion_of_the_largest_size_is_kept(jwt, signer, clock):
    from remoteuserauth.assertion.token import MAX_TOKEN_LENGTH
    groups = ['group-%04d' % i for i in range(900)]
    token = signed(signer, clock, groups=groups)
    assert MAX_TOKEN_LENGTH - 2048 < len(token) <= MAX_TOKEN_LENGTH
    memo = DecisionMemo()
    request = asserting(token)
    first = memo.decide(request, jwt)
    assert first.name == 'alice' and len(memo) == 1
    assert memo.decide(request, jwt) is first


def test_the_notes_of_a_decision_count_in_the_bound():
    """A groups header of many bad entries makes a note for each, far
    longer than the header: what is kept is bounded all the same."""
    memo = DecisionMemo(max_characters=200000)
    for i in range(50):
        request = environ('127.0.0.1', 'user%d' % i, None, 's3cret', None,
                          None, ',\x01' * 5000)
        decision = memo.decide(request, SETTINGS)
        assert sum(map(len, decision.notes)) > 5 * 20000
        assert memo.characters() <= 200000
        assert memo.characters() >= sum(map(len, decision.notes)) or \
            len(memo) == 0
