"""The probe's tokens and markers: what lets a self-test request ask the
probe, and the random names it forges (nothing real is impersonated).

Nothing here imports Trac.
"""

import hashlib
import hmac
import re
import secrets
from urllib.parse import parse_qsl

#: The query parameter that makes any page answer as the probe.
PROBE_PARAM = 'remoteuser-probe'
MARKER_PREFIX = 'ruaprobe-'
#: Lifetimes of the probe tokens: the command's run takes seconds, the
#: admin panel's page may stay open a while before the button is used.
COMMAND_TOKEN_LIFETIME = 300
PANEL_TOKEN_LIFETIME = 900


def new_marker():
    """A random marker name: nothing real is impersonated."""
    return MARKER_PREFIX + secrets.token_hex(4)


def is_marker(value):
    return bool(re.match(re.escape(MARKER_PREFIX) + r'[0-9a-f]{8}\Z',
                         value or ''))


# Tokens

def make_token(key, now, lifetime, nonce=None):
    """A probe token valid for `lifetime` seconds from `now`, signed
    with `key` (bytes kept in the environment, never in trac.ini)."""
    expires = int(now) + int(lifetime)
    nonce = nonce or secrets.token_hex(8)
    return '%d.%s.%s' % (expires, nonce, _mac(key, expires, nonce))


def check_token(key, token, now, max_lifetime=PANEL_TOKEN_LIFETIME):
    """`None` when `token` is a valid probe token, else why it is not."""
    if not key:
        return "no probe key in this environment yet"
    match = re.match(r'([0-9]{1,12})\.([0-9a-f]{16})\.([0-9a-f]{64})\Z',
                     token or '')
    if not match:
        return "malformed token"
    expires, nonce, mac = int(match.group(1)), match.group(2), \
        match.group(3)
    if not hmac.compare_digest(mac, _mac(key, expires, nonce)):
        return "bad signature (a token of another environment?)"
    if expires < now:
        return "expired token"
    if expires > now + max_lifetime + 60:
        return "token valid for longer than a probe token can be"
    return None


def _mac(key, expires, nonce):
    message = ('remoteuserauth-probe:%d:%s' % (expires, nonce)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def probe_token(environ):
    """The probe token a request carries, or `None` for any request that
    is no probe. Cheap: every request is asked."""
    query = environ.get('QUERY_STRING') or ''
    if PROBE_PARAM not in query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == PROBE_PARAM:
            return value
    return None
