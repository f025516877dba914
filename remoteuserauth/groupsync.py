"""Adds and removes users from the Trac groups their identity provider
lists, for the groups the administrator chose."""

from trac.config import ListOption, Option
from trac.core import Component, implements
from trac.perm import PermissionExistsError, PermissionSystem
from trac.util.text import exception_to_unicode
from trac.web.api import IRequestFilter

from remoteuserauth import groups, trust
from remoteuserauth.auth import WRITE_LOCK, RemoteUserAuthenticator
from remoteuserauth.decision import HEADER
from remoteuserauth.throttle import LogThrottle


class GroupSynchronizer(Component):
    """Keeps users' memberships in the `sync_groups` in step with the
    groups a trusted proxy lists in `groups_header`.
    """

    implements(IRequestFilter)

    groups_header = Option('remoteuser', 'groups_header', '',
        """Header in which a trusted proxy lists the user's groups,
        separated by commas or `|` (e.g. `X-Forwarded-Groups`). Only the
        groups named in `sync_groups` are added or removed; a request
        without the header changes nothing.
        """)

    sync_groups = ListOption('remoteuser', 'sync_groups', '',
        doc="""The Trac permission groups that `groups_header` manages,
        comma separated (e.g. `developers, testers`). On each request a
        user is added to those of them the header lists and removed
        from those it no longer lists; no other group and no permission
        is ever touched. Upper-case names (permissions) are refused.
        """)

    def __init__(self):
        self._throttle = LogThrottle(300)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        auth = RemoteUserAuthenticator(self.env)
        decision = auth.decision(req)
        if decision.name and req.authname == decision.name and (
                decision.network and decision.source == HEADER or
                # The web server's own variable (env:OIDC_CLAIM_groups)
                # speaks for the user it authenticated, whoever the peer.
                trust.is_server_variable(self.groups_key())):
            self.synchronize(decision.name, req.environ)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    def managed_groups(self):
        managed, problems = groups.parse_sync_groups(self.sync_groups)
        for problem in problems:
            self._throttle.log(self.log.error, problem,
                               "TracRemoteUserAuth: %s", problem)
        return managed

    def groups_key(self):
        """The environ key of `groups_header`, or `None` (a bad name is
        logged)."""
        try:
            return trust.environ_key(self.groups_header)
        except ValueError as e:
            self._throttle.log(self.log.error, 'header',
                               "TracRemoteUserAuth: [remoteuser] "
                               "groups_header: %s", e)
            return None

    def synchronize(self, user, environ):
        """Bring `user`'s memberships in line with the groups header of
        `environ`; returns the ``(added, removed)`` group names."""
        key = self.groups_key()
        if key is None or key not in environ:
            return [], []
        managed = self.managed_groups()
        if not managed:
            return [], []
        listed = groups.parse_groups_header(environ[key])
        perm = PermissionSystem(self.env)
        to_add, to_remove = groups.plan(user, listed, managed,
                                        perm.get_all_permissions())
        try:
            # One transaction per change, whose first statement takes the
            # database lock before Trac's permission cache takes its thread
            # lock to invalidate, and which invalidates once: the order
            # Trac's own session save uses. Otherwise two threads of one
            # process wait for each other (until SQLite's busy timeout;
            # for ever on PostgreSQL's row locks).
            with WRITE_LOCK:
                for group in to_add:
                    with self.env.db_transaction:
                        perm.grant_permission(user, group)
                for group in to_remove:
                    with self.env.db_transaction:
                        perm.revoke_permission(user, group)
        except PermissionExistsError:
            self.log.debug("TracRemoteUserAuth: groups of %s were synced by "
                           "a concurrent request", user)
            return [], []
        except Exception as e:
            # The database is busy: the page is served all the same, and
            # the next request compares again.
            self._throttle.log(
                self.log.warning, ('sync', user),
                "TracRemoteUserAuth: group sync for %s not done (%s); it "
                "is retried on the next request", user,
                exception_to_unicode(e))
            return [], []
        for group in to_add:
            self.log.info("TracRemoteUserAuth: added %s to group %s (listed "
                          "in %s)", user, group, self.groups_header)
        for group in to_remove:
            self.log.info("TracRemoteUserAuth: removed %s from group %s (no "
                          "longer listed in %s)", user, group,
                          self.groups_header)
        return to_add, to_remove
