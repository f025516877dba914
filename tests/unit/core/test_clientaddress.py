"""The client address from X-Forwarded-For, walked from the right past
trusted proxies only, against hostile values."""

import ipaddress

import pytest
from hypothesis import given, strategies as st

from remoteuserauth.core import clientaddress as clientaddr
from remoteuserauth.core import trust
from remoteuserauth.core.clientaddress import Walk, client_address, parse_entry

# The balancer and an inner proxy tier; 127.0.0.1 for the tests' peer.
NETWORKS, _errors = trust.parse_networks(
    ['127.0.0.1', '10.0.0.0/24', 'fd00::/64', 'unix'])
assert not _errors


def walk(forwarded_for, peer='127.0.0.1'):
    return client_address(peer, forwarded_for, NETWORKS)


@pytest.mark.parametrize('text, expected', [
    ('192.0.2.7', '192.0.2.7'),
    ('  192.0.2.7\t', '192.0.2.7'),
    ('192.0.2.7:4711', '192.0.2.7'),
    ('2001:db8::7', '2001:db8::7'),
    ('2001:DB8:0:0::7', '2001:db8::7'),
    ('[2001:db8::7]', '2001:db8::7'),
    ('[2001:db8::7]:443', '2001:db8::7'),
    ('fe80::1%eth0', 'fe80::1'),
    ('[fe80::1%25eth0]:80', 'fe80::1'),
    ('::ffff:192.0.2.7', '192.0.2.7'),
    ('[::ffff:c000:207]:80', '192.0.2.7'),
    ('::1', '::1'),
])
def test_addresses_in_every_spelling(text, expected):
    assert str(parse_entry(text)) == expected


@pytest.mark.parametrize('text', [
    '', ' ', 'unknown', '_hidden', 'localhost', 'proxy.example.com',
    '192.0.2', '192.0.2.7.8', '256.0.0.1', '01.2.3.4', '192.0.2.7:',
    '192.0.2.7:65536', '192.0.2.7:123456', '192.0.2.7:-1', '192.0.2.7:http',
    '2001:db8::7:443x', '[2001:db8::7', '2001:db8::7]', '[[2001:db8::7]]',
    '[192.0.2.7]', '2001:db8:::7', '[2001:db8::7]:99999',
    'fe80::1%', 'fe80::1%eth0%eth1', 'fe80::1%eth 0', 'fe80::1%' + 'x' * 40,
    '192.0.2.7\r\nX-Injected: 1', '192.0.2.7\x00', '\x0b192.0.2.7',
    '192.0.2.7\x85', '\xa0192.0.2.7', '192.0.2.7 10.0.0.1',
    '\u0661\u0669\u0662.0.2.7', '１９２.0.2.7', '192\uff0e0.2.7',
    '2001:db8::\u0665', '\u200b192.0.2.7', '"192.0.2.7"', 'for=192.0.2.7',
    '192.0.2.7;proto=https', '0x7f.0.0.1', '2130706433', '1' * 200,
    '[' + '0:' * 60 + ']',
])
def test_garbage_is_no_address(text):
    assert parse_entry(text) is None


def test_untrusted_peer_changes_nothing():
    assert walk('192.0.2.7', peer='192.0.2.66') is clientaddr.NOTHING
    assert walk('127.0.0.1', peer='203.0.113.9') is clientaddr.NOTHING
    assert walk('192.0.2.7', peer=None) is clientaddr.NOTHING
    assert walk('192.0.2.7', peer='garbage') is clientaddr.NOTHING


def test_no_header_changes_nothing():
    assert walk(None) is clientaddr.NOTHING


def test_the_entry_the_trusted_proxy_appended_is_the_client():
    assert walk('192.0.2.7') == Walk('192.0.2.7', None)
    # What the client wrote itself stays on the left, unread.
    assert walk('127.0.0.1, 10.0.0.9, 192.0.2.7') == Walk('192.0.2.7', None)


def test_trusted_proxies_are_walked_past():
    assert walk('192.0.2.7, 10.0.0.5, 10.0.0.6') == Walk('192.0.2.7', None)
    assert walk('198.51.100.1, 192.0.2.7,10.0.0.5') == \
        Walk('192.0.2.7', None)
    assert walk('2001:db8::7, [fd00::5]:80') == Walk('2001:db8::7', None)
    # An IPv4-mapped spelling of a trusted proxy is that proxy.
    assert walk('192.0.2.7, ::ffff:10.0.0.5') == Walk('192.0.2.7', None)


def test_every_entry_trusted_gives_the_leftmost():
    assert walk('10.0.0.9, 10.0.0.5') == Walk('10.0.0.9', None)
    assert walk('127.0.0.1') == Walk('127.0.0.1', None)


def test_a_bad_entry_stops_the_walk_at_the_last_trusted_address():
    # Never on to 192.0.2.66, which whoever wrote 'garbage' chose.
    for bad in ('garbage', '', ' ', 'unknown', '10.0.0.5\r\n',
                '10.0.0.5\x00', '[10.0.0.5]'):
        w = walk('192.0.2.66, %s, 10.0.0.5' % bad)
        assert w.address == '10.0.0.5', bad
        assert 'is not an IP address' in w.problem


def test_a_bad_rightmost_entry_keeps_the_peer():
    for value in ('', ' ', ',', '192.0.2.7,', '192.0.2.7, ', 'garbage',
                  '192.0.2.7, unknown', '192.0.2.7\t\x7f'):
        w = walk(value)
        assert w.address is None and w.problem, value


def test_empty_items_stop_the_walk():
    assert walk('192.0.2.66,,10.0.0.5').address == '10.0.0.5'
    assert walk(',10.0.0.5').address == '10.0.0.5'
    assert walk(', 192.0.2.7').address == '192.0.2.7'


def test_bad_entries_are_shown_escaped_and_short():
    w = walk('x\r\nSet-Cookie: a=b')
    assert "'x\\r\\nSet-Cookie: a=b'" in w.problem
    assert '\r' not in w.problem and '\n' not in w.problem
    w = walk('A' * 5000)
    assert '(5000 characters)' in w.problem and len(w.problem) < 200


def test_hundreds_of_trusted_entries_stop_after_max_hops():
    entries = ['192.0.2.7'] + ['10.0.0.%d' % (i % 250) for i in range(300)]
    w = walk(', '.join(entries))
    assert w.address == '10.0.0.%d' % ((300 - clientaddr.MAX_HOPS) % 250)
    assert 'more than %d trusted proxies' % clientaddr.MAX_HOPS in w.problem


def test_hundreds_of_entries_written_by_the_client_are_not_read():
    value = ', '.join('198.51.100.%d' % (i % 250) for i in range(500))
    assert walk(value + ', 192.0.2.7') == Walk('192.0.2.7', None)
    assert walk('x' * 10 ** 6 + ', 192.0.2.7') == Walk('192.0.2.7', None)


def test_huge_values():
    # Spaces around an entry are allowed, however many.
    value = ' ' * 10 ** 6 + '10.0.0.5' + ', 10.0.0.6' * 10
    assert walk(value) == Walk('10.0.0.5', None)
    padded = '192.0.2.7' + ' ' * 10 ** 6 + ', 10.0.0.5'
    assert walk(padded) == Walk('192.0.2.7', None)
    w = walk('192.0.2.7, ' + '1' * 10 ** 6 + ', 10.0.0.5')
    assert w.address == '10.0.0.5' and '(1000000 characters)' in w.problem


def test_unix_socket_peer_is_a_trusted_proxy_when_listed():
    assert walk('192.0.2.7', peer='') == Walk('192.0.2.7', None)
    only_loopback, _ = trust.parse_networks(['127.0.0.1'])
    assert client_address('', '192.0.2.7', only_loopback) is \
        clientaddr.NOTHING


def test_take_client_address_keeps_the_peer_and_runs_once():
    environ = {'REMOTE_ADDR': '127.0.0.1',
               'HTTP_X_FORWARDED_FOR': '192.0.2.7'}
    assert clientaddr.take_client_address(environ, NETWORKS) == \
        Walk('192.0.2.7', None)
    assert environ['REMOTE_ADDR'] == '192.0.2.7'
    assert trust.direct_peer(environ) == '127.0.0.1'
    # A second call (the other component) changes nothing, even though
    # REMOTE_ADDR now holds an address the walk would start from.
    environ['HTTP_X_FORWARDED_FOR'] = '203.0.113.1'
    assert clientaddr.take_client_address(environ, NETWORKS) is None
    assert environ['REMOTE_ADDR'] == '192.0.2.7'
    assert trust.direct_peer(environ) == '127.0.0.1'


def test_take_client_address_from_untrusted_peer_keeps_remote_addr():
    environ = {'REMOTE_ADDR': '192.0.2.66',
               'HTTP_X_FORWARDED_FOR': '127.0.0.1'}
    assert clientaddr.take_client_address(environ, NETWORKS) == \
        clientaddr.NOTHING
    assert environ['REMOTE_ADDR'] == '192.0.2.66'
    assert trust.direct_peer(environ) == '192.0.2.66'
    assert trust.direct_peer({}) is None


def test_a_bad_entry_leaves_remote_addr_alone():
    environ = {'REMOTE_ADDR': '127.0.0.1',
               'HTTP_X_FORWARDED_FOR': '10.0.0.5\r\n'}
    w = clientaddr.take_client_address(environ, NETWORKS)
    assert w.address is None and w.problem
    assert environ['REMOTE_ADDR'] == '127.0.0.1'


entry_text = st.one_of(
    st.text(max_size=30),
    st.ip_addresses().map(str),
    st.builds(lambda a, p: '%s:%d' % (a, p), st.ip_addresses(v=4),
              st.integers(0, 70000)),
    st.builds(lambda a, p: '[%s]:%d' % (a, p), st.ip_addresses(v=6),
              st.integers(0, 70000)),
    st.sampled_from(['10.0.0.5', '127.0.0.1', 'fd00::5', 'unknown', '']))


@given(st.lists(entry_text, max_size=40), st.sampled_from(
    ['127.0.0.1', '10.0.0.5', '192.0.2.66', '', None]))
def test_walk_properties(entries, peer):
    """Whatever the header: the result is a canonical address of one of
    its entries, never one to the left of a bad or untrusted entry, and
    nothing from an untrusted peer."""
    value = ','.join(entries)
    w = client_address(peer, value, NETWORKS)
    if trust.trusted_network(peer, NETWORKS) is None:
        assert w is clientaddr.NOTHING
        return
    parsed = [parse_entry(e) for e in value.split(',')]
    expected = None
    for address in reversed(parsed[-clientaddr.MAX_HOPS:]):
        if address is None:
            break
        expected = address
        if not clientaddr._is_trusted(address, NETWORKS):
            break
    assert w.address == (str(expected) if expected else None)
    if w.address is not None:
        assert str(ipaddress.ip_address(w.address)) == w.address
