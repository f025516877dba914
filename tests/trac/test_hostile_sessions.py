"""Cookies and sessions: an https site's cookies are Secure, Trac's are
SameSite=Lax; a cookie the front end contradicts is retired; the front
end can be the only authority; [trac] ignore_auth_case is honoured."""

import pytest

from conftest import cookies, header, logged_in_as

HTTPS = 'https://trac.example.com/prefix'


def set_cookies(response):
    return [v for k, v in response.headers if k.lower() == 'set-cookie']


def attributes(cookie_line):
    return {part.strip().split('=')[0].lower()
            for part in cookie_line.split(';')[1:]}


# How the public site comes to be https: base_url, or a trusted proxy's
# X-Forwarded-Proto with trust_forwarded.
HTTPS_SITES = [
    ([('trac', 'base_url', HTTPS)], []),
    ([('remoteuser', 'trust_forwarded', 'true')],
     [('X-Forwarded-Proto', 'https')]),
]


@pytest.mark.parametrize('options, headers', HTTPS_SITES)
def test_every_cookie_of_an_https_site_is_secure(make_env, options,
                                                 headers):
    env = make_env(*options)
    # /login sets trac_auth; a first visit sets trac_session; a page
    # with a form sets the form token.
    r = env.request('/login', headers=[('Remote-User', 'alice')] + headers)
    anonymous = env.request('/newticket', headers=headers)
    env.configure('trac', secure_cookies='false')
    lines = set_cookies(r) + set_cookies(anonymous)
    names = {line.split('=')[0] for line in lines}
    assert {'trac_auth', 'trac_form_token', 'trac_session'} <= names, names
    for line in lines:
        assert 'secure' in attributes(line), line
        assert 'samesite' in attributes(line), line
        assert 'SameSite=Lax' in line


def test_untrusted_forwarded_https_does_not_make_cookies_secure(make_env):
    env = make_env(('remoteuser', 'trust_forwarded', 'true'))
    r = env.request('/login', peer='192.0.2.9', remote_user='alice',
                    headers=[('X-Forwarded-Proto', 'https')])
    line = [ln for ln in set_cookies(r) if ln.startswith('trac_auth=')][0]
    assert 'secure' not in attributes(line)
    assert 'SameSite=Lax' in line


def test_plain_http_site_keeps_lax_auth_cookie(trac_env):
    r = trac_env.request('/login', headers=[('Remote-User', 'alice')])
    line = [ln for ln in set_cookies(r) if ln.startswith('trac_auth=')][0]
    assert 'SameSite=Lax' in line and 'HttpOnly' in line


def test_error_pages_are_held_too(make_env):
    """A 404 never reaches the request filters: the guard comes from the
    authenticator."""
    env = make_env(('trac', 'base_url', HTTPS))
    r = env.request('/no/such/page')
    assert r.status == 404
    for line in set_cookies(r):
        assert 'secure' in attributes(line), line


# The stale cookie: bob's trac_auth in a browser the front end says is
# alice's.

@pytest.mark.parametrize('how', ['header', 'server'])
def test_contradicted_cookie_is_retired(make_env, how):
    env = make_env(('remoteuser', 'header', 'Remote-User' if how == 'header'
                    else ''))
    cookie = env.stale_cookie('bob')
    kwargs = {'headers': [cookie]}
    if how == 'header':
        kwargs['headers'] = [('Remote-User', 'alice'), cookie]
    else:
        kwargs['remote_user'] = 'alice'
    env.log()
    r = env.request('/wiki/WikiStart', **kwargs)
    assert logged_in_as(r) == 'alice'
    jar = cookies(r)
    assert jar['trac_auth'].value == ''
    assert jar['trac_auth']['expires']
    assert env.db("SELECT name FROM auth_cookie WHERE name='bob'") == []
    assert 'retired the login cookie of bob: the front end names alice' \
        in env.log()
    # A page the front end leaves alone no longer brings bob back.
    assert logged_in_as(env.request('/', headers=[cookie])) is None


def test_own_cookie_is_kept_and_not_queried_again(trac_env):
    r = trac_env.request('/login', headers=[('Remote-User', 'alice')])
    mine = ('Cookie', 'trac_auth=' + cookies(r)['trac_auth'].value)
    for _ in range(3):
        r = trac_env.request('/', headers=[('Remote-User', 'alice'), mine])
        assert logged_in_as(r) == 'alice'
        assert 'trac_auth' not in cookies(r)
    assert logged_in_as(trac_env.request('/', headers=[mine])) == 'alice'


def test_refused_name_leaves_the_cookie_alone(trac_env):
    """A veto keeps the request anonymous; it proves nothing about whose
    browser it is, so bob's cookie is not deleted."""
    cookie = trac_env.stale_cookie('bob')
    r = trac_env.request('/', headers=[('Remote-User', 'anonymous'), cookie])
    assert logged_in_as(r) is None
    assert trac_env.db("SELECT name FROM auth_cookie WHERE name='bob'")


def test_switch_user_at_login(trac_env):
    cookie = trac_env.stale_cookie('bob')
    r = trac_env.request('/login', headers=[('Remote-User', 'alice'), cookie])
    assert r.status == 302
    jar = cookies(r)
    assert trac_env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                       (jar['trac_auth'].value,)) == [('alice',)]
    assert trac_env.db("SELECT name FROM auth_cookie WHERE name='bob'") == []


# cookie_login = false: the front end is the only authority.

def test_without_cookie_login_only_the_front_end_counts(make_env):
    env = make_env(('remoteuser', 'cookie_login', 'false'))
    r = env.request('/login', headers=[('Remote-User', 'alice')])
    mine = ('Cookie', 'trac_auth=' + cookies(r)['trac_auth'].value)
    r = env.request('/', headers=[('Remote-User', 'alice'), mine])
    assert logged_in_as(r) == 'alice'
    # The identity provider disabled alice: the front end names nobody.
    r = env.request('/', headers=[mine])
    assert r.status == 200
    assert logged_in_as(r) is None
    assert cookies(r)['trac_auth'].value == ''
    assert env.db("SELECT name FROM auth_cookie WHERE name='alice'") == []


def test_cookie_login_broken_value_keeps_the_default(make_env):
    env = make_env(('remoteuser', 'cookie_login', 'nope'))
    cookie = env.stale_cookie('bob')
    r = env.request('/', headers=[cookie])
    assert r.status == 200 and logged_in_as(r) == 'bob'
    assert "cookie_login: 'nope' is not a boolean" in env.log()


# [trac] ignore_auth_case

@pytest.mark.parametrize('value', ['Alice', 'ALICE', 'alice'])
def test_ignore_auth_case_login(make_env, value):
    env = make_env(('trac', 'ignore_auth_case', 'true'))
    r = env.request('/login', headers=[('Remote-User', value)])
    assert r.status == 302, r.body[:300]
    assert env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                  (cookies(r)['trac_auth'].value,)) == [('alice',)]
    r = env.request('/', headers=[('Remote-User', value)])
    assert logged_in_as(r) == 'alice'


def test_ignore_auth_case_with_server_name_and_old_cookie(make_env):
    env = make_env(('trac', 'ignore_auth_case', 'true'),
                   ('remoteuser', 'header', ''))
    cookie = env.stale_cookie('alice')
    r = env.request('/login', remote_user='ALICE', headers=[cookie])
    assert r.status == 302
    assert header(r, 'Location')
    r = env.request('/', remote_user='Alice', headers=[cookie])
    assert logged_in_as(r) == 'alice'
