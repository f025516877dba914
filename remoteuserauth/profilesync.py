"""Keeps each user's display name and e-mail address in Trac's session
in step with what the front end says about them, whatever told it: the
profile headers of a trusted proxy, or the claims of a signed assertion
(see `decision.Profile`)."""

from functools import cached_property

from trac.core import Component, implements
from trac.util.text import exception_to_unicode
from trac.web.api import IRequestFilter
from trac.web.session import DetachedSession

from remoteuserauth.auth import RemoteUserAuthenticator
from remoteuserauth.eventlog import EventLog
from remoteuserauth.writelock import WRITE_LOCK


class ProfileSynchronizer(Component):
    """Stores the name and e-mail address the front end gives for the
    user in their session, when they change, and a first visit's session
    before Trac renders the page."""

    implements(IRequestFilter)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        decision = self._auth.decision(req)
        if decision.name and req.authname == decision.name:
            changes = self.changes(req.session, decision.profile)
            if changes or not req.session.last_visit:
                self._store_session(req, changes, decision.profile)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    @staticmethod
    def changes(session, profile):
        """The session values `profile` changes."""
        changes = {}
        name, email = profile.name, profile.email
        # Spelled out: most requests carry no profile value, and this
        # runs on every request of a named user.
        if name is not None and session.get('name') != name:
            changes['name'] = name
        if email is not None and session.get('email') != email:
            changes['email'] = email
        return changes

    def store(self, req, changes, removed=()):
        """Store `changes` (a dict) in the session of `req`'s user and
        remove the attributes `removed`, at once, before Trac renders
        the page; returns whether they were stored.

        Stored here, under `WRITE_LOCK`, rather than by Trac when it
        answers: Trac's save of a new session invalidates two caches in
        one transaction, and when threads of one process do that at once
        on PostgreSQL, each holds what the other waits for (a cache row,
        the cache's thread lock) for ever. A busy database costs the
        update, which the next request tries again, never the page.
        """
        try:
            with WRITE_LOCK:
                session = DetachedSession(self.env, req.authname)
                for key in removed:
                    session.pop(key, None)
                session.update(changes)
                session.save()
        except Exception as e:
            EventLog(self.env).write(
                'warning', 'session-not-stored', req.authname,
                "session of %s not stored (%s); it is retried on the next "
                "request", req.authname, exception_to_unicode(e))
            return False
        # Trac loads the stored session again when it is next asked for.
        del req.session
        return True

    # Internal methods

    @cached_property
    def _auth(self):
        return RemoteUserAuthenticator(self.env)

    def _store_session(self, req, changes, profile):
        """Store a first visit's session, or the changed profile
        values."""
        if not self.store(req, changes):
            return
        for key, value in sorted(changes.items()):
            self.log.info("TracRemoteUserAuth: %s of %s set to %r (from %s)",
                          key, req.authname, value, profile.origins[key])
