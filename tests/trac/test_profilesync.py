"""The display name and e-mail the front end hands over, stored in the
session when they change (`remoteuserauth.profilesync`), through real
requests."""

UNTRUSTED = '192.0.2.10'


def test_profile_sync_writes_only_changes(make_env):
    env = make_env(('remoteuser', 'name_header', 'X-Remote-Name'),
                   ('remoteuser', 'email_header', 'X-Remote-Email'))
    latin1 = 'José Díaz'.encode('utf-8').decode('latin-1')
    headers = [('Remote-User', 'jose'), ('X-Remote-Name', latin1),
               ('X-Remote-Email', 'jose@example.com')]
    env.log()
    for _ in range(3):
        assert env.request('/', headers=headers).status == 200
    rows = dict(env.db("SELECT name, value FROM session_attribute "
                       "WHERE sid='jose' AND authenticated=1"))
    assert rows['name'] == 'José Díaz'
    assert rows['email'] == 'jose@example.com'
    log = env.log()
    assert log.count('name of jose set to') == 1
    assert log.count('email of jose set to') == 1
    env.request('/', headers=[('Remote-User', 'jose'),
                              ('X-Remote-Email', 'new@example.com')])
    rows = dict(env.db("SELECT name, value FROM session_attribute "
                       "WHERE sid='jose' AND authenticated=1"))
    assert rows == {'name': 'José Díaz', 'email': 'new@example.com'}


def test_profile_headers_from_untrusted_peers_are_ignored(make_env):
    env = make_env(('remoteuser', 'email_header', 'X-Remote-Email'),
                   ('remoteuser', 'header', ''))
    env.request('/', remote_user='alice', peer=UNTRUSTED,
                headers=[('X-Remote-Email', 'evil@example.com')])
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == []


def test_profile_server_variables_count_from_any_peer(make_env):
    """Apache mod_auth_openidc under mod_wsgi: REMOTE_USER and the
    claims are the server's own variables; the peer is the browser."""
    env = make_env(('remoteuser', 'email_header', 'env:OIDC_CLAIM_email'),
                   ('remoteuser', 'header', ''))
    env.request('/', remote_user='alice', peer=UNTRUSTED,
                environ={'OIDC_CLAIM_email': 'alice@example.com'},
                headers=[('OIDC-CLAIM-email', 'evil@example.com')])
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == [('alice@example.com',)]


def test_bad_profile_value_is_logged_not_stored(make_env):
    env = make_env(('remoteuser', 'email_header', 'X-Remote-Email'))
    r = env.request('/', headers=[('Remote-User', 'alice'),
                                  ('X-Remote-Email', 'not an address')])
    assert r.status == 200
    assert 'ignored the email of alice' in env.log()
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == []
