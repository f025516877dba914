"""A Trac site with the real TracAccountManager beside the front end,
and browsers that use it: a client at an untrusted address (the
attacker), or a user the front end names."""

from urllib.parse import urlencode

import acct_mgr.api  # noqa: F401  (a test dependency: never skipped)

import remoteuserauth.integrations.accountmanager  # noqa: F401
from conftest import cookies, logged_in_as

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
