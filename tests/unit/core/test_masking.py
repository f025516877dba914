"""Secrets in trac.ini stay off every page and out of the log."""

import os
import re

import pytest

from remoteuserauth.core.masking import HIDDEN, mask, mask_configinfo

SECRET = 'Zq8unlikelySecret4711'


@pytest.mark.parametrize('section, name, value, shown', [
    ('remoteuser', 'secret', SECRET, HIDDEN),
    ('RemoteUser', 'Secret', SECRET, HIDDEN),
    ('remoteuser', 'secret', '', ''),
    ('notification', 'smtp_password', 'pw', HIDDEN),
    ('trac', 'database', 'postgres://trac:p@ss:w0rd@db:5432/trac',
     'postgres://trac:(not shown)@db:5432/trac'),
    ('trac', 'database', 'sqlite:db/trac.db', 'sqlite:db/trac.db'),
    ('trac', 'base_url', 'https://trac.example.com:8443/a@b',
     'https://trac.example.com:8443/a@b'),
    ('trac', 'base_url', 'https://user@host/', 'https://user@host/'),
    ('intertrac', 't.url', 'https://x.example/q?a=1',
     'https://x.example/q?a=1'),
    ('remoteuser', 'jwt_keys', 'https://u:tok@keys.example/jwks?key=TOKEN#f',
     'https://u:(not shown)@keys.example/jwks?(not shown)'),
    ('remoteuser', 'jwt_keys', '/etc/trac/jwks.json', '/etc/trac/jwks.json'),
    ('x', 'list', 'http://a:1@h, ftp://b:2@g/p',
     'http://a:(not shown)@h, ftp://b:(not shown)@g/p'),
])
def test_mask(section, name, value, shown):
    assert mask(section, name, value) == shown


def test_mask_configinfo_leaves_other_shapes_alone():
    info = [{'name': 'remoteuser', 'options': [
        {'name': 'secret', 'value': SECRET, 'modified': True},
        {'name': 'header', 'value': 'Remote-User', 'modified': False}]},
        'junk', {'name': 'x', 'options': 'junk'}]
    mask_configinfo(info)
    assert info[0]['options'] == [
        {'name': 'secret', 'value': HIDDEN, 'modified': True},
        {'name': 'header', 'value': 'Remote-User', 'modified': False}]
    mask_configinfo(None)
    mask_configinfo({'config': SECRET})


@pytest.fixture
def secret_env(make_env):
    env = make_env(('remoteuser', 'secret_header', 'X-Secret'),
                   ('remoteuser', 'secret', SECRET),
                   ('remoteuser', 'jwt_keys',
                    'https://keys.example/jwks?access_token=' + SECRET),
                   ('notification', 'smtp_password', SECRET + 'smtp'))
    env.admin('permission add viewer CONFIG_VIEW')
    env.admin('permission add root TRAC_ADMIN')
    return env


def as_user(name, secret=SECRET):
    return [('Remote-User', name), ('X-Secret', secret)]


def test_about_page_hides_the_secret(secret_env):
    r = secret_env.request('/about', headers=as_user('viewer'))
    assert r.status == 200
    assert 'id="config"' in r.body
    assert SECRET not in r.body
    # Still says it is set, and shows what is not secret.
    assert re.search(r'<td class="name">secret</td>\s*<td class="value">'
                     r'\(set, not shown\)</td>', r.body)
    assert re.search(r'<td class="name">secret_header</td>\s*'
                     r'<td class="value">X-Secret</td>', r.body)
    assert 'https://keys.example/jwks?(not shown)' in r.body
    assert 'access_token' not in r.body


def test_tracini_macro_shows_no_value(secret_env):
    r = secret_env.request('/wiki/TracIni', headers=as_user('viewer'))
    assert r.status == 200
    assert 'remoteuser-secret-option' in r.body
    assert SECRET not in r.body


def test_panel_and_check_hide_the_secret(secret_env):
    r = secret_env.request('/admin/general/remoteuser',
                           headers=as_user('root'))
    assert r.status == 200 and 'accepted: root' in r.body
    assert SECRET not in r.body
    assert HIDDEN in r.body
    out = secret_env.admin('remoteuser check', '127.0.0.1', 'alice',
                           'X-Secret=' + SECRET)
    assert SECRET not in out
    assert 'X-Secret: (matches [remoteuser] secret)' in out
    assert out.strip().endswith('accepted: alice')
    out = secret_env.admin('remoteuser check', '127.0.0.1', 'alice',
                           'X-Secret=' + SECRET[:-1])
    assert 'X-Secret: (does not match [remoteuser] secret)' in out


def test_secret_never_logged(secret_env):
    """Every path that reads or compares the secret, at DEBUG level."""
    secret_env.log()
    for headers in (as_user('viewer'), as_user('viewer', SECRET[::-1]),
                    as_user('anonymous'), as_user('a,b'), as_user('root')):
        for path in ('/about', '/login', '/admin/general/remoteuser'):
            assert secret_env.request(path, headers=headers).status < 500
    secret_env.admin('remoteuser check', '127.0.0.1', 'alice',
                     'X-Secret=' + SECRET)
    # A broken setting next to the secret is logged without it.
    secret_env.configure('remoteuser', secret_header='Bad Header')
    assert secret_env.request('/', headers=as_user('viewer')).status == 200
    log = secret_env.log()
    assert 'secret_header' in log and 'viewer' in log
    with open(os.path.join(secret_env.path, 'log', 'trac.log')) as f:
        assert SECRET not in f.read()
