"""Rule 13: a `trac_auth` cookie is only as good as its name.

A browser keeps its login cookie for as long as it likes. When the name
it was issued for is one the name policy refuses today (it became a
permission group or a `sync_groups` entry, is reserved, has a foreign
domain), the cookie logs nobody in and is retired, on every page,
through real requests.
"""

import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import cookies, logged_in_as
from remoteuserauth.core import names

TRUSTED = [('Remote-User', 'latecomers')]


def login_cookie(env, name):
    """A trac_auth cookie of `name`, as a login that a browser kept
    left it (its value is random hex, as Trac's are)."""
    value = uuid.uuid4().hex
    with env.env().db_transaction as db:
        db("INSERT INTO auth_cookie (cookie, name, ipnr, time) "
           "VALUES (%s, %s, %s, %s)", (value, name, '127.0.0.1',
                                       int(time.time())))
    return ('Cookie', 'trac_auth=' + value)


def shown_name(response):
    """The name the page shows, Trac's e-mail obfuscation undone."""
    name = logged_in_as(response)
    return name and name.replace('\u2026', '')


def cookie_of(response):
    return ('Cookie', 'trac_auth=' + cookies(response)['trac_auth'].value)


def expires_the_cookie(response):
    jar = cookies(response)
    return 'trac_auth' in jar and jar['trac_auth'].value == '' and \
        jar['trac_auth']['expires']


# How an administrator makes a logged-in name one no user may have.
LATER = [
    ('a group granted TRAC_ADMIN, with a member',
     lambda env: (env.admin('permission add latecomers TRAC_ADMIN'),
                  env.admin('permission add carol latecomers'))),
    ('a sync_groups entry',
     lambda env: env.configure('remoteuser', sync_groups='latecomers')),
    ('a sync_groups entry in another case',
     lambda env: env.configure('remoteuser', sync_groups='LateComers')),
]


@pytest.mark.parametrize('what, change', LATER, ids=[ln[0] for ln in LATER])
def test_cookie_of_a_name_that_became_a_group(make_env, what, change):
    env = make_env()
    cookie = cookie_of(env.request('/login', headers=TRUSTED))
    assert logged_in_as(env.request('/admin', headers=[cookie])) == \
        'latecomers'
    change(env)
    env.log()
    # The front end's name is refused now...
    r = env.request('/wiki/WikiStart', headers=TRUSTED)
    assert logged_in_as(r) is None
    # ...and so is the cookie, on every page: /admin is not reached.
    r = env.request('/admin', headers=[cookie])
    assert r.status in (403, 404) and logged_in_as(r) is None
    assert expires_the_cookie(r)
    assert env.db("SELECT name FROM auth_cookie") == []
    log = env.log()
    assert 'refused' in log and 'latecomers' in log
    assert 'Traceback' not in log
    # Retired: even with the group gone, the old cookie is no login.
    r = env.request('/wiki/WikiStart', headers=[cookie])
    assert logged_in_as(r) is None


# Names a cookie may hold (an older policy, a database edited by hand,
# another plugin's login) that today's default policy refuses.
REFUSED = ['anonymous', 'Authenticated', '(null)', 'bob@OTHER.REALM',
           'EXAMPLE\\bob', ' alice', 'al\u2003ice', 'alice\u00a0',
           '\uff41lice', '@admins', '*', 'x' * 300, 'a,b']


@pytest.mark.parametrize('name', REFUSED, ids=[ascii(n)[:30]
                                                for n in REFUSED])
def test_cookie_of_a_refused_name_logs_nobody_in(trac_env, name):
    cookie = login_cookie(trac_env, name)
    r = trac_env.request('/wiki/WikiStart', headers=[cookie])
    assert r.status == 200 and logged_in_as(r) is None
    assert expires_the_cookie(r)
    assert trac_env.db("SELECT * FROM auth_cookie WHERE name=%s",
                       (name,)) == []


def test_cookie_of_an_accepted_name_still_logs_in(make_env):
    env = make_env(('remoteuser', 'local_domains', 'EXAMPLE.COM'))
    for name in ('alice', 'josé', 'bob@EXAMPLE.COM'):
        cookie = login_cookie(env, name)
        r = env.request('/wiki/WikiStart', headers=[cookie])
        assert shown_name(r) == name.split('@')[0] + ('@' if '@' in name
                                                      else '')
        assert 'trac_auth' not in cookies(r)


def test_the_policy_change_applies_without_a_restart(make_env):
    env = make_env(('remoteuser', 'strip_domain', 'false'))
    cookie = login_cookie(env, 'bob@OTHER.REALM')
    assert shown_name(env.request('/', headers=[cookie])) == 'bob@'
    env.configure('remoteuser', strip_domain='true')
    assert logged_in_as(env.request('/', headers=[cookie])) is None


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=40))
def test_no_cookie_the_policy_refuses_ever_logs_in(trac_env, name):
    trac_env.admin('permission add admins TRAC_ADMIN')
    trac_env.admin('permission add carol admins')
    try:
        name.encode('utf-8')
    except UnicodeEncodeError:
        return
    if '\x00' in name:
        return          # SQLite stores no NUL in text
    refused = names.clean_name(name.encode('utf-8'),
                               groups={'admins'}).name is None
    cookie = login_cookie(trac_env, name)
    r = trac_env.request('/wiki/WikiStart', headers=[cookie])
    assert r.status == 200
    shown = logged_in_as(r)
    if refused:
        assert shown is None
    else:
        assert shown is not None


# The verdicts on other doors' names, remembered

def test_a_remembered_verdict_follows_groups_and_options(make_env):
    """Judged on every request, remembered between them: never past a
    change of Trac's groups or of the options."""
    from remoteuserauth.auth import RemoteUserAuthenticator
    from remoteuserauth.core import doors
    site = make_env()
    env = site.env()
    auth = RemoteUserAuthenticator(env)
    assert auth.judge_door('alice', doors.COOKIE) is None
    assert auth.judge_door('alice', doors.COOKIE) is None
    site.admin('permission add bob alice')      # alice: now a group
    assert auth.judge_door('alice', doors.COOKIE).rule == names.GROUP
    site.admin('permission remove bob alice')
    assert auth.judge_door('alice', doors.COOKIE) is None
    # An option set in this process (no restart).
    assert auth.judge_door('alice@example.org', doors.COOKIE) is not None
    env.config.set('remoteuser', 'local_domains', 'example.org')
    assert auth.judge_door('alice@example.org', doors.COOKIE) is None


def test_remembered_verdicts_are_bounded(make_env):
    from remoteuserauth import auth as authmodule
    from remoteuserauth.core import doors
    auth = authmodule.RemoteUserAuthenticator(make_env().env())
    for i in range(authmodule.MAX_DOOR_VERDICTS + 500):
        auth.judge_door('user%d' % i, doors.PASSWORD)
        assert len(auth._door_verdicts) <= authmodule.MAX_DOOR_VERDICTS
    auth._door_verdicts = authmodule.Verdicts(10)
    for size in (256, 10000, 1000000):
        verdict = auth.judge_door('a' * size, doors.PASSWORD)
        assert verdict is not None and verdict.rule == names.TOO_LONG
    assert len(auth._door_verdicts) == 0
