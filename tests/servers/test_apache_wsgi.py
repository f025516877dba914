"""The Apache mod_wsgi samples against a real Apache: Basic, Digest,
SSPI names (simulated), CA SiteMinder. Kerberos: test_kerberos.py."""

import os
import re


from deploy import htdigest, htpasswd
from e2e import (TOKEN_OPTIONS, basic, check_anonymous_page, check_deployment,
                 check_hostile_clients, check_login, check_redirects,
                 check_selftest_clean, check_selftest_clean_logged_in,
                 digest)
from process import http


def test_mod_wsgi_basic(deployed, public_tmp):
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    d = deployed('apache-mod-wsgi.conf', [('remoteuser', 'header', '')],
                 HTPASSWD=users)
    check_deployment(d.port, d.prefix, d.base_url, basic())
    check_selftest_clean(d.env, d.base_url)
    check_selftest_clean_logged_in(d.env, d.base_url)


def test_mod_wsgi_digest(deployed, public_tmp):
    users = htdigest(os.path.join(public_tmp, 'htdigest'), 'trac', ['alice'])
    d = deployed('apache-mod-wsgi-digest.conf', [('remoteuser', 'header', '')],
                 ['auth_digest'], HTDIGEST=users)
    check_anonymous_page(d.port, d.prefix)
    assert http(d.port, '/prefix/login').status == 401
    check_login(d.port, d.prefix, d.base_url, digest(d.port, '/prefix/login'))
    check_hostile_clients(d.port, d.prefix)
    check_redirects(d.port, d.prefix, d.base_url)
    check_selftest_clean(d.env, d.base_url)


def replace_block(marker, replacement):
    """Swap the part of a sample between `# BEGIN marker` and
    `# END marker` for what the test can run in its place."""
    def edit(text):
        pattern = r'# BEGIN %s\n.*?# END %s' % (marker, marker)
        assert re.search(pattern, text, re.S), marker
        return re.sub(pattern, lambda m: replacement, text, flags=re.S)
    return edit


def test_mod_wsgi_sspi_names(deployed, public_tmp):
    """apache-mod-wsgi-sspi.conf, simulated: mod_authnz_sspi (Windows
    only) sets REMOTE_USER to `DOMAIN\\alice`; Basic authentication
    with such user names makes Apache set exactly that. (Kerberos runs
    for real in test_kerberos.py.)"""
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'),
                     ['EXAMPLE\\alice', 'EXAMPLE\\Alice', 'PARTNER\\carol'])
    d = deployed('apache-mod-wsgi-sspi.conf',
                 [('remoteuser', 'header', ''),
                  ('remoteuser', 'local_domains', 'EXAMPLE'),
                  ('remoteuser', 'lowercase', 'true')],
                 edit=replace_block('authentication', (
                     'AuthType Basic\n        AuthName "Trac"\n'
                     '        AuthUserFile %s\n        Require valid-user'
                     % users)))
    check_anonymous_page(d.port, d.prefix)
    check_selftest_clean(d.env, d.base_url)
    for login in ('EXAMPLE\\alice', 'EXAMPLE\\Alice'):
        check_login(d.port, d.prefix, d.base_url, basic(login), 'alice')
    # A user of a trusted domain that local_domains does not name.
    r = http(d.port, d.prefix + '/login', basic('PARTNER\\carol'))
    assert r.status == 302
    assert not [c for c in r.cookies() if c.startswith('trac_auth=')]
    assert re.search(r"refused .*'PARTNER'.*local_domains", d.env.log())
    check_hostile_clients(d.port, d.prefix)


def test_siteminder_sm_user(deployed, public_tmp):
    """The agent sets HTTP_SM_USER for the requests it let through;
    mod_rewrite sets the same variable from Basic authentication here."""
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    agent = ('AuthType Basic\n        AuthName "Trac"\n'
             '        AuthUserFile %s\n        Require valid-user\n'
             '        RewriteEngine On\n'
             '        RewriteRule ^ - [E=HTTP_SM_USER:%%{REMOTE_USER}]'
             % users)
    d = deployed('apache-siteminder.conf',
                 [('remoteuser', 'header', 'SM_USER'),
                  ('remoteuser', 'trusted_proxies', '0.0.0.0/0, ::/0')] +
                 TOKEN_OPTIONS,
                 edit=replace_block('agent', agent),
                 SM_AGENT_CONF='/nonexistent/WebAgent.conf')
    check_anonymous_page(d.port, d.prefix)
    check_login(d.port, d.prefix, d.base_url, basic())
    check_hostile_clients(d.port, d.prefix, basic(),
                          extra=[('SM-User', 'admin')])
    check_hostile_clients(d.port, d.prefix, extra=[('Sm-User', 'admin'),
                                                  ('SM_USER', 'admin')])
    check_selftest_clean(d.env, d.base_url)


def test_mod_wsgi_server_name_beats_stale_cookie(deployed, public_tmp):
    users = htpasswd(os.path.join(public_tmp, 'htpasswd'), ['alice'])
    d = deployed('apache-mod-wsgi.conf', [('remoteuser', 'header', '')],
                 HTPASSWD=users)
    stale = d.env.stale_cookie('bob')
    assert 'logged in as' in http(d.port, '/prefix/', [stale]).body
    r = http(d.port, '/prefix/login', basic() + [stale])
    assert r.status == 302
    new = [c for c in r.cookies() if c.startswith('trac_auth=')][0]
    value = new.split(';')[0].split('=', 1)[1]
    assert 'trac_auth=' + value != stale[1]
    assert d.env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                    (value,)) == [('alice',)]
