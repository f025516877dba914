"""The authenticator through real requests on a real environment."""

import subprocess
import sys

import pytest

from conftest import ROOT, logged_in_as

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


@pytest.mark.parametrize('placeholder', ['{http.auth.user.id}',
                                         '%[http_auth_user]',
                                         '%{REMOTE_USER}s'])
def test_an_unreplaced_placeholder_logs_nobody_in(trac_env, placeholder):
    """A front end configured with a placeholder that does not exist on
    a request sends it literally: every visitor would be one user."""
    trac_env.log()
    r = trac_env.request('/wiki/WikiStart',
                         headers=[('Remote-User', placeholder)])
    assert r.status == 200 and logged_in_as(r) is None
    assert 'placeholder' in trac_env.log()
