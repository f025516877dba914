"""The uwsgi requests the self-test writes to a uWSGI socket
(`selftest.uwsgiproto`), read back by the tests' own decoder
(tests/support/uwsgiwire.py): hostile values stay inside their
variable, sizes are never cut or wrapped, uWSGI's own variables are
never written."""

import struct

import pytest

from remoteuserauth.selftest.uwsgiproto import (MAX_BLOCK, packet,
                                                request_variables)
from uwsgiwire import decode


def test_a_request():
    data = packet([('REQUEST_METHOD', 'GET'), ('PATH_INFO', '/prefix/'),
                   ('REMOTE_USER', 'ruaprobe-0123abcd-uwsgi')])
    # What nginx's uwsgi_pass writes: modifier 0 (a WSGI request), the
    # size of the variables, little endian, and modifier 0.
    assert data[:4] == bytes([0, 80, 0, 0])
    assert decode(data) == (0, 0, [
        (b'REQUEST_METHOD', b'GET'), (b'PATH_INFO', b'/prefix/'),
        (b'REMOTE_USER', b'ruaprobe-0123abcd-uwsgi')])
    assert packet([]) == bytes(4)
    # 2 + 1 + 2 + 300 = 305 = 0x0131: the low byte first.
    assert packet([('N', 'v' * 300)])[:4] == bytes([0, 0x31, 0x01, 0])


@pytest.mark.parametrize('value', [
    'x\r\nREMOTE_USER: admin',
    '\r\n\r\nGET / HTTP/1.1\r\n',
    'a\x00b',
    # The bytes of a whole variable of its own, as a value.
    struct.pack('<H', 11).decode('latin-1') + 'REMOTE_USER' +
    struct.pack('<H', 5).decode('latin-1') + 'admin',
])
def test_a_hostile_value_stays_inside_its_variable(value):
    _, _, variables = decode(packet([('HTTP_X', value), ('Y', 'z')]))
    assert variables == [(b'HTTP_X', value.encode('utf-8')), (b'Y', b'z')]


def test_text_goes_as_utf8_and_bytes_as_they_are():
    _, _, variables = decode(packet([('PATH_INFO', '/wiki/Jos\xe9'),
                                     ('HTTP_X', '\u2603'),
                                     ('RAW', b'\xff\xfe')]))
    assert variables == [(b'PATH_INFO', b'/wiki/Jos\xc3\xa9'),
                         (b'HTTP_X', b'\xe2\x98\x83'), (b'RAW', b'\xff\xfe')]
    # Its size counts bytes, not characters.
    data = packet([('N', '\xe9' * 10)])
    assert struct.unpack('<H', data[1:3])[0] == 2 + 1 + 2 + 20
    # Text that has no UTF-8 form is refused, not replaced.
    with pytest.raises(ValueError):
        packet([('N', '\udcff')])


def test_sizes_are_never_cut_or_wrapped():
    # The largest value whose variable still fits the 16-bit block.
    largest = MAX_BLOCK - 2 - 1 - 2
    _, _, variables = decode(packet([('N', 'v' * largest)]))
    assert variables == [(b'N', b'v' * largest)]
    for variables in ([('N', 'v' * (largest + 1))],
                      [('N', 'v' * (MAX_BLOCK + 1))],
                      [('N' * (MAX_BLOCK + 1), 'v')],
                      [('A', 'v' * 40000), ('B', 'v' * 40000)],
                      # 65536 bytes: a size that wraps to 0 in 16 bits.
                      [('N', 'v' * (MAX_BLOCK + 1 - 5))]):
        with pytest.raises(ValueError) as e:
            packet(variables)
        assert 'at most 65535' in str(e.value)


@pytest.mark.parametrize('name', ['UWSGI_FILE', 'uwsgi_script',
                                  b'UWSGI_CHDIR', 'Uwsgi_Appid'])
def test_uwsgis_own_variables_are_never_written(name):
    with pytest.raises(ValueError) as e:
        packet([('PATH_INFO', '/'), (name, '/tmp/evil.py')])
    assert 'uWSGI acts on itself' in str(e.value)


def test_a_variable_needs_a_name():
    with pytest.raises(ValueError):
        packet([('', 'value')])


def test_request_variables():
    variables = request_variables(
        '/pr%C3%A9fix/wiki/A%0D%0AB', 'remoteuser-probe=T', '127.0.0.1:8000',
        ('127.0.0.1', 8000), ('127.0.0.2', 40000),
        [('REMOTE_USER', 'ruaprobe-0123abcd-uwsgi')])
    found = dict(decode(packet(variables))[2])
    # PATH_INFO decoded as nginx's $document_uri is; the request line's
    # target as it was written.
    assert found[b'PATH_INFO'] == b'/pr\xc3\xa9fix/wiki/A\r\nB'
    assert found[b'REQUEST_URI'] == \
        b'/pr%C3%A9fix/wiki/A%0D%0AB?remoteuser-probe=T'
    assert found[b'QUERY_STRING'] == b'remoteuser-probe=T'
    assert found[b'REMOTE_ADDR'] == b'127.0.0.2'
    assert found[b'REMOTE_PORT'] == b'40000'
    assert found[b'SERVER_PORT'] == b'8000'
    assert found[b'HTTP_HOST'] == b'127.0.0.1:8000'
    assert found[b'REMOTE_USER'] == b'ruaprobe-0123abcd-uwsgi'
    # No credentials or session of anyone's.
    assert not [n for n in found if n in (b'HTTP_AUTHORIZATION',
                                          b'HTTP_COOKIE')]
    assert variables[-1] == ('REMOTE_USER', 'ruaprobe-0123abcd-uwsgi')
