"""`trac-admin ENV remoteuser revoke USER` on a real environment."""

import subprocess
import sys

import pytest
from trac.admin.api import AdminCommandError

from conftest import cookies, logged_in_as
from process import python_env


def login(env, name):
    r = env.request('/login', headers=[('Remote-User', name)])
    assert r.status == 302
    return ('Cookie', 'trac_auth=' + cookies(r)['trac_auth'].value)


def test_revoke_forgets_every_login_of_the_user_only(trac_env):
    env = trac_env
    alice = [login(env, 'alice'), login(env, 'alice')]   # two browsers
    bob = login(env, 'bob')
    out = env.admin('remoteuser revoke alice')
    assert out.strip() == ('Forgot 2 logins of alice: every backend now '
                           'treats the user as anonymous, unless the front '
                           'end logs them in again.')
    for cookie in alice:
        r = env.request('/wiki/WikiStart', headers=[cookie])
        assert r.status == 200 and logged_in_as(r) is None
    assert logged_in_as(env.request('/wiki/WikiStart',
                                    headers=[bob])) == 'bob'
    assert env.db("SELECT name FROM auth_cookie") == [('bob',)]
    assert 'revoked 2 login(s) of alice (trac-admin remoteuser revoke)' \
        in env.log()
    # What the help says: the front end logs the user straight back in.
    r = env.request('/wiki/WikiStart', headers=[('Remote-User', 'alice')])
    assert logged_in_as(r) == 'alice'


def test_revoke_without_logins(trac_env):
    login(trac_env, 'bob')
    assert trac_env.admin('remoteuser revoke alice').strip() == \
        'alice had no login to forget.'
    assert trac_env.db("SELECT name FROM auth_cookie") == [('bob',)]


@pytest.mark.parametrize('option', [('trac', 'ignore_auth_case', 'true'),
                                    ('remoteuser', 'lowercase', 'true')])
def test_revoke_folds_case_when_names_are_folded(make_env, option):
    env = make_env(option)
    # Logins of folded names are stored in lower case.
    cookie = env.stale_cookie('alice')
    assert logged_in_as(env.request('/', headers=[cookie])) == 'alice'
    assert env.admin('remoteuser revoke Alice').startswith(
        'Forgot 1 login of Alice')
    assert logged_in_as(env.request('/', headers=[cookie])) is None


def test_revoke_keeps_case_otherwise(trac_env):
    login(trac_env, 'alice')
    assert 'no login' in trac_env.admin('remoteuser revoke Alice')
    assert trac_env.db("SELECT name FROM auth_cookie") == [('alice',)]


@pytest.mark.parametrize('name', ["alice' OR '1'='1", '%', 'al_ce'])
def test_revoke_takes_the_name_literally(trac_env, name):
    login(trac_env, 'alice')
    from remoteuserauth.admin.revoke import LoginRevoker
    assert LoginRevoker(trac_env.env()).revoke(name) == 0
    assert trac_env.db("SELECT name FROM auth_cookie") == [('alice',)]


def test_revoke_refuses_an_empty_name(trac_env):
    from remoteuserauth.admin.revoke import LoginRevoker
    with pytest.raises(AdminCommandError):
        LoginRevoker(trac_env.env())._do_revoke('  ')


def test_revoke_completes_names_with_logins(trac_env):
    from remoteuserauth.admin.revoke import LoginRevoker
    login(trac_env, 'bob')
    login(trac_env, 'alice')
    assert LoginRevoker(trac_env.env())._complete_revoke(['']) == \
        ['alice', 'bob']


def test_trac_admin_command_line(trac_env, plugin_site):
    """The real trac-admin, with the plugin installed as pip installs it."""
    login(trac_env, 'alice')

    def trac_admin(*args):
        return subprocess.run(
            [sys.executable, '-m', 'trac.admin.console', trac_env.path] +
            list(args), env=python_env(plugin_site), capture_output=True,
            text=True, timeout=60)
    help_ = trac_admin('help', 'remoteuser', 'revoke')
    assert 'on every backend at once' in help_.stdout
    assert 'It does not stop the front end' in help_.stdout
    out = trac_admin('remoteuser', 'revoke', 'alice')
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('Forgot 1 login of alice')
    assert trac_env.db("SELECT COUNT(*) FROM auth_cookie") == [(0,)]
