import pytest

from remoteuserauth import names
from remoteuserauth.names import clean_name, decode_header_value


def latin1(text):
    """What a WSGI server puts in environ for a UTF-8 header value."""
    return text.encode('utf-8').decode('latin-1')


@pytest.mark.parametrize('value, expected', [
    ('alice', 'alice'),
    ('  alice  ', 'alice'),
    ('EXAMPLE\\alice', 'alice'),
    ('alice@EXAMPLE.COM', 'alice'),
    ('EXAMPLE\\first.last@REALM', 'first.last'),
    ('host/alice', 'host/alice'),
    ('Alice', 'Alice'),
    (latin1('josé'), 'josé'),
    (latin1('Ærøskøbing\\Søren'), 'Søren'),
    ('x' * 255, 'x' * 255),
])
def test_accepted_names(value, expected):
    assert clean_name(value) == (expected, None, None)


def test_strip_domain_off_keeps_the_name_whole():
    assert clean_name('EXAMPLE\\alice', strip_domain=False).name == \
        'EXAMPLE\\alice'
    assert clean_name('alice@REALM', strip_domain=False).name == \
        'alice@REALM'


def test_lowercase():
    assert clean_name('EXAMPLE\\JDoe', lowercase=True).name == 'jdoe'
    assert clean_name('JDoe').name == 'JDoe'


@pytest.mark.parametrize('value, rule', [
    (None, names.EMPTY),
    ('', names.EMPTY),
    ('   ', names.EMPTY),
    ('EXAMPLE\\', names.EMPTY),
    ('@REALM', names.EMPTY),
    ('(null)', names.NULL),
    ('(NULL)', names.NULL),
    ('anonymous', names.RESERVED),
    ('Anonymous', names.RESERVED),
    ('AUTHENTICATED', names.RESERVED),
    ('DOMAIN\\anonymous', names.RESERVED),
    ('anonymous@REALM', names.RESERVED),
    ('alice,mallory', names.COMMA),
    ('alice, mallory', names.COMMA),
    ('alice\r\nSet-Cookie: x', names.CONTROL),
    ('alice\x00', names.CONTROL),
    ('\talice', names.CONTROL),
    ('al\x7fice', names.CONTROL),
    ('al\x85ice', names.CONTROL),
    ('adm\u200bin', names.CONTROL),
    ('\u202eecila', names.CONTROL),
    ('x' * 256, names.TOO_LONG),
])
def test_refused_names(value, rule):
    cleaned = clean_name(value)
    assert cleaned.name is None
    assert cleaned.rule == rule
    assert cleaned.reason


def test_group_names_are_refused_whatever_the_case():
    groups = {'admins', 'developers'}
    assert clean_name('admins', groups=groups).rule == names.GROUP
    assert clean_name('Admins', groups=groups).rule == names.GROUP
    assert clean_name('CORP\\developers', groups=groups).rule == names.GROUP
    assert clean_name('admin', groups=groups).name == 'admin'


def test_nobody_rules_are_the_ones_that_mean_no_login():
    assert names.NOBODY == {names.EMPTY, names.NULL}


def test_decode_header_value():
    assert decode_header_value(latin1('josé')) == 'josé'
    # Genuine latin-1 bytes that are not UTF-8 stay as they are.
    assert decode_header_value('jos\xe9') == 'jos\xe9'
    # A server that decoded already (characters beyond latin-1).
    assert decode_header_value('Jürgen\u0107') == 'Jürgen\u0107'
    assert decode_header_value(b'jos\xc3\xa9') == 'josé'
    assert decode_header_value(None) is None


def test_profile_values():
    assert names.clean_profile_value(latin1(' José Díaz ')) == 'José Díaz'
    assert names.clean_profile_value('a\nb') is None
    assert names.clean_profile_value('') is None
    assert names.clean_profile_value('x' * 300) is None
    assert names.clean_email('alice@example.com') == 'alice@example.com'
    for bad in ('alice', '@example.com', 'alice@', 'a@b, c@d', 'a b@c',
                'a@b\r\n'):
        assert names.clean_email(bad) is None, bad
