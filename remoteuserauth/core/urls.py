"""The public address of a Trac published behind a proxy.

Behind a proxy the backend sees its own host (``backend:8000``), plain
http and often no path prefix; Trac builds every redirect, link and
cookie path from that. The public address comes instead from
``[trac] base_url`` or, when the administrator allows it, from the
``X-Forwarded-*`` headers that a *trusted* proxy added. Since incoming
headers can be faked, those headers are read only from peers in
``[remoteuser] trusted_proxies``, and only the value the nearest proxy
appended (the last one of a list) counts.

Nothing here imports Trac.
"""

import re
from collections import namedtuple
from urllib.parse import quote, urlsplit, urlunsplit

from remoteuserauth.core.trust import last_list_value

PublicURL = namedtuple('PublicURL', 'scheme host prefix source')
PublicURL.__doc__ = """Scheme, host (with a port when it is not the
scheme's default) and path prefix (``''`` or ``/prefix``) of the public
site, and where they came from (``'base_url'``, ``'forwarded'`` or
``'request'``)."""

DEFAULT_PORTS = {'http': '80', 'https': '443'}

# A host as it may appear in a Host or X-Forwarded-Host header: a name,
# an IPv4 address or a bracketed IPv6 address, and an optional port.
_HOST_RE = re.compile(r'(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?'
                      r'|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z')
# Characters a Location keeps as they are: the URL syntax, and escapes.
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"
_PREFIX_RE = re.compile(r"(?:/[-A-Za-z0-9._~!$&'()*+,;=:@%]+)*\Z")


def normalize_prefix(prefix):
    """``'prefix/'`` -> ``'/prefix'``, ``'/'`` -> ``''``; `None` when the
    value is no usable path (a scheme, a query, control characters)."""
    if prefix is None:
        return None
    prefix = '/' + prefix.strip().strip('/')
    prefix = re.sub('/+', '/', prefix).rstrip('/')
    if not _PREFIX_RE.match(prefix):
        return None
    return prefix


def normalize_host(host, scheme):
    """Lower-case `host` and drop the scheme's default port; `None` when
    it is not a plausible host."""
    if not host:
        return None
    host = host.strip().lower()
    if not _HOST_RE.match(host):
        return None
    name, colon, port = host.rpartition(':') if not host.endswith(']') \
        else (host, '', '')
    if colon and not name.endswith(']') and ':' in name:
        return None
    if colon and DEFAULT_PORTS.get(scheme) == port:
        return name
    return host


def parse_base_url(base_url):
    """Split ``[trac] base_url`` into a `PublicURL`.

    :raise ValueError: when it is not an absolute http or https URL.
    """
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.netloc:
        raise ValueError("%r is not an absolute http:// or https:// URL"
                         % base_url)
    host = normalize_host(parts.netloc, scheme)
    prefix = normalize_prefix(parts.path)
    if host is None or prefix is None or parts.query or parts.fragment:
        raise ValueError("%r is not a plain site address (scheme, host, "
                         "port and path only)" % base_url)
    return PublicURL(scheme, host, prefix, 'base_url')


def forwarded_url(environ, default):
    """Apply the ``X-Forwarded-*`` headers of `environ` to `default`.

    The caller has checked that the peer is trusted. Values that do not
    parse are ignored one by one; the result says what was used.
    """
    scheme, host, prefix = default.scheme, default.host, default.prefix
    used = False
    proto = last_list_value(environ.get('HTTP_X_FORWARDED_PROTO'))
    if proto and proto.lower() in DEFAULT_PORTS:
        scheme = proto.lower()
        used = True
    fhost = last_list_value(environ.get('HTTP_X_FORWARDED_HOST'))
    if fhost and normalize_host(fhost, scheme):
        host = fhost
        used = True
    port = last_list_value(environ.get('HTTP_X_FORWARDED_PORT'))
    # isdigit() is true for '\u2776' and other digits int() refuses.
    if port and re.fullmatch('[0-9]{1,5}', port) and 0 < int(port) < 65536:
        bare = host[:host.rindex(':')] if re.search(r':\d+\Z', host) \
            else host
        host = '%s:%s' % (bare, port)
        used = True
    fprefix = normalize_prefix(
        last_list_value(environ.get('HTTP_X_FORWARDED_PREFIX')))
    if fprefix:
        # The part of the path the proxy removed: it goes in front of
        # what the backend sees (a project's name under a parent dir),
        # unless the backend was given the prefix already.
        if prefix != fprefix and not prefix.startswith(fprefix + '/'):
            prefix = fprefix + prefix
        used = True
    host = normalize_host(host, scheme) or default.host
    return PublicURL(scheme, host, prefix,
                     'forwarded' if used else default.source)


def request_url(environ):
    """The address as the backend sees it, the way Trac reconstructs it."""
    scheme = environ.get('wsgi.url_scheme', 'http')
    host = environ.get('HTTP_HOST')
    if not host:
        host = environ.get('SERVER_NAME', 'localhost')
        port = str(environ.get('SERVER_PORT', ''))
        if port and DEFAULT_PORTS.get(scheme) != port:
            host = '%s:%s' % (host, port)
    return PublicURL(scheme, host, environ.get('SCRIPT_NAME', '') or '',
                     'request')


def url_string(public, path=''):
    """The absolute URL of `path` (inside the site) on `public`."""
    return urlunsplit((public.scheme, public.host, public.prefix + path,
                       '', ''))


_CONTROL_RE = re.compile('[\x00-\x1f\x7f-\x9f]')


def has_control_character(text):
    """Whether `text` holds a character that may never appear in a
    response header: C0 controls (CR, LF, NUL ...), DEL, C1 controls."""
    return _CONTROL_RE.search(text) is not None


def quote_location(url):
    """`url` with spaces and non-ASCII characters percent-encoded, as a
    ``Location`` header must carry them; `None` when it holds a control
    character (a response-splitting attempt)."""
    if url is None or has_control_character(url):
        return None
    return quote(url, safe=_URL_SAFE)


def is_inside(url, base):
    """Whether the absolute or site-relative `url` lies inside the site
    whose base URL is `base`: same scheme and host, path below the
    prefix, no control character. Used to decide which referers a login
    may go back to."""
    if not url or has_control_character(url) or '\\' in url:
        return False
    target = urlsplit(url)
    site = urlsplit(base)
    if target.scheme or target.netloc:
        if target.scheme.lower() != site.scheme.lower() or \
                target.netloc.lower() != site.netloc.lower():
            return False
    elif url.startswith('//') or not url.startswith('/'):
        return False
    prefix = site.path.rstrip('/')
    path = target.path
    return path == prefix or path.startswith(prefix + '/') or \
        (not prefix and path.startswith('/'))


def secure_location(url, public, inside_only=False, allowed=()):
    """The ``Location`` a redirect to `url` may send, on the public site
    `public` (a `PublicURL`).

    - a control character anywhere: the site's front page;
    - an ``http://`` URL of the public host when the site is https: the
      same URL over https (no scheme downgrade);
    - with `inside_only`, anything outside the site, other than the
      absolute URLs in `allowed`: the site's front page.

    :return: ``(location, reason)``; `reason` is `None` when `url` is
             kept (with its spaces and non-ASCII characters encoded).
    """
    home = url_string(public)
    location = quote_location(url)
    if location is None:
        return home, "it holds a control character"
    parts = urlsplit(location)
    if parts.scheme.lower() == 'http' and public.scheme == 'https' and \
            parts.netloc.lower() == public.host:
        location = urlunsplit(('https',) + tuple(parts[1:]))
        if not inside_only or is_inside(location, home):
            return location, "it leaves https for http"
    if inside_only and location not in allowed and \
            not is_inside(location, home):
        return home, "it leads outside the site %s" % home
    return location, None
