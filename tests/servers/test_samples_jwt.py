"""The signed-assertion samples: one trac.ini fragment per preset, with a
token shaped like its product's; and seed 002, oauth2-proxy in front of
Nginx Unit, served by a real gunicorn with the plugin from pip (Unit is
not packaged here: its JSON is checked and its application served with
the same environment, as tests/servers/test_nginx_unit.py does)."""

import json
import os
import shutil
import sys
import tomllib

import pytest

from conftest import TracEnv, logged_in_as
from deploy import deploy_static, render
from process import Server, free_port, http, python_env
from jwtsamples import FILLED, sample_options
from tokens import JWKSServer, Signer, product_signer, shaped

# What the samples are filled in with, per preset: the placeholders, and
# the issuer and audience they amount to.
@pytest.mark.parametrize('preset', sorted(FILLED))
def test_preset_sample(tmp_path, preset):
    values, derived = FILLED[preset]
    signer = product_signer(preset)
    with JWKSServer(signer) as server:
        if derived is None:
            values = dict(values, JWKS_URI=server.url)
        options = sample_options('jwt-%s.ini' % preset,
                                 str(tmp_path / 'sample.ini'), **values)
        env = TracEnv(str(tmp_path / 'env'), options)
        env.admin('permission add developers WIKI_ADMIN')
        from remoteuserauth.settings import RemoteUserSettings
        auth = RemoteUserSettings(env.env())
        assert auth.settings().problems == ()
        source = auth.verifier().keys.source
        if derived is not None:
            # The key URL the preset derives is the product's; the test
            # serves the same keys on loopback instead.
            assert source == derived
            env.configure('remoteuser', jwt_keys=server.url)
        else:
            assert source == server.url
        jwt = auth.settings().assertion
        token = shaped(preset, user='alice', signer=signer,
                       issuer=auth.verifier().issuer,
                       audience=auth.verifier().audience[0],
                       groups=['developers'])
        r = env.request('/wiki/WikiStart', peer='203.0.113.5',
                        environ=token.environ())
        assert r.status == 200 and 'logged in as' in r.body
        assert jwt.header == token.header
        assert env.db("SELECT sid FROM session WHERE authenticated=1") == \
            [('alice',)]
        synced = env.db("SELECT action FROM permission WHERE "
                        "username='alice'")
        assert synced == ([('developers',)] if 'SYNC_GROUPS' in values
                          else [])
        forged = shaped(preset, user='alice', issuer=token.issuer,
                        audience=token.audience,
                        signer=Signer(signer.kind, kid=signer.kid))
        cookie = env.stale_cookie('alice')
        r = env.request('/wiki/WikiStart', environ=forged.environ(),
                        headers=[cookie])
        assert logged_in_as(r) is None


def test_seed_002_oauth2_proxy_in_front_of_nginx_unit(public_tmp,
                                                       plugin_site):
    signer = Signer('rsa')
    port = free_port()
    backend = free_port()
    with JWKSServer(signer) as idp:
        issuer = 'https://idp.example.com/realms/example'
        proxy = tomllib.loads(open(render(
            'oauth2-proxy.cfg', os.path.join(public_tmp, 'oauth2-proxy.cfg'),
            PORT=port, ISSUER=issuer, CLIENT_ID='trac',
            CLIENT_SECRET='s3cret', COOKIE_SECRET='x' * 32,
            EMAIL_DOMAIN='example.com')).read())
        assert proxy['pass_authorization_header'] is True
        assert proxy['upstreams'] == ['http://127.0.0.1:%d/' % port]
        env = TracEnv(os.path.join(public_tmp, 'env'), sample_options(
            'jwt-oauth2-proxy.ini', os.path.join(public_tmp, 'trac.ini'),
            ISSUER=proxy['oidc_issuer_url'], CLIENT_ID=proxy['client_id'],
            JWKS_URI=idp.url, EMAIL_DOMAIN=proxy['email_domains'][0],
            SYNC_GROUPS='developers'))
        static = os.path.join(public_tmp, 'static')
        os.makedirs(static)
        shutil.move(deploy_static(env.path, os.path.join(public_tmp, 'dep')),
                    os.path.join(static, 'chrome'))
        with open(render('unit.json', os.path.join(public_tmp, 'unit.json'),
                         PORT=port, STATIC=static, VENV=sys.prefix,
                         TRAC_ENV=env.path)) as f:
            unit = json.load(f)
        assert list(unit['listeners']) == ['127.0.0.1:%d' % port]
        app = unit['applications']['trac']
        server = Server([os.path.join(app['home'], 'bin', 'gunicorn'),
                         '--bind', '127.0.0.1:%d' % backend, '--workers', '2',
                         '%s:%s' % (app['module'], app['callable'])],
                        backend, os.path.join(public_tmp, 'gunicorn.out'),
                        env=python_env(plugin_site, **app['environment']),
                        cwd=app['path'])
        try:
            claims = shaped('oauth2-proxy', user='alice', signer=signer,
                            issuer=issuer, audience='trac',
                            groups=['developers'])
            # The proxy may be anywhere: the signature decides.
            for source in ('127.0.0.2', '127.0.0.1'):
                r = http(backend, '/wiki/WikiStart',
                         [('Authorization', claims.value)], source=source)
                assert r.status == 200 and 'logged in as' in r.body, r.body
            assert 1 <= idp.requests <= 2    # at most one per worker
            forged = shaped('oauth2-proxy', user='alice', issuer=issuer,
                            audience='trac',
                            signer=Signer('rsa', kid=signer.kid))
            for headers in ([('Authorization', forged.value)],
                            [('Remote-User', 'alice'),
                             ('X-Forwarded-User', 'alice')],
                            [('Authorization', 'Basic YWxpY2U6eA==')],
                            [('Authorization', claims.value),
                             ('Authorization', claims.value)]):
                r = http(backend, '/wiki/WikiStart', headers)
                assert r.status == 200 and logged_in_as(r) is None, headers
        finally:
            server.stop()
    log = env.log()
    assert 'refused the user name in the assertion' in log
    assert 'Traceback' not in log
    assert env.db("SELECT action FROM permission WHERE username='alice'") \
        == [('developers',)]
