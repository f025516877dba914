from hypothesis import given, strategies as st

from remoteuserauth.core import groups


def latin1(text):
    return text.encode('utf-8').decode('latin-1')


def test_parse_groups_header():
    assert groups.parse_groups_header('dev, qa|ops ,, ') == \
        {'dev', 'qa', 'ops'}
    assert groups.parse_groups_header(latin1('développeurs')) == \
        {'développeurs'}
    assert groups.parse_groups_header('dev,\x00evil') == {'dev'}
    assert groups.parse_groups_header('') == set()
    assert groups.parse_groups_header(None) == set()


def test_parse_sync_groups_refuses_permissions_and_builtins():
    managed, problems = groups.parse_sync_groups(
        ['developers', ' testers ', 'TRAC_ADMIN', 'authenticated', ''])
    assert managed == {'developers', 'testers'}
    assert len(problems) == 2
    assert "'TRAC_ADMIN' is a permission" in problems[0]


def test_plan_touches_only_managed_groups():
    perms = [('alice', 'developers'), ('alice', 'admins'),
             ('alice', 'WIKI_ADMIN'), ('bob', 'testers')]
    managed = {'developers', 'testers'}
    assert groups.plan('alice', {'testers', 'admins', 'other'}, managed,
                       perms) == (['testers'], ['developers'])
    assert groups.plan('alice', {'developers'}, managed, perms) == ([], [])
    assert groups.plan('alice', set(), managed, perms) == \
        ([], ['developers'])


# Rule 12: an entry is never trimmed into another. Only ASCII spaces
# around an entry are ignored; any other white space, a control or
# formatting character, or a spelling NFKC would change drops it.
PADDED = [
    ('developers\u00a0', 'U+00A0'),      # no-break space
    ('\u3000developers', 'U+3000'),      # ideographic space
    ('developers\u2028', 'U+2028'),      # line separator
    ('developers\u0085', 'U+0085'),      # NEL
    ('developers\x1f', 'U+001F'),        # unit separator
    ('developers\x0b', 'U+000B'),        # vertical tab
    ('\tdevelopers', 'U+0009'),
    ('developers\u200b', 'U+200B'),      # zero-width space
    ('developers\ufeff', 'U+FEFF'),      # byte order mark
    ('develo\u2002pers', 'U+2002'),      # en space inside
    ('\uff44evelopers', 'NFKC'),         # full-width d
    ('developer\u017f', 'NFKC'),         # long s
    ('x' * 256, '255'),
]


def test_padded_entries_are_dropped_not_trimmed():
    for entry, why in PADDED:
        sorted_ = groups.sort_groups([entry, 'testers'])
        assert sorted_.accepted == {'testers'}, entry
        assert [e for e, reason in sorted_.dropped] == [entry]
        assert why in sorted_.dropped[0][1], (entry, sorted_.dropped)


def test_padded_entries_in_a_header_never_reach_a_managed_group():
    for entry, _ in PADDED:
        wire = entry.encode('utf-8').decode('latin-1')
        listed = groups.parse_groups_header(wire + ',qa')
        assert listed == {'qa'}, entry
        assert groups.plan('alice', listed, {'developers', 'qa'}, []) == \
            (['qa'], [])


def test_ascii_spaces_around_an_entry_are_ignored():
    assert groups.sort_groups(['  developers ', ' ', '']) == \
        groups.Groups(frozenset({'developers'}), ())


def test_entries_compare_exactly():
    # No case fold, no normalisation: a group is granted only by its
    # own spelling.
    listed = groups.clean_groups(['Developers', 'DEVELOPERS', 'développeurs'])
    assert groups.plan('alice', listed, {'developers'}, []) == ([], [])


def test_sync_groups_entries_follow_the_same_policy():
    managed, problems = groups.parse_sync_groups(
        ['developers\u00a0', '\uff44ev', 'qa\x00', 'testers'])
    assert managed == {'testers'}
    assert len(problems) == 3
    assert all('sync_groups' in p and 'ignored' in p for p in problems)


@given(st.lists(st.text(alphabet=st.sampled_from(
    ' ab-_.\t\x00\xa0\u2003\uff41\xe9,|'), max_size=8) |
    st.just('x' * (groups.MAX_GROUP_LENGTH + 1)) |
    st.just(' ' + 'y' * groups.MAX_GROUP_LENGTH + ' '), max_size=6))
def test_plain_entries_take_the_short_way_to_the_same_answer(items):
    """Entries of printable ASCII are accepted at once; the answer is
    the one each entry's own check gives."""
    slow_accepted = set()
    slow_dropped = []
    for item in items:
        entry = item.strip(' ')
        if entry:
            problem = groups.entry_problem(entry)
            if problem:
                slow_dropped.append((item, problem))
            else:
                slow_accepted.add(entry)
    assert groups.sort_groups(items) == (frozenset(slow_accepted),
                                         tuple(slow_dropped))
