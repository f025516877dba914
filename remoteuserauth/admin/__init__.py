"""What administrators run: the admin panel (`panel`, with the
self-test's button: `selftestpanel`), and the commands `remoteuser
check` (`check`), `collisions` (`collisions`), `adopt` and `owners`
(`owners`), `revoke` (`revoke`), `selftest` (`selftest`) and `token`
(`tokens`), with the
warnings they share (`warnings`) and the secrets kept off the About page
(`about`). Loading this package loads them all."""

from remoteuserauth.admin import about, check, collisions, owners  # noqa
from remoteuserauth.admin import panel, revoke, selftest  # noqa
from remoteuserauth.admin import selftestpanel, tokens, warnings  # noqa
from remoteuserauth.admin.panel import RemoteUserAdmin  # noqa: F401
