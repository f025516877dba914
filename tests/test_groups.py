from remoteuserauth import groups


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
