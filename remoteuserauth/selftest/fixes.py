"""What to change in the front end, for each finding, in that front
end's own words: a table of texts by finding and by server, filled with
the header names of the site.

Nothing here imports Trac.
"""

from remoteuserauth.selftest.apifixes import API_FIXES
from remoteuserauth.selftest.frontend import (APACHE, CADDY, HAPROXY, NGINX,
                                              OTHER, TRAEFIK, UWSGI)
from remoteuserauth.selftest.headers import http_name, identity_header

_BASE_URL = ("set [trac] base_url to the public address (it wins over "
             "every header), ")

#: finding -> front end -> text, `%`-formatted with the values of
#: `_values` (and, for `profile`, the headers that got through).
FIXES = {
    'identity': {
        NGINX: "nginx: put `proxy_set_header %(name)s %(nginx_value)s;` in "
               "every location that proxies to Trac (a location with "
               "proxy_set_header lines of its own inherits none from the "
               "enclosing one)%(nginx_where)s",
        APACHE: "Apache: `RequestHeader unset %(name)s early` in the "
                "virtual host%(apache_set)s",
        CADDY: "Caddy: `header_up -%(name)s` in every reverse_proxy that "
               "reaches Trac (Caddy passes on every header of the client, "
               "in any case and any number of copies)%(caddy_set)s",
        TRAEFIK: "Traefik: list %(name)s in the ForwardAuth middleware's "
                 "authResponseHeaders (a header it does not list passes "
                 "from the client untouched), and give the routers that "
                 "ask no authenticator a headers middleware with "
                 "`customRequestHeaders: {%(name)s: \"\"}` (an empty value "
                 "removes the client's; as in traefik-dynamic.yml)",
        HAPROXY: "HAProxy: `http-request del-header %(name)s` in the "
                 "frontend, before any rule that sets it%(haproxy_set)s",
        UWSGI: "nginx (uwsgi_pass): `uwsgi_param %(variable)s \"\";` in "
               "every location that passes to uWSGI (the client's "
               "%(name)s arrives as that variable; proxy_set_header does "
               "nothing under uwsgi_pass, and a location with uwsgi_param "
               "lines of its own inherits none from the enclosing "
               "one)%(uwsgi_set)s",
        OTHER: "make the front end %(set_or_remove)s %(name)s on every "
               "request it passes to Trac, whatever the client sent",
    },
    'underscore': {
        NGINX: "nginx: `underscores_in_headers off;` in the server block "
               "(the default), or `proxy_set_header %(under)s \"\";`",
        APACHE: "Apache: `RequestHeader unset %(under)s early` in the "
                "virtual host (mod_proxy forwards underscore headers)",
        CADDY: "Caddy: `header_up -%(under)s` in every reverse_proxy that "
               "reaches Trac (Caddy passes underscore headers on; as the "
               "trac_backend snippet of caddy-gunicorn.caddyfile does)",
        TRAEFIK: "Traefik: `%(under)s: \"\"` in the customRequestHeaders "
                 "of a headers middleware on every router to Trac "
                 "(Traefik passes underscore headers on)",
        HAPROXY: "HAProxy: `http-request del-header %(under)s` in the "
                 "frontend (HAProxy passes underscore headers on)",
        UWSGI: "nginx (uwsgi_pass): `underscores_in_headers off;` in the "
               "server block (the default), and `uwsgi_param %(variable)s "
               "\"\";` in every location that passes to uWSGI (%(under)s "
               "arrives as that variable too)",
        OTHER: "drop the header %(under)s (the underscore spelling) at the "
               "front end",
    },
    'secret': {
        NGINX: "nginx: `proxy_set_header %(secret)s <secret>;` in every "
               "location (it replaces the client's)",
        APACHE: "Apache: `RequestHeader set %(secret)s <secret>` (set, not "
                "append or add)",
        CADDY: "Caddy: `header_up %(secret)s <secret>` in every "
               "reverse_proxy that reaches Trac (it replaces every copy the "
               "client sent)",
        TRAEFIK: "Traefik: a headers middleware with "
                 "`customRequestHeaders: {%(secret)s: <secret>}` on every "
                 "router to Trac (it replaces the client's)",
        HAPROXY: "HAProxy: `http-request set-header %(secret)s <secret>` "
                 "(set-header, not add-header, which keeps the client's)",
        UWSGI: "nginx (uwsgi_pass): `uwsgi_param %(secret_variable)s "
               "<secret>;` in every location that passes to uWSGI (it "
               "replaces the client's)",
        OTHER: "make the front end replace %(secret)s, never append to it",
    },
    'basic': {
        NGINX: "nginx: $remote_user is the name in any client's "
               "Authorization header, whether or not a password was "
               "checked: pass it only from the location where auth_basic "
               "checks it, with `set $trac_user \"\";` and "
               "`proxy_set_header %(name)s $trac_user;` for the site and "
               "`set $trac_user $remote_user;` in that location (as in "
               "nginx-gunicorn.conf); where auth_request decides, take the "
               "name from the authenticator's answer instead "
               "(`auth_request_set $trac_user $upstream_http_remote_user;`)",
        APACHE: "Apache: set %(name)s only from `%%{REMOTE_USER}`, which "
                "Apache fills after checking the password, and "
                "`RequestHeader unset %(name)s early` in the virtual host",
        CADDY: "Caddy: set %(name)s from {http.auth.user.id} only in the "
               "route where basic_auth checked the password, and "
               "`header_up -%(name)s` in every other reverse_proxy (as in "
               "caddy-gunicorn.caddyfile)",
        TRAEFIK: "Traefik: take the name only from the authenticator's "
                 "answer (%(name)s in ForwardAuth's authResponseHeaders), "
                 "never from the client's Authorization header, and remove "
                 "that header before Trac (a headers middleware with "
                 "`Authorization: \"\"`)",
        HAPROXY: "HAProxy: %%[http_auth_user] is the name in any client's "
                 "Authorization header, checked or not: `http-request "
                 "set-header %(name)s %%[http_auth_user] if login` only with "
                 "the acl of the `http-request auth` rule that checked it, "
                 "after `http-request del-header %(name)s` (as in "
                 "haproxy-gunicorn.cfg)",
        UWSGI: "nginx (uwsgi_pass): $remote_user is the name in any "
               "client's Authorization header, whether or not a password "
               "was checked: `set $trac_user \"\";` and `uwsgi_param "
               "REMOTE_USER $trac_user if_not_empty;` for the site, and "
               "`set $trac_user $remote_user;` only in the location where "
               "auth_basic checks it (as in nginx-uwsgi.conf)",
        OTHER: "make the front end pass on a user name only after it "
               "checked the password",
    },
    'session': {
        NGINX: "nginx: after auth_request, take the name from the "
               "authenticator's answer: `auth_request_set $trac_user "
               "$upstream_http_remote_user;` (the header it names the user "
               "in) with `proxy_set_header %(name)s $trac_user;`, never "
               "$remote_user, which is the name in the client's own "
               "Authorization header whatever the authenticator checked "
               "(as in nginx-auth-request.conf)",
        APACHE: "Apache: set %(name)s only from what the authentication "
                "module checked (`%%{REMOTE_USER}`), never from the "
                "client's Authorization header, and `RequestHeader unset "
                "%(name)s early` in the virtual host",
        CADDY: "Caddy: take the name from the authenticator's answer "
               "(forward_auth with `copy_headers %(name)s`), never from the "
               "client's Authorization header",
        TRAEFIK: "Traefik: take the name from the authenticator's answer: "
                 "list %(name)s in ForwardAuth's authResponseHeaders, never "
                 "a header made from the client's Authorization header",
        HAPROXY: "HAProxy: `http-request set-header %(name)s` only from "
                 "the authenticator's answer, never from "
                 "%%[http_auth_user], the name in the client's own "
                 "Authorization header, after another check let the "
                 "session in",
        UWSGI: "nginx (uwsgi_pass): after auth_request, `auth_request_set "
               "$trac_user $upstream_http_remote_user;` with `uwsgi_param "
               "REMOTE_USER $trac_user if_not_empty;`, never $remote_user, "
               "which is the name in the client's own Authorization header "
               "whatever the authenticator checked",
        OTHER: "make the front end take the user name from its "
               "authenticator's answer (Traefik ForwardAuth: "
               "authResponseHeaders), never from the client's "
               "Authorization header",
    },
    'jwt': "check [remoteuser] jwt_keys, jwt_algorithms, jwt_issuer and "
           "jwt_audience: an assertion signed by a key nobody configured "
           "was believed",
    'forwarded': {
        NGINX: _BASE_URL + "or set the headers on every location: "
               "`proxy_set_header X-Forwarded-Host $host;` "
               "`proxy_set_header X-Forwarded-Proto $scheme;` "
               "`proxy_set_header X-Forwarded-Port $server_port;` "
               "`proxy_set_header X-Forwarded-Prefix \"\";`",
        APACHE: _BASE_URL + "or `RequestHeader set X-Forwarded-Proto` and "
                "`-Port` and `RequestHeader unset X-Forwarded-Prefix "
                "early` (mod_proxy appends the right X-Forwarded-Host "
                "itself)",
        CADDY: _BASE_URL + "or let Caddy set them: reverse_proxy "
               "replaces a client's X-Forwarded-For, -Proto and -Host unless "
               "its trusted_proxies lists the client; add `header_up "
               "-X-Forwarded-Port` and `header_up -X-Forwarded-Prefix`",
        TRAEFIK: _BASE_URL + "or let Traefik set them: it replaces or "
                 "removes a client's X-Forwarded-Host, -Proto, -Port and "
                 "-Prefix unless the entry point's "
                 "forwardedHeaders.trustedIPs lists the client (never "
                 "forwardedHeaders.insecure: true)",
        HAPROXY: _BASE_URL + "or in the frontend `http-request set-header "
                 "X-Forwarded-Host %%[req.hdr(host)]`, `http-request "
                 "set-header X-Forwarded-Proto https` (the public scheme), "
                 "`http-request set-header X-Forwarded-Port %%[dst_port]` "
                 "and `http-request del-header X-Forwarded-Prefix`",
        UWSGI: _BASE_URL + "or in every location that passes to uWSGI "
               "`uwsgi_param HTTP_X_FORWARDED_HOST \"\";` and the same for "
               "HTTP_X_FORWARDED_PROTO, HTTP_X_FORWARDED_PORT and "
               "HTTP_X_FORWARDED_PREFIX (the client's X-Forwarded-* arrive "
               "as those variables)",
        OTHER: _BASE_URL + "or have the front end set X-Forwarded-Host, "
               "-Proto, -Port and -Prefix on every request, replacing the "
               "client's",
    },
    'profile': {
        NGINX: "nginx: %(nginx_profile)s (the identity provider's value, "
               "or \"\") in every location that proxies to Trac",
        APACHE: "Apache: %(apache_profile)s in the virtual host (set them "
                "again only from the identity provider)",
        CADDY: "Caddy: %(caddy_profile)s in every reverse_proxy that "
               "reaches Trac (set them again only from the identity "
               "provider: forward_auth's copy_headers)",
        TRAEFIK: "Traefik: list %(profile)s in ForwardAuth's "
                 "authResponseHeaders (a header it does not list passes "
                 "from the client untouched), and on the routers that ask "
                 "no authenticator a headers middleware with "
                 "%(traefik_profile)s in customRequestHeaders (as in "
                 "traefik-dynamic.yml)",
        HAPROXY: "HAProxy: %(haproxy_profile)s in the frontend, before any "
                 "rule that sets them",
        UWSGI: "nginx (uwsgi_pass): %(uwsgi_profile)s in every location "
               "that passes to uWSGI (set them again only from the identity "
               "provider)",
        OTHER: "make the front end set or remove %(profile)s on every "
               "request",
    },
    'base_url': "set [trac] base_url to the public address",
    'untrusted_front': "add the address the front end connects from to "
                       "[remoteuser] trusted_proxies (and nothing wider)",
    'referer': "keep remoteuserauth.publicurl enabled: it holds every "
               "redirect to the public site and drops header values with "
               "control characters (if it is enabled, report this as a "
               "bug)",
    'backend': "bind the backend to loopback or a Unix socket (gunicorn "
               "`bind = 127.0.0.1:PORT`, tracd `--hostname=127.0.0.1`) and "
               "let [remoteuser] trusted_proxies list only the front end's "
               "address",
    'uwsgi_socket': "uWSGI: a Unix socket only the front end's group may "
                    "open (`socket = /run/trac/uwsgi.sock`, `chown-socket = "
                    "trac:www-data`, `chmod-socket = 660`, as in "
                    "trac-uwsgi.ini) and the front end passing to it "
                    "(nginx: `uwsgi_pass unix:/run/trac/uwsgi.sock;`); "
                    "on another machine than the front end, a socket on an "
                    "address that only the front end can reach (a "
                    "firewall in between): whoever can write to a TCP "
                    "socket, even on 127.0.0.1, sets REMOTE_USER",
}
FIXES.update(API_FIXES)


def fix(finding, kind, name, config, profile=()):
    """The text of `finding`'s fix in the front end `kind`, for the
    identity header `name`; `profile` lists the profile headers that
    got through (for `profile`)."""
    entry = FIXES[finding]
    if isinstance(entry, dict):
        entry = entry.get(kind, entry[OTHER])
    return entry % _values(name, config, profile)


def fixes(kind, name, config):
    """Every fix in the front end `kind`, by finding; `profile` is a
    function of the headers that got through."""
    table = {finding: fix(finding, kind, name, config)
             for finding in FIXES if finding != 'profile'}
    table['profile'] = lambda names: fix('profile', kind, name, config,
                                         names)
    return table


def _values(name, config, profile):
    # Where Trac reads no such header, the front end only has to drop it.
    sets = identity_header(config.header)[0] == 'header'
    secret = (config.secret_header or '').strip()
    return {
        'name': name,
        'under': name.replace('-', '_'),
        'secret': secret or 'the secret header',
        # Under uwsgi_pass, a header is the variable HTTP_NAME.
        'variable': _variable(name),
        'secret_variable': _variable(secret) if secret else
        "the secret header's HTTP_ variable",
        'nginx_value': '$trac_user' if sets else '""',
        'nginx_where': ", with `set $trac_user \"\";` where nginx checks no "
                       "password and `set $trac_user $remote_user;` where "
                       "auth_basic does (as in nginx-gunicorn.conf)"
                       if sets else '',
        'apache_set': ", then `RequestHeader set %s \"expr=%%{REMOTE_USER}\"` "
                      "where Trac is proxied" % name if sets else '',
        'caddy_set': ", and `header_up %s {http.auth.user.id}` only in the "
                     "route where basic_auth checked the password (as in "
                     "caddy-gunicorn.caddyfile: a `header_up -%s` in that "
                     "route would undo it)" % (name, name) if sets else '',
        'haproxy_set': ", then `http-request set-header %s "
                       "%%[http_auth_user] if login` only where "
                       "`http-request auth` checked the password "
                       "(set-header: add-header keeps the client's copy; "
                       "as in haproxy-gunicorn.cfg)" % name if sets else '',
        'uwsgi_set': ", and hand the name over as `uwsgi_param REMOTE_USER "
                     "$trac_user if_not_empty;` with [remoteuser] header "
                     "left empty (as in nginx-uwsgi.conf)" if sets else '',
        'set_or_remove': 'set or remove' if sets else 'remove',
        'nginx_profile': ' '.join('`proxy_set_header %s ...;`' % n
                                  for n in profile),
        'apache_profile': ' '.join('`RequestHeader unset %s early`' % n
                                   for n in profile),
        'caddy_profile': ' '.join('`header_up -%s`' % n for n in profile),
        'traefik_profile': ', '.join('`%s: ""`' % n for n in profile),
        'haproxy_profile': ' '.join('`http-request del-header %s`' % n
                                    for n in profile),
        'uwsgi_profile': ' '.join('`uwsgi_param %s "";`'
                                  % _variable(n) for n in profile),
        'profile': ', '.join(profile),
    }


def _variable(header):
    """The variable a request header becomes (HTTP_REMOTE_USER): what
    nginx's uwsgi_param lines name."""
    return 'HTTP_' + http_name(header).upper().replace('-', '_')
