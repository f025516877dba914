import pytest

from remoteuserauth.core import names
from remoteuserauth.core.names import clean_name, decode_header_value


def latin1(text):
    """What a WSGI server puts in environ for a UTF-8 header value."""
    return text.encode('utf-8').decode('latin-1')


LOCAL = frozenset({'example', 'example.com', '\u00e6r\u00f8sk\u00f8bing'})


def clean(value, **kw):
    kw.setdefault('local_domains', LOCAL)
    return clean_name(value, **kw)


@pytest.mark.parametrize('value, expected', [
    ('alice', 'alice'),
    ('EXAMPLE\\alice', 'alice'),
    ('example\\alice', 'alice'),
    ('alice@EXAMPLE.COM', 'alice'),
    ('alice@example.com', 'alice'),
    ('EXAMPLE\\first.last@EXAMPLE.COM', 'first.last'),
    ('host/alice', 'host/alice'),
    ('Alice', 'Alice'),
    ('alice smith', 'alice smith'),
    (latin1('jos\u00e9'), 'jos\u00e9'),
    (latin1('\u00c6r\u00f8sk\u00f8bing\\S\u00f8ren'), 'S\u00f8ren'),
    ('x' * 255, 'x' * 255),
])
def test_accepted_names(value, expected):
    assert clean(value) == (expected, None, None)


def test_strip_domain_off_keeps_the_name_whole():
    assert clean('EXAMPLE\\alice', strip_domain=False).name == \
        'EXAMPLE\\alice'
    assert clean('carol@OTHER.REALM', strip_domain=False).name == \
        'carol@OTHER.REALM'
    assert clean('a@b@c', strip_domain=False).name == 'a@b@c'


def test_lowercase():
    assert clean('EXAMPLE\\JDoe', lowercase=True).name == 'jdoe'
    assert clean('JDoe').name == 'JDoe'


@pytest.mark.parametrize('value, rule', [
    (None, names.EMPTY),
    ('', names.EMPTY),
    ('   ', names.EMPTY),
    ('(null)', names.NULL),
    ('(NULL)', names.NULL),
    ('anonymous', names.RESERVED),
    ('Anonymous', names.RESERVED),
    ('AUTHENTICATED', names.RESERVED),
    ('EXAMPLE\\anonymous', names.RESERVED),
    ('anonymous@example.com', names.RESERVED),
    ('alice,mallory', names.COMMA),
    ('alice, mallory', names.COMMA),
    ('alice\r\nSet-Cookie: x', names.CONTROL),
    ('alice\x00', names.CONTROL),
    ('\talice', names.CONTROL),
    ('al\x7fice', names.CONTROL),
    ('al\x85ice', names.CONTROL),
    ('adm\u200bin', names.CONTROL),
    ('\u202eecila', names.CONTROL),
    ('admin\u2028', names.CONTROL),
    ('x' * 256, names.TOO_LONG),
    # Spaces are never trimmed: " admin" may be an account of its own.
    ('  alice  ', names.SPACE),
    ('admin ', names.SPACE),
    ('EXAMPLE\\ admin', names.SPACE),
    ('admin @example.com', names.SPACE),
    ('ad\u00a0min', names.SPACE),
    ('admin\u3000', names.SPACE),
    ('\u2003admin', names.SPACE),
    ('ad\u1680min', names.SPACE),
    # Compatibility and decomposed spellings are not normalised.
    ('\uff41dmin', names.UNICODE),          # full-width a
    ('\u212aarl', names.UNICODE),           # Kelvin sign, lower() is k
    ('\ufb01ona', names.UNICODE),           # fi ligature
    ('jose\u0301', names.UNICODE),          # decomposed e-acute
    ('admin\u00b2', names.UNICODE),         # superscript two
    ('\u2460admin', names.UNICODE),         # circled digit one
    # Foreign domains never become local accounts.
    ('admin@anything', names.FOREIGN),
    ('OTHERDOMAIN\\admin', names.FOREIGN),
    ('carol@OTHER.REALM', names.FOREIGN),
    ('alice@example.com.evil', names.FOREIGN),
    ('alice@sub.example.com', names.FOREIGN),
    ('EXAMPLE\\alice@EVIL.COM', names.FOREIGN),
    ('EVIL\\alice@EXAMPLE.COM', names.FOREIGN),
    ('alice@EXAMPLE\uff0eCOM', names.UNICODE),
    # Names that cannot be split one way only.
    ('EXAMPLE\\', names.AMBIGUOUS),
    ('@example.com', names.AMBIGUOUS),
    ('alice@', names.AMBIGUOUS),
    ('\\alice', names.AMBIGUOUS),
    ('EXAMPLE\\EXAMPLE\\alice', names.AMBIGUOUS),
    ('admin@evil.com@example.com', names.AMBIGUOUS),
    ('alice@example.com\\admin', names.AMBIGUOUS),
    # Permission policy syntax.
    ('*', names.SYNTAX),
    ('&alias', names.SYNTAX),
    ('$authenticated', names.SYNTAX),
    ('~alice', names.SYNTAX),
    ('!alice', names.SYNTAX),
    ('EXAMPLE\\&alias', names.SYNTAX),
    # A front end's placeholder left unreplaced: every visitor would be
    # that one user.
    ('{http.auth.user.id}', names.PLACEHOLDER),       # Caddy
    ('{http.request.header.Remote-User}', names.PLACEHOLDER),
    ('%[http_auth_user]', names.PLACEHOLDER),          # HAProxy
    ('%{REMOTE_USER}s', names.PLACEHOLDER),            # Apache log format
    ('%{REMOTE_USER}', names.PLACEHOLDER),             # Apache expr
    ('${REMOTE_USER}', names.PLACEHOLDER),             # nginx, shell
    ('{{ user }}', names.PLACEHOLDER),                 # a template
    ('user}', names.PLACEHOLDER),
    ('EXAMPLE\\{http.auth.user.id}', names.PLACEHOLDER),
])
def test_refused_names(value, rule):
    cleaned = clean(value)
    assert cleaned.name is None
    assert cleaned.rule == rule
    assert cleaned.reason


@pytest.mark.parametrize('value', ['@administrators', '@admins'])
def test_authz_policy_groups_refused_when_names_are_whole(value):
    assert clean(value, strip_domain=False).rule == names.SYNTAX


def test_no_local_domain_refuses_every_domain():
    cleaned = clean_name('EXAMPLE\\alice')
    assert cleaned.rule == names.FOREIGN
    assert 'local_domains' in cleaned.reason
    assert 'strip_domain = false' in cleaned.reason


def test_lower_case_fold_cannot_make_ascii_out_of_other_letters():
    # 'K' (Kelvin) and 'I' with dot fold to ASCII-looking names.
    assert clean('\u212aARL', lowercase=True).rule == names.UNICODE
    assert clean('\u0130smail', lowercase=True).name != 'ismail'


def test_group_names_are_refused_whatever_the_case():
    groups = {'admins', 'developers'}
    assert clean('admins', groups=groups).rule == names.GROUP
    assert clean('Admins', groups=groups).rule == names.GROUP
    assert clean('EXAMPLE\\developers', groups=groups).rule == names.GROUP
    assert clean('admin', groups=groups).name == 'admin'


def test_local_domains_parsing():
    domains, problems = names.parse_local_domains(
        ['EXAMPLE', ' Example.COM ', '', 'bad domain', 'a@b', 'x\\y',
         'ev\x00il', '\uff45xample'])
    assert domains == {'example', 'example.com'}
    assert len(problems) == 5
    assert all('local_domains' in p for p in problems)


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


@pytest.mark.parametrize('groups', [
    frozenset({'Developers', 'STRASSE', '\u00c5sa'}),
    names.Names({'Developers', 'STRASSE', '\u00c5sa'})])
@pytest.mark.parametrize('value, refused', [
    ('developers', True), ('DEVELOPERS', True), ('stra\u00dfe', True),
    ('\u00e5sa', True), ('alice', False), ('developer', False)])
def test_groups_are_compared_without_regard_to_case(groups, value, refused):
    """A `Names` answers in one look-up what comparing each group
    would: the same names refused."""
    cleaned = clean(value, groups=groups)
    assert (cleaned.rule == names.GROUP) is refused
    assert (cleaned.name is None) is refused


@pytest.mark.parametrize('text', [
    'alice', 'alice smith', 'a\tb', 'a\x00b', 'a\x7fb', 'a\u00a0b',
    'a\u2003b', '\uff41lice', 'a\u200bb', 'jos\u00e9', 'a\x85b'])
def test_plain_text_takes_the_short_way_to_the_same_answer(text):
    """Printable ASCII is checked at once; anything else character by
    character; both give the answer of the long way."""
    slow = next((c for c in text
                 if names.unicodedata.category(c) in
                 names._FORBIDDEN_CATEGORIES), None)
    assert names.has_forbidden_character(text) == slow
