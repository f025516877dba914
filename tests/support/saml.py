"""A SAML 2.0 identity provider on loopback for the single sign-on tests.

Built on the `pysaml2` package, which signs with Debian's `xmlsec1`: it
answers the service provider's signed AuthnRequest (HTTP-Redirect
binding) with a signed Response carrying the user the test chose
(NameID and attributes), posted to the service provider by the browser
(HTTP-POST binding), and it answers single logout. Its login page lists
the users as buttons, like oidc-provider-mock's.

The service provider here is Apache mod_auth_mellon, whose metadata,
key and certificate come from Debian's own `mellon_create_metadata`.
"""

import html
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
import wsgiref.simple_server

import pytest

from deploy import give_to_server
from process import IN_CI, free_port, require
from apache import Deployment

SAMPLE = 'apache-mod-auth-mellon.conf'


def require_pysaml2():
    """Skip (or, in CI, fail) when pysaml2 or xmlsec1 is missing."""
    require('xmlsec1')
    try:
        import saml2  # noqa: F401
    except ImportError as e:
        message = "pysaml2 is not installed (%s); make test installs it" % e
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def self_signed(workdir, name, host='127.0.0.1'):
    """A key and certificate made with openssl; their paths."""
    require('openssl')
    key = os.path.join(workdir, name + '.key')
    cert = os.path.join(workdir, name + '.cert')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048',
                    '-nodes', '-days', '2', '-subj', '/CN=' + host,
                    '-keyout', key, '-out', cert],
                   check=True, capture_output=True)
    return key, cert


def service_provider_files(workdir, entity_id, endpoint_url):
    """What `mellon_create_metadata ENTITY-ID ENDPOINT-URL` makes for
    the service provider: (key, certificate, metadata), owned by the web
    server's user."""
    require('mellon_create_metadata')
    os.makedirs(workdir, exist_ok=True)
    subprocess.run(['mellon_create_metadata', entity_id, endpoint_url],
                   cwd=workdir, check=True, capture_output=True)
    stem = ''.join(c if c.isalnum() or c == '.' else '_'
                   for c in entity_id)
    while '__' in stem:
        stem = stem.replace('__', '_')
    # mellon_create_metadata leaves them to their maker only (0600).
    give_to_server(workdir)
    return [os.path.join(workdir, stem + ext)
            for ext in ('.key', '.cert', '.xml')]


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class IdentityProvider(object):
    """pysaml2 as an identity provider on a free loopback port, in a
    thread of the test. `users` maps a NameID to its attributes
    ({'mail': ['carol@example.com'], 'displayName': [...], 'isMemberOf':
    [...]}), sent under their OIDs (urn:oid:0.9.2342.19200300.100.1.3
    ...)."""

    def __init__(self, workdir, users):
        require_pysaml2()
        self.dir = os.path.join(workdir, 'idp')
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.entity_id = self.url + '/metadata'
        self.users = dict(users)
        self.key, self.cert = self_signed(self.dir, 'idp')
        self.metadata = os.path.join(self.dir, 'idp-metadata.xml')
        self.server = None
        self._idp = None
        self._http = wsgiref.simple_server.make_server(
            '127.0.0.1', self.port, self.app, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._http.serve_forever,
                                        daemon=True)

    def config(self, sp_metadata=None):
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.saml import NAME_FORMAT_URI
        conf = {
            'entityid': self.entity_id,
            'service': {'idp': {
                'endpoints': {
                    'single_sign_on_service': [
                        (self.url + '/sso', BINDING_HTTP_REDIRECT)],
                    'single_logout_service': [
                        (self.url + '/slo', BINDING_HTTP_REDIRECT)],
                },
                'policy': {'default': {
                    'lifetime': {'minutes': 5},
                    # Attributes named by their OIDs, as the SAML V2.0
                    # attribute profiles (and Shibboleth, ADFS) do.
                    'name_form': NAME_FORMAT_URI,
                }},
            }},
            'key_file': self.key,
            'cert_file': self.cert,
            'xmlsec_binary': shutil.which('xmlsec1'),
            'metadata': {'local': [sp_metadata]} if sp_metadata else {},
        }
        from saml2.config import IdPConfig
        config = IdPConfig()
        config.load(conf)
        return config

    def write_metadata(self):
        """The metadata the service provider is given for this provider."""
        from saml2.metadata import entity_descriptor
        descriptor = entity_descriptor(self.config())
        with open(self.metadata, 'w') as f:
            f.write(str(descriptor))
        os.chmod(self.metadata, 0o644)
        return self.metadata

    def start(self, sp_metadata):
        """Serve, knowing the service provider by its metadata."""
        from saml2.server import Server
        self._idp = Server(config=self.config(sp_metadata))
        self._thread.start()

    def stop(self):
        if self._thread.is_alive():
            self._http.shutdown()
            self._thread.join(10)
        self._http.server_close()

    # The web application

    def app(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        method = environ['REQUEST_METHOD']
        if method == 'POST':
            size = int(environ.get('CONTENT_LENGTH') or 0)
            fields = urllib.parse.parse_qs(
                environ['wsgi.input'].read(size).decode())
        else:
            fields = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
        fields = {k: v[0] for k, v in fields.items()}
        try:
            if path == '/sso' and method == 'GET':
                status, headers, body = self._login_page(fields)
            elif path == '/sso' and method == 'POST':
                status, headers, body = self._authn_response(fields)
            elif path == '/slo':
                status, headers, body = self._logout(fields)
            else:
                status, headers, body = '404 Not Found', [], 'not found'
        except Exception as e:
            status, headers, body = '400 Bad Request', [], \
                'SAML error: %s: %s' % (type(e).__name__, e)
        headers = [('Content-Type', 'text/html; charset=utf-8')] + headers
        start_response(status, headers)
        return [body.encode('utf-8')]

    def _login_page(self, fields):
        from saml2 import BINDING_HTTP_REDIRECT
        # Parsed here too, so that a bad or unsigned request fails early.
        self._idp.parse_authn_request(fields['SAMLRequest'],
                                      BINDING_HTTP_REDIRECT)
        hidden = ''.join('<input type="hidden" name="%s" value="%s">'
                         % (name, html.escape(fields[name], quote=True))
                         for name in ('SAMLRequest', 'RelayState')
                         if name in fields)
        buttons = ''.join('<button type="submit" name="user" value="%s">'
                          '%s</button>' % (html.escape(u, quote=True),
                                           html.escape(u))
                          for u in sorted(self.users))
        return '200 OK', [], ('<html><body><h1>Sign in</h1>'
                              '<form method="post">%s%s</form>'
                              '</body></html>' % (hidden, buttons))

    def _authn_response(self, fields):
        from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
        from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID
        request = self._idp.parse_authn_request(fields['SAMLRequest'],
                                                BINDING_HTTP_REDIRECT)
        user = fields['user']
        args = self._idp.response_args(request.message, [BINDING_HTTP_POST])
        response = self._idp.create_authn_response(
            self.users[user], userid=user,
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=user),
            authn={'class_ref': 'urn:oasis:names:tc:SAML:2.0:ac:classes:'
                                'PasswordProtectedTransport'},
            sign_response=True, sign_assertion=True, **args)
        http = self._idp.apply_binding(
            BINDING_HTTP_POST, str(response), args['destination'],
            fields.get('RelayState', ''), response=True)
        return '200 OK', [], http['data']

    def _logout(self, fields):
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.xmldsig import SIG_RSA_SHA256
        request = self._idp.parse_logout_request(fields['SAMLRequest'],
                                                 BINDING_HTTP_REDIRECT)
        response = self._idp.create_logout_response(
            request.message, [BINDING_HTTP_REDIRECT])
        destination = self._idp.pick_binding(
            'single_logout_service', [BINDING_HTTP_REDIRECT], 'spsso',
            entity_id=request.message.issuer.text)[1]
        http = self._idp.apply_binding(
            BINDING_HTTP_REDIRECT, str(response), destination,
            fields.get('RelayState', ''), response=True, sign=True,
            sigalg=SIG_RSA_SHA256)
        location = dict(http['headers'])['Location']
        return '303 See Other', [('Location', location)], ''


def deploy(workdir, site, idp, options):
    """conf-samples/apache-mod-auth-mellon.conf in Apache, Trac under
    mod_wsgi with the trac.ini `options` and logout_url as the sample
    says; the service provider's files made by mellon_create_metadata
    for the port Apache is given, and `idp` started knowing them."""
    os.makedirs(workdir)
    made = {}

    def make_sp_files(text):
        port = re.search(r'<VirtualHost \*:(\d+)>', text).group(1)
        endpoint = 'http://127.0.0.1:%s/prefix/mellon' % port
        made['key'], made['cert'], made['metadata'] = \
            service_provider_files(os.path.join(workdir, 'sp'),
                                   endpoint + '/metadata', endpoint)
        for name in ('key', 'cert', 'metadata'):
            text = text.replace('@SP_%s@' % name.upper(), made[name])
        return text

    d = Deployment(workdir, site, SAMPLE, options, ['auth_mellon'],
                   edit=make_sp_files, SP_KEY='@SP_KEY@',
                   SP_CERT='@SP_CERT@', SP_METADATA='@SP_METADATA@',
                   IDP_METADATA=idp.write_metadata())
    idp.start(made['metadata'])
    d.logout_url = '%s/mellon/logout?ReturnTo=%s' % (
        d.base_url, urllib.parse.quote(d.base_url + '/', safe=''))
    d.env.configure('remoteuser', logout_url=d.logout_url)
    give_to_server(d.env.path)
    return d
