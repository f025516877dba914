"""Signed assertions through real requests (dispatch_request) on real
environments: a JWKS file, a key server on loopback, tokens shaped like
each product's, bindings, the check command and the admin panel."""


import pytest

from conftest import cookies, logged_in_as
from remoteuserauth import assertion
from jwtsite import ISS, UNTRUSTED, get, options, token
from tokens import FakeClock, JWKSServer, Signer, shaped, write_jwks

@pytest.fixture
def signer():
    return Signer('ec')


@pytest.fixture
def jwt_env(make_env, tmp_path, signer):
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys))
    env.keys = keys
    return env


def test_valid_assertion_from_any_peer_and_nothing_else(jwt_env, signer):
    for peer in (UNTRUSTED, '127.0.0.1'):
        assert logged_in_as(get(jwt_env, token(signer), peer=peer)) == \
            'alice'
    # header and REMOTE_USER are not read, even from a trusted proxy.
    r = get(jwt_env, headers=[('Remote-User', 'bob')], peer='127.0.0.1',
            remote_user='bob')
    assert logged_in_as(r) is None
    assert 'names come only from a verified assertion' in jwt_env.log()


def test_invalid_assertion_vetoes_the_cookie(jwt_env, signer):
    cookie = jwt_env.stale_cookie('bob')
    assert logged_in_as(get(jwt_env, headers=[cookie])) == 'bob'
    jwt_env.log()
    for value in (token(Signer('ec', kid=signer.kid)),
                  token(signer, exp=1000), token(signer, aud='other'),
                  'not-a-token'):
        r = get(jwt_env, value, headers=[cookie])
        assert logged_in_as(r) is None
    log = jwt_env.log()
    for reason in ('signature does not verify', 'expired',
                   'jwt_audience', 'not a signed JWT'):
        assert reason in log
    assert 'Traceback' not in log


def test_login_without_an_assertion_names_the_assertion_header(jwt_env):
    r = get(jwt_env, path='/login', headers=[
        ('Remote-User', 'alice'), ('Referer', 'http://backend:8000/wiki/X')],
        peer='127.0.0.1')
    assert r.status == 302
    assert logged_in_as(get(jwt_env)) is None
    log = jwt_env.log()
    assert '/login without a user name from the front end' in log
    # The advice fits the mode: header and REMOTE_USER are not read here.
    assert 'pass a signed assertion in header X-Assertion' in log
    assert 'REMOTE_USER' not in log.split('/login without')[1].split(
        '\n')[0]


def test_refusals_are_logged_once(jwt_env, signer):
    jwt_env.log()
    expired = token(signer, exp=1000)
    for _ in range(10):
        get(jwt_env, expired)
    assert jwt_env.log().count('the token expired') == 1


def test_login_and_profile_from_claims(make_env, tmp_path, signer):
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys, ('remoteuser', 'jwt_name_claim', 'name'),
                            ('remoteuser', 'jwt_groups_claim', 'groups'),
                            ('remoteuser', 'sync_groups', 'developers')))
    env.admin('permission add developers WIKI_ADMIN')
    value = token(signer, name='Alice Liddell', email='alice@example.com',
                  groups=['developers', 'admins'])
    r = get(env, value, path='/login',
            headers=[('Referer', 'http://backend:8000/wiki/SandBox')])
    assert r.status == 302 and 'trac_auth' in cookies(r)
    rows = dict(env.db("SELECT name, value FROM session_attribute "
                       "WHERE sid='alice'"))
    assert rows == {'name': 'Alice Liddell', 'email': 'alice@example.com'}
    assert env.db("SELECT action FROM permission WHERE username='alice'") \
        == [('developers',)]
    log = env.log()
    assert 'added alice to group developers (listed in claim groups)' in log
    assert "email of alice set to 'alice@example.com' (from claim email)" \
        in log


def test_key_file_rotation_through_requests(jwt_env, signer):
    assert logged_in_as(get(jwt_env, token(signer))) == 'alice'
    new = Signer('ec')
    write_jwks(jwt_env.keys, new)
    assert logged_in_as(get(jwt_env, token(new))) == 'alice'
    assert logged_in_as(get(jwt_env, token(signer))) is None


def test_key_server_rotation_limit_unreachable_and_garbage(make_env):
    old, new = Signer('rsa'), Signer('ec')
    with JWKSServer(old) as server:
        env = make_env(*options(server.url,
                                ('remoteuser', 'jwt_refresh', '60')))
        assert logged_in_as(get(env, token(old))) == 'alice'
        assert server.requests == 1
        # The key source of the environment the requests use, on a
        # clock the test moves.
        from remoteuserauth.settings import RemoteUserSettings
        keys = RemoteUserSettings(env.env()).verifier().keys
        clock = FakeClock()
        keys.clock = clock
        # Unknown keys within jwt_refresh: no fetch.
        for _ in range(5):
            assert logged_in_as(get(env, token(Signer('ec')))) is None
        assert server.requests == 1
        server.set_keys(old, new)
        clock.advance(61)
        assert logged_in_as(get(env, token(new))) == 'alice'
        assert server.requests == 2
        server.serve(b'<html>oops</html>')
        clock.advance(61)
        assert logged_in_as(get(env, token(Signer('ec')))) is None
        assert server.requests == 3
        assert logged_in_as(get(env, token(new))) == 'alice'
    # Stopped: the cached keys still verify.
    clock.advance(61)
    assert logged_in_as(get(env, token(Signer('ec')))) is None
    assert logged_in_as(get(env, token(old))) == 'alice'
    assert keys.loads == 4
    log = env.log()
    assert 'neither a JSON Web Key Set nor PEM' in log
    assert 'Connection refused' in log
    assert 'stay in use' in log
    assert 'Traceback' not in log


def test_unreachable_keys_from_the_start(make_env, signer):
    with JWKSServer(signer) as server:
        url = server.url
    env = make_env(*options(url))
    cookie = env.stale_cookie('bob')
    r = get(env, token(signer), headers=[cookie])
    assert logged_in_as(r) is None
    assert 'no key is loaded' in env.log()


@pytest.mark.parametrize('product', ['pomerium', 'cloudflare', 'iap',
                                     'oauth2-proxy', 'mod_auth_openidc'])
def test_product_shaped_tokens_with_presets(make_env, tmp_path, product):
    token = shaped(product, user='alice', name='Alice')
    keys = write_jwks(tmp_path / 'keys.json', token.signer)
    env = make_env(('remoteuser', 'jwt_preset', product),
                   ('remoteuser', 'jwt_keys', keys),
                   ('remoteuser', 'jwt_issuer', token.issuer),
                   ('remoteuser', 'jwt_audience', token.audience),
                   ('remoteuser', 'local_domains', 'example.com'))
    r = env.request('/wiki/WikiStart', peer=UNTRUSTED,
                    environ=token.environ())
    assert r.status == 200
    assert 'logged in as' in r.body
    assert env.db("SELECT sid FROM session WHERE authenticated=1") == \
        [('alice',)]
    # The same token in a header the preset does not read: nobody.
    other = 'X-Forwarded-Email' if token.header != 'X-Forwarded-Email' \
        else 'X-Other'
    r = env.request('/wiki/WikiStart', peer='127.0.0.1',
                    headers=[(other, token.value),
                             ('Remote-User', 'alice')])
    assert logged_in_as(r) is None


def test_check_command_explains_a_token(jwt_env, signer):
    value = token(signer, email='alice@example.com')
    out = jwt_env.admin('remoteuser', 'check', UNTRUSTED, value)
    lines = out.splitlines()
    assert lines[0].startswith('assertion in X-Assertion')
    assert any(line.startswith('claims: ') and '"sub": "alice"' in line
               for line in lines)
    for name in ('format', 'algorithm', 'key', 'signature', 'exp', 'iss',
                 'aud'):
        assert any(line.startswith('check %s: ok' % name) for line in lines)
    assert 'would bind it' in out
    assert lines[-1] == 'accepted: alice'
    out = jwt_env.admin('remoteuser', 'check', UNTRUSTED,
                        token(signer, aud='elsewhere'))
    assert 'claims (not verified)' in out
    assert 'check aud: FAILED' in out
    assert out.splitlines()[-1].startswith(
        "refused: the token's audience (aud) 'elsewhere'")
    assert 'rule: wrong-audience, in assertion' in out
    out = jwt_env.admin('remoteuser', 'check', UNTRUSTED, 'garbage')
    assert 'rule: malformed' in out.splitlines()[-1]
    # Nothing was recorded by checking.
    assert jwt_env.db("SELECT * FROM remoteuser_binding") == []


def test_check_command_with_bearer_and_binding(make_env, tmp_path, signer):
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys, ('remoteuser', 'jwt_header',
                                   'Authorization')))
    r = env.request('/', peer=UNTRUSTED, headers=[
        ('Authorization', 'Bearer ' + token(signer, sub='alice'))])
    assert logged_in_as(r) == 'alice'
    out = env.admin('remoteuser', 'check', '10.1.1.1', token(signer))
    assert "binding: alice is bound to the account 'alice'" in out
    assert out.splitlines()[-1] == 'accepted: alice'
    out = env.admin('remoteuser', 'check', '10.1.1.1',
                    '"Bearer %s"' % token(signer, iss=ISS, sub='x'))
    assert out.splitlines()[-1] == 'accepted: x'


def test_admin_panel_shows_the_token_and_keys(make_env, tmp_path, signer):
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys))
    env.admin('permission add alice TRAC_ADMIN')
    r = get(env, token(signer), path='/admin/general/remoteuser')
    assert r.status == 200
    panel = r.body
    assert 'remoteuser-assertion' in panel
    assert 'check signature: ok: verified' in panel
    assert signer.kid in panel and 'EC P-256' in panel
    assert 'accepted: alice' in panel
    # The token itself is never shown.
    assert token(signer)[:40] not in panel


@pytest.mark.parametrize('extra, warning, user', [
    ([('remoteuser', 'jwt_issuer', '')], 'jwt_issuer is empty', None),
    ([('remoteuser', 'jwt_audience', '')], 'jwt_audience is empty', None),
    ([('remoteuser', 'jwt_keys', '')], 'jwt_keys is empty', None),
    ([('remoteuser', 'jwt_keys', 'http://idp.example.com/keys')],
     'is not an https:// URL', None),
    ([('remoteuser', 'jwt_preset', 'pomerum')], "'pomerum' is not one of",
     None),
    # The other entries still apply.
    ([('remoteuser', 'jwt_algorithms', 'HS256, none, ES256')],
     'never accepted', 'alice'),
    ([('remoteuser', 'jwt_leeway', 'soon')], 'jwt_leeway', 'alice'),
    # No assertion can be read: nobody, and Trac's cookie login decides.
    ([('remoteuser', 'jwt_header', 'X Assertion')], 'jwt_header', 'bob'),
])
def test_broken_jwt_options_keep_serving(make_env, tmp_path, signer, extra,
                                         warning, user):
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys, *extra))
    cookie = env.stale_cookie('bob')
    r = get(env, token(signer), headers=[cookie])
    assert r.status == 200
    log = env.log()
    assert warning in log and 'Traceback' not in log
    assert logged_in_as(r) == user
    out = env.admin('remoteuser', 'check', UNTRUSTED, token(signer))
    assert warning in out


def test_without_pyjwt_no_assertion_is_believed(make_env, tmp_path, signer,
                                                monkeypatch):
    monkeypatch.setattr(assertion.verify, 'HAVE_PYJWT', False)
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys))
    r = get(env, token(signer), headers=[('Remote-User', 'alice')],
            peer='127.0.0.1')
    assert r.status == 200 and logged_in_as(r) is None
    assert 'TracRemoteUserAuth[jwt]' in env.log()
