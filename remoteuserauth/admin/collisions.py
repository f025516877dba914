"""`trac-admin ENV remoteuser collisions`: whose names a new name policy
would merge, rename or lock out, over every place Trac stores a user's
name, and which password accounts look like the front end's names."""

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.core import Component, implements
from trac.web.auth import LoginModule
from trac.web.chrome import Chrome

from remoteuserauth.core import collisions
from remoteuserauth.options import RemoteUserOptions
from remoteuserauth.ownership import NameOwnership
from remoteuserauth.settings import RemoteUserSettings

_NAME_SOURCES = (
    ('session', "SELECT sid, COUNT(*) FROM session WHERE authenticated=1 "
                "GROUP BY sid"),
    ('permission', "SELECT username, COUNT(*) FROM permission "
                   "GROUP BY username"),
    ('login cookie', "SELECT name, COUNT(*) FROM auth_cookie GROUP BY name"),
    ('ticket owner', "SELECT owner, COUNT(*) FROM ticket GROUP BY owner"),
    ('ticket reporter', "SELECT reporter, COUNT(*) FROM ticket "
                        "GROUP BY reporter"),
    ('ticket change author', "SELECT author, COUNT(DISTINCT ticket) "
                             "FROM ticket_change GROUP BY author"),
    ('component owner', "SELECT owner, COUNT(*) FROM component "
                        "GROUP BY owner"),
    ('wiki author', "SELECT author, COUNT(*) FROM wiki GROUP BY author"),
    ('attachment author', "SELECT author, COUNT(*) FROM attachment "
                          "GROUP BY author"),
    ('report author', "SELECT author, COUNT(*) FROM report GROUP BY author"),
    ('changeset author', "SELECT author, COUNT(*) FROM revision "
                         "GROUP BY author"),
    ('notification subscription', "SELECT sid, COUNT(*) FROM "
                                  "notify_subscription WHERE "
                                  "authenticated=1 GROUP BY sid"),
    ('watch', "SELECT sid, COUNT(*) FROM notify_watch WHERE "
              "authenticated=1 GROUP BY sid"),
)


class NameCollisions(Component):
    """`remoteuser collisions`: what a name policy does to the names Trac
    knows."""

    implements(IAdminCommandProvider)

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser collisions',
               '[lowercase[=false]] [ignore_auth_case[=false]] '
               '[strip_domain=true|false] [local_domains=A,B]',
               """Show whose names a name policy would merge or lock out

               Before turning on [remoteuser] lowercase, strip_domain or
               local_domains, or [trac] ignore_auth_case, run every name
               Trac knows (sessions, permissions, login cookies, ticket
               owners, reporters and cc lists, the authors of ticket
               changes, wiki pages, attachments, reports and changesets,
               component owners, notification subscriptions) through the
               cleaning a login gets under that policy. Prints one line
               per group of names that would become one user (with
               where each occurs), per account that would be renamed,
               and per account that would be refused (locked out). The
               arguments change the policy read from trac.ini.
               """,
               self._complete_collisions, self._do_collisions)

    # Public API

    def collisions(self, policy):
        """The `collisions.Report` of `policy` over the names Trac
        knows."""
        groups = RemoteUserSettings(self.env).group_names()
        return collisions.evaluate(self.name_occurrences(groups), policy,
                                   groups)

    def current_policy(self):
        """The name policy trac.ini sets now."""
        options = RemoteUserOptions(self.env)
        return collisions.Policy(
            strip_domain=options.strip_domain, lowercase=options.lowercase,
            local_domains=tuple(options.local_domains),
            ignore_auth_case=LoginModule(self.env).ignore_case)

    def name_occurrences(self, groups=()):
        """Every name Trac stores where a user's name goes:
        ``{name: {place: count}}``. Permission groups are left out."""
        occurrences = {}

        def add(name, place, count=1):
            if name:
                places = occurrences.setdefault(name, {})
                places[place] = places.get(place, 0) + count

        with self.env.db_query as db:
            for place, sql in _NAME_SOURCES:
                for name, count in db(sql):
                    if place != 'permission' or name not in groups:
                        add(name, place, count)
            chrome = Chrome(self.env)
            for cc, in db("SELECT cc FROM ticket WHERE cc IS NOT NULL "
                          "AND cc != ''"):
                for name in set(chrome.cc_list(cc)):
                    add(name, 'ticket cc')
        # Which names the front end owns matters only beside another
        # door (a password form).
        ownership = NameOwnership(self.env)
        if ownership.enforced():
            for name in ownership.local_accounts():
                add(name, collisions.PASSWORD_ACCOUNT)
            if ownership.recording():
                for name in ownership.owners().names:
                    add(name, collisions.FRONT_END)
        return occurrences

    # Internal methods

    # Internal methods

    def _complete_collisions(self, args):
        given = set(arg.partition('=')[0].lower() for arg in args[:-1])
        words = ['lowercase', 'lowercase=false', 'ignore_auth_case',
                 'ignore_auth_case=false', 'strip_domain=true',
                 'strip_domain=false', 'local_domains=']
        if args and args[-1].startswith('local_domains='):
            words.append('local_domains=' + ','.join(
                self.config.getlist('remoteuser', 'local_domains')))
        return [w for w in words if w.partition('=')[0] not in given]

    def _do_collisions(self, *args):
        try:
            policy = collisions.parse_policy(args, self.current_policy())
        except ValueError as e:
            raise AdminCommandError(str(e), show_usage=True)
        for line in collisions.report_lines(self.collisions(policy),
                                            policy):
            print(line)
