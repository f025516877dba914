"""The options every request reads are parsed once and kept (one set,
the last parsed): a trac.ini change counts from the next request on,
never a stale answer."""

import pytest

from conftest import logged_in_as
from remoteuserauth.settings import RemoteUserSettings

PAGE = '/wiki/WikiStart'


def user(env, **kwargs):
    kwargs.setdefault('headers', [('Remote-User', 'alice')])
    return logged_in_as(env.request(PAGE, **kwargs))


def test_trusted_proxies(make_env):
    env = make_env()
    assert user(env) == 'alice'
    env.configure('remoteuser', trusted_proxies='10.0.0.1')
    assert user(env) is None
    assert user(env, peer='10.0.0.1') == 'alice'
    env.configure('remoteuser', trusted_proxies='127.0.0.1')
    assert user(env) == 'alice'


def test_cookie_login(make_env):
    env = make_env()
    cookie = env.stale_cookie('bob')
    assert user(env, headers=[cookie]) == 'bob'
    env.configure('remoteuser', cookie_login='false')
    assert user(env, headers=[env.stale_cookie('bob')]) is None


def test_tokens_and_token_paths(make_env):
    env = make_env(('remoteuser', 'tokens', 'true'),
                   ('remoteuser', 'token_paths', PAGE))
    token = env.admin('remoteuser token add alice').strip().splitlines()[-1]
    bearer = [('Authorization', 'Bearer ' + token)]
    assert user(env, headers=bearer, peer='192.0.2.1') == 'alice'
    env.configure('remoteuser', token_paths='/ticketrpc')
    assert user(env, headers=bearer, peer='192.0.2.1') is None
    env.configure('remoteuser', token_paths=PAGE, tokens='false')
    assert user(env, headers=bearer, peer='192.0.2.1') is None


def test_trust_forwarded_for(make_env):
    env = make_env()
    forwarded = [('Remote-User', 'alice'), ('X-Forwarded-For', '203.0.113.5')]
    r = env.request(PAGE, headers=forwarded)
    assert r.environ['REMOTE_ADDR'] == '127.0.0.1'
    env.configure('remoteuser', trust_forwarded_for='true')
    r = env.request(PAGE, headers=forwarded)
    assert r.environ['REMOTE_ADDR'] == '203.0.113.5'


def test_sync_groups(make_env):
    env = make_env(('remoteuser', 'groups_header', 'X-Groups'),
                   ('remoteuser', 'sync_groups', 'developers'))

    def groups():
        return sorted(g for g, in env.db(
            "SELECT action FROM permission WHERE username='alice'"))
    listed = [('Remote-User', 'alice'), ('X-Groups', 'developers|testers')]
    assert user(env, headers=listed) == 'alice'
    assert groups() == ['developers']
    env.configure('remoteuser', sync_groups='developers, testers')
    user(env, headers=listed)
    assert groups() == ['developers', 'testers']
    # Trac's permissions changed elsewhere: the index of them follows.
    env.admin('permission remove alice developers')
    user(env, headers=listed)
    assert groups() == ['developers', 'testers']


@pytest.mark.parametrize('option, value', [
    ('cookie_login', 'false'), ('tokens', 'true'),
    ('token_paths', '/api'), ('trust_forwarded', 'true'),
    ('trust_forwarded_for', 'true'), ('sync_groups', 'staff')])
def test_one_set_is_kept_and_follows_every_change(make_env, option, value):
    """Changed in memory (the admin panel's way) or in the file, the
    next look sees the new value; only the last set is kept."""
    env = make_env()
    settings = RemoteUserSettings(env.env())
    before = settings.current()
    env.env().config.set('remoteuser', option, value)
    after = settings.current()
    assert after is not before
    assert after == settings.current()
    assert settings._current[1] is after
    assert getattr(after, option) != getattr(before, option)


def test_a_file_read_again_is_seen(make_env):
    """trac.ini written by another process (another backend's admin
    panel, an editor) and read again: new values, none remembered."""
    from trac.config import Configuration
    env = make_env()
    trac = env.env()
    settings = RemoteUserSettings(trac)
    assert settings.current().cookie_login is True
    other = Configuration(trac.config.filename)
    other.set('remoteuser', 'cookie_login', 'false')
    other.save()
    assert trac.config.parse_if_needed()
    assert settings.current().cookie_login is False
    trac.config.set('remoteuser', 'cookie_login', 'true')
    assert settings.current().cookie_login is True


def test_a_value_forgotten_and_read_again_by_another_is_seen(make_env):
    """A set forgets the value; whoever reads it next (another component
    reading its option) makes Trac remember the new one, all before the
    plugin looks again: the plugin still sees the change."""
    env = make_env()
    trac = env.env()
    settings = RemoteUserSettings(trac)
    assert settings.current().cookie_login is True
    trac.config.set('remoteuser', 'cookie_login', 'false')
    assert trac.config.get('remoteuser', 'cookie_login') == 'false'
    assert settings.current().cookie_login is False
    # And the same for the value of another section it reads.
    lowercase = settings.current().settings.lowercase
    trac.config.set('trac', 'ignore_auth_case', str(not lowercase).lower())
    assert trac.config.getbool('trac', 'ignore_auth_case') is not lowercase
    assert settings.current().settings.lowercase is not lowercase


def test_nothing_changed_costs_no_reading(make_env, monkeypatch):
    """While nothing was set, the options are not read again; any set,
    even of another option of the same sections, makes the next look
    read them (and find the same options)."""
    env = make_env()
    settings = RemoteUserSettings(env.env())
    first = settings.current()
    reads = []
    raw = settings._raw
    monkeypatch.setattr(settings, '_raw', lambda s: reads.append(1) or raw(s))
    assert settings.current() is first
    assert reads == []
    env.env().config.set('trac', 'never_obfuscate_mailto', 'true')
    assert settings.current() is first
    assert reads == [1]
    assert settings.current() is first
    assert reads == [1]
    # `[trac] base_url` is read with the options (the public address
    # asks for it on every request).
    env.env().config.set('trac', 'base_url', 'https://trac.example.com/')
    assert settings.current().base_url == 'https://trac.example.com/'
    assert reads == [1, 1]


def test_a_section_memory_of_another_kind_is_read_every_time(make_env,
                                                             monkeypatch):
    """Should Trac keep its sections' values otherwise, the options are
    read on every look, and still right."""
    env = make_env()
    trac = env.env()
    settings = RemoteUserSettings(trac)
    section = trac.config['remoteuser']

    class Values(dict):
        pass
    monkeypatch.setattr(section, '_cache', Values(section._cache))
    settings._current = (None, None)
    assert settings.current().cookie_login is True
    trac.config.set('remoteuser', 'cookie_login', 'false')
    trac.config.get('remoteuser', 'cookie_login')
    assert settings.current().cookie_login is False


def test_every_way_of_changing_a_remembered_value_is_counted():
    from remoteuserauth.settings import _WatchedValues
    values = _WatchedValues({'a': '1'})
    values['b'] = '2'                   # a first read: no change
    assert values.changes == 0
    for change in (lambda: values.__setitem__('a', '3'),
                   lambda: values.pop('a'), lambda: values.pop('x', None),
                   lambda: values.__delitem__('b'),
                   lambda: values.update(c='4'), values.popitem,
                   values.clear):
        before = values.changes
        change()
        assert values.changes == before + 1


def test_group_names_follow_the_permission_store_option(make_env):
    """The permission store is looked up again when `[trac]
    permission_store` names another: its groups become names no user
    may have at the next request."""
    from trac.core import Component, implements
    from trac.perm import IPermissionStore

    class StaffStore(Component):
        implements(IPermissionStore)

        def get_user_permissions(self, username):
            return []

        def get_users_with_permissions(self, permissions):
            return []

        def get_all_permissions(self):
            return [('alice', 'staffgroup')]

        def grant_permission(self, username, action):
            pass

        def revoke_permission(self, username, action):
            pass
    try:
        env = make_env(('components', __name__ + '.*', 'enabled'))
        settings = RemoteUserSettings(env.env())
        assert 'staffgroup' not in settings.group_names()
        env.env().config.set('trac', 'permission_store', 'StaffStore')
        assert 'staffgroup' in settings.group_names()
        env.env().config.set('trac', 'permission_store',
                             'DefaultPermissionStore')
        assert 'staffgroup' not in settings.group_names()
    finally:
        from trac.core import ComponentMeta
        ComponentMeta.deregister(StaffStore)
