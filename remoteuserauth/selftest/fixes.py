"""What to change in the front end, for each finding, in that front
end's own words: a table of texts by finding and by server, filled with
the header names of the site.

Nothing here imports Trac.
"""

from remoteuserauth.selftest.headers import identity_header

#: The front ends the table speaks of; `OTHER` is any other.
NGINX, APACHE, OTHER = 'nginx', 'apache', 'other'

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
        OTHER: "make the front end %(set_or_remove)s %(name)s on every "
               "request it passes to Trac, whatever the client sent",
    },
    'underscore': {
        NGINX: "nginx: `underscores_in_headers off;` in the server block "
               "(the default), or `proxy_set_header %(under)s \"\";`",
        APACHE: "Apache: `RequestHeader unset %(under)s early` in the "
                "virtual host (mod_proxy forwards underscore headers)",
        OTHER: "drop the header %(under)s (the underscore spelling) at the "
               "front end",
    },
    'secret': {
        NGINX: "nginx: `proxy_set_header %(secret)s <secret>;` in every "
               "location (it replaces the client's)",
        APACHE: "Apache: `RequestHeader set %(secret)s <secret>` (set, not "
                "append or add)",
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
        OTHER: _BASE_URL + "or have the front end set X-Forwarded-Host, "
               "-Proto, -Port and -Prefix on every request, replacing the "
               "client's",
    },
    'profile': {
        NGINX: "nginx: %(nginx_profile)s (the identity provider's value, "
               "or \"\") in every location that proxies to Trac",
        APACHE: "Apache: %(apache_profile)s in the virtual host (set them "
                "again only from the identity provider)",
        OTHER: "make the front end set or remove %(profile)s on every "
               "request",
    },
    'token_login': {
        NGINX: "let token_paths through to Trac: nginx: a location for "
               "them with `auth_basic off;` (or `auth_request off;`) and "
               "`set $trac_authorization $http_authorization;` beside "
               "`proxy_set_header Authorization $trac_authorization;` (as "
               "in nginx-gunicorn.conf); or, where the front end checks "
               "the RPC clients' passwords itself, take the path out of "
               "[remoteuser] token_paths",
        APACHE: "let token_paths through to Trac: Apache: a <Location> or "
                "<LocationMatch> for them with `AuthType None`, `Require "
                "all granted` and `WSGIPassAuthorization On` (mod_auth_"
                "mellon also `MellonEnable \"off\"`), after the one that "
                "asks for the login (as in apache-mod-auth-openidc.conf); "
                "or, where the front end checks the RPC clients' passwords "
                "itself, take the path out of [remoteuser] token_paths",
        OTHER: "let token_paths through to Trac without a login, with the "
               "client's Authorization header (an identity-aware proxy: "
               "its routes that skip authentication); or, where the front "
               "end checks the RPC clients' passwords itself, take the "
               "path out of [remoteuser] token_paths",
    },
    'token_authorization': {
        NGINX: "nginx: `set $trac_authorization $http_authorization;` in "
               "the token paths' location and `proxy_set_header "
               "Authorization $trac_authorization;` (as in "
               "nginx-gunicorn.conf), never `proxy_set_header "
               "Authorization \"\";` there",
        APACHE: "Apache: `WSGIPassAuthorization On` in a <Location> for "
                "the token paths (mod_wsgi keeps Authorization from "
                "Trac otherwise; mod_python: `CGIPassAuth On`; mod_proxy: "
                "no `RequestHeader unset Authorization` there)",
        OTHER: "make the front end pass the client's Authorization header "
               "on to Trac on the token paths",
    },
    'rpc_uncovered': {
        NGINX: "nginx: make the login location a prefix match "
               "(`location <prefix>/login`, not `location = "
               "<prefix>/login`), so that auth_basic checks the RPC paths "
               "below it too (as in nginx-gunicorn.conf); or, with "
               "[remoteuser] tokens = true, list the path in token_paths "
               "and pass the client's Authorization on there",
        APACHE: "Apache: authenticate `<Location <prefix>/login>`, a "
                "prefix that covers the RPC paths below it, rather than "
                "an exact <LocationMatch>; or, with [remoteuser] tokens = "
                "true, list the path in token_paths and pass the client's "
                "Authorization on there (`WSGIPassAuthorization On`)",
        OTHER: "make the front end authenticate the RPC paths below "
               "/login as it does /login; or, with [remoteuser] tokens = "
               "true, list the path in token_paths and pass the client's "
               "Authorization on there",
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
}


def front_end_kind(exchanges):
    """'nginx', 'apache' or 'other', to name the directives of the fixes:
    from the Server headers of the answers (a proxy passes the backend's
    own on, but answers a login challenge or a static file itself), and
    from what the probe saw (mod_proxy's X-Forwarded-Server, Trac inside
    Apache)."""
    evidence = []
    for exchange in exchanges:
        for name, value in exchange.headers or ():
            if name.lower() == 'server':
                evidence.append(value.lower())
        report = exchange.report or {}
        if 'X-Forwarded-Server' in report.get('forwarded', {}) or \
                (report.get('server') or {}).get('inside_front_end'):
            evidence.append(APACHE)
    for kind in (NGINX, APACHE):
        if any(kind in text for text in evidence):
            return kind
    return OTHER


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
    return {
        'name': name,
        'under': name.replace('-', '_'),
        'secret': (config.secret_header or '').strip() or
        'the secret header',
        'nginx_value': '$trac_user' if sets else '""',
        'nginx_where': ", with `set $trac_user \"\";` where nginx checks no "
                       "password and `set $trac_user $remote_user;` where "
                       "auth_basic does (as in nginx-gunicorn.conf)"
                       if sets else '',
        'apache_set': ", then `RequestHeader set %s \"expr=%%{REMOTE_USER}\"` "
                      "where Trac is proxied" % name if sets else '',
        'set_or_remove': 'set or remove' if sets else 'remove',
        'nginx_profile': ' '.join('`proxy_set_header %s ...;`' % n
                                  for n in profile),
        'apache_profile': ' '.join('`RequestHeader unset %s early`' % n
                                   for n in profile),
        'profile': ', '.join(profile),
    }
