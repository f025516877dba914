"""What to change in the front end for the findings of the API paths
(`selftest.api`), in that front end's own words: a token path the front
end closes to API clients, or reaches without their Authorization
header, and RPC paths below /login it does not authenticate. Part of
the table of `selftest.fixes`, `%`-formatted with its values.

Nothing here imports Trac.
"""

from remoteuserauth.selftest.frontend import (APACHE, CADDY, HAPROXY, NGINX,
                                              OTHER, TRAEFIK, UWSGI)

#: The way out where the front end checks the RPC clients' passwords.
_OR_NOT_A_TOKEN_PATH = ("; or, where the front end checks the RPC "
                        "clients' passwords itself, take the path out of "
                        "[remoteuser] token_paths")

#: The way out for an RPC path the front end lets through.
_OR_A_TOKEN_PATH = ("; or, with [remoteuser] tokens = true, list the path "
                    "in token_paths and pass the client's Authorization on "
                    "there")

#: finding -> front end -> text.
API_FIXES = {
    'token_login': {
        NGINX: "let token_paths through to Trac: nginx: a location for "
               "them with `auth_basic off;` (or `auth_request off;`) and "
               "`set $trac_authorization $http_authorization;` beside "
               "`proxy_set_header Authorization $trac_authorization;` (as "
               "in nginx-gunicorn.conf)" + _OR_NOT_A_TOKEN_PATH,
        APACHE: "let token_paths through to Trac: Apache: a <Location> or "
                "<LocationMatch> for them with `AuthType None`, `Require "
                "all granted` and `WSGIPassAuthorization On` (mod_auth_"
                "mellon also `MellonEnable \"off\"`), after the one that "
                "asks for the login (as in apache-mod-auth-openidc.conf)"
                + _OR_NOT_A_TOKEN_PATH,
        CADDY: "let token_paths through to Trac: Caddy: a route for each "
               "(`handle <prefix>/ticketrpc`) without basic_auth or "
               "forward_auth, whose reverse_proxy keeps the client's "
               "Authorization and removes its user header (`header_up "
               "-%(name)s`; as in caddy-gunicorn.caddyfile)"
               + _OR_NOT_A_TOKEN_PATH,
        TRAEFIK: "let token_paths through to Trac: Traefik: a router for "
                 "them (rule `Path(`<prefix>/ticketrpc`)`, a priority "
                 "above the router that asks the authenticator) without "
                 "the ForwardAuth middleware, with a headers middleware "
                 "that clears the identity headers (`customRequestHeaders: "
                 "{%(name)s: \"\"}`) but not Authorization (as the "
                 "trac-tokens router of traefik-dynamic.yml)"
                 + _OR_NOT_A_TOKEN_PATH,
        HAPROXY: "let token_paths through to Trac: HAProxy: an acl for "
                 "them (`acl token_path path <prefix>/ticketrpc`) that the "
                 "`http-request auth` rule leaves out, and `http-request "
                 "del-header Authorization unless token_path` (as in "
                 "haproxy-gunicorn.cfg)" + _OR_NOT_A_TOKEN_PATH,
        UWSGI: "let token_paths through to Trac: nginx (uwsgi_pass): a "
               "location for them with `auth_basic off;` (or `auth_request "
               "off;`), `set $trac_user \"\";` and `set $trac_authorization "
               "$http_authorization;` beside `uwsgi_param "
               "HTTP_AUTHORIZATION $trac_authorization;` (as in "
               "nginx-uwsgi.conf)" + _OR_NOT_A_TOKEN_PATH,
        OTHER: "let token_paths through to Trac without a login, with the "
               "client's Authorization header (an identity-aware proxy: "
               "its routes that skip authentication)" + _OR_NOT_A_TOKEN_PATH,
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
        CADDY: "Caddy: no `header_up -Authorization` in the reverse_proxy "
               "of the token paths' route (as the trac_token_path snippet "
               "of caddy-gunicorn.caddyfile)",
        TRAEFIK: "Traefik: no `Authorization: \"\"` in the "
                 "customRequestHeaders of the token paths' router (as the "
                 "trac-token-path middleware of traefik-dynamic.yml), and "
                 "no ForwardAuth middleware there",
        HAPROXY: "HAProxy: `http-request del-header Authorization unless "
                 "token_path`, with an acl for the token paths (`acl "
                 "token_path path <prefix>/ticketrpc`; as in "
                 "haproxy-gunicorn.cfg), never an unconditional del-header "
                 "of it",
        UWSGI: "nginx (uwsgi_pass): `set $trac_authorization "
               "$http_authorization;` in the token paths' location and "
               "`uwsgi_param HTTP_AUTHORIZATION $trac_authorization;` (as "
               "in nginx-uwsgi.conf), never `uwsgi_param HTTP_AUTHORIZATION "
               "\"\";` there (proxy_set_header does nothing under "
               "uwsgi_pass)",
        OTHER: "make the front end pass the client's Authorization header "
               "on to Trac on the token paths",
    },
    'rpc_uncovered': {
        NGINX: "nginx: make the login location a prefix match "
               "(`location <prefix>/login`, not `location = "
               "<prefix>/login`), so that auth_basic checks the RPC paths "
               "below it too (as in nginx-gunicorn.conf)" + _OR_A_TOKEN_PATH,
        APACHE: "Apache: authenticate `<Location <prefix>/login>`, a "
                "prefix that covers the RPC paths below it, rather than "
                "an exact <LocationMatch>; or, with [remoteuser] tokens = "
                "true, list the path in token_paths and pass the client's "
                "Authorization on there (`WSGIPassAuthorization On`)",
        CADDY: "Caddy: make the login route a prefix (`handle "
               "<prefix>/login*`), so that basic_auth checks the RPC paths "
               "below it too (as in caddy-gunicorn.caddyfile)"
               + _OR_A_TOKEN_PATH + " (a route without basic_auth, with no "
               "`header_up -Authorization`)",
        TRAEFIK: "Traefik: an RPC client cannot sign in at the "
                 "authenticator's portal: with [remoteuser] tokens = true, "
                 "list the RPC paths in token_paths and give them a router "
                 "without the ForwardAuth middleware, whose headers "
                 "middleware clears the identity headers "
                 "(`customRequestHeaders: {%(name)s: \"\"}`) but not "
                 "Authorization (as the trac-tokens router of "
                 "traefik-dynamic.yml); or route them to the login's "
                 "router (`PathPrefix(`<prefix>/login`)`) where the "
                 "authenticator takes Basic credentials",
        HAPROXY: "HAProxy: `acl login path_beg <prefix>/login/` beside "
                 "`acl login path <prefix>/login`, so that `http-request "
                 "auth` checks the RPC paths below it too (as in "
                 "haproxy-gunicorn.cfg)" + _OR_A_TOKEN_PATH + " (`http-"
                 "request del-header Authorization unless token_path`)",
        UWSGI: "nginx (uwsgi_pass): make the login location a prefix "
               "match (`location <prefix>/login`, not `location = "
               "<prefix>/login`), so that auth_basic checks the RPC paths "
               "below it too (as in nginx-uwsgi.conf)" + _OR_A_TOKEN_PATH
               + " (`uwsgi_param HTTP_AUTHORIZATION $trac_authorization;`)",
        OTHER: "make the front end authenticate the RPC paths below "
               "/login as it does /login" + _OR_A_TOKEN_PATH,
    },
}
