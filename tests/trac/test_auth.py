"""The authenticator through real requests on a real environment."""

import re
import subprocess
import sys

import pytest

from conftest import ROOT, cookies, header, logged_in_as

UNTRUSTED = '192.0.2.10'


def user(headers=(), **kwargs):
    return dict(headers=list(headers), **kwargs)


def test_trusted_header_logs_the_user_in(trac_env):
    r = trac_env.request('/', headers=[('Remote-User', 'alice')])
    assert r.status == 200
    assert logged_in_as(r) == 'alice'


def test_header_from_untrusted_peer_is_ignored_and_logged(trac_env):
    r = trac_env.request('/', headers=[('Remote-User', 'alice')],
                         peer=UNTRUSTED)
    assert r.status == 200
    assert logged_in_as(r) is None
    log = trac_env.log()
    assert 'header Remote-User from 192.0.2.10 ignored' in log
    assert 'trusted_proxies' in log


def test_ipv6_and_cidr_proxies(make_env):
    env = make_env(('remoteuser', 'trusted_proxies', '10.0.0.0/8, fd00::/8'))
    for peer, expected in (('10.9.8.7', 'alice'), ('fd00::17', 'alice'),
                           ('127.0.0.1', None), ('::1', None),
                           ('11.0.0.1', None)):
        r = env.request('/', headers=[('Remote-User', 'alice')], peer=peer)
        assert logged_in_as(r) == expected, peer


def test_other_header_names(make_env):
    env = make_env(('remoteuser', 'header', 'SM_USER'))
    assert logged_in_as(env.request(
        '/', headers=[('SM-User', 'alice')])) == 'alice'
    assert logged_in_as(env.request(
        '/', headers=[('Remote-User', 'alice')])) is None


def test_secret_header(make_env):
    env = make_env(('remoteuser', 'secret_header', 'X-Proxy-Secret'),
                   ('remoteuser', 'secret', 'Zm9vYmFy'))
    r = env.request('/', headers=[('Remote-User', 'alice')])
    assert logged_in_as(r) is None
    r = env.request('/', headers=[('Remote-User', 'alice'),
                                  ('X-Proxy-Secret', 'wrong')])
    assert logged_in_as(r) is None
    assert 'does not carry [remoteuser] secret' in env.log()
    r = env.request('/', headers=[('Remote-User', 'alice'),
                                  ('X-Proxy-Secret', 'Zm9vYmFy')])
    assert logged_in_as(r) == 'alice'


def test_secret_without_its_header_believes_no_header(make_env):
    env = make_env(('remoteuser', 'secret', 'Zm9vYmFy'))
    r = env.request('/', headers=[('Remote-User', 'alice')])
    assert r.status == 200 and logged_in_as(r) is None
    assert 'secret_header and secret must be set together' in env.log()


def test_server_remote_user_is_cleaned(make_env):
    env = make_env(('remoteuser', 'header', ''),
                   ('remoteuser', 'lowercase', 'true'),
                   ('remoteuser', 'local_domains', 'EXAMPLE'))
    r = env.request('/', remote_user='EXAMPLE\\JDoe')
    assert logged_in_as(r) == 'jdoe'
    # With no header configured, a header from a trusted peer is not read.
    r = env.request('/', headers=[('Remote-User', 'alice')])
    assert logged_in_as(r) is None


def test_utf8_names_survive_pep3333(trac_env):
    latin1 = 'josé'.encode('utf-8').decode('latin-1')
    r = trac_env.request('/', headers=[('Remote-User', latin1)])
    assert logged_in_as(r) == 'josé'


@pytest.mark.parametrize('value, why', [
    ('anonymous', 'reserves'),
    ('AUTHENTICATED', 'reserves'),
    ('alice,mallory', 'comma'),
    ('alice\x01', 'control'),
    ('a' * 256, 'over the limit'),
    ('admins', 'permission group'),
])
def test_dangerous_names_stay_anonymous_whatever_the_cookie(trac_env, value,
                                                          why):
    trac_env.admin('permission add admins TRAC_ADMIN')
    trac_env.admin('permission add carol admins')
    cookie = trac_env.stale_cookie('bob')
    trac_env.log()
    r = trac_env.request('/', headers=[('Remote-User', value), cookie])
    assert r.status == 200
    assert logged_in_as(r) is None
    log = trac_env.log()
    assert 'refused the user name in header Remote-User' in log
    assert why in log
    assert 'Traceback' not in log


def test_null_and_empty_fall_back_to_trac_cookie_login(trac_env):
    cookie = trac_env.stale_cookie('bob')
    for value in ('(null)', '', '   '):
        r = trac_env.request('/', headers=[('Remote-User', value), cookie])
        assert logged_in_as(r) == 'bob', repr(value)


def test_front_end_name_beats_stale_cookie(trac_env):
    cookie = trac_env.stale_cookie('bob')
    r = trac_env.request('/wiki/WikiStart',
                         headers=[('Remote-User', 'alice'), cookie])
    assert logged_in_as(r) == 'alice'
    r = trac_env.request('/', headers=[('Remote-User', 'alice'), cookie])
    assert logged_in_as(r) == 'alice'
    # Bob's cookie was retired: a page the front end leaves alone does
    # not bring him back.
    r = trac_env.request('/', headers=[cookie])
    assert logged_in_as(r) is None


def test_server_name_beats_stale_cookie(make_env):
    env = make_env(('remoteuser', 'header', ''))
    cookie = env.stale_cookie('bob')
    r = env.request('/', remote_user='alice', headers=[cookie])
    assert logged_in_as(r) == 'alice'


def test_refusals_do_not_flood_the_log(trac_env):
    trac_env.log()
    for _ in range(20):
        r = trac_env.request('/', headers=[('Remote-User', 'anonymous')])
        assert r.status == 200
    log = trac_env.log()
    assert log.count('refused the user name') == 1


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


def test_profile_sync_writes_only_changes(make_env):
    env = make_env(('remoteuser', 'name_header', 'X-Remote-Name'),
                   ('remoteuser', 'email_header', 'X-Remote-Email'))
    latin1 = 'José Díaz'.encode('utf-8').decode('latin-1')
    headers = [('Remote-User', 'jose'), ('X-Remote-Name', latin1),
               ('X-Remote-Email', 'jose@example.com')]
    env.log()
    for _ in range(3):
        assert env.request('/', headers=headers).status == 200
    rows = dict(env.db("SELECT name, value FROM session_attribute "
                       "WHERE sid='jose' AND authenticated=1"))
    assert rows['name'] == 'José Díaz'
    assert rows['email'] == 'jose@example.com'
    log = env.log()
    assert log.count('name of jose set to') == 1
    assert log.count('email of jose set to') == 1
    env.request('/', headers=[('Remote-User', 'jose'),
                              ('X-Remote-Email', 'new@example.com')])
    rows = dict(env.db("SELECT name, value FROM session_attribute "
                       "WHERE sid='jose' AND authenticated=1"))
    assert rows == {'name': 'José Díaz', 'email': 'new@example.com'}


def test_profile_headers_from_untrusted_peers_are_ignored(make_env):
    env = make_env(('remoteuser', 'email_header', 'X-Remote-Email'),
                   ('remoteuser', 'header', ''))
    env.request('/', remote_user='alice', peer=UNTRUSTED,
                headers=[('X-Remote-Email', 'evil@example.com')])
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == []


def test_profile_server_variables_count_from_any_peer(make_env):
    """Apache mod_auth_openidc under mod_wsgi: REMOTE_USER and the
    claims are the server's own variables; the peer is the browser."""
    env = make_env(('remoteuser', 'email_header', 'env:OIDC_CLAIM_email'),
                   ('remoteuser', 'header', ''))
    env.request('/', remote_user='alice', peer=UNTRUSTED,
                environ={'OIDC_CLAIM_email': 'alice@example.com'},
                headers=[('OIDC-CLAIM-email', 'evil@example.com')])
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == [('alice@example.com',)]


def test_bad_profile_value_is_logged_not_stored(make_env):
    env = make_env(('remoteuser', 'email_header', 'X-Remote-Email'))
    r = env.request('/', headers=[('Remote-User', 'alice'),
                                  ('X-Remote-Email', 'not an address')])
    assert r.status == 200
    assert 'ignored the email of alice' in env.log()
    assert env.db("SELECT value FROM session_attribute WHERE sid='alice' "
                  "AND name='email'") == []


@pytest.mark.parametrize('section, option, value, message', [
    ('remoteuser', 'trusted_proxies', '127.0.0.1, 10.0.0.0/33, bogus',
     "'10.0.0.0/33' is not an IP address"),
    ('remoteuser', 'header', 'Remote User', 'is not a valid HTTP header'),
    ('remoteuser', 'strip_domain', 'maybe', "'maybe' is not a boolean"),
    ('remoteuser', 'lowercase', 'yes please', 'is not a boolean'),
])
def test_bad_option_values_keep_the_site_serving(make_env, section, option,
                                                 value, message):
    env = make_env((section, option, value))
    r = env.request('/', headers=[('Remote-User', 'alice')])
    assert r.status == 200
    log = env.log()
    assert message in log
    assert 'Traceback' not in log
    # The good entry of a list still counts; a bad header believes nobody.
    expected = None if option == 'header' else 'alice'
    assert logged_in_as(r) == expected


def test_option_docs_are_written_for_the_tracini_page(trac_env):
    from trac.config import Option
    registry = Option.get_registry()
    for name in ('header', 'trusted_proxies', 'secret_header', 'secret',
                 'strip_domain', 'lowercase', 'name_header', 'email_header',
                 'logout_url'):
        option = registry[('remoteuser', name)]
        assert len(option.__doc__.split()) > 10, name
    env = trac_env.env()
    assert env.config.get('remoteuser', 'trusted_proxies') == \
        '127.0.0.1,::1'


ORDER_SCRIPT = r'''
import sys
first, second = sys.argv[1:3]
__import__(first)
__import__(second)
from trac.core import ComponentMeta
from trac.web.api import IAuthenticator
print(ComponentMeta._registry[IAuthenticator][0].__name__)
'''


@pytest.mark.parametrize('order', [
    ('trac.web.auth', 'remoteuserauth.auth'),
    ('remoteuserauth.auth', 'trac.web.auth'),
])
def test_asked_first_whatever_the_import_order(order):
    out = subprocess.run([sys.executable, '-c', ORDER_SCRIPT] + list(order),
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'RemoteUserAuthenticator'


def test_stale_cookie_would_win_if_trac_asked_loginmodule_first(trac_env):
    """The check above matters: with LoginModule first, the cookie wins."""
    from trac.web.api import IAuthenticator
    from trac.web.auth import LoginModule
    from remoteuserauth.auth import RemoteUserAuthenticator
    from remoteuserauth.ordering import ask_first
    cookie = trac_env.stale_cookie('bob')
    ask_first(LoginModule, IAuthenticator)
    try:
        r = trac_env.request('/', headers=[('Remote-User', 'alice'), cookie])
        assert logged_in_as(r) == 'bob'
    finally:
        ask_first(RemoteUserAuthenticator, IAuthenticator)
    r = trac_env.request('/', headers=[('Remote-User', 'alice'), cookie])
    assert logged_in_as(r) == 'alice'


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
