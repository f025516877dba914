"""What the admin panel and `remoteuser check` warn about: settings that
work but are risky, a secret file others may read, groups that are
synced from nowhere, permission subjects a front-end user could take,
password accounts that look like the front end's names."""

from trac.core import Component
from trac.perm import PermissionSystem

from remoteuserauth.core import names
from remoteuserauth.decision import explain
from remoteuserauth.groupsync import GroupSynchronizer
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.settings import RemoteUserSettings


class SiteWarnings(Component):
    """The warnings about the site's configuration, in sentences."""

    def warnings(self):
        reader = RemoteUserSettings(self.env)
        settings = reader.settings()
        warnings = explain.risky_settings(settings)
        loaded = reader.secret_file_status()
        if loaded is not None:
            if loaded.warning:
                warnings.append(loaded.warning)
            if self.config.get('remoteuser', 'secret'):
                warnings.append("[remoteuser] secret is not used while "
                                "secret_file is set: remove it from "
                                "trac.ini")
        managed = GroupSynchronizer(self.env).managed_groups()
        for option in ('groups_header', 'jwt_groups_claim'):
            if self.config.get('remoteuser', option).strip() and \
                    not managed:
                warnings.append("[remoteuser] %s is set but sync_groups "
                                "names no group: nothing is synced" % option)
        if settings.assertion:
            warnings.extend(explain.assertion_warnings(
                settings.assertion.verifier,
                settings.assertion.verifier.status()))
        unclaimed = self.unclaimed_subjects()
        if unclaimed:
            warnings.append(explain.unclaimed_warning(unclaimed))
        ownership = NameOwnership(self.env)
        if ownership.enforced() and ownership.recording():
            lookalikes = ownership.lookalikes(reader.door_key)
            if lookalikes:
                warnings.append(
                    "%d password account(s) hold a name the front end "
                    "owns, or a look-alike of one (%s): the password form "
                    "refuses them; run trac-admin ENV remoteuser "
                    "collisions" % (len(lookalikes), ', '.join(
                        '%s/%s' % (names.client_text(a), o)
                        for a, o in lookalikes[:5])))
        return warnings

    def unclaimed_subjects(self):
        """The permission subjects a front-end user could take: they hold
        permissions, have no member, have never logged in (no
        authenticated session) and are names the plugin would accept.
        Trac cannot tell such a subject from a user: it may be a group
        still waiting for its first member, whose permissions the user
        of that name would receive. Sorted."""
        reader = RemoteUserSettings(self.env)
        settings = reader.settings()
        groups = reader.group_names()
        holders = {subject for subject, action
                   in PermissionSystem(self.env).get_all_permissions()
                   if action.isupper()}
        with self.env.db_query as db:
            known = {sid for sid, in db("SELECT sid FROM session "
                                        "WHERE authenticated=1")}
        return sorted(
            subject for subject in holders - known
            if names.clean_name(subject.encode('utf-8'),
                                settings.strip_domain, settings.lowercase,
                                groups, settings.local_domains).name ==
            subject)
