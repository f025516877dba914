"""A forward-authentication service on loopback: the authenticator that
nginx's `auth_request` (and Traefik's ForwardAuth) asks before it passes
a request on, for the tests of those front ends.

It decides as nginx-ldap-auth's reference daemon and the single sign-on
portals (Authelia, oauth2-proxy) do: a request that carries a session
cookie the service issued is that session's user, whatever else it
carries (its Authorization header included: the session is looked at
first); otherwise Basic credentials are checked against the service's
own users; otherwise, or when they are wrong, the answer is 401 with a
Basic challenge. An accepted request is answered 200 with the user's
name in `Remote-User`, and `Remote-Name`, `Remote-Email` and
`Remote-Groups` when the user has them, as Authelia answers. Nothing
of the request is ever echoed.

`GET /session` with a user's Basic credentials plays the portal's login
page: it answers with a new session cookie. Any other path is the
question.
"""

import base64
import binascii
import hmac
import secrets
import threading
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from remoteuserauth.selftest import basic_credentials
from process import free_port, http

User = namedtuple('User', 'name password display email groups',
                  defaults=('', '', ()))
User.__doc__ = """A user of the service: `groups` a sequence, sent
joined with commas; an empty `display` or `email` is not sent."""

SESSION_PATH = '/session'

#: trac.ini of a Trac behind the authenticator: the profile from the
#: answer's headers, `developers` synced.
TRAC_OPTIONS = [
    # Pages then say "logged in as alice", not her display name.
    ('trac', 'show_full_names', 'false'),
    ('remoteuser', 'name_header', 'Remote-Name'),
    ('remoteuser', 'email_header', 'Remote-Email'),
    ('remoteuser', 'groups_header', 'Remote-Groups'),
    ('remoteuser', 'sync_groups', 'developers')]


class ForwardAuth(object):
    """The service, listening on 127.0.0.1 until `stop`; `asked` records
    the headers of every question it received, as (name, value) pairs,
    so that a test can see what the front end passes to it."""

    def __init__(self, users, cookie='authsession', port=None):
        self.users = {user.name: user for user in users}
        self.cookie = cookie
        self.port = port or free_port()
        self.asked = []
        self._sessions = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(('127.0.0.1', self.port),
                                          _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        daemon=True)
        self._thread.start()

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def login(self, name, password):
        """Log in at the service's login page, as a browser does; the
        session cookie as ``(name, value)``."""
        r = http(self.port, SESSION_PATH,
                 [('Authorization', basic_credentials(name, password))])
        assert r.status == 200, (r.status, r.body)
        cookie, = r.cookies()
        pair = cookie.split(';')[0]
        key, _, value = pair.partition('=')
        assert key == self.cookie
        return key, value

    def logout_everyone(self):
        """End every session, as when sessions expire."""
        with self._lock:
            self._sessions.clear()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)

    # What the handler asks

    def check_password(self, name, password):
        user = self.users.get(name)
        expected = user.password if user is not None else ''
        matches = hmac.compare_digest(password.encode('utf-8'),
                                      expected.encode('utf-8'))
        return user if user is not None and matches else None

    def new_session(self, user):
        value = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[value] = user.name
        return value

    def session_user(self, values):
        with self._lock:
            for value in values:
                name = self._sessions.get(value)
                if name is not None:
                    return self.users[name]
        return None

    def record(self, headers):
        with self._lock:
            self.asked.append(headers)


def basic_user(values):
    """``(name, password)`` of the first Authorization value that holds
    Basic credentials, or `None`."""
    for value in values:
        scheme, _, encoded = value.strip().partition(' ')
        if scheme.lower() != 'basic':
            continue
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True) \
                .decode('utf-8')
        except (binascii.Error, ValueError):
            continue
        name, colon, password = decoded.partition(':')
        if colon:
            return name, password
    return None


def cookie_values(headers, name):
    """The values of cookie `name` in the Cookie headers."""
    values = []
    for header in headers:
        for pair in header.split(';'):
            key, equals, value = pair.strip().partition('=')
            if equals and key == name:
                values.append(value)
    return values


def _handler(service):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            path = self.path.partition('?')[0]
            if path == SESSION_PATH:
                self._login()
            else:
                self._verdict()

        do_HEAD = do_POST = do_GET

        def _login(self):
            given = basic_user(self.headers.get_all('Authorization') or [])
            user = given and service.check_password(*given)
            if not user:
                return self._answer(401, [('WWW-Authenticate',
                                           'Basic realm="forwardauth"')])
            self._answer(200, [('Set-Cookie', '%s=%s; Path=/; HttpOnly' % (
                service.cookie, service.new_session(user)))])

        def _verdict(self):
            service.record(list(self.headers.items()))
            user = service.session_user(cookie_values(
                self.headers.get_all('Cookie') or [], service.cookie))
            if user is None:
                given = basic_user(self.headers.get_all('Authorization')
                                   or [])
                user = given and service.check_password(*given)
            if not user:
                return self._answer(401, [('WWW-Authenticate',
                                           'Basic realm="forwardauth"')])
            answer = [('Remote-User', user.name)]
            if user.display:
                answer.append(('Remote-Name', user.display))
            if user.email:
                answer.append(('Remote-Email', user.email))
            if user.groups:
                answer.append(('Remote-Groups', ','.join(user.groups)))
            self._answer(200, answer)

        def _answer(self, status, headers):
            self.send_response(status)
            for name, value in headers:
                # UTF-8 on the wire, as the portals send names.
                self.send_header(name, value.encode('utf-8')
                                 .decode('latin-1'))
            self.send_header('Content-Length', '0')
            self.end_headers()

        def log_message(self, format, *args):
            pass    # the tests read `asked`, not a log

    return Handler
