"""The decision itself, on plain WSGI environments."""

import pytest

from remoteuserauth.core import names
from remoteuserauth.decision import HEADER, SERVER, decide, make_settings

DEFAULT = make_settings()


def env(peer='127.0.0.1', **items):
    environ = {'REMOTE_ADDR': peer}
    environ.update(items)
    return environ


def test_defaults_trust_loopback_and_read_remote_user_header():
    assert DEFAULT.header_key == 'HTTP_REMOTE_USER'
    assert [str(n) for n in DEFAULT.networks] == ['127.0.0.1/32', '::1/128']
    assert DEFAULT.problems == ()


def test_trusted_header():
    d = decide(env(HTTP_REMOTE_USER='alice'), DEFAULT)
    assert (d.name, d.source, d.veto, d.network) == \
        ('alice', HEADER, False, '127.0.0.1/32')


def test_untrusted_header_falls_back_to_server_value():
    d = decide(env('192.0.2.1', HTTP_REMOTE_USER='mallory'), DEFAULT)
    assert d.name is None and not d.veto
    assert 'ignored' in d.notes[0]
    d = decide(env('192.0.2.1', HTTP_REMOTE_USER='mallory',
                   REMOTE_USER='alice'), DEFAULT)
    assert (d.name, d.source) == ('alice', SERVER)


def test_header_wins_over_server_value_from_trusted_proxy():
    d = decide(env(HTTP_REMOTE_USER='alice', REMOTE_USER='bob'), DEFAULT)
    assert d.name == 'alice'


def test_dangerous_header_vetoes_even_with_server_value():
    d = decide(env(HTTP_REMOTE_USER='alice,bob', REMOTE_USER='bob'), DEFAULT)
    assert d.veto and d.rule == names.COMMA


def test_nobody_from_header_lets_server_value_or_cookie_decide():
    d = decide(env(HTTP_REMOTE_USER='(null)'), DEFAULT)
    assert d.name is None and not d.veto and d.rule == names.NULL
    d = decide(env(HTTP_REMOTE_USER='(null)', REMOTE_USER='bob'), DEFAULT)
    assert d.name == 'bob'


def test_empty_header_is_no_header():
    d = decide(env(HTTP_REMOTE_USER=''), DEFAULT)
    assert d == decide(env(), DEFAULT)


def test_group_names_veto():
    d = decide(env(HTTP_REMOTE_USER='Admins'), DEFAULT, groups={'admins'})
    assert d.veto and d.rule == names.GROUP


def test_secret():
    s = make_settings(secret_header='X-Secret', secret='k')
    assert decide(env(HTTP_REMOTE_USER='a'), s).name is None
    assert decide(env(HTTP_REMOTE_USER='a', HTTP_X_SECRET='x'), s).name is None
    assert decide(env(HTTP_REMOTE_USER='a', HTTP_X_SECRET='k'), s).name == 'a'


@pytest.mark.parametrize('kwargs, problem', [
    (dict(secret='k'), 'must be set together'),
    (dict(secret_header='X-S'), 'must be set together'),
    (dict(header='Bad Header'), 'not a valid HTTP header name'),
    (dict(secret_header='Bad Header', secret='k'), 'secret_header'),
    (dict(trusted_proxies=['10.0.0.300']), 'not an IP address'),
])
def test_broken_settings_believe_no_header(kwargs, problem):
    s = make_settings(**kwargs)
    assert any(problem in p for p in s.problems)
    if 'trusted_proxies' not in kwargs:
        assert s.header_key is None
    assert decide(env(HTTP_REMOTE_USER='alice'), s).name is None


def test_no_header_configured_reads_only_remote_user():
    s = make_settings(header='', local_domains=['DOM'])
    assert decide(env(HTTP_REMOTE_USER='alice'), s).name is None
    assert decide(env(REMOTE_USER='DOM\\alice'), s).name == 'alice'
    foreign = decide(env(REMOTE_USER='EVIL\\alice'), s)
    assert foreign.name is None and foreign.veto


def test_server_variable_header_counts_from_any_peer_and_only_itself():
    s = make_settings(header='env:SM_USER', local_domains=['EXAMPLE'])
    untrusted = {'REMOTE_ADDR': '192.0.2.9'}
    assert decide(dict(untrusted, SM_USER='EXAMPLE\\alice'), s).name == \
        'alice'
    # The client's own SM_USER header is another key; it is never read.
    assert decide(dict(untrusted, HTTP_SM_USER='alice'), s).name is None
    assert decide(dict(env(), HTTP_SM_USER='alice'), s).name is None
    # Cleaning and refusals apply as to any name.
    refused = decide(dict(untrusted, SM_USER='admin\r\n'), s)
    assert refused.name is None and refused.veto
    assert decide(dict(untrusted, SM_USER='EVIL\\admin'), s).veto
