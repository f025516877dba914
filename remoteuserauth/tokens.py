"""Personal access tokens: kept, verified, and refused with a 401.

The tokens of every backend are the rows of ``remoteuser_token`` (the
digest, never the token); each process keeps them in one of Trac's
caches, so a token request costs no statement of its own, and a token
made or removed on one backend counts on all at their next request. The
last use is written at most once per token every ten minutes, never
once a request. The authenticator (`auth`) asks `verify` on
`token_paths`; a refused token's request is answered here, with 401 and
no cookie, before any page is rendered.
"""

import time
from functools import cached_property

from trac.cache import cached
from trac.core import Component, implements
from trac.util.text import exception_to_unicode
from trac.web.api import IRequestFilter, RequestDone

from remoteuserauth import schema
from remoteuserauth.core import doors, tokens as core
from remoteuserauth.core.names import client_text
from remoteuserauth.core.verdicts import Admitted, Verdicts
from remoteuserauth.eventlog import EventLog
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.ordering import ask_first
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.settings import RemoteUserSettings
from remoteuserauth.writelock import WRITE_LOCK

#: Where a request keeps why its token was refused.
REFUSED_KEY = 'remoteuserauth.token_refused'

#: Seconds between two writes of a token's last use, in one process.
TOUCH_INTERVAL = 600

#: How many tokens' last writes a process remembers, and how many
#: owners' verdicts (and how many owners let in).
_MAX_TOUCHED = 4096
_MAX_OWNERS = 4096

DAY = 86400


class PersonalTokens(Component):
    """The personal access tokens: made, listed, removed, verified."""

    implements(IRequestFilter)

    def __init__(self):
        self._touched = {}
        self._stored = False
        self._verdicts = Verdicts(_MAX_OWNERS)
        self._let_in = Admitted(_MAX_OWNERS)

    # IRequestFilter methods

    def pre_process_request(self, req, handler):
        # The authenticator flags a refused token when Trac first asks
        # who the request is: ask now, before any page is made.
        req.authname
        refusal = req.environ.get(REFUSED_KEY)
        if refusal is not None:
            _send_unauthorized(req, refusal)
        return handler

    def post_process_request(self, req, template, data, metadata):
        return template, data, metadata

    # Public API

    def enabled(self):
        """Whether tokens are read (`[remoteuser] tokens`) and their
        table exists."""
        return RemoteUserOptions(self.env).tokens and self.stored()

    def stored(self):
        """Whether the table of tokens exists (`trac-admin ENV upgrade`
        makes it). Once it does, it is not asked again: a token request
        costs no statement of its own."""
        if not self._stored:
            self._stored = schema.current_version(self.env) >= \
                schema.TOKENS_VERSION
        return self._stored

    def paths(self, current=None):
        """The `token_paths`, parsed (problems logged); those of the
        `settings.Current` options `current` when given."""
        if current is None:
            current = RemoteUserSettings(self.env).current()
        paths, problems = current.token_paths, current.token_path_problems
        for problem in problems:
            EventLog(self.env).write('error', 'option', problem, "%s",
                                     problem)
        return paths

    def add(self, owner, name, days, now=None):
        """Make a token for `owner` living `days` days; returns ``(token,
        record)``. The token itself is in nothing that is kept."""
        now = int(now or time.time())
        token = core.new_token()
        record = core.Record(core.new_id(), owner, name, now,
                             now + int(days) * DAY, 0)
        ownership = NameOwnership(self.env)
        with WRITE_LOCK:
            with self.env.db_transaction as db:
                db("INSERT INTO remoteuser_token (id, owner, name, digest, "
                   "created, expires, last_used) VALUES "
                   "(%s, %s, %s, %s, %s, %s, %s)",
                   (record.id, owner, name, core.digest(token),
                    record.created, record.expires, 0))
                del self._records
        if ownership.recording():
            # A token's owner is the front end's: no password door may
            # register the name later (a bot account included).
            ownership.record(owner)
        self.log.info("TracRemoteUserAuth: token %s (%s) made for %s, "
                      "expires %s", record.id, name, owner,
                      time.strftime('%Y-%m-%d', time.gmtime(record.expires)))
        return token, record

    def records(self, owner=None):
        """The kept tokens (`core.Record`), of `owner` or of all, newest
        first, with their last use as written."""
        sql = "SELECT id, owner, name, created, expires, last_used " \
              "FROM remoteuser_token"
        args = ()
        if owner is not None:
            sql += " WHERE owner=%s"
            args = (owner,)
        rows = [core.Record(*row) for row in self.env.db_query(sql, args)]
        return sorted(rows, key=lambda r: (-r.created, r.id))

    def remove(self, ids, owner=None):
        """Remove the tokens `ids` (of `owner` only, when given);
        returns the records removed."""
        removed = [r for r in self.records(owner) if r.id in ids]
        self._delete("id", [r.id for r in removed])
        for record in removed:
            self.log.info("TracRemoteUserAuth: token %s (%s) of %s removed",
                          record.id, record.name, record.owner)
        return removed

    def remove_owner(self, owner):
        """Remove every token of `owner`; returns how many."""
        removed = self.records(owner)
        self._delete("owner", [owner] if removed else [])
        return len(removed)

    def find(self, token):
        """The `core.Record` of `token`, live or not, or `None`."""
        if not core.is_well_formed(token):
            return None
        return self._records.get(core.digest(token))

    def verify(self, presented, front_end_name=None, now=None,
               environ=None):
        """The verdict on a presented token: ``(record, refusal)``, one
        of them `None`. `front_end_name` is the name the front end gives
        the same request, if any; `environ`, the request's."""
        # Looked up by its digest first: only well-formed tokens are
        # kept, so the shape and checksum are looked at only to say why
        # a token was refused.
        record = self._records.get(core.digest(presented.token))
        if record is None:
            if not core.is_well_formed(presented.token):
                return None, doors.Refusal(core.MALFORMED, "the "
                                           "Authorization header holds no "
                                           "well-formed token")
            return None, doors.Refusal(core.UNKNOWN, "no such token: it was "
                                       "removed, or never made here")
        now = now or time.time()
        if record.expires <= now:
            return None, doors.Refusal(core.EXPIRED, "token %s of %s "
                                       "expired on %s" % (
                                           record.id, record.owner,
                                           _day(record.expires)))
        if presented.user is not None and presented.user != record.owner:
            return None, doors.Refusal(core.OTHER_USER, "token %s belongs "
                                       "to %s, not to the Basic user %s" % (
                                           record.id, record.owner,
                                           client_text(presented.user)))
        refusal = self._owner_verdict(record.owner, environ)
        if refusal is not None:
            return None, doors.Refusal(core.OWNER_REFUSED, "token %s: %s"
                                       % (record.id, refusal))
        if front_end_name and front_end_name != record.owner:
            return None, doors.Refusal(core.FRONT_END_OTHER, "token %s "
                                       "belongs to %s, but the front end "
                                       "names %s" % (record.id, record.owner,
                                                     front_end_name))
        return record, None

    def owner_refusal(self, owner, making=False, environ=None):
        """Why `owner`'s name may not use a token, or `None`: the name
        policy refuses it today, or the front end does not own it (a
        token made for a name it does not own yet makes it the front
        end's, unless a local password account holds the name)."""
        refusal = _policy_refusal(self._settings, owner, environ)
        if refusal is not None:
            return refusal
        refusal = self._unowned(owner)
        if refusal is None or not making:
            return refusal
        refusal, _ = self._ownership.front_door(owner,
                                                self._settings.door_key)
        return refusal and refusal.reason

    def touch(self, record, now=None):
        """Write `record`'s last use, at most once per `TOUCH_INTERVAL`
        per token in this process."""
        now = int(now or time.time())
        if now - self._touched.get(record.id, 0) < TOUCH_INTERVAL:
            return
        if len(self._touched) >= _MAX_TOUCHED:
            self._touched.clear()
        self._touched[record.id] = now
        try:
            # No cache to invalidate: the last use is read from the
            # table where it is shown, never when a token is verified.
            self.env.db_transaction(
                "UPDATE remoteuser_token SET last_used=%s WHERE id=%s",
                (now, record.id))
        except Exception as e:
            EventLog(self.env).write(
                'warning', 'token-use-not-written', record.id,
                "last use of token %s not written (%s)", record.id,
                exception_to_unicode(e))

    # Internal methods

    def _owner_verdict(self, owner, environ):
        """`owner_refusal` of a token's `owner`. An owner let in stays
        so while the options, Trac's groups and whether the owners are
        recorded are the objects it was let in under (each a new object
        when it changes): the front end never loses a name. Else the
        name policy's verdict is remembered under the options and groups,
        and the owners are asked again. (Each at most `_MAX_OWNERS`.)"""
        settings = self._settings
        depends = (settings.current(environ), settings.group_names(environ),
                   self._ownership.recording())
        if (depends, owner) in self._let_in:
            return None
        refusal = self._verdicts.get(
            depends[:2], owner,
            lambda: _policy_refusal(settings, owner, environ))
        if refusal is None:
            refusal = self._unowned(owner)
        if refusal is None:
            self._let_in.add(depends, owner)
        return refusal

    def _unowned(self, owner):
        """Why `owner` may not use a token because the front end does
        not own the name (yet), or `None`."""
        ownership = self._ownership
        if ownership.recording() and not ownership.owns(owner):
            return "the front end does not own %s" % owner
        return None

    @cached_property
    def _settings(self):
        return RemoteUserSettings(self.env)

    @cached_property
    def _ownership(self):
        return NameOwnership(self.env)

    @cached
    def _records(self):
        if not self.stored():
            return {}
        return {digest: core.Record(id_, owner, name, created, expires,
                                    last_used)
                for id_, owner, name, digest, created, expires, last_used
                in self.env.db_query(
                    "SELECT id, owner, name, digest, created, expires, "
                    "last_used FROM remoteuser_token")}

    def _delete(self, column, values):
        if not values:
            return
        with WRITE_LOCK:
            with self.env.db_transaction as db:
                for value in values:
                    db("DELETE FROM remoteuser_token WHERE %s=%%s" % column,
                       (value,))
                del self._records


def _policy_refusal(settings, owner, environ):
    """Why the name policy (of the `RemoteUserSettings` `settings`)
    refuses `owner`'s name today, or `None`."""
    cleaned = doors.clean(owner, lambda value: settings.clean_name(
        value, environ))
    if cleaned.name == owner:
        return None
    return "its owner's name %s is refused by the name policy (%s)" \
        % (owner, cleaned.reason or "it would be read as %s" % cleaned.name)


def _send_unauthorized(req, refusal):
    """Answer `req` 401 for the token refused (`refusal`)."""
    body = ("401 Unauthorized: the token was refused (%s).\n"
            % refusal.rule).encode('utf-8')
    # Nothing of this request is kept: no session, no cookie.
    req.outcookie.clear()
    req.send_response(401)
    req.send_header('WWW-Authenticate', 'Bearer realm="Trac", '
                    'error="invalid_token"')
    req.send_header('Content-Type', 'text/plain;charset=utf-8')
    req.send_header('Content-Length', len(body))
    req.send_header('Cache-Control', 'no-store')
    req.end_headers()
    req.write(body)
    raise RequestDone


def _day(timestamp):
    return time.strftime('%Y-%m-%d', time.gmtime(timestamp))


ask_first(PersonalTokens, IRequestFilter)
