"""Property-based tests: cleaning and parsing never raise, never let a
dangerous name through, and are stable."""

import unicodedata

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from remoteuserauth import groups, names, trust, urls
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


@given(raw_names, flags, flags, group_sets)
def test_clean_name_never_lets_danger_through(value, strip, lower, grps):
    cleaned = names.clean_name(value, strip, lower, grps)
    assert (cleaned.name is None) != (cleaned.rule is None)
    if cleaned.name is None:
        assert cleaned.reason
        return
    name = cleaned.name
    assert name == name.strip() and name
    assert len(name) <= names.MAX_NAME_LENGTH
    assert ',' not in name
    assert not any(unicodedata.category(c) in FORBIDDEN for c in name)
    assert name.casefold() not in {'anonymous', 'authenticated', '(null)'}
    assert name.casefold() not in {g.casefold() for g in grps}
    if strip:
        assert '\\' not in name and '@' not in name
    if lower:
        assert name == name.lower()


@given(raw_names, flags, flags, group_sets)
def test_cleaning_is_idempotent(value, strip, lower, grps):
    first = names.clean_name(value, strip, lower, grps)
    assume(first.name is not None)
    assert names.clean_name(wire(first.name), strip, lower, grps).name == \
        first.name
    assert names.clean_name(first.name.encode('utf-8'), strip, lower,
                            grps).name == first.name


@given(st.text(alphabet=st.characters(blacklist_categories=tuple(FORBIDDEN),
                                      blacklist_characters=',\\@'),
               min_size=1, max_size=50),
       st.sampled_from(['EXAMPLE\\', 'corp.example.com\\', '']),
       st.sampled_from(['@EXAMPLE.COM', '@realm', '']))
def test_strip_domain_and_lowercase(user, domain, realm):
    assume(user.strip() and user.strip().casefold() not in
           {'anonymous', 'authenticated', '(null)'})
    bare = names.clean_name(wire(user), True, False).name
    assert names.clean_name(wire(domain + user + realm), True, False).name \
        == bare == user.strip()
    kept = names.clean_name(wire(domain + user + realm), False, False).name
    assert kept == (domain + user + realm).strip()
    lowered = names.clean_name(wire(domain + user), True, True)
    if lowered.name is not None:
        assert lowered.name == user.strip().lower()


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
