"""apache-mod-wsgi-kerberos.conf with real Kerberos: two KDCs that trust
each other (tests/support/kdc.py), Apache with mod_auth_gssapi checking real
SPNEGO tickets on /login, and Trac under mod_wsgi, all on loopback.

Browsers are played by private credential caches: `kinit` with a
password, then the SPNEGO token Python's gssapi builds from that cache
(or `curl --negotiate` itself), exactly what a browser sends.
"""

import os
import re
import subprocess
import time

import pytest

from conftest import logged_in_as
from e2e import (check_anonymous_page, check_hostile_clients, check_login,
                 check_redirects, check_selftest_clean, check_static)
from kdc import LOCAL, OTHER, SERVICE_HOST, Realms
from process import http, require

# What a partner realm's administrator may call a principal, chosen to
# look like a local account once a careless cleaning is done (the
# partner's KDC issues tickets without a PAC, as MIT before 1.20 and
# most non-Windows KDCs do, so names with backslashes get tickets), and
# the name Trac keeps for each with strip_domain = false (None:
# refused). mod_auth_gssapi writes the principal as krb5 displays it: a
# backslash doubled, an at sign inside the name as `\@`.
PARTNER_NAMES = [
    ('carol', 'carol@OTHER.REALM'),
    ('Carol', 'Carol@OTHER.REALM'),
    ('carol/admin', 'carol/admin@OTHER.REALM'),
    (r'EXAMPLE.COM\\carol', r'EXAMPLE.COM\\carol@OTHER.REALM'),
    (r'EXAMPLE\\carol', r'EXAMPLE\\carol@OTHER.REALM'),
    (r'carol\@EXAMPLE.COM', r'carol\@EXAMPLE.COM@OTHER.REALM'),
    ('jos\u00e9', 'jos\u00e9@OTHER.REALM'),      # UTF-8 through mod_wsgi
    ('\uff43arol', None),                      # full-width c: not NFKC
    ('carol\x01', None),                       # krb5 leaves it unescaped
]


@pytest.fixture(scope='module')
def realms():
    r = Realms({LOCAL: ['alice', 'bob', 'carol'], OTHER: []})
    try:
        for name, whole in PARTNER_NAMES:
            r.add_user(OTHER, name)
        yield r
    finally:
        r.stop()


@pytest.fixture
def kerberos(deployed, realms):  # noqa: F811
    """The sample running in Apache; carol is a local administrator."""
    def deploy(*options):
        d = deployed('apache-mod-wsgi-kerberos.conf',
                     [('remoteuser', 'header', '')] + list(options),
                     ['auth_gssapi'],
                     server_env={'KRB5_CONFIG': realms.conf},
                     KEYTAB=realms.keytab, RCACHE_DIR=realms.rcache)
        d.env.admin('permission', 'add', 'carol', 'TRAC_ADMIN')
        d.env.log()
        return d
    return deploy


def login(d, credentials, cookie=None):
    """/login with `credentials`; the trac_auth cookie it sets, if any."""
    headers = list(credentials) + ([cookie] if cookie else [])
    r = http(d.port, d.prefix + '/login', headers)
    assert r.status == 302, (r.status, r.body[:300])
    auth = [c for c in r.cookies() if c.startswith('trac_auth=')]
    return ('Cookie', auth[0].split(';')[0]) if auth else None


def page_user(d, cookie):
    """Who the page says is logged in with `cookie`. Trac shortens names
    that look like e-mail addresses (`carol@…`) for visitors without
    EMAIL_VIEW, so the whole name comes from Trac's auth_cookie table."""
    r = http(d.port, d.prefix + '/wiki/WikiStart', [cookie] if cookie else [])
    assert r.status == 200, r.body[:300]
    shown = logged_in_as(r)
    if shown is None:
        return None
    owner = d.env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                     (cookie[1].split('=', 1)[1],))
    assert owner and shown.split('@')[0] == owner[0][0].split('@')[0], \
        (shown, owner)
    return owner[0][0]


def apache_let_in(d, principal):
    """Whether Apache's access log shows `principal` passing /login:
    mod_auth_gssapi accepted the ticket and handed the request on.
    Apache writes the line once the answer is sent, hence the wait."""
    line = '127.0.0.1 %s "GET %s/login ' % (principal, d.prefix)
    path = os.path.join(d.server.dir, 'access.log')
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(path) as f:
            if line in f.read():
                return True
        time.sleep(0.05)
    return False


def refusals(d):
    return [line for line in d.env.log().splitlines() if 'refused' in line]


def test_local_realm_user_logs_in_with_a_ticket(kerberos, realms):
    d = kerberos(('remoteuser', 'local_domains', LOCAL))
    check_anonymous_page(d.port, d.prefix)
    check_static(d.port, d.prefix)
    r = http(d.port, d.prefix + '/login')
    assert r.status == 401
    assert r.header('WWW-Authenticate') == 'Negotiate'
    browser = realms.ccache('alice')
    realms.kinit('alice@' + LOCAL, browser)
    cookie = check_login(d.port, d.prefix, d.base_url,
                         realms.negotiate(browser))
    assert d.env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                    (cookie[1].split('=', 1)[1],)) == [('alice',)]
    # Apache believed the whole principal; the plugin made it `alice`.
    assert apache_let_in(d, 'alice@' + LOCAL)
    assert not refusals(d)
    check_hostile_clients(d.port, d.prefix,
                          lambda: realms.negotiate(browser))
    check_redirects(d.port, d.prefix, d.base_url)
    check_selftest_clean(d.env, d.base_url)


def test_curl_negotiate_logs_in(kerberos, realms):
    """curl --negotiate -u : is what a real client sends after the 401,
    to the host name of the service principal."""
    require('curl')
    d = kerberos(('remoteuser', 'local_domains', LOCAL))
    browser = realms.ccache('alice')
    realms.kinit('alice@' + LOCAL, browser)
    referer = d.base_url + '/wiki/SandBox'
    out = subprocess.run(
        ['curl', '--silent', '--show-error', '--negotiate', '-u', ':',
         '--resolve', '%s:%d:127.0.0.1' % (SERVICE_HOST, d.port),
         '--header', 'Referer: ' + referer, '--header', 'Remote-User: carol',
         '--output', '/dev/null', '--dump-header', '-',
         'http://%s:%d%s/login' % (SERVICE_HOST, d.port, d.prefix)],
        env=realms.env(browser), capture_output=True, text=True,
        timeout=60, check=True).stdout
    # curl 7.88 sends its token at once, without waiting for the 401;
    # older ones show the challenge first.
    statuses = re.findall(r'^HTTP/1.1 (\d+)', out, re.M)
    assert statuses[-1] == '302' and set(statuses) <= {'401', '302'}, out
    # Apache proves itself to the client (mutual authentication).
    assert re.search(r'^WWW-Authenticate: Negotiate \S+', out, re.M), out
    assert 'Location: %s\n' % referer in out
    cookie = re.search(r'^Set-Cookie: (trac_auth=[0-9a-f]+)', out, re.M)
    assert cookie, out
    assert page_user(d, ('Cookie', cookie.group(1))) == 'alice'


def test_tokens_a_client_forges_never_log_in(kerberos, realms):
    """A token sent twice (the replay cache), and tokens that are no
    tickets at all, get Apache's 401: Trac never sees them."""
    d = kerberos(('remoteuser', 'local_domains', LOCAL))
    browser = realms.ccache('alice')
    realms.kinit('alice@' + LOCAL, browser)
    token = realms.negotiate(browser)
    assert login(d, token)
    replayed = http(d.port, d.prefix + '/login', token)
    assert replayed.status == 401
    assert not replayed.cookies()
    # The replay cache the sample names, kept by Apache's user.
    assert os.listdir(realms.rcache) == ['trac.rcache2']
    valid = token[0][1].split(' ', 1)[1]
    for value in ['Negotiate', 'Negotiate ', 'Negotiate !!!!',
                  'Negotiate ' + valid[:40], 'Negotiate ' + valid[::-1],
                  'Negotiate ' + 'A' * 6000, 'Negotiate\t' + valid,
                  'NEGOTIATE ' + valid, 'Negotiate ' + valid + '\x01',
                  'Basic YWxpY2U6U2VjcmV0LTEyMw==']:
        r = http(d.port, d.prefix + '/login', [('Authorization', value)])
        assert r.status in (400, 401), (value[:40], r.status)
        assert not [c for c in r.cookies() if c.startswith('trac_auth=')]
    assert page_user(d, None) is None
    assert 'Traceback' not in d.env.log()


def test_other_realm_user_is_refused(kerberos, realms):
    """carol@OTHER.REALM has a real ticket for Trac through the trust,
    and Apache lets her through; she must not become the local carol,
    an administrator, while local_domains names only the local realm."""
    d = kerberos(('remoteuser', 'local_domains', LOCAL))
    local = realms.ccache('carol-local')
    realms.kinit('carol@' + LOCAL, local)
    assert page_user(d, login(d, realms.negotiate(local))) == 'carol'
    d.env.log()
    browser = realms.ccache('carol-other')
    realms.kinit('carol@' + OTHER, browser)
    r = http(d.port, d.prefix + '/login', realms.negotiate(browser))
    assert r.status == 302
    assert apache_let_in(d, 'carol@' + OTHER)
    lines = refusals(d)
    assert len(lines) == 1, lines
    assert "'carol@%s'" % OTHER in lines[0]
    assert 'local_domains' in lines[0]
    assert 'strip_domain = false' in lines[0]
    # Back where she came from, with what /login set: anonymous, told
    # that the web server did not identify her.
    cookies = [c.split(';')[0] for c in r.cookies()]
    assert not [c for c in cookies if c.startswith('trac_auth=')]
    assert r.header('Location') == d.base_url
    page = http(d.port, d.prefix + '/',
                [('Cookie', '; '.join(cookies))] if cookies else [])
    assert page.status == 200
    assert logged_in_as(page) is None
    assert 'did not identify you' in page.body


def test_other_realm_user_kept_whole_without_strip_domain(kerberos, realms):
    d = kerberos(('remoteuser', 'strip_domain', 'false'))
    browser = realms.ccache('carol-other')
    realms.kinit('carol@' + OTHER, browser)
    cookie = login(d, realms.negotiate(browser))
    assert page_user(d, cookie) == 'carol@' + OTHER
    r = http(d.port, d.prefix + '/admin', [cookie])
    assert r.status in (403, 404)  # Trac hides what it forbids
    realms.kinit('alice@' + LOCAL, browser)
    assert page_user(d, login(d, realms.negotiate(browser))) == \
        'alice@' + LOCAL
    assert not refusals(d)


@pytest.mark.parametrize('strip', ['true', 'false'])
def test_partner_principals_shaped_like_local_names(kerberos, realms,
                                                    strip):
    """Whatever a partner realm's administrator calls a principal,
    Apache accepts its ticket, and it never becomes a local account:
    refused while local_domains names only the local realm and domain,
    kept whole (and so distinct) without strip_domain."""
    d = kerberos(('remoteuser', 'local_domains', LOCAL + ', EXAMPLE'),
                 ('remoteuser', 'strip_domain', strip))
    browser = realms.ccache('partner')
    for name, whole in PARTNER_NAMES:
        principal = '%s@%s' % (name, OTHER)
        realms.kinit(principal, browser)
        # A 302 from /login: Apache accepted the ticket, Trac answered.
        cookie = login(d, realms.negotiate(browser))
        expected = whole if strip == 'false' else None
        assert page_user(d, cookie) == expected, principal
        assert (cookie is None) == (expected is None), principal
    assert 'Traceback' not in d.env.log()


def test_renewed_ticket_of_another_user_beats_older_cookie(kerberos,
                                                           realms):
    """alice logged in yesterday; today bob uses the same browser and
    his renewed ticket logs him in: bob, not alice's cookie, wins."""
    d = kerberos(('remoteuser', 'local_domains', LOCAL))
    browser = realms.ccache('shared')
    realms.kinit('alice@' + LOCAL, browser)
    alice = login(d, realms.negotiate(browser))
    assert page_user(d, alice) == 'alice'
    realms.kinit('bob@' + LOCAL, browser, renewable=True)
    realms.renew(browser)
    assert realms.principal(browser) == 'bob@' + LOCAL
    bob = login(d, realms.negotiate(browser), cookie=alice)
    assert bob is not None and bob != alice
    assert page_user(d, bob) == 'bob'
    assert d.env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                    (bob[1].split('=', 1)[1],)) == [('bob',)]
    # alice's cookie is retired: sent again, it logs nobody in.
    assert d.env.db("SELECT name FROM auth_cookie WHERE cookie=%s",
                    (alice[1].split('=', 1)[1],)) == []
    assert page_user(d, alice) is None
