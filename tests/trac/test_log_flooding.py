"""Rule 14: no text a client chose is part of a log throttle's key.

Each case sends requests that differ only in text the client picks (a
name, an Authorization scheme, a token's kid, a group entry) from one
peer, and counts the WARNING lines: one per peer and kind of refusal per
`log_interval`, whatever the spelling. With `log_interval = 0` every
request is logged, which shows that each case does reach a throttled
line.
"""

import re
import secrets

import pytest

from jwtsite import options, token
from tokens import Signer, write_jwks

REQUESTS = 12


def varied_names(i):
    return [('Remote-User', 'mallory\x01%d' % i)]


def varied_group_entries(i):
    return [('Remote-User', 'alice'),
            ('X-Groups', 'developers\u00a0%d' % i)]


def varied_schemes(i):
    return [('Authorization', 'Scheme%d credentials' % i)]


def varied_kids(i):
    stranger = Signer('ec', kid='kid-%d-%s' % (i, secrets.token_hex(4)))
    return [('Authorization', 'Bearer ' + token(stranger))]


def damaged_tokens(i):
    return [('Authorization', 'Bearer x%d.y%d.z%d' % (i, i, i))]


HEADER_MODE = [('remoteuser', 'groups_header', 'X-Groups'),
               ('remoteuser', 'sync_groups', 'developers')]

CASES = [
    # (what varies, path, header mode or assertion mode, headers(i),
    #  a pattern the throttled line matches)
    ('refused names', '/wiki/WikiStart', 'header', varied_names,
     r'refused the user name in header'),
    ('refused names at /login', '/login', 'header', varied_names,
     r'/login without a user name'),
    ('dropped group entries', '/wiki/WikiStart', 'header',
     varied_group_entries, r'ignored the group entry'),
    ('Authorization schemes', '/wiki/WikiStart', 'assertion',
     varied_schemes, r'not a Bearer token'),
    ('unknown kids', '/wiki/WikiStart', 'assertion', varied_kids,
     r'refused the user name in the assertion'),
    ('unknown kids at /login', '/login', 'assertion', varied_kids,
     r'/login without a user name'),
    ('damaged tokens', '/login', 'assertion', damaged_tokens,
     r'/login without a user name'),
]


@pytest.fixture
def site(make_env, tmp_path):
    def make(mode, interval):
        extra = [('remoteuser', 'log_interval', str(interval))]
        if mode == 'header':
            return make_env(*(HEADER_MODE + extra))
        keys = write_jwks(tmp_path / 'keys.json', Signer('ec'))
        opts = options(keys, *extra)
        opts[0] = ('remoteuser', 'jwt_header', 'Authorization')
        return make_env(*opts)
    return make


def flood(env, path, headers, peer='127.0.0.1', requests=REQUESTS):
    env.log()
    for i in range(requests):
        r = env.request(path, headers=headers(i), peer=peer)
        assert r.status in (200, 302, 303), r.body[:300]
    return env.log()


def warnings(log, pattern):
    return [line for line in log.splitlines()
            if ' WARNING: ' in line and re.search(pattern, line)]


@pytest.mark.parametrize('what, path, mode, headers, pattern', CASES,
                         ids=[case[0] for case in CASES])
def test_one_line_per_peer_and_kind(site, what, path, mode, headers,
                                    pattern):
    env = site(mode, 300)
    log = flood(env, path, headers)
    assert len(warnings(log, pattern)) == 1, log[-3000:]
    # Another peer is another line.
    log = flood(env, path, headers, peer='::1')
    assert len(warnings(log, pattern)) == 1
    assert 'Traceback' not in log


@pytest.mark.parametrize('what, path, mode, headers, pattern', CASES,
                         ids=[case[0] for case in CASES])
def test_without_an_interval_every_request_is_logged(site, what, path, mode,
                                                     headers, pattern):
    env = site(mode, 0)
    assert len(warnings(flood(env, path, headers, requests=3), pattern)) \
        == 3


def test_client_text_in_a_line_is_escaped_and_short(site):
    env = site('header', 0)
    env.log()
    env.request('/wiki/WikiStart', headers=[
        ('Remote-User', 'alice'),
        ('X-Groups', 'developers\u00a0\r\nTrac[auth] ERROR: forged' +
         'x' * 5000)])
    log = env.log()
    line, = warnings(log, 'ignored the group entry')
    assert 'forged' not in line.split('ignored the group entry')[0]
    assert not any(ln.startswith('Trac[auth] ERROR: forged')
                   for ln in log.splitlines())
    assert 'x' * 100 not in line
