"""A Trac page that says who the request is logged in as, on the paths
where tokens are read: what an RPC plugin would see as `req.authname`.
Loaded by the tests only (it registers a component when imported)."""

from trac.core import Component, implements
from trac.web.api import IRequestHandler

PATHS = ('/login/rpc', '/login/xmlrpc', '/login/jsonrpc', '/ticketrpc',
         '/login/rpc/x', '/api/other')


class WhoAmI(Component):
    """Answers `authname=NAME` in plain text."""

    implements(IRequestHandler)

    def match_request(self, req):
        return req.path_info.rstrip('/') in PATHS

    def process_request(self, req):
        body = ('authname=%s\n' % req.authname).encode('utf-8')
        req.send(body, 'text/plain', 200)
