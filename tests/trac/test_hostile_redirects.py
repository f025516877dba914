"""Hostile redirects: a link that splits the response at /login, sends
the browser to http on an https site, or out of the site.

Trac's own LoginModule copies `referer` into Location as it is; the
plugin must hold every path it lets through: /login with and without a
name from the front end, /logout (Trac's _redirect_back), and its own
redirects."""

import re
from urllib.parse import quote

import pytest

from conftest import cookies, header

BASE = 'https://trac.example.com/prefix'
HOME = BASE

# Each value is what a crafted link puts in ?referer=, raw; the table
# says where the browser may be sent instead (None: Trac itself answers
# 400 Bad Request for arguments holding NUL).
HOSTILE_REFERERS = [
    ('/prefix/wiki\r\nSet-Cookie: trac_auth=planted', HOME),
    ('/prefix/wiki\nSet-Cookie: trac_auth=planted', HOME),
    ('/prefix/wiki\rLocation: https://evil.example/', HOME),
    ('/prefix/wiki\x00', None),
    ('/prefix/wiki\x0bx', HOME),
    ('/prefix/wiki\x85x', HOME),          # NEL, a C1 line break
    ('/prefix/wiki\u560ax', BASE + '/wiki%E5%98%8Ax'),  # truncates to LF
    ('http://trac.example.com/prefix/wiki/X', BASE + '/wiki/X'),
    ('HTTP://TRAC.EXAMPLE.COM/prefix/wiki/X',
     'https://TRAC.EXAMPLE.COM/prefix/wiki/X'),
    ('https://evil.example/prefix/wiki', HOME),
    ('//evil.example/prefix/wiki', HOME),
    ('/\\evil.example/prefix', HOME),
    ('https://trac.example.com@evil.example/prefix/x', HOME),
    ('https://trac.example.com.evil.example/prefix', HOME),
    ('https:evil.example', HOME),
    ('javascript:alert(1)', HOME),
    ('/other/path', HOME),
]


def no_control_in_headers(response):
    for name, value in response.headers:
        assert not re.search(r'[\x00-\x1f\x7f-\x9f]', name + value), \
            (name, value)


def location(response):
    return header(response, 'Location')


def assert_sent_to(response, expected, status=302, fallback=None):
    """`response` redirects to `expected` (or `fallback`), or, where
    `expected` is None, is Trac's 400 page; never a split or a 500."""
    no_control_in_headers(response)
    assert 'planted' not in str(response.headers)
    if expected is None:
        assert response.status == 400
        return
    assert response.status == status
    assert location(response) in (expected, fallback or expected)


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    from conftest import TracEnv
    return TracEnv(str(tmp_path_factory.mktemp('site') / 'env'),
                   [('trac', 'base_url', BASE)])


@pytest.mark.parametrize('referer, expected', HOSTILE_REFERERS)
def test_login_with_a_name_from_the_front_end(site, referer, expected):
    r = site.request('/login?referer=' + quote(referer, safe=''),
                     headers=[('Remote-User', 'alice')])
    # Trac's own redirect decides here; it may fall back to the site.
    assert_sent_to(r, expected, fallback=HOME)
    if expected is not None:
        assert cookies(r)['trac_auth'].value != 'planted'


@pytest.mark.parametrize('referer, expected', HOSTILE_REFERERS)
def test_login_without_a_name(site, referer, expected):
    r = site.request('/login?referer=' + quote(referer, safe=''))
    assert_sent_to(r, expected, fallback=HOME)


@pytest.mark.parametrize('referer, expected', HOSTILE_REFERERS)
def test_login_as_referer_header(site, referer, expected):
    """Browsers send Referer themselves; a proxy or a client that can
    set it may send anything, latin-1 decoded."""
    raw = referer.encode('utf-8').decode('latin-1')
    r = site.request('/login', headers=[('Remote-User', 'alice'),
                                        ('Referer', raw)])
    assert r.status == 302
    no_control_in_headers(r)
    assert location(r).lower().startswith(HOME)


@pytest.mark.parametrize('referer, expected', HOSTILE_REFERERS)
def test_logout_through_trac_s_own_redirect(site, referer, expected):
    cookie = site.stale_cookie('alice')[1]
    r = site.request('/logout', method='POST', headers=[
        ('Cookie', cookie + '; trac_form_token=tok')],
        body=('__FORM_TOKEN=tok&referer=' +
              quote(referer, safe='')).encode())
    assert_sent_to(r, expected, status=303, fallback=HOME)


def test_login_inside_the_site_still_goes_back(site):
    r = site.request('/login?referer=' + quote(BASE + '/wiki/SandBox'),
                     headers=[('Remote-User', 'alice')])
    assert location(r) == BASE + '/wiki/SandBox'
    r = site.request('/login?referer=/prefix/ticket/1%3Fx%3D1',
                     headers=[('Remote-User', 'alice')])
    assert location(r) == BASE + '/ticket/1?x=1'


def test_logout_url_outside_the_site_is_allowed(make_env):
    env = make_env(('trac', 'base_url', BASE),
                   ('remoteuser', 'logout_url', 'https://sso.example/out'))
    cookie = env.stale_cookie('alice')[1]
    r = env.request('/logout', method='POST', headers=[
        ('Cookie', cookie + '; trac_form_token=tok')],
        body=b'__FORM_TOKEN=tok')
    assert location(r) == 'https://sso.example/out'


def test_refused_redirect_is_logged_once(make_env):
    site = make_env(('trac', 'base_url', BASE))
    site.log()
    for _ in range(3):
        site.request('/login?referer=/prefix/wiki%0d%0aX:1',
                     headers=[('Remote-User', 'alice')])
    log = site.log()
    assert log.count('was sent to %s instead: it holds a control '
                     'character' % HOME) == 1
    assert 'Traceback' not in log


def test_without_base_url_the_backend_site_is_held(trac_env):
    r = trac_env.request('/login?referer=%2Fwiki%0d%0aSet-Cookie:x=1',
                         headers=[('Remote-User', 'alice')])
    assert location(r) == 'http://backend:8000'
    r = trac_env.request('/login?referer=http://evil.example/',
                         headers=[('Remote-User', 'alice')])
    assert location(r) == 'http://backend:8000'


def test_downgrade_from_trusted_forwarded_https(make_env):
    env = make_env(('remoteuser', 'trust_forwarded', 'true'))
    r = env.request('/login?referer=http://trac.example.com/wiki/X',
                    headers=[('Remote-User', 'alice'),
                             ('X-Forwarded-Proto', 'https'),
                             ('X-Forwarded-Host', 'trac.example.com')])
    assert location(r) == 'https://trac.example.com/wiki/X'
