"""Faults: broken trac.ini values and a busy database never cost the
page, and what is wrong is logged."""

import os
import sqlite3

import pytest

from conftest import logged_in_as


@pytest.mark.parametrize('option, value, message, user', [
    ('header', '   ', None, None),
    ('header', 'Remote User', 'not a valid HTTP header name', None),
    ('trusted_proxies', '', None, None),
    ('trusted_proxies', '10.0.0.0/8/8, ::1/200', 'not an IP address', None),
    ('trusted_proxies', '127.0.0.1/8', 'host bits', 'alice'),
    ('secret_header', 'X Secret', 'secret_header', 'alice'),
    ('strip_domain', 'sure', "'sure' is not a boolean", 'alice'),
    ('trust_forwarded', 'perhaps', "'perhaps' is not a boolean", 'alice'),
    ('log_interval', 'often', 'log_interval', 'alice'),
    ('name_header', 'X Name', 'name_header', 'alice'),
    ('groups_header', 'X Groups', 'groups_header', 'alice'),
    ('sync_groups', 'TRAC_ADMIN, anonymous', 'is a permission', 'alice'),
])
def test_broken_option_keeps_serving(make_env, option, value, message, user):
    env = make_env(('remoteuser', option, value),
                   ('remoteuser', 'groups_header', 'X-Groups')
                   if option == 'sync_groups' else
                   ('remoteuser', 'sync_groups', 'developers'))
    for path in ('/', '/wiki/WikiStart', '/login', '/timeline'):
        r = env.request(path, headers=[('Remote-User', 'alice'),
                                       ('X-Name', 'Alice'),
                                       ('X-Groups', 'TRAC_ADMIN')])
        assert r.status in (200, 302), (path, r.status, r.body[:300])
    r = env.request('/wiki/WikiStart', headers=[('Remote-User', 'alice')])
    assert logged_in_as(r) == user
    log = env.log()
    assert 'Traceback' not in log
    if message:
        assert message in log
    assert env.db("SELECT * FROM permission WHERE username='alice'") == []


def test_broken_base_url_keeps_serving(make_env):
    env = make_env(('trac', 'base_url', 'https://exa mple.com/x'))
    r = env.request('/wiki/', headers=[('Remote-User', 'alice')])
    assert r.status == 301
    assert 'is not a plain site address' in env.log()


@pytest.fixture
def locked_db(make_env):
    """An environment whose database another process holds a write lock
    on, on demand; Trac waits one second for it."""
    env = make_env(('trac', 'database', 'sqlite:db/trac.db?timeout=1'),
                   ('remoteuser', 'email_header', 'X-Email'),
                   ('remoteuser', 'groups_header', 'X-Groups'),
                   ('remoteuser', 'sync_groups', 'developers'))
    path = os.path.join(env.path, 'db', 'trac.db')

    class Lock(object):
        def __enter__(self):
            self.conn = sqlite3.connect(path, isolation_level=None)
            self.conn.execute('BEGIN IMMEDIATE')
            return self

        def __exit__(self, *exc):
            self.conn.execute('ROLLBACK')
            self.conn.close()
    env.lock = Lock
    return env


def test_busy_database_during_sync_serves_the_page(locked_db):
    env = locked_db
    first = [('Remote-User', 'alice'), ('X-Email', 'alice@example.com')]
    assert env.request('/wiki/WikiStart', headers=first).status == 200
    env.log()
    changed = [('Remote-User', 'alice'), ('X-Email', 'new@example.com'),
               ('X-Groups', 'developers')]
    with env.lock():
        r = env.request('/wiki/WikiStart', headers=changed)
        assert r.status == 200
        assert logged_in_as(r) == 'alice'
    log = env.log()
    assert 'session of alice not stored' in log
    assert 'group sync for alice not done' in log
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == [('alice@example.com',)]
    # The lock is gone: the next request syncs.
    r = env.request('/wiki/WikiStart', headers=changed)
    assert r.status == 200
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == [('new@example.com',)]
    assert env.db("SELECT action FROM permission WHERE username='alice'") \
        == [('developers',)]


@pytest.mark.parametrize('value, expected', [
    ('sure', 'alice'),        # no boolean: the default (true) holds
    ('false', 'EXAMPLE\\alice'),
])
def test_broken_boolean_means_its_default_not_false(make_env, value,
                                                    expected):
    """Trac reads an unknown word as false; for strip_domain that would
    quietly keep whole names while the log says the default is used."""
    env = make_env(('remoteuser', 'strip_domain', value),
                   ('remoteuser', 'local_domains', 'EXAMPLE'))
    r = env.request('/', headers=[('Remote-User', 'EXAMPLE\\alice')])
    assert logged_in_as(r) == expected
