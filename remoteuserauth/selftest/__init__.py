"""The front-end self-test: which forged requests to send to the live
site, the tokens that let them ask the probe, what the probe answers
about each, and what the answers mean.

The plugin can only be as safe as the proxy in front of it. A proxy that
passes the client's own `Remote-User` on one location, lets the
underscore spelling through, or leaves the backend reachable around it
looks exactly like a working set-up. The self-test sends requests that
carry forged identity and address headers through the front end, on the
paths front ends treat differently, and asks the probe
(`remoteuserauth.probe`) what reached Trac and what the decision made of
it. The forged names are random markers (``ruaprobe-<hex>``), so nothing
real is impersonated, and the probe never logs anyone in.

The modules follow a run: `token` (the probe's tokens and markers),
`plan` (the forged requests), `cookies` (a session the administrator
lends it), `client` (sending them), `report` (what the probe answers,
in the server), `judge` (what the answers mean), `fixes` (what to
change, in each front end's words) and `findings` (severities and the
lines printed). This package is their public face; nothing in it
imports Trac.
"""

from remoteuserauth.selftest.cookies import (MAX_COOKIE_HEADER,
                                             check_cookie, cookie_header,
                                             parse_cookies)
from remoteuserauth.selftest.findings import (CRITICAL, ERROR, OK, WARN,
                                              Finding, exit_code, lines,
                                              merge, summary)
from remoteuserauth.selftest.fixes import fixes
from remoteuserauth.selftest.frontend import front_end_kind
from remoteuserauth.selftest.headers import http_name, identity_header
from remoteuserauth.selftest.judge import judge
from remoteuserauth.selftest.plan import (
    API_PATHS, DEFAULT_PATHS, FORGED_PASSWORD, INJECTED_HEADER, PROFILE,
    Config, Exchange, Probe, backend_targets, basic_credentials, direct_probe,
    direct_source, forged_basic, forged_jwt, forwarded_headers,
    jwt_available, plan, profile_headers, public_address, spellings,
    value_for)
from remoteuserauth.selftest.report import (FORWARDED, fingerprint,
                                            is_report, report, server_info)
from remoteuserauth.selftest.token import (COMMAND_TOKEN_LIFETIME,
                                           MARKER_PREFIX,
                                           PANEL_TOKEN_LIFETIME, PROBE_PARAM,
                                           check_token, is_marker,
                                           make_token, new_marker,
                                           probe_token)

__all__ = [
    'API_PATHS', 'COMMAND_TOKEN_LIFETIME', 'CRITICAL', 'Config',
    'DEFAULT_PATHS', 'ERROR',
    'Exchange', 'FORGED_PASSWORD', 'FORWARDED', 'Finding', 'INJECTED_HEADER',
    'MARKER_PREFIX', 'MAX_COOKIE_HEADER', 'OK', 'PANEL_TOKEN_LIFETIME',
    'PROBE_PARAM', 'PROFILE', 'Probe', 'WARN', 'backend_targets',
    'basic_credentials', 'check_cookie', 'check_token', 'cookie_header',
    'direct_probe', 'direct_source', 'exit_code', 'fingerprint',
    'forged_basic', 'forged_jwt', 'forwarded_headers', 'fixes',
    'front_end_kind', 'http_name', 'identity_header', 'is_marker',
    'is_report', 'judge', 'jwt_available', 'lines', 'make_token', 'merge',
    'new_marker', 'parse_cookies', 'plan', 'probe_token', 'profile_headers',
    'public_address', 'report', 'server_info', 'spellings', 'summary',
    'value_for',
]
