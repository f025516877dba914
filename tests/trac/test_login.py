"""`/login` and `/logout` behind the front end (`remoteuserauth.login`),
through real requests: the cookie a login leaves, no error page without
a name, the way back, the single sign-on's sign-out page."""

import re

import pytest

from conftest import cookies, header, logged_in_as


def test_login_with_header_sets_cookie_and_goes_back(trac_env):
    r = trac_env.request('/login', headers=[
        ('Remote-User', 'alice'),
        ('Referer', 'http://backend:8000/wiki/SandBox')])
    assert r.status == 302
    assert header(r, 'Location') == 'http://backend:8000/wiki/SandBox'
    jar = cookies(r)
    assert jar['trac_auth']['path'] == '/'
    rows = trac_env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                       (jar['trac_auth'].value,))
    assert rows == [('alice',)]


def test_login_records_the_cleaned_name(make_env):
    env = make_env(('remoteuser', 'header', ''),
                   ('remoteuser', 'local_domains', 'EXAMPLE'))
    r = env.request('/login', remote_user='EXAMPLE\\alice')
    assert r.status == 302
    jar = cookies(r)
    assert env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                  (jar['trac_auth'].value,)) == [('alice',)]
    r = env.request('/', headers=[
        ('Cookie', 'trac_auth=' + jar['trac_auth'].value)])
    assert logged_in_as(r) == 'alice'


def test_login_without_a_name_is_no_error_page(trac_env):
    for headers in ([], [('Remote-User', '(null)')],
                    [('Remote-User', 'alice,bob')]):
        r = trac_env.request('/login', headers=headers + [
            ('Referer', 'http://backend:8000/wiki/SandBox')])
        assert r.status == 302, r.body[:300]
        assert header(r, 'Location') == 'http://backend:8000/wiki/SandBox'
    log = trac_env.log()
    assert 'Authentication information not available' not in log
    assert '/login without a user name from the front end' in log
    assert 'pass the name in [remoteuser] header Remote-User or in ' \
        'REMOTE_USER' in log


def test_login_ignores_a_foreign_referer(trac_env):
    r = trac_env.request('/login', headers=[
        ('Remote-User', 'alice'), ('Referer', 'https://evil.example/x')])
    assert header(r, 'Location') == 'http://backend:8000'


def test_the_warning_is_shown_after_a_failed_login(trac_env):
    r = trac_env.request('/login')
    jar = cookies(r)
    r = trac_env.request('/', headers=[
        ('Cookie', 'trac_session=%s' % jar['trac_session'].value)])
    assert 'did not identify you' in r.body


def logout(env, headers):
    r = env.request('/wiki/WikiStart', headers=headers)
    token = re.search(r'name="__FORM_TOKEN" type="hidden" value="(\w+)"',
                      r.body).group(1)
    form = cookies(r)['trac_form_token'].value
    extra = [h for h in headers if h[0] != 'Cookie']
    cookie = '; '.join([h[1] for h in headers if h[0] == 'Cookie'] +
                       ['trac_form_token=' + form])
    return env.request('/logout', method='POST',
                       body=('__FORM_TOKEN=%s' % token).encode(),
                       headers=extra + [('Cookie', cookie)])


def test_logout_goes_to_logout_url(make_env):
    env = make_env(('remoteuser', 'logout_url',
                    'https://sso.example.com/logout'))
    r = logout(env, [('Remote-User', 'alice')])
    assert r.status == 303
    assert header(r, 'Location') == 'https://sso.example.com/logout'
    assert cookies(r)['trac_auth']['expires']


def test_logout_without_logout_url_goes_home(trac_env):
    cookie = trac_env.stale_cookie('bob')
    r = logout(trac_env, [cookie])
    assert r.status == 303
    assert header(r, 'Location') == 'http://backend:8000'
    assert trac_env.db("SELECT name FROM auth_cookie") == []


def test_bad_logout_url_is_logged_and_ignored(make_env):
    env = make_env(('remoteuser', 'logout_url', 'javascript:alert(1)'))
    r = logout(env, [('Remote-User', 'alice')])
    assert header(r, 'Location') == 'http://backend:8000'
    assert 'logout_url' in env.log()


@pytest.mark.parametrize('value', ['admins', 'anonymous', '(null)',
                                   'a,b'])
def test_refused_server_name_never_gets_a_trac_cookie(make_env, value):
    """Trac's /login records REMOTE_USER as it is: a refused name must
    not be left there, or the cookie would log it in later."""
    env = make_env(('remoteuser', 'header', ''))
    env.admin('permission add admins TRAC_ADMIN')
    env.admin('permission add carol admins')
    r = env.request('/login', remote_user=value)
    assert r.status == 302
    assert 'trac_auth' not in cookies(r)
    assert env.db("SELECT name FROM auth_cookie") == []
