"""Adds and removes users from the Trac groups their identity provider
lists, for the groups the administrator chose."""

from functools import cached_property

from trac.core import Component, implements
from trac.perm import PermissionExistsError, PermissionSystem
from trac.util.text import exception_to_unicode
from trac.web.api import IRequestFilter

from remoteuserauth.auth import RemoteUserAuthenticator
from remoteuserauth.core import groups
from remoteuserauth.eventlog import EventLog
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.writelock import WRITE_LOCK

#: How many users' memberships found in step are remembered.
_MAX_IN_STEP = 1024


class GroupSynchronizer(Component):
    """Keeps users' memberships in the `sync_groups` in step with the
    groups a trusted proxy lists in `groups_header`.
    """

    implements(IRequestFilter)

    def __init__(self):
        self._held = (None, {})
        # (Trac's permissions, {user: (listed, managed)}): the users
        # found in step with that table, replaced whole when it changes.
        # Never the table beside each user: a thousand users would hold
        # a thousand old copies of it.
        self._in_step = (None, {})

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        decision = self._auth.decision(req)
        listed = decision.profile.groups
        if decision.name and listed is not None and \
                req.authname == decision.name:
            self.synchronize(decision.name, listed,
                             decision.profile.origins['groups'],
                             RemoteUserSettings(self.env).current(
                                 req.environ))
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    def managed_groups(self, current=None):
        """The `sync_groups` (problems logged); those of the
        `settings.Current` options `current` when given."""
        if current is None:
            current = RemoteUserSettings(self.env).current()
        managed, problems = current.sync_groups, current.sync_group_problems
        for problem in problems:
            EventLog(self.env).write('error', 'option', problem, "%s",
                                     problem)
        return managed

    def synchronize(self, user, listed, origin='groups_header',
                    current=None):
        """Bring `user`'s memberships among the `sync_groups` in line
        with the group names `listed` (from the decision's profile:
        `groups_header` of a trusted proxy, or `jwt_groups_claim`);
        `origin` says where they came from, for the log. Returns the
        ``(added, removed)`` group names."""
        managed = self.managed_groups(current)
        if not managed:
            return [], []
        perm = PermissionSystem(self.env)
        # What a user was found in step with: the same list and the same
        # managed groups, while Trac's permissions are unchanged (any
        # change makes Trac's cached list anew), need no comparison.
        permissions = perm.get_all_permissions()
        table, found = self._in_step
        if table is not permissions:
            table, found = self._in_step = (permissions, {})
        in_step = (frozenset(listed), managed)
        if found.get(user) == in_step:
            return [], []
        to_add, to_remove = groups.plan(user, listed, managed,
                                        self._permissions_of(user, perm))
        if not (to_add or to_remove):
            if len(found) >= _MAX_IN_STEP:
                found.clear()
            found[user] = in_step
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
            EventLog(self.env).write(
                'warning', 'group-sync-failed', user,
                "group sync for %s not done (%s); it "
                "is retried on the next request", user,
                exception_to_unicode(e))
            return [], []
        for group in to_add:
            self.log.info("TracRemoteUserAuth: added %s to group %s (listed "
                          "in %s)", user, group, origin)
        for group in to_remove:
            self.log.info("TracRemoteUserAuth: removed %s from group %s (no "
                          "longer listed in %s)", user, group, origin)
        return to_add, to_remove

    # Internal methods

    @cached_property
    def _auth(self):
        return RemoteUserAuthenticator(self.env)

    def _permissions_of(self, user, perm):
        """`user`'s ``(subject, action)`` pairs among Trac's permissions,
        looked up in an index made once per change of the permissions
        (they may be many: one or more a user)."""
        permissions = perm.get_all_permissions()
        key, index = self._held
        if key is not permissions:
            index = {}
            for pair in permissions:
                index.setdefault(pair[0], []).append(pair)
            self._held = (permissions, index)
        return index.get(user, ())
