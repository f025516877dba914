"""TracAccountManager beside the front end in a real gunicorn, the
plugin loaded from its pip install through its entry points (the
`accountmanager` extra among them), Trac's LoginModule disabled as
TracAccountManager's documentation says, and also left enabled."""

from urllib.parse import urlencode

import pytest

from conftest import TracEnv, logged_in_as
from process import http
from accounts import AM, LOGIN_MODULE
from backends import start_gunicorn

ATTACKER = '127.0.0.2'      # a loopback address the site does not trust


def form(server, path, data, source=ATTACKER, cookie=''):
    body = urlencode(dict(data, __FORM_TOKEN='tok')).encode('utf-8')
    return http(server.port, path, [
        ('Cookie', 'trac_form_token=tok' + cookie),
        ('Content-Type', 'application/x-www-form-urlencoded')],
        method='POST', body=body, source=source)


def auth_cookie(reply):
    for line in reply.cookies():
        if line.startswith('trac_auth=') and not line.startswith(
                'trac_auth=;'):
            return '; ' + line.split(';')[0]
    return None


@pytest.fixture(params=sorted(LOGIN_MODULE))
def site(request, tmp_path, plugin_site):
    env = TracEnv(str(tmp_path / 'env'), AM + LOGIN_MODULE[request.param])
    env.admin('upgrade')
    server = start_gunicorn(env, plugin_site)
    http(server.port, '/login')     # TracAccountManager's set-up
    yield env, server, request.param
    server.stop()


def test_registration_and_form_login_of_a_front_end_name(site):
    env, server, login_module = site
    r = http(server.port, '/login', [('Remote-User', 'bobby'),
                                     ('X-Email', 'bobby@example.com')])
    bobby = auth_cookie(r)
    assert r.status in (302, 303) and bobby
    r = form(server, '/register', dict(
        action='create', username='bobby', password='pw',
        password_confirm='pw', email='attacker@evil.example'))
    assert r.status == 303
    r = form(server, '/login', dict(username='bobby', password='pw'))
    assert r.status == 200 and auth_cookie(r) is None
    r = http(server.port, '/wiki/WikiStart', [('Cookie', bobby[2:])],
             source=ATTACKER)
    assert logged_in_as(r) == 'bobby'
    assert env.db("SELECT value FROM session_attribute WHERE sid='bobby' "
                  "AND name='email'") == [('bobby@example.com',)]
    assert env.db("SELECT sid FROM session_attribute WHERE name='password'"
                  ) == []
    log = env.log()
    assert 'belongs to the front end' in log
    assert 'Traceback' not in log


def test_guest_form_login_beside_the_front_end(site):
    env, server, login_module = site
    form(server, '/register', dict(action='create', username='guest1',
                                   password='pw', password_confirm='pw',
                                   email='guest@example.com'))
    r = form(server, '/login', dict(username='guest1', password='pw'))
    cookie = auth_cookie(r)
    if login_module == 'enabled':
        # TracAccountManager's form logs nobody in then (see
        # test_accountmanager.test_both_login_modules_enabled).
        assert cookie is None
        return
    assert cookie
    r = http(server.port, '/wiki/WikiStart', [('Cookie', cookie[2:])],
             source=ATTACKER)
    assert logged_in_as(r) == 'guest1'
    # The front end's guest1 is not the guest's: refused until adopted.
    r = http(server.port, '/wiki/WikiStart', [('Remote-User', 'guest1')])
    assert logged_in_as(r) is None
    assert 'remoteuser adopt guest1' in env.log()


def test_every_backend_of_a_cluster_agrees(tmp_path, plugin_site, postgresql):
    """Two gunicorn backends on one PostgreSQL: what one records, the
    other refuses at once, both ways, with no restart."""
    database = postgresql.create_database('owners')
    env = TracEnv(str(tmp_path / 'env'), AM + LOGIN_MODULE['disabled'] + [
        ('trac', 'database', database)])
    env.admin('upgrade')
    first = start_gunicorn(env, plugin_site)
    second = start_gunicorn(env, plugin_site)
    try:
        for server in (first, second):
            http(server.port, '/login')
            # Each has read the (empty) owners before the first login.
            assert http(server.port, '/wiki/WikiStart').status == 200
        r = http(first.port, '/login', [('Remote-User', 'bobby')])
        assert auth_cookie(r)
        form(second, '/register', dict(
            action='create', username='bobby', password='pw',
            password_confirm='pw', email='attacker@evil.example'))
        assert env.db("SELECT sid FROM session_attribute "
                      "WHERE name='password'") == []
        # Pre-registered on the second, refused on the first...
        form(second, '/register', dict(
            action='create', username='carol', password='pw',
            password_confirm='pw', email='attacker@evil.example'))
        r = http(first.port, '/wiki/WikiStart', [('Remote-User', 'carol')])
        assert logged_in_as(r) is None
        # ...until adopted, which both see.
        env.admin('remoteuser adopt carol')
        for server in (first, second):
            r = http(server.port, '/wiki/WikiStart',
                     [('Remote-User', 'carol')])
            assert logged_in_as(r) == 'carol'
            r = form(server, '/login', dict(username='carol', password='pw'))
            assert auth_cookie(r) is None
    finally:
        first.stop()
        second.stop()
