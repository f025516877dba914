"""Personal access tokens (`core.tokens`): their shape, how they are
presented, what is kept of them; hostile presentations."""

import base64
import math

import pytest
from hypothesis import given, strategies as st

from remoteuserauth.core import tokens


def basic(user, password):
    return 'Basic ' + base64.b64encode(
        ('%s:%s' % (user, password)).encode('utf-8')).decode('ascii')


def test_a_new_token_carries_256_random_bits_and_its_checksum():
    made = {tokens.new_token() for _ in range(200)}
    assert len(made) == 200
    for token in made:
        assert token.startswith('tracpat_') and len(token) == tokens.LENGTH
        assert tokens.is_well_formed(token)
    assert 62 ** 43 > 2 ** 256
    assert 43 * math.log2(62) >= 256


def test_only_the_digest_is_kept():
    token = tokens.new_token()
    kept = tokens.digest(token)
    assert len(kept) == 64 and token not in kept and token[8:20] not in kept


def test_a_typing_mistake_fails_the_checksum():
    token = tokens.new_token()
    for i in range(8, len(token)):
        changed = token[:i] + ('A' if token[i] != 'A' else 'B') + \
            token[i + 1:]
        assert not tokens.is_well_formed(changed)


PRESENTATIONS = [
    # (header made of the token, the token and user it presents)
    (lambda t: 'Bearer ' + t, True, None),
    (lambda t: 'bearer  %s ' % t, True, None),
    (lambda t: basic('alice', t), True, 'alice'),
    (lambda t: basic('josé', t), True, 'josé'),
    (lambda t: basic('alice', 'a password'), False, None),  # not ours
    (lambda t: 'Basic !!!not base64', False, None),
    (lambda t: 'Basic ' + base64.b64encode(
        b'alice:\xfftracpat_').decode(), False, None),
    (lambda t: 'Digest username="alice"', False, None),
    (lambda t: 'Bearer eyJhbGciOi.JWT.token', False, None),  # not ours
    (lambda t: '', False, None),
    (lambda t: None, False, None),
    (lambda t: 'Bearer ' + t + 'x' * 2000, False, None),
    (lambda t: 'Bearer %s \t' % t, True, None),
    (lambda t: ' Bearer ' + t, True, None),
    (lambda t: 'Bearer\t' + t, False, None),
    (lambda t: 'Bearer %s extra' % t, False, None),
    (lambda t: 'Bearer %s\x00' % t, False, None),
]


@pytest.mark.parametrize('header', [
    'Bearer tracpat_abc', 'Bearer tracpat_abc \t ', 'Bearer tracpat_a b',
    'Bearer  tracpat_abc', 'bearer tracpat_abc', ' Bearer tracpat_abc',
    'Bearer tracpat_\x00', 'Bearer tracpat_', 'BEARER tracpat_x'])
def test_a_bearer_token_is_read_as_the_general_rule_reads_it(header):
    """What clients send takes a short way; it reads what the general
    rule (the scheme, a space, the value, both stripped) reads."""
    scheme, _, value = header.strip().partition(' ')
    assert scheme.lower() == 'bearer'
    assert tokens.presented(header) == tokens.Presented(value.strip(), None)


@pytest.mark.parametrize('header, presents, user', PRESENTATIONS)
def test_presentations(header, presents, user):
    real = tokens.new_token()
    found = tokens.presented(header(real))
    if presents:
        assert found == tokens.Presented(real, user)
    else:
        assert found is None or not tokens.is_well_formed(found.token)


def test_a_user_with_a_colon_cannot_be_presented():
    # Basic credentials end the user at the first ':'; the rest is the
    # password, which then starts with 'ice:', not the token.
    real = tokens.new_token()
    assert tokens.presented(basic('al:ice', real)) is None


@pytest.mark.parametrize('value', [
    'tracpat_', 'tracpat_' + 'a' * 48, 'tracpat_' + 'a' * 50,
    'TRACPAT_' + 'a' * 49, 'tracpat_\r\n' + 'a' * 47,
    'tracpat_' + '\uff41' * 49, 'tracpat_' + 'a' * 48 + '\x00',
    ' tracpat_' + 'a' * 49, None, 42])
def test_malformed_tokens(value):
    assert not tokens.is_well_formed(value)


@given(st.text(max_size=80))
def test_no_text_is_a_token_by_chance(text):
    assert not tokens.is_well_formed(text) or text.startswith('tracpat_')


@given(st.integers(min_value=8, max_value=tokens.LENGTH - 1),
       st.sampled_from('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq'
                       'rstuvwxyz'))
def test_no_token_that_differs_from_a_valid_one_has_its_digest(i, char):
    token = tokens.new_token()
    changed = token[:i] + char + token[i + 1:]
    if changed != token:
        assert tokens.digest(changed) != tokens.digest(token)


@pytest.mark.parametrize('path, expected', [
    ('/login/rpc', True), ('/login/rpc/', True), ('/ticketrpc', True),
    ('/login/rpc/x', False), ('/login', False), ('/login/RPC', False),
    ('/login/rpcx', False), ('', False), (None, False),
    ('/login/rpc\r\n', False), ('//login/rpc', False)])
def test_token_paths_match_exactly(path, expected):
    paths, _ = tokens.parse_paths(['/login/rpc', '/ticketrpc/'])
    assert tokens.on_token_path(path, paths) == expected


def test_bad_token_paths_are_named():
    paths, problems = tokens.parse_paths(['rpc', '/a b', '/x?y', '/ok', ''])
    assert paths == {'/ok'}
    assert len(problems) == 3


@pytest.mark.parametrize('requested, expected', [
    (None, 90), ('', 90), ('30', 30), (' 365 ', 365), ('1', 1)])
def test_lifetimes(requested, expected):
    assert tokens.lifetime_days(requested, 90, 365) == expected


@pytest.mark.parametrize('requested', ['0', '366', '-1', 'ten', '1e3',
                                       '9' * 40])
def test_lifetimes_out_of_range(requested):
    with pytest.raises(ValueError):
        tokens.lifetime_days(requested, 90, 365)


def test_default_lifetime_is_bounded_by_the_maximum():
    assert tokens.lifetime_days(None, 400, 365) == 365


@pytest.mark.parametrize('value, expected', [
    ('ci bot', 'ci bot'), ('  x  ', 'x'), ('', None), ('a\x00b', None),
    ('a\u202eb', None), ('x' * 81, None), (None, None)])
def test_labels(value, expected):
    assert tokens.clean_label(value) == expected
