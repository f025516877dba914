"""Giving Trac the client's address instead of the proxy's.

Behind a proxy every request comes from the proxy's address: Trac's log
and `[trac] check_auth_ip` see only that. With `[remoteuser]
trust_forwarded_for`, the client address that trusted proxies recorded in
X-Forwarded-For (`remoteuserauth.clientaddr`) replaces ``REMOTE_ADDR``
before Trac reads it; the plugin's own trust decisions keep using the
direct peer (`trust.direct_peer`).
"""

from functools import cached_property

from trac.core import Component

from remoteuserauth.core import clientaddress as clientaddr
from remoteuserauth.core import trust
from remoteuserauth.eventlog import EventLog
from remoteuserauth.settings import RemoteUserSettings

#: Set in the environment of a request once `ClientAddress.apply` ran.
_APPLIED_KEY = 'remoteuserauth.client_address_applied'


class ClientAddress(Component):
    """Replaces the proxy's address by the client's, from the
    X-Forwarded-For of trusted proxies, when `trust_forwarded_for` is
    enabled. The other components call it when they first see a
    request, and so does the WSGI entry point.
    """

    # Public API

    def apply(self, environ):
        """Replace ``REMOTE_ADDR`` in `environ` by the client address,
        once per request, when `trust_forwarded_for` is enabled."""
        if _APPLIED_KEY in environ:
            return
        environ[_APPLIED_KEY] = True
        if trust.PEER_KEY in environ:
            return
        current = self._settings.current(environ)
        if not current.trust_forwarded_for:
            return
        walk = clientaddr.take_client_address(environ,
                                              current.settings.networks)
        peer = trust.describe_peer(environ[trust.PEER_KEY])
        if walk.problem:
            EventLog(self.env).write(
                'warning', 'forwarded-for', peer,
                "%s from %s; the client address is "
                "taken as %s ([remoteuser] trust_forwarded_for)",
                walk.problem, peer, walk.address or peer)
        elif walk.address:
            self.log.debug("TracRemoteUserAuth: client %s, through %s",
                           walk.address, peer)

    # Internal methods

    @cached_property
    def _settings(self):
        return RemoteUserSettings(self.env)
