"""Every door agrees on who owns a name: the front end beside the real
TracAccountManager 0.6.0 (registration, form login, password reset,
password change, account administration), through `dispatch_request`.

The front end here is a trusted proxy's `Remote-User` from 127.0.0.1;
the attacker is an anonymous client at 192.0.2.9 with a browser of its
own. Each site runs twice: with Trac's LoginModule disabled, as
TracAccountManager's documentation says, and left enabled.
"""

import re
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings, strategies as st

from conftest import cookies, logged_in_as

import acct_mgr.api  # noqa: E402,F401  (a test dependency: never skipped)
import remoteuserauth.accountmanager  # noqa: E402,F401
import remoteuserauth.adopt  # noqa: E402,F401

ATTACKER = '192.0.2.9'
PROXY = '127.0.0.1'

AM = [('components', 'acct_mgr.*', 'enabled'),
      ('components', 'acct_mgr.register.emailverificationmodule',
       'disabled'),
      ('account-manager', 'password_store', 'SessionStore'),
      ('account-manager', 'reset_password', 'true'),
      ('remoteuser', 'email_header', 'X-Email'),
      ('remoteuser', 'groups_header', 'X-Groups'),
      ('remoteuser', 'sync_groups', 'developers')]

LOGIN_MODULE = {'disabled': [('components', 'trac.web.auth.loginmodule',
                              'disabled')],
                'enabled': []}


class Browser(object):
    """A client with a cookie jar, at `peer`, behind the front end
    (`front_end` names it) or not."""

    def __init__(self, env, peer=ATTACKER, front_end=None, email=None):
        self.env = env
        self.peer = peer
        self.jar = {'trac_form_token': 'tok'}
        self.front_end = front_end
        self.email = email

    def headers(self):
        headers = [('Cookie', '; '.join('%s=%s' % kv
                                        for kv in self.jar.items()))]
        if self.front_end:
            headers.append(('Remote-User', self.front_end))
            if self.email:
                headers.append(('X-Email', self.email))
        return headers

    def request(self, path, data=None):
        body = b''
        if data is not None:
            body = urlencode(dict(data, __FORM_TOKEN='tok'),
                             doseq=True).encode('utf-8')
        r = self.env.request(path, method='POST' if data is not None
                             else 'GET', body=body, peer=self.peer,
                             headers=self.headers())
        assert r.status < 500, r.body[:2000]
        assert 'Traceback' not in r.body
        for name, morsel in cookies(r).items():
            if morsel.value:
                self.jar[name] = morsel.value
            else:
                self.jar.pop(name, None)
        return r

    def who(self):
        return logged_in_as(self.request('/wiki/WikiStart'))

    def register(self, username, password='attacker-pw', email=None):
        return self.request('/register', dict(
            action='create', username=username, password=password,
            password_confirm=password,
            email=email or 'attacker@evil.example'))

    def form_login(self, username, password='attacker-pw'):
        return self.request('/login', dict(username=username,
                                           password=password))


def am_site(make_env, login_module='disabled', *extra):
    env = make_env(*(AM + LOGIN_MODULE[login_module] + list(extra)))
    env.admin('upgrade')
    # TracAccountManager's first page of a new site runs its set-up
    # (which, among other things, revokes what authenticated users may
    # write, and redirects once).
    Browser(env).request('/login')
    return env


@pytest.fixture(params=sorted(LOGIN_MODULE))
def site(request, make_env):
    return am_site(make_env, request.param)


@pytest.fixture
def form_site(make_env):
    """A site whose login form works: Trac's LoginModule disabled, as
    TracAccountManager's documentation says."""
    return am_site(make_env)


def store_users(env):
    from acct_mgr.api import AccountManager
    return sorted(AccountManager(env.env()).get_users())


def email_of(env, user):
    rows = env.db("SELECT value FROM session_attribute WHERE sid=%s AND "
                  "authenticated=1 AND name='email'", (user,))
    return rows[0][0] if rows else None


def front_end_user(env, name, email=None):
    """`name` logged in through the front end (its cookie in the jar)."""
    browser = Browser(env, PROXY, front_end=name, email=email)
    r = browser.request('/login')
    assert 'trac_auth' in browser.jar, r.body[:500]
    browser.front_end = None
    assert browser.who() == name
    return browser


# The form and registration work for guests beside the front end.

def test_a_guest_registers_and_logs_in_with_the_form(form_site):
    guest = Browser(form_site)
    r = guest.request('/login')
    assert r.status == 200 and 'name="password"' in r.body
    guest.register('guest1', 'guest-pw')
    assert 'guest1' in store_users(form_site)
    r = guest.form_login('guest1', 'wrong')
    assert 'Invalid username or password' in r.body
    guest.form_login('guest1', 'guest-pw')
    assert guest.who() == 'guest1'


def test_both_login_modules_enabled(make_env):
    """TracAccountManager leaves /login without a handler when Trac's
    LoginModule is enabled too: the front end's login still works, the
    form logs nobody in, and the log says what to change."""
    env = am_site(make_env, 'enabled')
    front_end_user(env, 'alice')
    guest = Browser(env)
    assert guest.request('/login').status == 200
    guest.register('guest1', 'guest-pw')
    guest.form_login('guest1', 'guest-pw')
    assert guest.who() is None
    assert 'trac.web.auth.loginmodule = disabled' in env.log()


# Finding 4: a front-end user's name taken through registration.

TAKEOVER_SPELLINGS = ['bobby', 'Bobby', 'BOBBy', ' bobby ']


@pytest.mark.parametrize('spelling', TAKEOVER_SPELLINGS)
def test_registration_cannot_take_a_front_end_name(site, spelling):
    bobby = front_end_user(site, 'bobby', 'bobby@example.com')
    attacker = Browser(site)
    attacker.register(spelling)
    assert store_users(site) == []
    assert email_of(site, 'bobby') == 'bobby@example.com'
    attacker.form_login(spelling.strip())
    assert attacker.who() is None
    assert bobby.who() == 'bobby'
    log = site.log()
    assert 'belongs to the front end' in log or 'look-alike' in log


def test_registration_warning_is_shown(site):
    front_end_user(site, 'bobby')
    attacker = Browser(site)
    r = attacker.register('bobby')
    assert r.status == 303
    page = attacker.request('/register')
    assert 'signs in through the single sign-on' in page.body


def test_pre_hijacked_account_waits_for_adopt(form_site):
    site = form_site
    attacker = Browser(site)
    attacker.register('carol', email='attacker@evil.example')
    attacker.form_login('carol')
    assert attacker.who() == 'carol'
    # Carol's first single sign-on visit: refused, with the command.
    carol = Browser(site, PROXY, front_end='carol')
    site.log()
    assert carol.who() is None
    assert 'remoteuser adopt carol' in site.log()
    # The administrator checks and adopts: the attacker's password and
    # login are gone, carol is in.
    out = site.admin('remoteuser adopt carol')
    assert 'Removed the local password of carol' in out
    assert store_users(site) == []
    assert attacker.who() is None
    attacker.form_login('carol')
    assert attacker.who() is None
    assert carol.who() == 'carol'
    assert 'carol' in site.admin('remoteuser owners')


def test_form_login_of_an_owned_name_with_a_leftover_password(site):
    """A password account made behind the doors' back (an older
    registration, the admin's store file) never logs an owned name
    in."""
    front_end_user(site, 'bobby')
    from acct_mgr.api import AccountManager
    AccountManager(site.env()).set_password('bobby', 'leftover')
    attacker = Browser(site)
    r = attacker.form_login('bobby', 'leftover')
    assert 'Invalid username or password' in r.body
    assert attacker.who() is None
    assert 'through the password form' in site.log()


# Finding 5: names the policy refuses, at registration.

POLICY_NAMES = ['developers', 'Developers', 'anonymous', 'bob@OTHER.REALM',
                'al\u00a0ice', '\uff41lice', '@admins', 'x' * 300]


@pytest.mark.parametrize('name', POLICY_NAMES,
                         ids=[ascii(n)[:20] for n in POLICY_NAMES])
def test_registration_follows_the_name_policy(site, name):
    attacker = Browser(site)
    attacker.register(name)
    assert store_users(site) == []


def test_registered_group_name_never_gets_the_group(site):
    site.admin('permission add developers TRAC_ADMIN')
    attacker = Browser(site)
    attacker.register('developers')
    attacker.form_login('developers')
    r = attacker.request('/admin')
    assert r.status in (403, 404)


# Finding 6: lock-out and demotion.

def test_anonymous_reset_of_a_front_end_user(site):
    bobby = front_end_user(site, 'bobby', 'bobby@example.com')
    attacker = Browser(site)
    attacker.request('/reset_password', dict(username='bobby',
                                             email='bobby@example.com'))
    assert site.db("SELECT name FROM session_attribute WHERE sid='bobby' "
                   "AND name IN ('force_change_passwd', 'password_reset')"
                   ) == []
    r = bobby.request('/wiki/WikiStart')
    assert r.status == 200 and logged_in_as(r) == 'bobby'
    assert 'single sign-on' in attacker.request('/reset_password').body


def test_a_stale_password_step_never_locks_a_front_end_user_out(site):
    site.admin('permission add authenticated TICKET_CREATE')
    bobby = front_end_user(site, 'bobby')
    with site.env().db_transaction as db:
        db("INSERT INTO session_attribute (sid, authenticated, name, value) "
           "VALUES ('bobby', 1, 'force_change_passwd', '1')")
    for path in ('/wiki/WikiStart', '/timeline', '/newticket'):
        r = bobby.request(path)
        assert r.status == 200, (path, r.status)
        assert logged_in_as(r) == 'bobby'


@pytest.fixture
def verifying(make_env):
    env = am_site(make_env, 'disabled',
                  ('components', 'acct_mgr.register.emailverificationmodule',
                   'enabled'),
                  ('account-manager', 'verify_email', 'true'),
                  ('notification', 'smtp_enabled', 'false'))
    env.admin('permission add authenticated TICKET_CREATE')
    return env


def test_email_verification_never_demotes_a_front_end_user(verifying):
    alice = Browser(verifying, PROXY, front_end='alice',
                    email='alice@example.com')
    for _ in range(3):
        r = alice.request('/newticket')
        assert r.status == 200 and logged_in_as(r) == 'alice'
    alice.email = 'alice@new.example.com'
    for _ in range(2):
        assert alice.request('/newticket').status == 200
    assert email_of(verifying, 'alice') == 'alice@new.example.com'


def test_email_verification_still_holds_form_users(verifying):
    guest = Browser(verifying)
    guest.register('guest1', 'pw', email='guest@example.com')
    guest.form_login('guest1', 'pw')
    guest.request('/wiki/WikiStart')
    assert guest.request('/newticket').status == 403


# Account administration: the administrator cannot give an owned name a
# password either.

def test_admin_panel_cannot_give_an_owned_name_a_password(site):
    site.admin('permission add admin TRAC_ADMIN')
    front_end_user(site, 'bobby')
    admin = front_end_user(site, 'admin')
    admin.request('/admin/accounts/users', dict(
        add='1', username='bobby', password='x', password_confirm='x'))
    assert store_users(site) == []
    page = admin.request('/admin/accounts/users')
    assert 'single sign-on' in page.body
    admin.request('/admin/accounts/users', dict(
        add='1', username='guest2', password='x', password_confirm='x'))
    assert store_users(site) == ['guest2']
    admin.request('/admin/accounts/users/guest2', dict(action='uid',
                                                       new_uid='bobby'))
    assert store_users(site) == ['guest2']


# Finding 7: collisions beside a password store.

def test_collisions_report_look_alikes_not_merges(form_site):
    """A password account `Bobby` made before this version, beside the
    front end's `bobby`: with `lowercase` the two stay two accounts
    (the form keeps its names as written), which the report says, and
    the form refuses the look-alike."""
    env = form_site
    front_end_user(env, 'bobby')
    from acct_mgr.api import AccountManager
    AccountManager(env.env()).set_password('Bobby', 'pw')
    guest = Browser(env)
    guest.form_login('Bobby', 'pw')
    assert guest.who() is None
    out = env.admin('remoteuser collisions lowercase')
    assert 'merged into bobby' not in out, out
    assert re.search(r"look-alike: Bobby \(password account\) stays an "
                     r"account of its own beside bobby; .* remoteuser adopt "
                     r"bobby", out), out
    # With Trac's own fold, the form logs Bobby in as bobby: one name.
    out = env.admin('remoteuser collisions ignore_auth_case')
    assert re.search(r'merged into bobby: Bobby \(password account\) \+ '
                     r'bobby \(session, login cookie, front end', out), out


# No sequence of registration, reset, form login, front-end login and
# adoption gives two people one Trac name.

STEPS = st.lists(st.tuples(
    st.sampled_from(['register', 'form login', 'reset', 'front end',
                     'adopt']),
    st.sampled_from(['carol', 'Carol', 'dave'])), min_size=1, max_size=7)


@settings(max_examples=20, deadline=None)
@given(STEPS)
def test_no_two_people_share_a_name(steps):
    import tempfile
    from conftest import TracEnv
    with tempfile.TemporaryDirectory() as tmp:
        env = TracEnv(tmp + '/env', AM + LOGIN_MODULE['disabled'])
        env.admin('upgrade')
        Browser(env).request('/login')
        attacker = Browser(env)
        people = {}       # name -> the front end's browser of its person
        holders = {}      # name -> who logged in as it since its adoption
        adopted = set()

        def observe():
            for who, browser in [('attacker', attacker)] + \
                    [('person:' + n, b) for n, b in people.items()]:
                name = browser.who()
                if name is None:
                    continue
                holders.setdefault(name, set()).add(who)
                assert len(holders[name]) == 1, (steps, name, holders)
                if name in adopted:
                    assert who != 'attacker', (steps, name)

        for action, name in steps:
            if action == 'register':
                attacker.register(name)
            elif action == 'form login':
                attacker.form_login(name)
            elif action == 'reset':
                attacker.request('/reset_password', dict(
                    username=name, email='attacker@evil.example'))
            elif action == 'front end':
                person = people.setdefault(name, Browser(env, PROXY))
                person.front_end = name
                person.request('/login')
                person.front_end = None
            elif action == 'adopt':
                rv, _ = env.admin_rv('remoteuser adopt ' + name)
                if rv in (0, None):
                    adopted.add(name)
                    holders.pop(name, None)
            observe()


# The administrator sees who owns a name: check, revoke, the warnings.

def test_check_revoke_and_warnings_show_the_owner(form_site):
    env = form_site
    front_end_user(env, 'bobby')
    Browser(env).register('carol', 'pw')
    out = env.admin('remoteuser check 127.0.0.1 bobby')
    assert 'owner: bobby belongs to the front end' in out
    out = env.admin('remoteuser check 127.0.0.1 carol')
    assert 'remoteuser adopt carol' in out
    assert 'accepted' not in out.splitlines()[-1]
    # check records nothing: carol is still refused, not owned.
    assert 'carol' not in env.admin('remoteuser owners')
    assert 'belongs to the front end' in env.admin('remoteuser revoke bobby')
    assert 'local password account' in env.admin('remoteuser revoke carol')
    from acct_mgr.api import AccountManager
    AccountManager(env.env()).set_password('Bobby', 'pw')
    from remoteuserauth.admin import RemoteUserAdmin
    warnings = RemoteUserAdmin(env.env()).warnings()
    assert any("'Bobby'/bobby" in w and 'collisions' in w
               for w in warnings), warnings


def test_adopt_refuses_what_the_front_end_never_hands_over(form_site,
                                                         capsys):
    env = form_site
    for name, why in (('developers', 'group'), ('anonymous', 'reserves'),
                      ('bob@OTHER.REALM', 'local_domains'),
                      ('Bobby', 'hands this name over as bobby')):
        if name == 'Bobby':
            env.configure('remoteuser', lowercase='true')
        capsys.readouterr()
        rv, out = env.admin_rv('remoteuser adopt ' + name)
        err = capsys.readouterr().err
        assert rv not in (0, None) and why in err, (out, err)
    out = env.admin('remoteuser owners')
    assert out.split() == ['Name', 'Since', '(UTC)', '-' * 17], out


def test_nothing_changes_where_accountmanager_is_not_enabled(make_env):
    """Installed but not enabled in this environment: no other door, no
    session attribute of its own, no upgrade asked for."""
    env = make_env(('remoteuser', 'email_header', 'X-Email'))
    alice = Browser(env, PROXY, front_end='alice', email='a@example.com')
    assert alice.who() == 'alice'
    assert env.db("SELECT name FROM session_attribute WHERE sid='alice' "
                  "ORDER BY name") == [('email',)]
    from remoteuserauth.bindings import AccountBindings
    assert not AccountBindings(env.env()).environment_needs_upgrade()
    assert Browser(env).request('/register').status == 404
