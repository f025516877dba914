"""The `[remoteuser]` options as the plugin's hooks need them: the
`decision.Settings` and the other options every request reads, looked
at once per request and parsed only when they change, with every
problem logged; and the name policy they make.
"""

import os
from collections import namedtuple

from trac.core import Component
from trac.perm import PermissionSystem
from trac.web.auth import LoginModule

from remoteuserauth import assertion, decision as decisions
from remoteuserauth.assertion import presets
from remoteuserauth.core import doors, groups as grouplists, names
from remoteuserauth.core import tokens as token_core
from remoteuserauth.core.names import client_text
from remoteuserauth.core.secretfile import SecretFile
from remoteuserauth.eventlog import EventLog
from remoteuserauth.options import (SECTION, RemoteUserOptions,
                                    boolean_names, declared, is_boolean)

#: Where a request keeps the options it was decided with, and the
#: names no user may have.
_SETTINGS_KEY = 'remoteuserauth.settings'
_GROUPS_KEY = 'remoteuserauth.groups'

#: The `[remoteuser]` options, by name, in the order declared.
_NAMES = tuple(o.name for o in declared())
_SECRET_FILE = _NAMES.index('secret_file')

#: The options of signed assertions, which make the verifier.
_JWT_OPTIONS = tuple(o.name for o in declared() if o.name.startswith('jwt_'))


class _WatchedValues(dict):
    """What a Trac `Section` remembers of the values it read (its
    ``_cache``), counting each value forgotten or replaced.

    A `Section` remembers every value it read and forgets one when it
    is set or removed; a file read again makes new sections. So while a
    section's memory is the same object and its count is what it was
    when the options were read, every value is still what was read:
    `RemoteUserSettings.current` compares two counts on each request
    instead of reading some forty values."""

    __slots__ = ('changes',)

    def __init__(self, values):
        dict.__init__(self, values)
        self.changes = 0

    def __setitem__(self, key, value):
        if key in self:
            self.changes += 1
        dict.__setitem__(self, key, value)

    def __delitem__(self, key):
        self.changes += 1
        dict.__delitem__(self, key)

    def pop(self, *args):
        self.changes += 1
        return dict.pop(self, *args)

    def popitem(self):
        self.changes += 1
        return dict.popitem(self)

    def clear(self):
        self.changes += 1
        dict.clear(self)

    def update(self, *args, **kwargs):
        self.changes += 1
        dict.update(self, *args, **kwargs)


def _watched(section):
    """The memory of `section` as `_WatchedValues` (made so the first
    time), or `None` when the section keeps none that can be watched."""
    values = getattr(section, '_cache', None)
    if type(values) is dict:
        values = section._cache = _WatchedValues(values)
    return values if isinstance(values, _WatchedValues) else None


Current = namedtuple('Current', 'settings cookie_login tokens token_paths '
                     'token_path_problems trust_forwarded '
                     'trust_forwarded_for sync_groups sync_group_problems '
                     'base_url')
Current.__doc__ = """The options as every request reads them, parsed:
the `decision.Settings`, and the values of the options of the same
names as `RemoteUserOptions` gives them (`token_paths` and
`sync_groups` validated, with the sentences saying what was left out
of them); `base_url` is `[trac] base_url` as written."""


class RemoteUserSettings(Component):
    """Reads the `[remoteuser]` options into `decision.Settings`, and
    answers what the name policy makes of a name."""

    def __init__(self):
        self._current = (None, None)
        self._verifier_cache = (None, None)
        self._groups_cache = (None, None, names.Names())
        self._store = (None, None)
        self._secret_file = SecretFile()

    # Public API

    def settings(self, environ=None):
        """The current `decision.Settings`; problems are logged.

        With the request's `environ`, they are read once per request."""
        return self.current(environ).settings

    def current(self, environ=None):
        """The `Current` options; problems are logged.

        With the request's `environ`, they are read once per request
        and kept there; without, read now. Either way they are parsed
        again only when a value changed."""
        if environ is not None:
            current = environ.get(_SETTINGS_KEY)
            if current is None:
                current = environ[_SETTINGS_KEY] = self.current()
            return current
        section = self.config[SECTION]
        read, current = self._current
        if read is not None and read[0] is not None and \
                read[0] is getattr(section, '_cache', None) and \
                read[1] is getattr(self.config['trac'], '_cache', None) and \
                (read[0].changes, read[1].changes) == read[2] and \
                self._secret_file_status(read[3][_SECRET_FILE]) == \
                read[3][-1]:
            # Not one of the values was set, removed or read again from
            # the file since they were read (see `_WatchedValues`).
            return current
        mine, trac = _watched(section), _watched(self.config['trac'])
        if mine is None or trac is None:
            mine = changes = None
        else:
            # Counted before the values are read: a change made while
            # they are read makes the next look read them again.
            changes = (mine.changes, trac.changes)
        raw = self._raw(section)
        if read is None or read[3] != raw:
            current = self._parse(raw)
        self._current = ((mine, trac, changes, raw), current)
        return current

    def secret_file_status(self):
        """The `secretfile.Loaded` secret of `secret_file`, or `None`
        when that option is empty."""
        return self._secret_file_status(self.config.get(SECTION,
                                                        'secret_file'))

    def boolean_problems(self):
        """Sentences for the boolean options whose value is no boolean
        (Trac would silently use the default)."""
        for name in boolean_names():
            value = self.config.get(SECTION, name)
            if not is_boolean(value):
                yield ("[remoteuser] %s: %s is not a boolean (true or "
                       "false); the default is used"
                       % (name, client_text(value.strip())))

    def verifier(self):
        """The `assertion.Verifier` for the `jwt_*` options, or `None`
        when neither `jwt_header` nor `jwt_preset` is set."""
        jwt = self.settings().assertion
        return jwt.verifier if jwt else None

    def group_names(self, environ=None):
        """Names no user may have (a `names.Names`): Trac's permission
        groups, and the groups `sync_groups` manages (which may hold
        permissions before they have a member, when Trac cannot tell
        them from users). With the request's `environ`, found once per
        request."""
        if environ is not None:
            groups = environ.get(_GROUPS_KEY)
            if groups is None:
                groups = environ[_GROUPS_KEY] = self._group_names(
                    self.current(environ))
            return groups
        return self._group_names(self.current())

    def clean_name(self, value, environ=None):
        """`names.clean_name` of `value` under the site's name policy
        (as a request runs it; with its `environ`, under the options it
        was decided with)."""
        settings = self.settings(environ)
        return names.clean_name(value, settings.strip_domain,
                                settings.lowercase,
                                self.group_names(environ),
                                settings.local_domains)

    def _group_names(self, current):
        """`group_names` under the `Current` options `current` (a new
        object when `sync_groups` changes)."""
        perms = self._permission_store().get_all_permissions() or []
        key, options, groups = self._groups_cache
        if key is not perms or options is not current:
            groups = names.Names(
                {action for subject, action in perms
                 if not action.isupper()}.union(
                    self.config.getlist('remoteuser', 'sync_groups')))
            self._groups_cache = (perms, current, groups)
        return groups

    def _permission_store(self):
        """Trac's permission store (`[trac] permission_store`), looked
        up again only when an option may have changed: finding it runs
        through every component that could be one."""
        read = self._current[0]
        store, found_with = self._store
        if store is None or found_with is not read:
            store = PermissionSystem(self.env).store
            self._store = (store, read)
        return store

    def door_key(self, name):
        """The `doors.key` of `name` (as another door or the database
        holds it) under the site's name policy."""
        cleaned = doors.clean(name, self.clean_name)
        return doors.key(cleaned.name or name)

    # Internal methods

    def _raw(self, section):
        """Every value the options are parsed from: the `[remoteuser]`
        options as written (`section`), `[trac] ignore_auth_case` and
        `base_url`, and the secret of `secret_file` (last)."""
        raw = tuple(map(section.get, _NAMES))
        return raw + self._others(raw[_SECRET_FILE])

    def _others(self, secret_file):
        """The values of `_raw` from outside the section."""
        return (self.config.get('trac', 'ignore_auth_case'),
                self.config.get('trac', 'base_url'),
                self._secret_file_status(secret_file))

    def _secret_file_status(self, path):
        path = path.strip()
        if not path:
            return None
        # Relative to trac.ini's folder, as Trac's PathOption (which
        # would resolve links on every request) does it.
        path = os.path.join(os.path.dirname(self.config.filename), path)
        return self._secret_file.current(path)

    def _parse(self, raw):
        """The `Current` options of the values `raw`; problems are
        logged."""
        options = RemoteUserOptions(self.env)
        base_url, loaded = raw[-2:]
        broken = loaded is not None and loaded.problem
        secret_header, secret = ('', '') if broken else (
            options.secret_header,
            loaded.secret if loaded else options.secret)
        jwt, jwt_problems = self._assertion_options()
        settings = decisions.make_settings(
            options.header, options.trusted_proxies, secret_header, secret,
            options.strip_domain,
            options.lowercase or LoginModule(self.env).ignore_case,
            options.local_domains,
            **dict(jwt, **{name: self.config.get('remoteuser', name)
                           for name in ('name_header', 'email_header',
                                        'groups_header')}))
        if broken:
            # Neither `secret` (perhaps the one the file replaced) nor
            # no secret at all: no header is believed.
            settings = settings._replace(
                header_key=None,
                problems=(loaded.problem,) + settings.problems)
        problems = tuple(jwt_problems) + settings.problems + \
            tuple(self.boolean_problems())
        settings = settings._replace(problems=problems)
        for problem in problems:
            self.log.error("TracRemoteUserAuth: %s", problem)
        paths, path_problems = token_core.parse_paths(options.token_paths)
        managed, group_problems = grouplists.parse_sync_groups(
            options.sync_groups)
        return Current(settings, options.cookie_login, options.tokens, paths,
                       tuple(path_problems), options.trust_forwarded,
                       options.trust_forwarded_for, managed,
                       tuple(group_problems), base_url)

    def _assertion_options(self):
        """The keyword arguments of `decision.make_settings` for the
        `jwt_*` options (none while neither `jwt_header` nor
        `jwt_preset` is set), and what is wrong with them."""
        def get(name):
            return self.config.get(SECTION, name)
        if not (get('jwt_header').strip() or get('jwt_preset').strip()):
            return {}, []
        explicit = {name: self.config.getlist('remoteuser', name)
                    if name == 'jwt_algorithms' else get(name)
                    for name in presets.DEFAULTS
                    if self.config.has_option('remoteuser', name,
                                              defaults=False)}
        audience = self.config.getlist('remoteuser', 'jwt_audience')
        resolved = presets.resolve(get('jwt_preset'), explicit,
                                   get('jwt_issuer'), audience)
        values = resolved.values
        keys = values['jwt_keys']
        if keys and '://' not in keys and not os.path.isabs(keys):
            keys = os.path.join(os.path.dirname(self.config.filename), keys)
        raw = tuple(get(name) for name in _JWT_OPTIONS) + (keys,)
        key, verifier = self._verifier_cache
        if key != raw:
            verifier = assertion.build(
                keys, get('jwt_issuer'), audience, values['jwt_algorithms'],
                get('jwt_leeway') or 60, get('jwt_refresh') or 300,
                report=self._report_keys,
                blocked=[resolved.blocked] if resolved.blocked else [])
            self._verifier_cache = (raw, verifier)
        return dict(verifier=verifier, jwt_header=values['jwt_header'],
                    jwt_claim=values['jwt_claim'],
                    jwt_name_claim=values['jwt_name_claim'],
                    jwt_email_claim=values['jwt_email_claim'],
                    jwt_groups_claim=values['jwt_groups_claim']), \
            [p for p in resolved.problems if p != resolved.blocked]

    def _report_keys(self, level, message):
        """What the key source of `jwt_keys` has to say, for the log.

        Its messages describe the key set and the fetch, never a
        token, so each distinct one is a scope of its own: a key set
        that changes from unusable to unreachable says so."""
        EventLog(self.env).write(level, 'jwt_keys', message,
                                 "[remoteuser] jwt_keys: %s", message)
