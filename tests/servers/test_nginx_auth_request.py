"""nginx auth_request -> gunicorn (nginx-auth-request.conf) against the
real servers, with an authenticator that, like nginx-ldap-auth's daemon
and the single sign-on portals, lets a request in by its session cookie
before it looks at Basic credentials.

nginx fills $remote_user from the client's own Authorization header,
whatever the authenticator looked at: the samples once said that with an
authenticator behind auth_request "only the two auth_basic lines
change", which let a session holder name anyone. The sample takes the
name from the authenticator's answer (auth_request_set)."""

import contextlib
import os
import re
import textwrap


from conftest import logged_in_as
from deploy import (PASSWORD, Nginx, deploy_static, edit, gunicorn_service,
                    make_env, render)
from e2e import (TICKETRPC_DENIED, TOKEN_OPTIONS, basic, check_deployment,
                 check_login, check_selftest_clean,
                 check_selftest_clean_logged_in, forged_basic, jsonrpc_call,
                 new_ticket, selftest,
                 the_critical_finding)
from forwardauth import (TRAC_OPTIONS, ForwardAuth, User, basic_user,
                         cookie_values)
from frontends import (NGINX_AUTH_REQUEST_LOGIN_WITH_ITS_OWN_HEADER,
                       check_logout, module_site)
from remoteuserauth.selftest import basic_credentials
from process import free_port, http

USERS = [User('alice', PASSWORD, 'Alice Liddell', 'alice@example.com',
              ('developers',)),
         User('bob', PASSWORD)]
ATTACKER = 'admin'

# The old advice: the name nginx parsed from the client's Authorization
# header, passed on after auth_request said yes.
OLD_ADVICE = edit(textwrap.indent('''\
auth_request_set $trac_user $upstream_http_remote_user;
auth_request_set $trac_name $upstream_http_remote_name;
auth_request_set $trac_email $upstream_http_remote_email;
auth_request_set $trac_groups $upstream_http_remote_groups;
''', ' ' * 12), '''            set $trac_user $remote_user;
''')


def private_site(text):
    """The sample's comment for a site that is private as a whole: the
    auth_request lines up into /prefix/, in place of the `set` lines,
    and no /login location."""
    lines = text.split('\n')
    start = lines.index('        location = /prefix/login {')
    end = lines.index('        }', start)
    asks = [ln[4:] for ln in lines[start:end]
            if ln.strip().startswith(('auth_request ', 'auth_request_set '))]
    assert len(asks) == 5, asks
    # The four `set` lines of /prefix/ only: the token location keeps
    # its own.
    kept = [ln for ln in lines[:start] + lines[end + 1:]
            if not re.match(r'        set \$trac_(user|name|email|groups) ',
                            ln)]
    at = kept.index('    location /prefix/ {') + 1
    return '\n'.join(kept[:at] + asks + kept[at:])


class Site(object):
    """gunicorn with Trac (the sample's trac.ini), the authenticator, and
    nginx-auth-request.conf in front of them while a `with` block runs."""

    def __init__(self, workdir, plugin_site):
        self.dir = workdir
        self.port, self.backend = free_port(), free_port()
        self.base_url = 'http://127.0.0.1:%d/prefix' % self.port
        self.env = make_env(workdir, options=[
            ('trac', 'base_url', self.base_url)] + TRAC_OPTIONS +
            TOKEN_OPTIONS)
        self.env.admin('permission add developers WIKI_ADMIN')
        self.env.admin('permission add %s TRAC_ADMIN' % ATTACKER)
        self.htdocs = deploy_static(self.env.path,
                                    os.path.join(workdir, 'static'))
        self.auth = ForwardAuth(USERS)
        try:
            self.gunicorn = gunicorn_service(
                workdir, plugin_site, 'gunicorn.conf.py',
                BACKEND_PORT=self.backend, TRAC_ENV=self.env.path,
                TRAC_ENV_PARENT_DIR='')
        except Exception:
            self.auth.stop()
            raise

    @contextlib.contextmanager
    def nginx(self, change=lambda text: text):
        """The sample, changed by `change` (text -> text)."""
        conf = render('nginx-auth-request.conf',
                      os.path.join(self.dir, 'site.conf'), PORT=self.port,
                      BACKEND_PORT=self.backend, HTDOCS=self.htdocs,
                      AUTH_URL=self.auth.url + '/verify')
        with open(conf) as f:
            text = change(f.read())
        with open(conf, 'w') as f:
            f.write(text)
        nginx = Nginx(self.dir, conf, self.port)
        try:
            yield nginx
        finally:
            nginx.stop()

    def logins(self):
        return self.env.db("SELECT name FROM auth_cookie ORDER BY name")

    def stop(self):
        self.gunicorn.stop()
        self.auth.stop()


site = module_site(Site)


def login(port, headers):
    """/prefix/login through nginx; the name of the trac_auth cookie
    Trac set (looked up in the page it opens), or the HTTP status."""
    r = http(port, '/prefix/login', headers)
    cookie = [c for c in r.cookies() if c.startswith('trac_auth=')]
    if r.status != 302 or not cookie:
        return r.status
    page = http(port, '/prefix/wiki/WikiStart',
                [('Cookie', cookie[0].split(';')[0])])
    return logged_in_as(page)


def forget(site, name):
    """Log `name` out everywhere: the module's tests share one Trac."""
    with site.env.env().db_transaction as db:
        db("DELETE FROM auth_cookie WHERE name=%s", (name,))


def whole(path):
    """All of a log file (`servers.read` keeps only its end)."""
    if not os.path.exists(path):
        return ''
    with open(path, errors='replace') as f:
        return f.read()


def session(site, user='bob'):
    """A session of `user` at the authenticator, as a browser holds it
    after its login page: the Cookie header."""
    return ('Cookie', '%s=%s' % site.auth.login(user, PASSWORD))


def forged_authorizations(name):
    """Basic credentials of `name` with a wrong password, in the
    spellings nginx reads $remote_user from."""
    value = basic_credentials(name, 'not-the-password')
    encoded = value[len('Basic '):]
    return [[('Authorization', value)],
            [('authorization', value)],
            [('AUTHORIZATION', value)],
            [('Authorization', 'basic ' + encoded)],
            [('Authorization', 'BASIC  ' + encoded)],
            [('Authorization', basic_credentials(name, ''))],
            [('Authorization', basic_credentials(name + ':x', 'y'))],
            [('Authorization', value), ('Remote-User', name)]]


def test_the_authenticator():
    """The test's authenticator: a session first, then Basic
    credentials, then 401; the name, display name, e-mail and groups in
    its answer; nothing of the request echoed."""
    auth = ForwardAuth(USERS)
    try:
        assert http(auth.port, '/verify').status == 401
        r = http(auth.port, '/verify', basic('alice'))
        assert r.status == 200
        assert [(n, v) for n, v in r.headers if n.startswith('Remote-')] == [
            ('Remote-User', 'alice'), ('Remote-Name', 'Alice Liddell'),
            ('Remote-Email', 'alice@example.com'),
            ('Remote-Groups', 'developers')]
        assert http(auth.port, '/verify', forged_basic('alice')).status == \
            401
        name, value = auth.login('bob', PASSWORD)
        cookie = ('Cookie', 'other=1; %s=%s' % (name, value))
        r = http(auth.port, '/verify', [cookie] + forged_basic('alice') +
                 [('Remote-User', 'alice')])
        assert r.status == 200 and r.header('Remote-User') == 'bob'
        assert r.header('Remote-Groups') is None
        assert http(auth.port, '/verify', [('Cookie', name + '=x' + value)]
                    ).status == 401
        auth.logout_everyone()
        assert http(auth.port, '/verify', [cookie]).status == 401
        assert auth.asked[1] == [('Host', '127.0.0.1:%d' % auth.port)] + \
            basic('alice')
    finally:
        auth.stop()
    assert basic_user(['Bearer x', 'Basic !!', 'Basic YQ==']) is None
    assert basic_user(['Bearer x', 'BASIC  YTpiOmM=']) == ('a', 'b:c')
    assert cookie_values(['a=1; b=2', 'a=3'], 'a') == ['1', '3']


def test_the_sample(site):
    """Password and session logins, the profile of the answer, and no
    forged credentials, beside a session or not, in any spelling, ever
    name anyone but the session's user."""
    with site.nginx() as nginx:
        check_deployment(site.port, '/prefix', site.base_url,
                         basic('alice'), rpc_login=False)
        r = http(site.port, '/prefix/login')
        assert r.status == 401
        assert r.header('WWW-Authenticate') == 'Basic realm="forwardauth"'
        assert site.env.db("SELECT name, value FROM session_attribute "
                           "WHERE sid='alice' AND name IN ('email', 'name') "
                           "ORDER BY name") == [
            ('email', 'alice@example.com'), ('name', 'Alice Liddell')]
        assert ('alice', 'developers') in site.env.db(
            "SELECT username, action FROM permission")
        bob = session(site)
        assert login(site.port, [bob]) == 'bob'
        for forged in forged_authorizations(ATTACKER):
            assert login(site.port, [bob] + forged) == 'bob', forged
            assert login(site.port, forged) == 401, forged
        # Two copies: nginx itself refuses the request.
        twice = forged_authorizations(ATTACKER)[0] * 2
        assert login(site.port, [bob] + twice) == 400
        for forged in ([('Remote-User', ATTACKER)],
                       [('Remote_User', ATTACKER)],
                       [('remote-user', ATTACKER), ('REMOTE-USER', ATTACKER)],
                       [('Remote-Groups', 'developers'),
                        ('Remote-Email', 'mallory@example.com')]):
            assert login(site.port, [bob] + forged) == 'bob', forged
        assert ATTACKER not in [name for name, in site.logins()]
        assert ('bob', 'developers') not in site.env.db(
            "SELECT username, action FROM permission")
        assert site.env.db("SELECT value FROM session_attribute WHERE "
                           "sid='bob' AND name='email'") == []
        # The authenticator got only what it decides by: no client's
        # Remote-User, no other header the client chose.
        allowed = {'host', 'connection', 'cookie', 'authorization',
                   'x-original-url', 'x-original-method', 'x-forwarded-for'}
        for asked in site.auth.asked:
            assert {n.lower() for n, v in asked} <= allowed, asked
        assert any(n == 'X-Original-URL' and v == site.base_url + '/login'
                   for asked in site.auth.asked for n, v in asked)
        log = whole(os.path.join(nginx.dir, 'error.log'))
        assert 'uninitialized' not in log, log


def test_the_old_advice_lets_a_session_holder_name_anyone(site, tmp_path):
    """$remote_user after auth_request: bob's session and Basic
    credentials of admin with any password make Trac log in admin. The
    self-test logged in with --user sees nothing (its credentials never
    go beside the forged ones, which alone are refused); with bob's
    session in --cookie-file it does."""
    with site.nginx(OLD_ADVICE) as nginx:
        bob = session(site)
        forged = forged_authorizations(ATTACKER)[0]
        try:
            # The hole this file is about.
            assert login(site.port, [bob] + forged) == ATTACKER
        finally:
            forget(site, ATTACKER)
        assert login(site.port, forged) == 401
        # What README says to look for: the name claimed, in the access
        # log's third field.
        assert [ln for ln in whole(os.path.join(nginx.dir, 'access.log'))
                .splitlines() if ' - %s [' % ATTACKER in ln and
                '"GET /prefix/login HTTP/1.1" 302' in ln], ATTACKER
        check_selftest_clean_logged_in(site.env, site.base_url, 'bob')
        jar = tmp_path / 'jar'
        jar.write_text('# bob, from the browser\n%s\n' % bob[1])
        rv, lines = selftest(site.env, site.base_url,
                             '--cookie-file=%s' % jar)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith(
        "CRITICAL /prefix/login: with the session of --cookie-file, the "
        "user name of a client's Basic credentials is accepted although "
        "their password is wrong: the front end let the session in and "
        "passed on a name it did not check."), lines
    assert "Fix: nginx: after auth_request, take the name from the " \
        "authenticator's answer: `auth_request_set $trac_user " \
        "$upstream_http_remote_user;`" in critical
    assert 'never $remote_user' in critical


def test_the_self_test_with_a_session(site, tmp_path):
    """The sample comes out clean with a session, /login checked logged
    in; the session's cookie is never shown, nor written to any log.
    An ended session is a warning, not a pass."""
    site.env.log()
    logins = site.logins()
    with site.nginx() as nginx:
        name, value = site.auth.login('bob', PASSWORD)
        jar = tmp_path / 'jar'
        jar.write_text('%s=%s; other=1\r\n' % (name, value))
        lines = check_selftest_clean(site.env, site.base_url,
                                     '--cookie-file=%s' % jar)
        assert not [ln for ln in lines if 'asks for a login first' in ln and
                    '/prefix/login:' in ln], lines
        assert any(ln.startswith('OK       /prefix/, /prefix/login,')
                   for ln in lines), lines
        site.auth.logout_everyone()
        rv, ended = selftest(site.env, site.base_url,
                             '--cookie-file=%s' % jar)
        logs = [whole(os.path.join(nginx.dir, n))
                for n in ('access.log', 'error.log')]
    assert rv == 0, ended
    assert any(ln.startswith('WARN     /prefix/login: the front end refused '
                            'the session of --cookie-file (HTTP 401)')
               for ln in ended), ended
    logs += [site.env.log(), whole(site.gunicorn.log)]
    for text in ['\n'.join(lines), '\n'.join(ended)] + logs:
        assert value not in text
    assert logs[0], "nginx wrote no access log"
    # The probe logged nobody in.
    assert site.logins() == logins


def test_a_site_private_as_a_whole(site, tmp_path):
    """The sample's variant for a private site: every page asks the
    authenticator. The self-test then needs a login, and says so."""
    with site.nginx(private_site):
        r = http(site.port, '/prefix/wiki/WikiStart')
        assert r.status == 401
        assert http(site.port, '/prefix/chrome/common/css/trac.css'
                    ).status == 200
        bob = session(site)
        r = http(site.port, '/prefix/wiki/WikiStart', [bob])
        assert r.status == 200 and logged_in_as(r) == 'bob'
        for forged in forged_authorizations(ATTACKER):
            r = http(site.port, '/prefix/wiki/WikiStart', [bob] + forged)
            assert logged_in_as(r) == 'bob', forged
        r = http(site.port, '/prefix/wiki/WikiStart', basic('alice'))
        assert logged_in_as(r) == 'alice'
        rv, lines = selftest(site.env, site.base_url)
        assert rv == 2, lines
        assert "give the self-test a test account (--user, for a password " \
            "the front end checks) or a session of the front end " \
            "(--cookie-file)" in lines[1], lines
        jar = tmp_path / 'jar'
        jar.write_text(bob[1])
        check_selftest_clean(site.env, site.base_url,
                             '--cookie-file=%s' % jar)
        check_selftest_clean_logged_in(site.env, site.base_url, 'alice')
    # The old advice for a private site: $remote_user on every page.
    with site.nginx(lambda text: edit(
            '        auth_request_set $trac_user $upstream_http_remote_user;',
            '        set $trac_user $remote_user;')(private_site(text))):
        r = http(site.port, '/prefix/wiki/WikiStart',
                 [session(site)] + forged_authorizations(ATTACKER)[0])
        assert logged_in_as(r) == ATTACKER      # the hole, on every page
        # The token paths name nobody, even with the lines moved up.
        r = jsonrpc_call(site.port, '/prefix/ticketrpc', 'ticket.create',
                         new_ticket(), [session(site)] +
                         forged_authorizations(ATTACKER)[0])
        assert r.fault[0] == TICKETRPC_DENIED, r
        rv, lines = selftest(site.env, site.base_url,
                             '--cookie-file=%s' % jar)
    critical = the_critical_finding(rv, lines)
    assert critical.startswith('CRITICAL /prefix/, /prefix/login, '
                               '/prefix/logout and 10 more: '), lines
    assert 'with the session of --cookie-file, the user name' in critical


def test_logout(site):
    """Logout through nginx forgets Trac's login; the session at the
    authenticator is the portal's to end (logout_url)."""
    with site.nginx():
        cookie = check_login(site.port, '/prefix', site.base_url,
                             [session(site)], expected='bob')
        check_logout(site.port, '/prefix', site.base_url, cookie)


def test_a_login_location_with_its_own_header(site):
    """/login given `proxy_set_header Remote-User $trac_user;` of its
    own inherits none of the lines that clear the profile headers: bob,
    with his session, names his own groups."""
    try:
        with site.nginx(NGINX_AUTH_REQUEST_LOGIN_WITH_ITS_OWN_HEADER):
            assert login(site.port, [session(site),
                                     ('Remote-Groups', 'developers')]) \
                == 'bob'
            assert ('bob', 'developers') in site.env.db(
                "SELECT username, action FROM permission")
    finally:
        site.env.admin('permission remove bob developers')
        forget(site, 'bob')


def test_the_self_test_of_a_login_location_with_its_own_header(site,
                                                               tmp_path):
    """With bob's session in --cookie-file, the self-test sees the
    profile headers reach Trac on /login, and says what to change in
    nginx's words."""
    jar = tmp_path / 'jar'
    with site.nginx(NGINX_AUTH_REQUEST_LOGIN_WITH_ITS_OWN_HEADER):
        jar.write_text(session(site)[1])
        rv, lines = selftest(site.env, site.base_url,
                             '--cookie-file=%s' % jar)
    assert lines[0].endswith('; front end: nginx)'), lines
    critical = the_critical_finding(rv, lines)
    assert critical.startswith(
        "CRITICAL /prefix/login: a client's Remote-Name, Remote-Email, "
        "Remote-Groups reaches Trac: a user logged in on this path could "
        "put themself in [remoteuser] sync_groups. Fix: nginx: "
        "`proxy_set_header Remote-Name ...;` `proxy_set_header "
        "Remote-Email ...;` `proxy_set_header Remote-Groups ...;` (the "
        "identity provider's value, or \"\") in every location that "
        "proxies to Trac"), lines
    assert ('bob', 'developers') not in site.env.db(
        "SELECT username, action FROM permission")
