"""A real OpenID provider on loopback for the single sign-on tests, and
the OpenID Connect sample deployed in front of Trac.

The provider is the `oidc-provider-mock` package, run as a process of its
own: its users and their claims are what the test says (`Provider(users=
{sub: claims})` or `set_user` while it runs), its ID tokens are RS256
JWTs signed with one key published at `/jwks` (the token's header names
no `kid`), and any client ID and secret are accepted. Its authorization
endpoint shows a form: posting `sub` logs that user in, without a
password.
"""

import importlib.util
import json
import os
import sys
import urllib.parse
import urllib.request

import pytest

from deploy import give_to_server
from process import IN_CI, Server, free_port, python_env
from apache import Deployment

SAMPLE = 'apache-mod-auth-openidc.conf'


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
