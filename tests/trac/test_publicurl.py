"""Redirects, links and cookies through dispatch_request, with the
backend's view of a request behind a proxy."""

import pytest

from conftest import cookies, header, logged_in_as

BASE = 'https://trac.example.com/prefix'
UNTRUSTED = '192.0.2.10'


@pytest.fixture
def based(make_env):
    return make_env(('trac', 'base_url', BASE))


# The two ways a proxy passes /prefix/wiki/X: prefix stripped, or kept
# and announced in SCRIPT_NAME (gunicorn's SCRIPT_NAME header, tracd
# --base-path).
VIEWS = ['', '/prefix']


@pytest.mark.parametrize('script_name', VIEWS)
def test_links_and_login_follow_base_url(based, script_name):
    r = based.request('/wiki/WikiStart', script_name=script_name)
    assert r.status == 200
    assert 'href="/prefix/wiki/TracGuide"' in r.body
    assert 'href="/prefix/login"' in r.body
    assert 'href="http://backend' not in r.body
    r = based.request('/login', script_name=script_name,
                      headers=[('Remote-User', 'alice')])
    assert r.status == 302
    assert header(r, 'Location') == BASE
    assert cookies(r)['trac_auth']['path'] == '/prefix'


def test_a_base_url_changed_counts_from_the_next_request(make_env):
    """The public address reads `[trac] base_url` with the plugin's
    options (parsed again only when trac.ini changes): set, changed and
    emptied, it counts from the next request."""
    env = make_env()
    login = [('Remote-User', 'alice')]
    assert header(env.request('/login', headers=login),
                  'Location').startswith('http://backend')
    for base in (BASE, 'https://trac.example.org/other'):
        env.configure('trac', base_url=base)
        assert header(env.request('/login', headers=login),
                      'Location') == base
    env.configure('trac', base_url='')
    assert header(env.request('/login', headers=login),
                  'Location').startswith('http://backend')


@pytest.mark.parametrize('base', [
    'https://\uff54rac.example.com/',        # a full-width letter
    'https://trac.example.com/p\x00x',
    'https://trac.example.com/p\u2028x',
    'https://trac.example.com/p x',
    'javascript:alert(1)//trac.example.com/',
    'https://trac.example.com/' + 'a' * 100000,
], ids=['fullwidth', 'nul', 'line-separator', 'space', 'javascript', 'huge'])
def test_a_hostile_base_url_set_later_is_logged_and_not_followed(make_env,
                                                                 base):
    """A broken `[trac] base_url` written between requests is refused when
    the options are read again: a log line, and pages and redirects of the
    backend's own site, never a 500."""
    env = make_env()
    login = [('Remote-User', 'alice')]
    env.request('/login', headers=login)
    env.log()
    env.configure('trac', base_url=base)
    r = env.request('/login', headers=login)
    assert r.status == 302
    location = header(r, 'Location')
    if len(base) < 1000:
        assert location.startswith('http://backend'), location
        assert '[trac] base_url' in env.log()
    else:
        # Long, but a plain site address: followed as written.
        assert location == base
    assert env.request('/wiki/WikiStart').status == 200
    assert 'Traceback' not in env.log()


@pytest.mark.parametrize('script_name', VIEWS)
@pytest.mark.parametrize('referer, location', [
    (BASE + '/wiki/SandBox', BASE + '/wiki/SandBox'),
    ('http://trac.example.com/prefix/ticket/1',
     'https://trac.example.com/prefix/ticket/1'),
    ('https://evil.example/prefix/wiki', BASE),
    ('http://backend:8000/wiki/SandBox', BASE),
    ('https://trac.example.com/other', BASE),
])
def test_login_referer_only_inside_the_public_base(based, script_name,
                                                   referer, location):
    r = based.request('/login', script_name=script_name, headers=[
        ('Remote-User', 'alice'), ('Referer', referer)])
    assert header(r, 'Location') == location


def test_spoofed_host_cannot_steer_redirects(based):
    for host in ('evil.example', 'evil.example:443'):
        r = based.request('/login', host=host, headers=[
            ('Remote-User', 'alice'),
            ('Referer', 'https://%s/prefix/x' % host),
            ('X-Forwarded-Host', 'evil.example')])
        assert header(r, 'Location') == BASE
        r = based.request('/wiki/', host=host)
        assert header(r, 'Location') == BASE + '/wiki'


def test_forms_post_to_the_public_prefix(based):
    r = based.request('/newticket', headers=[('Remote-User', 'alice')],
                      host='evil.example')
    assert 'action="/prefix/newticket' in r.body
    assert 'action="/prefix/search"' in r.body


def test_session_cookie_path_follows_base_url(based):
    r = based.request('/prefs', headers=[('Remote-User', 'alice')])
    assert cookies(r)['trac_form_token']['path'] == '/prefix'


def test_invalid_base_url_is_logged_and_site_serves(make_env):
    env = make_env(('trac', 'base_url', 'trac.example.com/prefix'))
    r = env.request('/wiki/WikiStart', headers=[('Remote-User', 'alice')])
    assert r.status == 200 and logged_in_as(r) == 'alice'
    assert "[trac] base_url: 'trac.example.com/prefix' is not an absolute" \
        in env.log()


FORWARDED = [('X-Forwarded-Proto', 'https'),
             ('X-Forwarded-Host', 'trac.example.com'),
             ('X-Forwarded-Prefix', '/prefix')]


@pytest.fixture
def forwarding(make_env):
    return make_env(('remoteuser', 'trust_forwarded', 'true'))


def test_forwarded_headers_from_trusted_proxy(forwarding):
    r = forwarding.request('/login', headers=FORWARDED + [
        ('Remote-User', 'alice'), ('Referer', BASE + '/wiki/SandBox')])
    assert header(r, 'Location') == BASE + '/wiki/SandBox'
    assert cookies(r)['trac_auth']['path'] == '/prefix'
    r = forwarding.request('/wiki/WikiStart', headers=FORWARDED)
    assert 'href="/prefix/wiki/TracGuide"' in r.body


def test_forwarded_headers_use_the_nearest_proxys_value(forwarding):
    r = forwarding.request('/wiki/', headers=[
        ('X-Forwarded-Proto', 'http, https'),
        ('X-Forwarded-Host', 'evil.example, trac.example.com'),
        ('X-Forwarded-Port', '8443')])
    assert header(r, 'Location') == 'https://trac.example.com:8443/wiki'


def test_forwarded_headers_from_untrusted_peer_change_nothing(forwarding):
    r = forwarding.request('/wiki/', peer=UNTRUSTED, headers=FORWARDED)
    assert header(r, 'Location') == 'http://backend:8000/wiki'
    r = forwarding.request('/wiki/WikiStart', peer=UNTRUSTED,
                           headers=FORWARDED)
    assert 'href="/wiki/TracGuide"' in r.body


def test_forwarded_headers_ignored_unless_trust_forwarded(trac_env):
    r = trac_env.request('/wiki/', headers=FORWARDED)
    assert header(r, 'Location') == 'http://backend:8000/wiki'


def test_base_url_wins_over_forwarded_headers(make_env):
    env = make_env(('remoteuser', 'trust_forwarded', 'true'),
                   ('trac', 'base_url', 'https://trac.example.com/t'))
    r = env.request('/wiki/', headers=FORWARDED)
    assert header(r, 'Location') == 'https://trac.example.com/t/wiki'


def test_forwarded_proto_believed_by_the_server_is_undone(trac_env):
    """tracd and Trac's CGI gateways set wsgi.url_scheme from
    X-Forwarded-Proto sent by anyone."""
    r = trac_env.request('/wiki/', peer=UNTRUSTED, scheme='https',
                         headers=[('X-Forwarded-Proto', 'https')])
    assert header(r, 'Location') == 'http://backend:8000/wiki'
    assert 'ignored X-Forwarded-Proto from 192.0.2.10' in trac_env.log()
    # A server that terminated TLS itself says so; nothing is undone.
    r = trac_env.request('/wiki/', peer=UNTRUSTED, scheme='https',
                         headers=[('X-Forwarded-Proto', 'https')],
                         environ={'HTTPS': 'on'})
    assert header(r, 'Location') == 'https://backend:8000/wiki'


def test_forwarded_prefix_with_several_projects(tmp_path, make_env):
    env = make_env(('remoteuser', 'trust_forwarded', 'true'))
    import os
    parent = os.path.dirname(env.path)
    name = os.path.basename(env.path)
    r = env.request('/%s/wiki/' % name, headers=FORWARDED,
                    environ={'trac.env_path': None,
                             'trac.env_parent_dir': parent})
    assert header(r, 'Location') == BASE + '/%s/wiki' % name
