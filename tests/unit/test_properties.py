"""Property-based tests: cleaning and parsing never raise, never let a
dangerous name through, and are stable."""

import unicodedata

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from remoteuserauth.core import groups
from remoteuserauth.core import names
from remoteuserauth.core import trust
from remoteuserauth.core import urls
from remoteuserauth.decision import decide, make_settings

settings.register_profile('suite', deadline=None, max_examples=400,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile('suite')

FORBIDDEN = {'Cc', 'Cf', 'Cs', 'Co', 'Cn', 'Zl', 'Zp'}

# Names as they come: anything, biased towards the shapes that matter.
pieces = st.sampled_from(['alice', 'Bob', 'josé', 'DOMAIN\\', '@REALM',
                          '\\', '@', ',', ' ', '\t', '\x00', '\u200b',
                          '(null)', 'anonymous', 'Admins', 'x' * 130])
raw_names = st.one_of(st.text(), st.lists(pieces).map(''.join),
                      st.binary().map(lambda b: b.decode('latin-1')))
group_sets = st.frozensets(st.sampled_from(['admins', 'developers', 'bob',
                                            'ALICE']))
flags = st.booleans()


def wire(text):
    """What a server puts in environ for a UTF-8 header value."""
    return text.encode('utf-8').decode('latin-1')


LOCAL = frozenset({'domain', 'realm'})


@given(raw_names, flags, flags, group_sets)
def test_clean_name_never_lets_danger_through(value, strip, lower, grps):
    cleaned = names.clean_name(value, strip, lower, grps, LOCAL)
    assert (cleaned.name is None) != (cleaned.rule is None)
    if cleaned.name is None:
        assert cleaned.reason
        return
    name = cleaned.name
    assert name == name.strip() and name
    assert not any(c.isspace() and c != ' ' for c in name)
    assert unicodedata.is_normalized('NFKC', name)
    assert len(name) <= names.MAX_NAME_LENGTH
    assert ',' not in name
    assert not any(unicodedata.category(c) in FORBIDDEN for c in name)
    assert name.casefold() not in {'anonymous', 'authenticated', '(null)'}
    assert name.casefold() not in {g.casefold() for g in grps}
    assert not name.startswith(('@', '&', '$', '~', '!')) and name != '*'
    if strip:
        assert '\\' not in name and '@' not in name
    if lower:
        assert name == name.lower()


# Names of the shapes identity providers hand over, so that enough of
# them are accepted to test what cleaning does with them.
plausible = st.from_regex(r'(?:(?:DOMAIN|realm)\\)?[A-Za-z0-9._-]'
                          r'[A-Za-z0-9._ -]{0,20}[A-Za-z0-9._-]'
                          r'(?:@(?:REALM|domain))?', fullmatch=True)


@given(st.one_of(raw_names, plausible, plausible.map(wire)), flags, flags,
       group_sets)
def test_cleaning_is_idempotent(value, strip, lower, grps):
    first = names.clean_name(value, strip, lower, grps, LOCAL)
    assume(first.name is not None)
    assert names.clean_name(wire(first.name), strip, lower, grps,
                            LOCAL).name == first.name
    assert names.clean_name(first.name.encode('utf-8'), strip, lower,
                            grps, LOCAL).name == first.name


# The merge property: two names the identity provider holds as distinct
# accounts become one Trac user only through the documented folds. The
# reference below is written independently of names.py: it removes a
# listed domain or realm (case-insensitively) and, with the case fold,
# lowers the case; nothing else may make two names equal.

def reference_core(name, strip, lower):
    if strip:
        domain, sep, rest = name.partition('\\')
        if sep and domain.lower() in LOCAL:
            name = rest
        user, sep, realm = name.partition('@')
        if sep and realm.lower() in LOCAL:
            name = user
    return name.lower() if lower else name


# Pieces chosen for the spellings that fold into each other somewhere:
# case, compatibility forms, white space, domains and separators.
confusable = st.sampled_from([
    'admin', 'Admin', 'ADMIN', 'a', 'A', '\uff41', 'k', 'K', '\u212a',
    'i', 'I', '\u0130', '\u0131', 'ss', '\u00df', '\u1e9e', 'fi', '\ufb01',
    'e\u0301', '\u00e9', ' ', '\u00a0', '\u3000', '\u2003', 'DOMAIN\\',
    'Domain\\', 'OTHER\\', '@REALM', '@realm', '@other', '@', '\\', '.',
    '1', '\u00b9', '\u2460', '\u0661', '-', '_', '/'])
name_strategy = st.lists(confusable, min_size=1, max_size=6).map(''.join)


@st.composite
def name_pairs(draw):
    """A name and a variant an attacker could register beside it."""
    first = draw(name_strategy)
    mutations = [
        lambda n: n.upper(), lambda n: n.lower(), lambda n: n.swapcase(),
        lambda n: ' ' + n, lambda n: n + '\u00a0',
        lambda n: unicodedata.normalize('NFKD', n),
        lambda n: unicodedata.normalize('NFD', n),
        lambda n: n.replace('k', '\u212a').replace('a', '\uff41'),
        lambda n: n.replace('ss', '\u00df'),
        lambda n: 'DOMAIN\\' + n, lambda n: n + '@REALM',
        lambda n: 'OTHER\\' + n, lambda n: n + '@other',
        lambda n: n.replace('DOMAIN\\', 'OTHER\\'),
    ]
    second = draw(st.one_of(name_strategy,
                            st.sampled_from(mutations).map(
                                lambda m: m(first))))
    return first, second


@given(name_pairs(), flags, flags)
def test_no_two_accounts_become_one_except_by_documented_folds(
        pair, strip, lower):
    first, second = pair
    assume(first != second)
    # As a server hands them over: UTF-8, latin-1 decoded (PEP 3333).
    one = names.clean_name(wire(first), strip, lower, (), LOCAL).name
    two = names.clean_name(wire(second), strip, lower, (), LOCAL).name
    if one is not None and one == two:
        assert reference_core(first, strip, lower) == \
            reference_core(second, strip, lower), (first, second, one)


@given(name_pairs(), flags, flags)
def test_accepted_names_are_what_the_reference_says(pair, strip, lower):
    for raw in pair:
        cleaned = names.clean_name(wire(raw), strip, lower, (), LOCAL)
        if cleaned.name is not None:
            assert cleaned.name == reference_core(raw, strip, lower)


@given(st.text(alphabet=st.characters(blacklist_categories=tuple(FORBIDDEN),
                                      blacklist_characters=',\\@'),
               min_size=1, max_size=50),
       st.sampled_from(['EXAMPLE\\', 'corp.example.com\\', '']),
       st.sampled_from(['@EXAMPLE.COM', '@realm', '']))
def test_strip_domain_and_lowercase(user, domain, realm):
    local = frozenset({'example', 'corp.example.com', 'example.com',
                       'realm'})
    bare = names.clean_name(wire(user), True, False, (), local).name
    assume(bare is not None)
    assert names.clean_name(wire(domain + user + realm), True, False, (),
                            local).name == bare == user
    kept = names.clean_name(wire(domain + user + realm), False, False).name
    assert kept in (domain + user + realm, None)
    lowered = names.clean_name(wire(domain + user), True, True, (), local)
    if lowered.name is not None:
        assert lowered.name == user.lower()
    if domain or realm:
        assert names.clean_name(wire(domain + user + realm), True, False
                                ).rule == names.FOREIGN


@given(raw_names)
def test_decode_header_value_never_raises(value):
    decoded = names.decode_header_value(value)
    assert isinstance(decoded, str)
    assert names.decode_header_value(wire(decoded)) == decoded


@given(st.one_of(st.none(), raw_names))
def test_profile_values(value):
    for clean in (names.clean_profile_value, names.clean_email):
        result = clean(value)
        if result is not None:
            assert result == result.strip() and len(result) <= 255
            assert not any(unicodedata.category(c) in FORBIDDEN
                           for c in result)


@given(st.one_of(st.none(), raw_names))
def test_groups_header_parsing(value):
    for group in groups.parse_groups_header(value):
        assert group and group == group.strip()
        assert ',' not in group and '|' not in group
        assert not any(unicodedata.category(c) in FORBIDDEN for c in group)


@given(st.lists(raw_names))
def test_network_parsing_never_raises(entries):
    networks, errors = trust.parse_networks(entries)
    assert len(networks) <= len(entries)
    assert all(isinstance(e, str) for e in errors)


@given(st.one_of(st.none(), raw_names))
def test_trust_of_any_peer_text(peer):
    networks, _ = trust.parse_networks(['127.0.0.1', '::1', '10.0.0.0/8'])
    network = trust.trusted_network(peer, networks)
    if network is not None:
        assert trust.parse_address(peer) is not None


@given(raw_names)
def test_environ_key(header):
    try:
        key = trust.environ_key(header)
    except ValueError:
        return
    assert key is None or (key.startswith('HTTP_') and '-' not in key and
                           key == key.upper())


@given(st.dictionaries(
    st.sampled_from(['HTTP_X_FORWARDED_PROTO', 'HTTP_X_FORWARDED_HOST',
                     'HTTP_X_FORWARDED_PORT', 'HTTP_X_FORWARDED_PREFIX',
                     'HTTP_HOST', 'SCRIPT_NAME']), raw_names))
def test_forwarded_url_never_raises_and_stays_plain(headers):
    environ = {'wsgi.url_scheme': 'http', 'HTTP_HOST': 'backend:8000',
               'SCRIPT_NAME': ''}
    environ.update(headers)
    public = urls.forwarded_url(environ, urls.request_url(environ))
    assert public.scheme in ('http', 'https')
    if headers.get('HTTP_X_FORWARDED_HOST') is not None and \
            public.host != urls.request_url(environ).host:
        assert urls.normalize_host(public.host, public.scheme) == public.host


@given(st.one_of(st.none(), raw_names))
def test_is_inside_never_raises(url):
    urls.is_inside(url, 'https://trac.example.com/prefix')


@given(st.dictionaries(st.sampled_from(['HTTP_REMOTE_USER', 'REMOTE_USER',
                                        'REMOTE_ADDR', 'HTTP_X_SECRET']),
                       raw_names))
def test_decide_never_raises(environ):
    for s in (make_settings(), make_settings(header=''),
              make_settings(secret_header='X-Secret', secret='k')):
        d = decide(environ, s, {'admins'})
        assert not (d.name and d.veto)
        assert d.name is None or d.name.casefold() not in {'admins',
                                                           'anonymous'}


@given(st.lists(raw_names, max_size=5), st.sampled_from(
    ['developers', 'qa', 'admins', 'développeurs']))
def test_no_group_entry_grants_a_group_it_does_not_spell(entries, managed):
    # Rule 12: the only fold is the ASCII spaces around an entry.
    decoded = [names.decode_header_value(e) for e in entries]
    listed = groups.clean_groups(decoded)
    added, _ = groups.plan('alice', listed, {managed}, [])
    if added:
        assert any(e.strip(' ') == managed for e in decoded)
    for group in groups.parse_groups_header(','.join(entries)):
        assert unicodedata.is_normalized('NFKC', group)
        assert not any(c.isspace() for c in group.replace(' ', ''))
