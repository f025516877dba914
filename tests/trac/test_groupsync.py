"""Group sync through real requests."""

import pytest



@pytest.fixture
def synced(make_env):
    env = make_env(('remoteuser', 'groups_header', 'X-Groups'),
                   ('remoteuser', 'sync_groups', 'developers, testers'))
    env.admin('permission add developers WIKI_ADMIN')
    env.admin('permission add admins TRAC_ADMIN')
    return env


def memberships(env, user):
    return sorted(a for s, a in env.db(
        "SELECT username, action FROM permission WHERE username=%s",
        (user,)))


def request(env, groups, user='alice', **kwargs):
    headers = [('Remote-User', user)]
    if groups is not None:
        headers.append(('X-Groups', groups))
    r = env.request('/wiki/WikiStart', headers=headers, **kwargs)
    assert r.status == 200
    return r


def test_adds_and_removes_listed_groups(synced):
    request(synced, 'developers|testers')
    assert memberships(synced, 'alice') == ['developers', 'testers']
    log = synced.log()
    assert 'added alice to group developers' in log
    assert 'added alice to group testers' in log
    request(synced, 'testers')
    assert memberships(synced, 'alice') == ['testers']
    assert 'removed alice from group developers' in synced.log()


def test_the_new_membership_counts_on_the_same_request(synced):
    r = request(synced, 'developers')
    assert 'Edit this page' in r.body or 'Rename page' in r.body


def test_unlisted_groups_and_permissions_are_never_touched(synced):
    synced.admin('permission add alice admins')
    request(synced, 'admins, TRAC_ADMIN, managers')
    assert memberships(synced, 'alice') == ['admins']
    request(synced, '')
    assert memberships(synced, 'alice') == ['admins']


def test_nothing_written_when_unchanged(synced):
    request(synced, 'developers')
    synced.log()
    env = synced.env()
    from trac.perm import PermissionSystem
    store = PermissionSystem(env)
    calls = []
    grant, revoke = store.grant_permission, store.revoke_permission
    store.grant_permission = lambda *a: calls.append(a) or grant(*a)
    store.revoke_permission = lambda *a: calls.append(a) or revoke(*a)
    from remoteuserauth.groupsync import GroupSynchronizer
    for _ in range(3):
        assert GroupSynchronizer(env).synchronize(
            'alice', {'developers'}) == ([], [])
    assert calls == []
    for _ in range(3):
        request(synced, 'developers')
    assert 'group' not in synced.log()


def test_missing_header_changes_nothing(synced):
    request(synced, 'developers')
    request(synced, None)
    assert memberships(synced, 'alice') == ['developers']


def test_untrusted_peer_changes_nothing(synced):
    synced.configure('remoteuser', header='')
    request(synced, 'developers', peer='192.0.2.1', remote_user='alice')
    assert memberships(synced, 'alice') == []


def test_server_variable_counts_from_any_peer(synced):
    """mod_auth_openidc's OIDC_CLAIM_groups under mod_wsgi, where the
    peer is the browser and the name is REMOTE_USER."""
    synced.configure('remoteuser', header='',
                     groups_header='env:OIDC_CLAIM_groups')
    request(synced, None, peer='192.0.2.1', remote_user='alice',
            environ={'OIDC_CLAIM_groups': 'developers,outsiders'})
    assert memberships(synced, 'alice') == ['developers']
    # A client's header of that name is no server variable.
    synced.request('/', peer='192.0.2.1', remote_user='alice',
                   headers=[('OIDC-CLAIM-groups', '')])
    assert memberships(synced, 'alice') == ['developers']


def test_permission_in_sync_groups_is_refused_and_logged(make_env):
    env = make_env(('remoteuser', 'groups_header', 'X-Groups'),
                   ('remoteuser', 'sync_groups', 'TRAC_ADMIN'))
    request(env, 'TRAC_ADMIN')
    assert memberships(env, 'alice') == []
    assert "'TRAC_ADMIN' is a permission" in env.log()


def test_race_lost_is_logged_and_retried(synced):
    """Another request added the membership first: no error page, and
    the next request finds nothing to do."""
    env = synced.env()
    from remoteuserauth.groupsync import GroupSynchronizer
    sync = GroupSynchronizer(env)
    from trac.perm import PermissionSystem
    perms = PermissionSystem(env).get_all_permissions()
    env.db_transaction("INSERT INTO permission VALUES ('alice', 'testers')")
    # The cached permissions still say alice is not a tester.
    assert ('alice', 'testers') not in perms
    added, removed = sync.synchronize('alice', {'testers'})
    assert (added, removed) == ([], [])
    assert 'groups of alice were synced by a concurrent request' in \
        synced.log()
    request(synced, 'testers')
    assert memberships(synced, 'alice') == ['testers']


# Rule 12 through real requests: an identity provider's group whose name
# is a managed group's plus padding never grants it, in a header or in a
# signed assertion's groups claim.
PADDINGS = ['\u00a0', '\u3000', '\u2028', '\u0085', '\x1f', '\x0b', '\t',
            '\u200b', '\ufeff']


@pytest.mark.parametrize('pad', PADDINGS, ids=[ascii(p) for p in PADDINGS])
def test_padded_group_in_a_header_grants_nothing(synced, pad):
    wire = ('developers' + pad).encode('utf-8').decode('latin-1')
    request(synced, wire + ',testers')
    assert memberships(synced, 'alice') == ['testers']
    assert 'ignored the group entry' in synced.log()
    request(synced, pad + 'developers')
    assert memberships(synced, 'alice') == []


@pytest.mark.parametrize('pad', PADDINGS, ids=[ascii(p) for p in PADDINGS])
def test_padded_group_in_a_claim_grants_nothing(make_env, tmp_path, pad):
    from jwtsite import get, options, token
    from tokens import Signer, write_jwks
    signer = Signer('ec')
    env = make_env(*options(write_jwks(tmp_path / 'keys.json', signer),
                            ('remoteuser', 'jwt_groups_claim', 'groups'),
                            ('remoteuser', 'sync_groups', 'developers')))
    env.admin('upgrade')
    get(env, token(signer, groups=['developers' + pad, 'qa']))
    assert memberships(env, 'alice') == []
    get(env, token(signer, groups='developers' + pad + ',qa'))
    assert memberships(env, 'alice') == []
    get(env, token(signer, groups=[' developers ']))
    assert memberships(env, 'alice') == ['developers']


@pytest.mark.parametrize('change, expected', [
    (lambda env: env.admin('permission remove alice developers'),
     ['developers', 'testers']),
    (lambda env: env.configure('remoteuser',
                               sync_groups='developers, testers, staff'),
     ['developers', 'staff', 'testers']),
], ids=['permission-elsewhere', 'sync_groups'])
def test_a_user_found_in_step_is_compared_again_after_a_change(
        synced, change, expected):
    """Once a user's memberships match the list, the next request with
    the same list compares nothing; a change of Trac's permissions or
    of sync_groups makes it compare again."""
    request(synced, 'developers|testers|staff')
    request(synced, 'developers|testers|staff')     # in step, remembered
    assert memberships(synced, 'alice') == ['developers', 'testers']
    change(synced)
    request(synced, 'developers|testers|staff')
    assert memberships(synced, 'alice') == expected


def test_users_found_in_step_are_bounded(synced, monkeypatch):
    from remoteuserauth import groupsync
    monkeypatch.setattr(groupsync, '_MAX_IN_STEP', 5)
    sync = groupsync.GroupSynchronizer(synced.env())
    for number in range(12):
        sync.synchronize('user%d' % number, frozenset())
        assert len(sync._in_step[1]) <= 5


def _pairs_held(*roots):
    """The distinct (subject, action) pairs reachable from `roots`."""
    import gc
    seen, pairs, todo = set(), set(), list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or not isinstance(
                obj, (tuple, list, dict, set, frozenset)):
            continue
        seen.add(id(obj))
        if type(obj) is tuple and len(obj) == 2 and \
                all(type(x) is str for x in obj):
            pairs.add(id(obj))
        todo.extend(gc.get_referents(obj))
    return len(pairs)


def test_users_found_in_step_keep_no_old_permissions(synced):
    """What a user was found in step with is forgotten when Trac's
    permissions change, not kept beside the user: each change makes
    Trac's table anew, and a thousand users found in step must not hold
    a thousand copies of it (the soak's worker grew by 140 kB for each
    new user)."""
    from trac.perm import PermissionSystem
    from remoteuserauth.groupsync import GroupSynchronizer
    env = synced.env()
    sync = GroupSynchronizer(env)
    perm = PermissionSystem(env)
    for number in range(30):
        sync.synchronize('user%d' % number, frozenset())
        perm.grant_permission('bystander%d' % number, 'WIKI_VIEW')
    rows = len(perm.get_all_permissions())
    sync.synchronize('last', frozenset())
    assert _pairs_held(sync._in_step, sync._held) <= rows
