"""The `trac_auth` cookies of Trac's login: whose a cookie is, and
forgetting one.

A cookie value is random and never given to another name, so whose it
is can be remembered (a bounded number of them), sparing the query Trac
already made for it.
"""

from trac.core import Component
from trac.web.auth import LoginModule

#: How many cookies' owners are remembered.
MAX_REMEMBERED = 4096


class LoginCookies(Component):
    """Whose a `trac_auth` cookie is, and forgetting its login."""

    def __init__(self):
        self._owners = {}

    def owner(self, value):
        """The name the `trac_auth` cookie `value` was issued for, or
        `None` (an unknown or forgotten cookie)."""
        owner = self._owners.get(value)
        if owner is None:
            for owner, in self.env.db_query(
                    "SELECT name FROM auth_cookie WHERE cookie=%s",
                    (value,)):
                if len(self._owners) >= MAX_REMEMBERED:
                    self._owners.clear()
                self._owners[value] = owner
        return owner

    def forget(self, req, owner, why):
        """Delete the login of the request's `trac_auth` cookie, whose
        name is `owner` (`None`: unknown), and expire the cookie; `why`
        is said in the log."""
        cookie = req.incookie.get('trac_auth')
        if owner is not None:
            self.env.db_transaction(
                "DELETE FROM auth_cookie WHERE cookie=%s", (cookie.value,))
            self.log.info("TracRemoteUserAuth: retired the login cookie of "
                          "%s: %s", owner, why)
        LoginModule(self.env)._expire_cookie(req)
