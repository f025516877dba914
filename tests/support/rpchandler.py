"""A stand-in for TracXMLRPC in the end-to-end tests: a single-file Trac
plugin (copied into an environment's plugins/ folder by
`deploy.make_env`) that speaks XML-RPC on the paths TracXMLRPC uses
for logged-in clients, /login/rpc and /login/xmlrpc.

TracXMLRPC itself cannot be installed from a package registry for
Trac 1.6 (1.1.9 on PyPI is Python 2 code). This handler does what the
tests need of it, the way TracXMLRPC does it: the caller is
`req.authname`, whatever authenticated the request; `ticket.create`
needs TICKET_CREATE and makes the caller the reporter.

Methods: `system.whoami()` -> the caller's name (`anonymous` when
nobody is logged in); `ticket.create(summary, description)` -> the new
ticket's id; anything else, or a call without the permission, is an
XML-RPC fault.
"""

import xmlrpc.client

from trac.core import Component, implements
from trac.ticket.model import Ticket
from trac.web.api import IRequestHandler

#: The paths TracXMLRPC answers XML-RPC on for logged-in clients.
PATHS = ('/login/rpc', '/login/xmlrpc')
#: Larger calls are no test's.
MAX_BODY = 1024 * 1024

FAULT_PARSE = -32700
FAULT_METHOD = -32601
FAULT_PERMISSION = 403


class XmlRpcTestHandler(Component):
    """XML-RPC at /login/rpc and /login/xmlrpc, for the tests."""

    implements(IRequestHandler)

    # IRequestHandler methods

    def match_request(self, req):
        return req.path_info in PATHS

    def process_request(self, req):
        if req.method != 'POST':
            req.send(b'XML-RPC: POST a methodCall here', 'text/plain', 405)
        try:
            length = int(req.get_header('Content-Length') or 0)
            if length > MAX_BODY:
                raise ValueError("call too large")
            params, method = xmlrpc.client.loads(req.read(length),
                                                 use_builtin_types=True)
        except Exception as e:      # any malformed call is a fault
            self._send(req, xmlrpc.client.Fault(FAULT_PARSE, str(e)))
        self._send(req, self._call(req, method, params))

    # Internal methods

    def _call(self, req, method, params):
        if method == 'system.whoami':
            return (req.authname,)
        if method == 'ticket.create':
            if 'TICKET_CREATE' not in req.perm:
                return xmlrpc.client.Fault(
                    FAULT_PERMISSION, "TICKET_CREATE denied to %s"
                    % req.authname)
            ticket = Ticket(self.env)
            ticket['summary'], ticket['description'] = params[:2]
            ticket['reporter'] = req.authname
            ticket['status'] = 'new'
            return (ticket.insert(),)
        return xmlrpc.client.Fault(FAULT_METHOD, "no method %r" % method)

    def _send(self, req, result):
        body = xmlrpc.client.dumps(result, methodresponse=True,
                                   allow_none=True)
        req.send(body.encode('utf-8'), 'text/xml')
