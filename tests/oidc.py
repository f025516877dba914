"""A real OpenID provider on loopback for the single sign-on tests, and a
scripted browser that goes through the authorization-code flow.

The provider is the `oidc-provider-mock` package, run as a process of its
own: its users and their claims are what the test says (`Provider(users=
{sub: claims})` or `set_user` while it runs), its ID tokens are RS256
JWTs signed with one key published at `/jwks` (the token's header names
no `kid`), and any client ID and secret are accepted. Its authorization
endpoint shows a form: posting `sub` logs that user in, without a
password.
"""

import http.cookiejar
import importlib.util
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from deploy import give_to_server
from servers import IN_CI, Server, free_port, python_env
from test_apache_wsgi import Deployment

SAMPLE = 'apache-mod-auth-openidc.conf'

#: What a browser sends: mod_auth_openidc answers 401 instead of sending
#: the browser to the provider unless the request accepts text/html.
ACCEPT_HTML = 'text/html,application/xhtml+xml,*/*;q=0.8'


def require_provider():
    """Skip (or, in CI, fail) when oidc-provider-mock is not installed."""
    if importlib.util.find_spec('oidc_provider_mock') is None:
        message = "oidc-provider-mock is not installed; make test " \
            "installs it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


class Provider(Server):
    """oidc-provider-mock on a free loopback port.

    `users` maps a subject (`sub`) to the other claims of that user
    (`preferred_username`, `email`, `name`, `groups` ...). The standard
    claims reach the ID token only for the scopes that carry them
    (`profile`: name, preferred_username; `email`: email); others, such
    as `groups`, always do.
    """

    def __init__(self, workdir, users=None, token_max_age=None):
        require_provider()
        os.makedirs(workdir, exist_ok=True)
        port = free_port()
        self.issuer = 'http://127.0.0.1:%d' % port
        argv = [sys.executable, '-m', 'oidc_provider_mock',
                '--host', '127.0.0.1', '--port', str(port)]
        if token_max_age is not None:
            argv += ['--token-max-age', str(token_max_age)]
        for sub, claims in sorted((users or {}).items()):
            argv += ['--user-claims', json.dumps(dict(claims, sub=sub))]
        # The mock refuses plain http unless told it is a test.
        env = python_env(AUTHLIB_INSECURE_TRANSPORT='1', NO_COLOR='1')
        Server.__init__(self, argv, port,
                        os.path.join(workdir, 'oidc-provider.log'), env=env)

    @property
    def jwks_url(self):
        return self.issuer + '/jwks'

    def set_user(self, sub, **claims):
        """Create or replace the user `sub` while the provider runs."""
        request = urllib.request.Request(
            '%s/users/%s' % (self.issuer, urllib.parse.quote(sub, safe='')),
            data=json.dumps(claims).encode(), method='PUT',
            headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 204, response.status


def deploy(workdir, site, provider, options, edit=None):
    """conf-samples/apache-mod-auth-openidc.conf in Apache, Trac under
    mod_wsgi with the trac.ini `options`, the provider's issuer, and
    logout_url as the sample says: mod_auth_openidc's logout, back to
    Trac. `edit` changes the rendered sample."""
    os.makedirs(workdir)
    d = Deployment(workdir, site, SAMPLE, options, ['auth_openidc'],
                   edit=edit, ISSUER=provider.issuer, CLIENT_ID='trac',
                   CLIENT_SECRET='trac-secret',
                   PASSPHRASE='a long random string')
    d.issuer = provider.issuer
    d.logout_url = '%s/oidc/callback?logout=%s' % (
        d.base_url, urllib.parse.quote(d.base_url + '/', safe=''))
    d.env.configure('remoteuser', logout_url=d.logout_url)
    give_to_server(d.env.path)
    return d


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Page(object):
    def __init__(self, url, status, headers, body):
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body


class Client(object):
    """A scripted browser: keeps cookies as a browser does, asks for
    HTML, follows redirects one at a time (`hops` lists the URLs it was
    sent to) and sends `headers` with every request."""

    def __init__(self, headers=()):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.headers = list(headers)
        self.hops = []

    def request(self, url, form=None, headers=()):
        """One request, the redirect not followed."""
        data = urllib.parse.urlencode(form).encode() \
            if form is not None else None
        request = urllib.request.Request(url, data=data)
        request.add_header('Accept', ACCEPT_HTML)
        request.add_header('User-Agent', 'TracRemoteUserAuth-tests')
        for name, value in self.headers + list(headers):
            request.add_header(name, value)
        try:
            response = self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as e:
            response = e
        with response:
            body = response.read().decode('utf-8', 'replace')
            return Page(url, response.status, response.headers, body)

    def go(self, url, form=None, headers=(), limit=10):
        """A request and the redirects that follow it; the last page."""
        page = self.request(url, form, headers)
        while page.status in (301, 302, 303, 307) and limit:
            url = urllib.parse.urljoin(url, page.headers['Location'])
            self.hops.append(url)
            page = self.request(url, headers=headers)
            limit -= 1
        return page

    def login(self, url, sub, headers=()):
        """Go to `url` (Trac's /login), let the provider's form log `sub`
        in, and follow the way back; the last page."""
        page = self.go(url, headers=headers)
        assert page.status == 200 and 'name="sub"' in page.body, \
            (page.url, page.status, page.body[:1000])
        return self.go(page.url, {'sub': sub}, headers)

    def cookie(self, name):
        for cookie in self.jar:
            if cookie.name == name:
                return cookie.value
        return None

    def logout(self, page):
        """Press Trac's Logout button on `page`; the last page."""
        form = re.search(r'<form[^>]*id="logout"[^>]*>.*?</form>', page.body,
                         re.S)
        assert form, page.body[:2000]
        action = re.search(r'action="([^"]+)"', form.group(0)).group(1)
        token = re.search(r'name="__FORM_TOKEN" value="([^"]+)"',
                          form.group(0)).group(1)
        return self.go(urllib.parse.urljoin(page.url, action),
                       {'__FORM_TOKEN': token})
