"""`trac-admin ENV remoteuser selftest URL`: does the front end strip
forged identities?

It sends forged requests through the front end to the probe
(`remoteuserauth.probe`) and judges its answers (`selftest.judge`), as
the admin panel's button does (`selftestpanel`); the command can also go
around the front end, straight to the backend, and test /login's
referer handling, which a page's script cannot.
"""

import getpass
import sys

from trac.admin.api import AdminCommandError, IAdminCommandProvider
from trac.core import Component, implements

from remoteuserauth import selftest
from remoteuserauth.core import trust
from remoteuserauth.probe import SelfTestProbe
from remoteuserauth.selftest import client as probeclient
from remoteuserauth.selftest.frontend import NAMES, front_end_kind
from remoteuserauth.selftest.headers import header_value
from remoteuserauth.selftest.plan import backend_is_uwsgi, uwsgi_probe
from remoteuserauth.settings import RemoteUserSettings


class SelfTestCommand(Component):
    """Tests the live site's front end with forged identity headers
    (`trac-admin ENV remoteuser selftest`, and the Remote User admin
    panel's button)."""

    implements(IAdminCommandProvider)

    # IAdminCommandProvider methods

    def get_admin_commands(self):
        yield ('remoteuser selftest',
               '[<url>] [--path=<path>]... [--backend=<host>:<port>]... '
               '[--user=<name> [--password-file=<file>]] '
               '[--cookie-file=<file>] [--no-direct] [--insecure]',
               """Test whether the front end lets forged identities through

               Sends requests carrying forged identity headers (every
               spelling of [remoteuser] header, two copies, Basic
               credentials with a wrong password, a wrong secret, a
               forged signed assertion, forged X-Forwarded-*)
               to the live site at <url> (default: [trac] base_url), on
               the paths front ends route differently, and asks the
               plugin's probe what reached Trac; also /login with a CR/LF
               and a foreign referer, and the backend directly from an
               address that is not the front end's (found from the
               probe's answer, or --backend). The forged names are random
               (ruaprobe-...) and the probe never logs anyone in.

               Prints one line per finding: CRITICAL (a forged name or
               address is believed), WARN (a forged header reaches Trac
               but is not used), OK; and what to change. Exits with 1 on
               any CRITICAL, 2 when the probe cannot be reached.
               --path adds a path (below the site's prefix) to test.
               --user sends the forged requests with the Basic
               credentials of that test account (its password is the
               first line of --password-file, or asked for), so that
               the locations the front end authenticates (/login) are
               checked logged in; the probe still logs nobody in.
               --cookie-file sends a test user's session of the front
               end (the cookies its authenticator or single sign-on set
               in a browser, NAME=VALUE, from the file) with the same
               requests, and beside forged Basic credentials of another
               name: a front end that lets the session in and passes
               on the name of the client's Authorization header (nginx's
               $remote_user after auth_request) is CRITICAL.
               """,
               self._complete_selftest, self._do_selftest)

    # Public API

    def run(self, url, paths=selftest.DEFAULT_PATHS, backends=(),
            direct=True, insecure=False, credentials=None, cookies=None):
        """Run the self-test against the site at `url` (with the Basic
        `credentials`, ``(user, password)``, of a test account, and the
        `cookies`, (name, value) pairs, of a session of the front end,
        when given); returns the findings, the front end's Server
        header, and the name of the front end recognised."""
        site = probeclient.Site(url, insecure=insecure,
                                credentials=credentials, cookies=cookies)
        probe = SelfTestProbe(self.env)
        config = probe.selftest_config()
        token = probe.issue_token(selftest.COMMAND_TOKEN_LIFETIME)
        marker = selftest.new_marker()
        forged = SelfTestProbe(self.env).forged_assertion(config, marker)
        plan = selftest.plan(config, marker, paths, site.scheme, site.url,
                             forged, session=bool(cookies))
        exchanges = probeclient.run(site, plan, token)
        root = next(e for e in exchanges if e.probe.path == '/' and
                    e.probe.variant == 'baseline')
        server = header_value(root.headers, 'Server', '')
        if direct and root.report is not None:
            targets = list(backends) or selftest.backend_targets(
                root.report, site.host, site.port)
            kind, name = selftest.identity_header(config.header)
            networks = RemoteUserSettings(self.env).settings().networks
            exchanges.extend(probeclient.run_direct(
                site, targets, networks,
                selftest.direct_probe(marker, name, '/'), token,
                uwsgi_probe(marker, '/')
                if backend_is_uwsgi(root.report) else None))
        return selftest.judge(exchanges, config, marker, site.url,
                              site.prefix, credentials and credentials[0],
                              bool(cookies)), server, \
            NAMES[front_end_kind(exchanges)]

    # Internal methods

    def _complete_selftest(self, args):
        options = ['--path=', '--backend=', '--user=', '--password-file=',
                   '--cookie-file=', '--no-direct', '--insecure']
        if len(args) == 1:
            base_url = self.config.get('trac', 'base_url').strip()
            return ([base_url] if base_url else []) + options
        return options

    def _do_selftest(self, *args):
        url, paths, backends, direct, insecure = None, [], [], True, False
        user = password_file = cookie_file = None
        for arg in args:
            if arg.startswith('--path='):
                path = arg[len('--path='):]
                if not path.startswith('/'):
                    raise AdminCommandError("%r: a path starts with /" % arg)
                paths.append(path)
            elif arg.startswith('--backend='):
                host, colon, port = arg[len('--backend='):].rpartition(':')
                if not colon or not port.isdigit():
                    raise AdminCommandError("%r is not --backend=HOST:PORT"
                                            % arg, show_usage=True)
                backends.append((host.strip('[]'), port))
            elif arg.startswith('--user='):
                user = arg[len('--user='):]
                if not user or ':' in user:
                    raise AdminCommandError("%r: a user name, without ':'"
                                            % arg, show_usage=True)
            elif arg.startswith('--password-file='):
                password_file = arg[len('--password-file='):]
            elif arg.startswith('--cookie-file='):
                if cookie_file is not None:
                    raise AdminCommandError("--cookie-file is given twice",
                                            show_usage=True)
                cookie_file = arg[len('--cookie-file='):]
                if not cookie_file:
                    raise AdminCommandError("--cookie-file= needs a file",
                                            show_usage=True)
            elif arg == '--no-direct':
                direct = False
            elif arg == '--insecure':
                insecure = True
            elif arg.startswith('--') or url is not None:
                raise AdminCommandError("unknown argument %r" % arg,
                                        show_usage=True)
            else:
                url = arg
        url = url or self.config.get('trac', 'base_url').strip()
        if not url:
            raise AdminCommandError("give the site's public URL: [trac] "
                                    "base_url is not set", show_usage=True)
        try:
            scheme, host = selftest.public_address(url)[:2]
        except ValueError as e:
            raise AdminCommandError(str(e), show_usage=True)
        in_clear = scheme != 'https' and not trust.is_loopback_host(host)
        if user is not None and in_clear:
            raise AdminCommandError(
                "--user would send the password of %s unencrypted to %s: "
                "give the site's https:// address" % (user, host))
        if cookie_file is not None and in_clear:
            raise AdminCommandError(
                "--cookie-file would send a session unencrypted to %s: "
                "give the site's https:// address" % host)
        credentials = None
        if password_file is not None and user is None:
            raise AdminCommandError("--password-file goes with --user",
                                    show_usage=True)
        if user is not None:
            credentials = (user, _password(user, password_file))
        cookies = _cookies(cookie_file) if cookie_file is not None else None
        found, server, front_end = self.run(
            url, tuple(selftest.DEFAULT_PATHS) + tuple(paths), backends,
            direct, insecure, credentials, cookies)
        print("TracRemoteUserAuth self-test of %s (Server: %s; front end: "
              "%s)" % (url.rstrip('/'), server or 'none', front_end))
        for line in selftest.lines(found):
            print(line)
        print(selftest.summary(found))
        return selftest.exit_code(found)


def _password(user, path):
    """The password of the test account: the first line of the file at
    `path` (never a command-line argument, which `ps` shows), or asked
    for on a terminal."""
    if path is None:
        if not sys.stdin.isatty():
            raise AdminCommandError("--user needs --password-file (no "
                                    "terminal to ask for the password)")
        return getpass.getpass("Password of %s: " % user)
    try:
        with open(path, encoding='utf-8') as f:
            password = f.readline().rstrip('\r\n')
    except (OSError, UnicodeDecodeError) as e:
        raise AdminCommandError("--password-file: %s cannot be read (%s)"
                                % (path, getattr(e, 'strerror', None) or e))
    if not password:
        raise AdminCommandError("--password-file: the first line of %s is "
                                "empty" % path)
    return password


#: A cookie file holds a few cookies, and comments; anything larger is
#: no cookie file.
_MAX_COOKIE_FILE = 64 * 1024


def _cookies(path):
    """The cookies of the front end's session in the file at `path`, as
    (name, value) pairs; never an argument, which `ps` shows. What is
    wrong with the file is said without any value in it."""
    where = _shown_path(path)
    try:
        with open(path, encoding='utf-8', newline='') as f:
            text = f.read(_MAX_COOKIE_FILE + 1)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        reason = getattr(e, 'strerror', None) or (
            "not UTF-8 text" if isinstance(e, UnicodeDecodeError) else
            "not a file name")
        raise AdminCommandError("--cookie-file: %s cannot be read (%s)"
                                % (where, reason))
    if len(text) > _MAX_COOKIE_FILE:
        raise AdminCommandError("--cookie-file: %s is larger than %d KiB: "
                                "no cookie file" % (where,
                                                    _MAX_COOKIE_FILE // 1024))
    try:
        return selftest.parse_cookies(text)
    except ValueError as e:
        raise AdminCommandError("--cookie-file: %s: %s" % (where, e))


def _shown_path(path):
    """A file name given on the command line, for an error message:
    escaped when it holds characters a terminal would act on, and cut
    short."""
    shown = path if path.isprintable() else repr(path)[1:-1]
    return shown if len(shown) <= 200 else shown[:200] + '...'
