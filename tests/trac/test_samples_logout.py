"""Logout behind an identity-aware proxy: every assertion sample
(jwt-*.ini) sends the browser to its product's sign-out endpoint. Trac
forgetting the user is not enough there: the proxy sends its token with
the very next request, and the user is straight back in, unless its own
session ends.

The endpoints, from each product's documentation: oauth2-proxy
/oauth2/sign_out, Pomerium /.pomerium/sign_out on the route's domain,
Cloudflare Access /cdn-cgi/access/logout on the application's domain,
Google IAP's gcp-iap-mode=CLEAR_LOGIN_COOKIE on any path of the
application, mod_auth_openidc's redirect URI with ?logout=."""

import pytest

from conftest import TracEnv, cookies, header, logged_in_as
from jwtsamples import FILLED, sample_options
from tokens import JWKSServer, product_signer, shaped

BASE_URL = 'https://trac.example.com/prefix'
SIGN_OUT = {
    'oauth2-proxy': 'https://trac.example.com/oauth2/sign_out',
    'pomerium': 'https://trac.example.com/.pomerium/sign_out',
    'cloudflare': 'https://trac.example.com/cdn-cgi/access/logout',
    'iap': 'https://trac.example.com/?gcp-iap-mode=CLEAR_LOGIN_COOKIE',
    'mod_auth_openidc': 'https://trac.example.com/prefix/oidc/callback'
                        '?logout=https%3A%2F%2Ftrac.example.com%2Fprefix%2F',
}
FORM_TOKEN = 'logouttest0123456789abcd'


def test_every_assertion_sample_is_here():
    assert set(SIGN_OUT) == set(FILLED)


@pytest.mark.parametrize('preset', sorted(SIGN_OUT))
def test_logout_goes_to_the_products_sign_out(tmp_path, preset):
    values, derived = FILLED[preset]
    signer = product_signer(preset)
    with JWKSServer(signer) as server:
        if derived is None:
            values = dict(values, JWKS_URI=server.url)
        env = TracEnv(str(tmp_path / 'env'), sample_options(
            'jwt-%s.ini' % preset, str(tmp_path / 'sample.ini'), **values) +
            [('trac', 'base_url', BASE_URL),
             ('trac', 'show_full_names', 'false'),
             ('remoteuser', 'jwt_keys', server.url)])
        from remoteuserauth.settings import RemoteUserSettings
        verifier = RemoteUserSettings(env.env()).verifier()
        token = shaped(preset, user='alice', signer=signer,
                       issuer=verifier.issuer,
                       audience=verifier.audience[0])
        r = env.request('/wiki/WikiStart', environ=token.environ(),
                        peer='203.0.113.5')
        assert logged_in_as(r) == 'alice'
        r = env.request('/login', environ=token.environ(),
                        peer='203.0.113.5')
        login = cookies(r)['trac_auth'].value
        r = env.request('/logout', method='POST', peer='203.0.113.5',
                        environ=token.environ(),
                        body=('__FORM_TOKEN=' + FORM_TOKEN).encode(),
                        headers=[('Cookie', 'trac_auth=%s; trac_form_token=%s'
                                  % (login, FORM_TOKEN))])
        assert r.status == 303, r.body[:500]
        assert header(r, 'Location') == SIGN_OUT[preset]
        assert cookies(r)['trac_auth']['expires']
        assert env.db("SELECT name FROM auth_cookie") == []
        # What the sign-out is for: the proxy's next request, token and
        # all, is alice again.
        r = env.request('/wiki/WikiStart', environ=token.environ(),
                        peer='203.0.113.5')
        assert logged_in_as(r) == 'alice'
