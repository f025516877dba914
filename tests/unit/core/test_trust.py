import ipaddress

import pytest
from hypothesis import given, strategies as st

from remoteuserauth.core import trust


def nets(*entries):
    networks, errors = trust.parse_networks(entries)
    assert not errors
    return networks


@pytest.mark.parametrize('peer, entries, expected', [
    ('127.0.0.1', ('127.0.0.1',), '127.0.0.1/32'),
    ('127.0.0.2', ('127.0.0.1',), None),
    ('10.1.2.3', ('10.0.0.0/8',), '10.0.0.0/8'),
    ('11.1.2.3', ('10.0.0.0/8',), None),
    ('::1', ('::1',), '::1/128'),
    ('[::1]', ('::1',), '::1/128'),
    ('fd00::5', ('fd00::/8',), 'fd00::/8'),
    ('fe80::1%eth0', ('fe80::/10',), 'fe80::/10'),
    ('::ffff:127.0.0.1', ('127.0.0.1',), '127.0.0.1/32'),
    ('127.0.0.1', ('::1',), None),
    ('', ('127.0.0.1',), None),
    (None, ('127.0.0.1',), None),
    ('localhost', ('127.0.0.1',), None),
    ('127.0.0.1, 10.0.0.1', ('127.0.0.1',), None),
])
def test_trusted_network(peer, entries, expected):
    found = trust.trusted_network(peer, nets(*entries))
    assert (str(found) if found else None) == expected


def test_bad_entries_are_reported_and_never_widen_trust():
    networks, errors = trust.parse_networks(
        ['127.0.0.1', '10.0.0.0/33', 'proxy.example.com', '0.0.0.0/abc', ''])
    assert networks == (ipaddress.ip_network('127.0.0.1/32'),)
    assert len(errors) == 3
    assert "'proxy.example.com'" in errors[1]
    assert trust.trusted_network('10.0.0.1', networks) is None


def test_host_bits_are_reported_but_the_network_is_used():
    networks, errors = trust.parse_networks(['10.1.2.3/8'])
    assert networks == (ipaddress.ip_network('10.0.0.0/8'),)
    assert 'host bits' in errors[0]


def test_secret_matches():
    assert trust.secret_matches('s3cret', 's3cret')
    assert not trust.secret_matches('s3cret', 's3cre')
    assert not trust.secret_matches('s3cret', None)
    assert not trust.secret_matches('', '')
    assert not trust.secret_matches('s3cret', '\udcff')


@pytest.mark.parametrize('header, key', [
    ('Remote-User', 'HTTP_REMOTE_USER'),
    ('REMOTE_USER', 'HTTP_REMOTE_USER'),
    ('remote-user', 'HTTP_REMOTE_USER'),
    ('SM_USER', 'HTTP_SM_USER'),
    ('HTTP_SM_USER', 'HTTP_SM_USER'),
    ('X-Auth-Request-User', 'HTTP_X_AUTH_REQUEST_USER'),
    ('', None),
    (None, None),
])
def test_environ_key(header, key):
    assert trust.environ_key(header) == key


@pytest.mark.parametrize('header', ['Remote User', 'Remote:User', 'a\nb'])
def test_environ_key_refuses_bad_names(header):
    with pytest.raises(ValueError):
        trust.environ_key(header)


@pytest.mark.parametrize('header, key', [
    ('env:OIDC_id_token', 'OIDC_id_token'),
    ('ENV:SM_USER', 'SM_USER'),
    (' env: SM_USER ', 'SM_USER'),
    ('env:REMOTE_USER', 'REMOTE_USER'),
])
def test_environ_key_names_server_variables(header, key):
    assert trust.environ_key(header) == key
    assert trust.is_server_variable(key)
    assert not trust.is_server_variable(trust.environ_key('SM_USER'))


@pytest.mark.parametrize('header', [
    # Variables the client sets: a header, or the request line and Host.
    'env:HTTP_REMOTE_USER', 'env:http_remote_user', 'env:Http_Sm_User',
    'env:QUERY_STRING', 'env:PATH_INFO', 'env:SCRIPT_NAME',
    'env:CONTENT_TYPE', 'env:SERVER_NAME', 'env:REMOTE_ADDR',
    'env:request_uri',
    # No variable name at all, or not one a server sets.
    'env:', 'env: ', 'env:SM USER', 'env:SM_USER\r\nX', 'env:SM_USER\x00',
    'env:wsgi.input', 'env:trac.env_path', 'env:1ABC', 'env:-x',
    'env:\uff33\uff2d_USER', 'env:SM_USER,OTHER', 'env:' + 'A' * 5000 + '!',
])
def test_environ_key_refuses_client_and_bad_variables(header):
    with pytest.raises(ValueError):
        trust.environ_key(header)


def test_last_list_value():
    assert trust.last_list_value('https, http') == 'http'
    assert trust.last_list_value('https') == 'https'
    assert trust.last_list_value(' , ') is None
    assert trust.last_list_value(None) is None


def test_unix_socket_peers_are_trusted_only_when_listed():
    with_unix, errors = trust.parse_networks(['127.0.0.1', 'unix'])
    assert not errors and str(with_unix[1]) == 'unix'
    without, _ = trust.parse_networks(['127.0.0.1'])
    for peer in ('', '/run/trac.sock', 'unix:/run/trac.sock'):
        assert trust.trusted_network(peer, with_unix) is trust.UNIX_SOCKET
        assert trust.trusted_network(peer, without) is None
    assert trust.trusted_network('10.0.0.1', with_unix) is None
    assert trust.trusted_network(None, with_unix) is None
    assert trust.describe_peer('') == 'a Unix socket peer'
    assert trust.describe_peer('10.0.0.1') == '10.0.0.1'


@pytest.mark.parametrize('host, loopback', [
    ('localhost', True), ('LOCALHOST', True), ('127.0.0.1', True),
    ('127.8.9.10', True), ('::1', True),
    # Names and spellings that only look like loopback.
    ('localhost.evil.example', False), ('127.0.0.1.evil.example', False),
    ('evil.example', False), ('2130706433', False), ('0x7f.0.0.1', False),
    ('[::1]', False), ('127.0.0.1\r\n', False), ('', False), (None, False),
    ('192.0.2.1', False), ('::ffff:192.0.2.1', False),
])
def test_is_loopback_host(host, loopback):
    assert trust.is_loopback_host(host) is loopback


def _first_by_scan(peer, networks):
    address = trust.parse_address(peer)
    return next((n for n in networks if n is not trust.UNIX_SOCKET and
                 n.version == address.version and address in n), None)


@given(st.lists(st.tuples(st.integers(0, 2 ** 32 - 1), st.integers(0, 32)),
                min_size=1, max_size=40),
       st.lists(st.integers(0, 2 ** 32 - 1), min_size=1, max_size=20))
def test_the_index_finds_the_first_network_configured(entries, peers):
    """However many networks, the indexed look-up answers what a scan
    of them in the order configured does: the first that holds the
    peer."""
    networks = trust.Networks(ipaddress.ip_network(
        (value, length), strict=False) for value, length in entries)
    for value in peers + [value for value, _ in entries]:
        peer = str(ipaddress.ip_address(value))
        assert trust.trusted_network(peer, networks) == \
            _first_by_scan(peer, networks)


def test_the_index_keeps_the_order_configured():
    wide, narrow = nets('10.0.0.0/8', '10.1.0.0/16')
    assert trust.trusted_network('10.1.2.3', (wide, narrow)) is wide
    assert trust.trusted_network('10.1.2.3', (narrow, wide)) is narrow
    assert trust.trusted_network_name('10.1.2.3', (narrow, wide)) == \
        '10.1.0.0/16'


def test_the_peer_cache_is_bounded_and_keyed_on_the_networks():
    """Peers are client addresses: many of them only churn the cache.
    A change of trusted_proxies is another key, never a stale answer."""
    networks = nets('10.0.0.0/8')
    for i in range(trust.TRUSTED_CACHE_SIZE + 300):
        trust.trusted_network_name('10.%d.%d.1' % (i // 256, i % 256),
                                   networks)
    for cached in (trust._trusted_network, trust._trusted_network_name):
        info = cached.cache_info()
        assert info.maxsize == trust.TRUSTED_CACHE_SIZE
        assert info.currsize <= trust.TRUSTED_CACHE_SIZE
    assert trust.trusted_network_name('10.0.0.1', networks) == '10.0.0.0/8'
    assert trust.trusted_network_name('10.0.0.1', nets('127.0.0.1')) is None
    assert trust.trusted_network_name('10.0.0.1', nets('10.0.0.0/24')) == \
        '10.0.0.0/24'
