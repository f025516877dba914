"""[remoteuser] trust_forwarded_for through real requests: Trac sees the
client address (its check_auth_ip works behind a proxy), the plugin's
trust decisions keep using the direct peer."""

import pytest

from conftest import cookies, header, logged_in_as
from remoteuserauth.core import trust
from remoteuserauth.wsgi import application

CLIENT = '203.0.113.5'
OTHER_CLIENT = '198.51.100.9'
UNTRUSTED = '192.0.2.10'


@pytest.fixture
def behind_proxy(make_env):
    return make_env(('remoteuser', 'trust_forwarded_for', 'true'),
                    ('trac', 'check_auth_ip', 'true'))


def login(env, xff, peer='127.0.0.1', app=None, **kwargs):
    """/login through the proxy; returns the Cookie header to send."""
    r = env.request('/login', peer=peer, app=app,
                    headers=[('X-Forwarded-For', xff)], **kwargs)
    assert r.status == 302, r.body[:300]
    return ('Cookie', 'trac_auth=' + cookies(r)['trac_auth'].value)


def stored_ips(env, name='alice'):
    return [ip for ip, in env.db("SELECT ipnr FROM auth_cookie "
                                 "WHERE name=%s", (name,))]


@pytest.mark.parametrize('path', ['/', '/wiki/WikiStart'])
@pytest.mark.parametrize('app', [None, application])
def test_check_auth_ip_works_behind_a_trusted_proxy(behind_proxy, path, app):
    """Trac's cookie login reads the address at /login (stored) and on
    every later page (compared); both must be the client's, whichever
    of the plugin's hooks sees the request first ('/' computes the user
    before the request filters run, '/wiki' after)."""
    env = behind_proxy
    cookie = login(env, CLIENT, app=app,
                   environ={'HTTP_REMOTE_USER': 'alice'})
    assert stored_ips(env) == [CLIENT]
    r = env.request(path, app=app, headers=[
        cookie, ('X-Forwarded-For', '10.1.1.1, ' + CLIENT)])
    assert logged_in_as(r) == 'alice'
    assert r.environ['REMOTE_ADDR'] == CLIENT
    assert r.environ[trust.PEER_KEY] == '127.0.0.1'
    # The same cookie from another client is refused by Trac.
    r = env.request(path, app=app, headers=[
        cookie, ('X-Forwarded-For', OTHER_CLIENT)])
    assert logged_in_as(r) is None
    # A client cannot claim the address by writing it on the left.
    r = env.request(path, app=app, headers=[
        cookie, ('X-Forwarded-For', CLIENT + ', ' + OTHER_CLIENT)])
    assert logged_in_as(r) is None


def test_without_the_option_every_client_is_the_proxy(make_env):
    env = make_env(('trac', 'check_auth_ip', 'true'))
    cookie = login(env, CLIENT, environ={'HTTP_REMOTE_USER': 'alice'})
    assert stored_ips(env) == ['127.0.0.1']
    r = env.request('/wiki/WikiStart',
                    headers=[cookie, ('X-Forwarded-For', OTHER_CLIENT)])
    assert logged_in_as(r) == 'alice'
    assert r.environ['REMOTE_ADDR'] == '127.0.0.1'


def test_untrusted_peer_x_forwarded_for_changes_nothing(behind_proxy):
    env = behind_proxy
    # The server itself authenticated this client (REMOTE_USER), which
    # connected directly and sent a X-Forwarded-For of its own.
    cookie = login(env, '127.0.0.1', peer=UNTRUSTED, remote_user='alice')
    assert stored_ips(env) == [UNTRUSTED]
    r = env.request('/wiki/WikiStart', peer=UNTRUSTED,
                    headers=[cookie, ('X-Forwarded-For', '127.0.0.1')])
    assert logged_in_as(r) == 'alice'
    assert r.environ['REMOTE_ADDR'] == UNTRUSTED
    r = env.request('/wiki/WikiStart', peer=UNTRUSTED, headers=[
        ('X-Forwarded-For', '127.0.0.1'), ('Remote-User', 'admin')])
    assert logged_in_as(r) is None
    assert 'from 192.0.2.10 ignored' in env.log()


@pytest.mark.parametrize('app', [None, application])
def test_trust_keeps_using_the_direct_peer(make_env, app):
    """Once REMOTE_ADDR holds an untrusted client address, the header
    of the proxy is still believed, and its forwarded host too."""
    env = make_env(('remoteuser', 'trust_forwarded_for', 'true'),
                   ('remoteuser', 'trust_forwarded', 'true'))
    forwarded = [('X-Forwarded-Proto', 'https'),
                 ('X-Forwarded-Host', 'trac.example')]
    r = env.request('/wiki/WikiStart', app=app, headers=[
        ('Remote-User', 'alice'), ('X-Forwarded-For', CLIENT)])
    assert logged_in_as(r) == 'alice'
    assert r.environ['REMOTE_ADDR'] == CLIENT
    r = env.request('/wiki/', app=app,
                    headers=forwarded + [('X-Forwarded-For', CLIENT)])
    assert header(r, 'Location') == 'https://trac.example/wiki'
    assert r.environ['REMOTE_ADDR'] == CLIENT
    # A client sending a trusted proxy's address from outside is nobody.
    spoofed = [('X-Forwarded-For', '127.0.0.1')]
    r = env.request('/wiki/WikiStart', app=app, peer=UNTRUSTED,
                    headers=spoofed + [('Remote-User', 'alice')])
    assert logged_in_as(r) is None
    r = env.request('/wiki/', app=app, peer=UNTRUSTED,
                    headers=forwarded + spoofed)
    assert header(r, 'Location') == 'http://backend:8000/wiki'


@pytest.mark.parametrize('xff', ['garbage', '10.0.0.1\r\nX: y', '', ' , ',
                                 'unknown', '[::1', '1' * 3000])
def test_bad_x_forwarded_for_is_logged_and_the_page_served(behind_proxy,
                                                          xff):
    env = behind_proxy
    r = env.request('/wiki/WikiStart', headers=[
        ('Remote-User', 'alice'), ('X-Forwarded-For', xff)])
    assert r.status == 200 and logged_in_as(r) == 'alice'
    assert r.environ['REMOTE_ADDR'] == '127.0.0.1'
    log = env.log()
    assert 'is not an IP address from 127.0.0.1; the client address is ' \
           'taken as 127.0.0.1 ([remoteuser] trust_forwarded_for)' in log
    assert 'Traceback' not in log and '\r' not in log


def test_client_address_is_logged_at_debug(behind_proxy):
    behind_proxy.request('/wiki/WikiStart',
                         headers=[('X-Forwarded-For', CLIENT)])
    assert 'client %s, through 127.0.0.1' % CLIENT in behind_proxy.log()


def test_not_a_boolean_is_reported(make_env):
    env = make_env(('remoteuser', 'trust_forwarded_for', 'sometimes'))
    r = env.request('/wiki/WikiStart', headers=[
        ('Remote-User', 'alice'), ('X-Forwarded-For', CLIENT)])
    assert logged_in_as(r) == 'alice'
    assert r.environ['REMOTE_ADDR'] == '127.0.0.1'
    assert "trust_forwarded_for: 'sometimes' is not a boolean" in env.log()
