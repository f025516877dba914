"""Which front end the self-test is talking to, so that its fixes are
written in that server's own directives: recognised from what each
server leaves on its answers and on the requests the probe saw.

What each one leaves (seen on the real servers of the tests):

- nginx, Apache and Caddy name themselves in the Server header of the
  answers they make themselves (a login challenge, a static file);
  nginx also replaces the backend's own Server header, and Caddy adds
  ``Via: 1.1 Caddy`` to the answers it passes on.
- HAProxy adds no header of its own, but writes every header name of
  its HTTP/1 answers in lower case (``server: gunicorn``), unless its
  ``h1-case-adjust`` options say otherwise.
- Traefik adds no header to the answers either; on the requests it
  sets ``X-Real-Ip`` beside ``X-Forwarded-Server``. Apache's mod_proxy
  sets ``X-Forwarded-Server`` without it; Trac inside Apache (mod_wsgi,
  mod_python) is Apache.
- uWSGI runs Trac (the probe says so) behind nginx: nginx's
  ``uwsgi_pass``, where the request's variables are ``uwsgi_param``
  lines and ``proxy_set_header`` does nothing.

Nothing here imports Trac.
"""

#: The front ends the fixes speak of; `OTHER` is any other.
NGINX, APACHE, OTHER = 'nginx', 'apache', 'other'
#: `UWSGI` is uWSGI behind nginx (uwsgi_pass: variables, not headers).
CADDY, TRAEFIK, HAPROXY, UWSGI = 'caddy', 'traefik', 'haproxy', 'uwsgi'

#: How the self-test names each front end to the administrator.
NAMES = {NGINX: 'nginx', APACHE: 'Apache', CADDY: 'Caddy',
         TRAEFIK: 'Traefik', HAPROXY: 'HAProxy',
         UWSGI: 'uWSGI behind nginx', OTHER: 'not recognised'}

#: The servers that name themselves in Server (or Via) headers.
_NAMED = (NGINX, APACHE, CADDY)

#: When several leave their mark, the first of these is taken: uWSGI
#: is only ever seen with nginx in front of it, and the servers that
#: name themselves say more than a missing or lower-case header does.
_ORDER = (UWSGI, NGINX, APACHE, CADDY, TRAEFIK, HAPROXY)


def front_end_kind(exchanges):
    """One of the kinds above, from the answers of the `exchanges` and
    the probe's reports in them."""
    seen = set()
    for exchange in exchanges:
        seen.update(_evidence(exchange.headers or (), exchange.report))
    if UWSGI in seen and NGINX not in seen:
        seen.discard(UWSGI)
    return next((kind for kind in _ORDER if kind in seen), OTHER)


def _evidence(headers, report):
    for name, value in headers:
        if name.lower() in ('server', 'via'):
            for kind in _NAMED:
                if kind in value.lower():
                    yield kind
    if len(headers) > 1 and all(name == name.lower() for name, _ in headers):
        yield HAPROXY
    report = report or {}
    forwarded = report.get('forwarded') or {}
    server = report.get('server') or {}
    if 'X-Forwarded-Server' in forwarded:
        yield TRAEFIK if 'X-Real-Ip' in forwarded else APACHE
    if server.get('inside_front_end'):
        yield APACHE
    if (server.get('software') or '').startswith('uWSGI/'):
        yield UWSGI
