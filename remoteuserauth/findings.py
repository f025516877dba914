"""What the self-test's exchanges mean: findings with a severity and
what to change in the front end, worst first, and the lines the command
prints.

Severities: CRITICAL, a forged name (or address) is believed; WARN, a
forged header reaches Trac but is not used (one setting away from being
believed, or refused only by a second line of defence); OK; and ERROR
when the self-test could not run at all.

Nothing here imports Trac.
"""

import ipaddress
from collections import namedtuple
from urllib.parse import urlsplit

from remoteuserauth import selftest, urls
from remoteuserauth.selftest import (INJECTED_HEADER, identity_header,
                                     value_for)

CRITICAL, WARN, OK, ERROR = 'CRITICAL', 'WARN', 'OK', 'ERROR'
_RANK = {CRITICAL: 0, ERROR: 1, WARN: 2, OK: 3}

Finding = namedtuple('Finding', 'severity where text fix')


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
            evidence.append('apache')
    for kind in ('nginx', 'apache'):
        if any(kind in text for text in evidence):
            return kind
    return 'other'


def fixes(kind, name, config):
    """What to change, by finding, in the front end `kind`."""
    under = name.replace('-', '_')
    secret = (config.secret_header or '').strip() or 'the secret header'
    nginx = kind == 'nginx'
    apache = kind == 'apache'
    # Where Trac reads no such header, the front end only has to drop it.
    sets = identity_header(config.header)[0] == 'header'
    return {
        'identity':
            "nginx: put `proxy_set_header %s %s;` in every location that "
            "proxies to Trac (a location with proxy_set_header lines of "
            "its own inherits none from the enclosing one)%s" % (
                name, '$trac_user' if sets else '""',
                ", with `set $trac_user \"\";` where nginx checks no "
                "password and `set $trac_user $remote_user;` where "
                "auth_basic does (as in nginx-gunicorn.conf)" if sets
                else '') if nginx else
            "Apache: `RequestHeader unset %s early` in the virtual "
            "host%s" % (name, ", then `RequestHeader set %s \"expr=%%{"
                        "REMOTE_USER}\"` where Trac is proxied" % name
                        if sets else '') if apache else
            "make the front end %s %s on every request it passes to Trac, "
            "whatever the client sent" % ('set or remove' if sets
                                          else 'remove', name),
        'underscore':
            "nginx: `underscores_in_headers off;` in the server block (the "
            "default), or `proxy_set_header %s \"\";`" % under if nginx else
            "Apache: `RequestHeader unset %s early` in the virtual host "
            "(mod_proxy forwards underscore headers)" % under if apache else
            "drop the header %s (the underscore spelling) at the front "
            "end" % under,
        'secret':
            "nginx: `proxy_set_header %s <secret>;` in every location "
            "(it replaces the client's)" % secret if nginx else
            "Apache: `RequestHeader set %s <secret>` (set, not append or "
            "add)" % secret if apache else
            "make the front end replace %s, never append to it" % secret,
        'basic':
            "nginx: $remote_user is the name in any client's "
            "Authorization header, whether or not a password was "
            "checked: pass it only from the location where auth_basic "
            "checks it, with `set $trac_user \"\";` and "
            "`proxy_set_header %s $trac_user;` for the site and `set "
            "$trac_user $remote_user;` in that location (as in "
            "nginx-gunicorn.conf); where auth_request decides, take the "
            "name from the authenticator's answer instead (`auth_request_set "
            "$trac_user $upstream_http_remote_user;`)" % name if nginx else
            "Apache: set %s only from `%%{REMOTE_USER}`, which Apache "
            "fills after checking the password, and `RequestHeader unset "
            "%s early` in the virtual host" % (name, name) if apache else
            "make the front end pass on a user name only after it checked "
            "the password",
        'session':
            "nginx: after auth_request, take the name from the "
            "authenticator's answer: `auth_request_set $trac_user "
            "$upstream_http_remote_user;` (the header it names the user "
            "in) with `proxy_set_header %s $trac_user;`, never "
            "$remote_user, which is the name in the client's own "
            "Authorization header whatever the authenticator checked (as "
            "in nginx-auth-request.conf)" % name if nginx else
            "Apache: set %s only from what the authentication module "
            "checked (`%%{REMOTE_USER}`), never from the client's "
            "Authorization header, and `RequestHeader unset %s early` in "
            "the virtual host" % (name, name) if apache else
            "make the front end take the user name from its "
            "authenticator's answer (Traefik ForwardAuth: "
            "authResponseHeaders), never from the client's Authorization "
            "header",
        'jwt':
            "check [remoteuser] jwt_keys, jwt_algorithms, jwt_issuer and "
            "jwt_audience: an assertion signed by a key nobody configured "
            "was believed",
        'forwarded':
            "set [trac] base_url to the public address (it wins over "
            "every header), or set the headers on every location: "
            "`proxy_set_header X-Forwarded-Host $host;` "
            "`proxy_set_header X-Forwarded-Proto $scheme;` "
            "`proxy_set_header X-Forwarded-Port $server_port;` "
            "`proxy_set_header X-Forwarded-Prefix \"\";`" if nginx else
            "set [trac] base_url to the public address (it wins over "
            "every header), or `RequestHeader set X-Forwarded-Proto` "
            "and `-Port` and `RequestHeader unset X-Forwarded-Prefix "
            "early` (mod_proxy appends the right X-Forwarded-Host itself)"
            if apache else
            "set [trac] base_url to the public address (it wins over "
            "every header), or have the front end set X-Forwarded-Host, "
            "-Proto, -Port and -Prefix on every request, replacing the "
            "client's",
        # Filled with the headers that got through.
        'profile': lambda names:
            "nginx: %s (the identity provider's value, or \"\") in every "
            "location that proxies to Trac" % ' '.join(
                '`proxy_set_header %s ...;`' % n for n in names) if nginx else
            "Apache: %s in the virtual host (set them again only from the "
            "identity provider)" % ' '.join(
                '`RequestHeader unset %s early`' % n for n in names)
            if apache else
            "make the front end set or remove %s on every request"
            % ', '.join(names),
        'base_url':
            "set [trac] base_url to the public address",
        'untrusted_front':
            "add the address the front end connects from to "
            "[remoteuser] trusted_proxies (and nothing wider)",
        'referer':
            "keep remoteuserauth.publicurl enabled: it holds every "
            "redirect to the public site and drops header values with "
            "control characters (if it is enabled, report this as a bug)",
        'backend':
            "bind the backend to loopback or a Unix socket (gunicorn "
            "`bind = 127.0.0.1:PORT`, tracd `--hostname=127.0.0.1`) and "
            "let [remoteuser] trusted_proxies list only the front end's "
            "address",
    }


def judge(exchanges, config, marker, public_url, prefix='', user=None,
          session=False):
    """Findings for the exchanges of one run, worst first.

    `public_url` is the address the administrator says the site has
    (``scheme://host[:port]/prefix``); `prefix` is put in front of the
    paths the findings name; `user` is the test account whose Basic
    credentials went with the requests, if any; `session` whether a
    session of the front end (``--cookie-file``) did.
    """
    kind, name = identity_header(config.header)
    fix = fixes(front_end_kind(exchanges), name, config)
    by_path = {}
    for exchange in exchanges:
        if exchange.probe.variant not in _SEPARATE:
            by_path.setdefault(exchange.probe.path, []).append(exchange)
    findings = []
    baseline_root = None
    for path, group in by_path.items():
        baseline = [e for e in group if e.probe.variant == 'baseline']
        if not baseline:
            continue
        baseline = baseline[0]
        if path == '/':
            baseline_root = baseline
        findings.extend(_judge_path(prefix + path, group, baseline, config,
                                    marker, kind, name, fix, user, session))
    findings.extend(_judge_referers(exchanges, marker, fix, prefix))
    findings.extend(_judge_direct(exchanges, marker, fix, baseline_root))
    if baseline_root is None or baseline_root.report is None:
        asks = baseline_root is not None and baseline_root.status in (401,
                                                                      407)
        findings.append(Finding(
            ERROR, prefix + '/', "the probe did not answer at the site's "
            "root (%s): nothing could be checked"
            % _what_answered(baseline_root),
            "the front end asks for a login on the whole site: give the "
            "self-test a test account (--user, for a password the front "
            "end checks) or a session of the front end (--cookie-file)"
            if asks and user is None and not session else
            "check the URL (the public address, prefix included), that "
            "remoteuserauth.* is enabled in the environment the site "
            "serves, and that this command runs on that environment"))
    else:
        findings.extend(_judge_site(baseline_root.report, config, kind,
                                    public_url, fix))
    return sorted(findings, key=lambda f: _RANK[f.severity])


#: Variants judged on their own, not with the path they use.
_SEPARATE = ('direct', 'referer-crlf', 'referer-foreign')


def _what_answered(exchange):
    if exchange is None:
        return "no request"
    if exchange.error:
        return exchange.error
    return "HTTP %s, not the probe's answer" % exchange.status


def _judge_path(path, group, baseline, config, marker, kind, name, fix,
                user=None, session=False):
    if baseline.report is None:
        yield _unreached(path, baseline, user, session)
        return
    found = []
    basic = {}
    identity = {'accepted': [], 'passed': []}
    underscore = {'accepted': [], 'passed': []}
    for exchange in group:
        report, variant = exchange.report, exchange.probe.variant
        if report is None or variant == 'baseline':
            continue
        decision = report['decision']
        accepted = decision.get('accepted') or ''
        if variant == 'forwarded':
            found.extend(_judge_forwarded(path, exchange, baseline.report,
                                          fix))
            continue
        if variant == 'profile':
            found.extend(_judge_profile(path, exchange, config, marker, fix))
            continue
        if variant in ('basic', 'basic-session'):
            beside = variant == 'basic-session'
            with_session = "with the session of --cookie-file, " \
                if beside else ''
            if accepted.startswith(marker):
                basic[variant] = Finding(
                    CRITICAL, path, "%sthe user name of a client's Basic "
                    "credentials is accepted although their password is "
                    "wrong: the front end %s a name it did not check" % (
                        with_session, "let the session in and passed on"
                        if beside else "passes on"),
                    fix['session' if beside else 'basic'])
            elif _arrived(report, marker, variant):
                basic[variant] = Finding(
                    WARN, path, "%sthe user name of a client's Basic "
                    "credentials with a wrong password reaches Trac but "
                    "is not used (%s)" % (with_session, _unused_reason(
                        report, kind, config)),
                    fix['session' if beside else 'basic'])
            continue
        if variant == 'jwt':
            if accepted.startswith(marker):
                found.append(Finding(
                    CRITICAL, path, "a forged signed assertion (%s, signed "
                    "by a key nobody trusts) is accepted as the user name"
                    % config.jwt_header.strip(), fix['jwt']))
            continue
        bucket = underscore if variant == 'underscore' else identity
        spelled = ', '.join(h for h, v in exchange.probe.headers
                            if v.startswith(marker)) or variant
        if variant == 'duplicate':
            spelled = 'two copies of %s' % name
        if variant != 'secret' and accepted.startswith(marker):
            bucket['accepted'].append(spelled)
        elif variant == 'secret':
            if accepted.startswith(marker):
                identity['accepted'].append(
                    '%s with a wrong %s' % (name, config.secret_header))
            elif (report.get('secret') or {}).get('forged'):
                found.append(Finding(
                    WARN, path, "a client's %s reaches Trac (the front end "
                    "does not replace it); the secret still does not match"
                    % config.secret_header.strip(), fix['secret']))
        elif _arrived(report, marker, variant):
            bucket['passed'].append(
                (spelled, _unused_reason(report, kind, config)))
    # Credentials that get through without a session get through with
    # one: the session's finding would only repeat it.
    if 'basic' in basic:
        basic.pop('basic-session', None)
    found.extend(basic.values())
    for bucket, label, key in ((identity, name, 'identity'),
                               (underscore, name.replace('-', '_'),
                                'underscore')):
        if bucket['accepted']:
            found.append(Finding(
                CRITICAL, path, "a client's %s header is accepted as the "
                "user name (sent as %s)" % (label, '; '.join(
                    _unique(bucket['accepted']))), fix[key]))
        elif bucket['passed']:
            spelled = _unique(s for s, r in bucket['passed'])
            found.append(Finding(
                WARN, path, "a client's %s header reaches Trac but is not "
                "used (%s; sent as %s)" % (label, bucket['passed'][0][1],
                                          '; '.join(spelled)), fix[key]))
    if found:
        for finding in found:
            yield finding
    else:
        forged = sum(1 for e in group if e.probe.variant != 'baseline')
        yield Finding(OK, path, "no forged header got through (%d forged "
                      "requests)" % forged, '')


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _arrived(report, marker, variant):
    value = value_for(marker, variant if variant != 'duplicate' else 'd')
    return any(value in (v or '') for v in report.get('markers', {})
               .values())


def _unused_reason(report, kind, config):
    if (config.jwt_header or '').strip():
        return "[remoteuser] jwt_header is set: names come only from a " \
            "verified assertion"
    if kind == 'none':
        return "[remoteuser] header is empty: only REMOTE_USER counts"
    if kind == 'env':
        return "[remoteuser] header is %s, a server variable" % \
            config.header.strip()
    decision = report['decision']
    if decision.get('rule'):
        return "refused by the %s rule only" % decision['rule']
    if not report.get('trusted'):
        return "the peer %s is not in [remoteuser] trusted_proxies" % \
            report.get('peer')
    notes = decision.get('notes') or []
    return notes[-1] if notes else "not believed"


def _unreached(path, exchange, user=None, session=False):
    if exchange.error:
        return Finding(WARN, path, "could not be checked: %s" %
                       exchange.error, "")
    status = exchange.status
    if status in (401, 407) and (user is not None or session):
        refused = ' and '.join(
            ([] if user is None else ['the credentials of %s' % user]) +
            (['the session of --cookie-file'] if session else []))
        return Finding(
            WARN, path, "the front end refused %s (HTTP %d): not checked"
            % (refused, status), '; '.join(
                (["give --user an account that can log in through the "
                  "front end on this path, with its password in "
                  "--password-file"] if user is not None else []) +
                (["log in again in a browser and put its session cookies "
                  "in --cookie-file anew (the session may have ended)"]
                 if session else [])))
    if status in (401, 407):
        what = "the front end asks for a login first (HTTP %d); checked " \
               "only without one (--user checks it logged in)" % status
    elif status == 0 or 300 <= status < 400:
        what = "the front end answers with a redirect; Trac's probe never " \
               "sees it"
    elif status >= 500:
        return Finding(WARN, path, "could not be checked: HTTP %d" %
                       status, "")
    else:
        what = "answered by the front end itself (HTTP %d), not by Trac" % \
               status
    return Finding(OK, path, what, '')


def _judge_profile(path, exchange, config, marker, fix):
    """Forged name, e-mail and groups headers: from a trusted proxy, the
    plugin stores them for whoever the front end names on that path, and
    groups decide permissions."""
    report = exchange.report
    arrived = [name for name, value in exchange.probe.headers
               if value in (report['markers'].get(
                   selftest.environ_key(name)) or '')]
    if not arrived:
        return []
    groups = (config.groups_header or '').strip()
    used = report.get('trusted')
    if used and config.sync_groups and groups and \
            selftest.http_name(groups) in arrived:
        return [Finding(
            CRITICAL, path, "a client's %s reaches Trac: a user logged in "
            "on this path could put themself in [remoteuser] sync_groups"
            % ', '.join(arrived), fix['profile'](arrived))]
    return [Finding(
        WARN, path, "a client's %s reaches Trac%s" % (
            ', '.join(arrived), " and would be stored in the profile of "
            "the user logged in on this path" if used else
            " (not used: the peer is not trusted)"),
        fix['profile'](arrived))]


def _judge_forwarded(path, exchange, baseline, fix):
    """The forged X-Forwarded-* headers: do they arrive as the nearest
    proxy's value (the last of a list, which the plugin would take), and
    do they change the address Trac uses?"""
    report = exchange.report
    received = report.get('forwarded', {})
    last = [name for name, value in exchange.probe.headers
            if (received.get(name) or '').rpartition(',')[2].strip()
            == value]
    seen = report.get('public_url') or ''
    if seen != (baseline.get('public_url') or ''):
        return [Finding(
            CRITICAL, path, "forged X-Forwarded headers change the address "
            "Trac puts in links and redirects (to %s; the client's %s "
            "arrived)" % (seen, ', '.join(last) or 'headers'),
            fix['forwarded'])]
    if last and report.get('trusted') and report.get('trust_forwarded'):
        return [Finding(
            WARN, path, "a client's %s reaches Trac as the nearest proxy's "
            "value; only [trac] base_url keeps it out of links" %
            ', '.join(last), fix['forwarded'])]
    return []


def _judge_referers(exchanges, marker, fix, prefix):
    for exchange in exchanges:
        variant = exchange.probe.variant
        if variant not in ('referer-crlf', 'referer-foreign'):
            continue
        where = prefix + '/login?referer=' + (
            '<CR/LF>' if variant == 'referer-crlf' else '<foreign host>')
        if exchange.error or not exchange.status:
            yield Finding(WARN, where, "could not be checked: %s" %
                          (exchange.error or 'no answer'), '')
            continue
        if exchange.status in (401, 407):
            yield Finding(OK, where, "the front end asks for a login first "
                          "(HTTP %d); Trac's answer is not checked" %
                          exchange.status, '')
            continue
        headers = exchange.headers or []
        location = _header(headers, 'Location') or ''
        if variant == 'referer-crlf':
            planted = [n for n, v in headers
                       if n.lower() == INJECTED_HEADER.lower() or
                       (n.lower() == 'set-cookie' and marker in v)]
            if planted or '\r' in location or '\n' in location:
                yield Finding(CRITICAL, where, "a CR/LF in the referer "
                              "splits /login's answer: the client planted "
                              "a header of its own", fix['referer'])
            else:
                yield Finding(OK, where, "no header planted (HTTP %d)" %
                              exchange.status, '')
        else:
            host = urlsplit(location).hostname or ''
            if host.lower() == '%s.invalid' % marker:
                yield Finding(CRITICAL, where, "/login redirects to a "
                              "foreign host the client chose", fix['referer'])
            else:
                yield Finding(OK, where, "no redirect off the site "
                              "(HTTP %d)" % exchange.status, '')


def _header(headers, name):
    for key, value in headers:
        if key.lower() == name.lower():
            return value
    return None


def _judge_direct(exchanges, marker, fix, baseline):
    front = baseline.report.get('peer') if baseline is not None and \
        baseline.report else None
    for exchange in exchanges:
        if exchange.probe.variant != 'direct':
            continue
        where = 'backend %s from %s' % (
            _hostport(exchange.target),
            exchange.source or 'this machine')
        report = exchange.report
        if exchange.error:
            yield Finding(OK, where, "not reachable (%s)" % exchange.error,
                          '')
            continue
        if report is None:
            yield Finding(OK, where, "answered HTTP %d, but not as this "
                          "Trac's probe" % exchange.status, '')
            continue
        accepted = report['decision'].get('accepted') or ''
        peer, network = report.get('peer'), report.get('network')
        if not accepted.startswith(marker):
            yield Finding(OK, where, "reachable, but a forged header from "
                          "%s is not believed" % peer, '')
        elif _loopback_only(peer, network):
            yield Finding(OK, where, "a forged header from %s is believed: "
                          "[remoteuser] trusted_proxies trusts local "
                          "processes (%s), as it says" % (peer, network), '')
        else:
            yield Finding(
                CRITICAL, where, "a client that bypasses the front end is "
                "believed: a forged name from %s is accepted (trusted by "
                "%s of [remoteuser] trusted_proxies; the front end is %s)"
                % (peer, network, front or 'unknown'), fix['backend'])


def _hostport(target):
    host, port = target or ('?', '?')
    return '[%s]:%s' % (host, port) if ':' in host else '%s:%s' % (host,
                                                                   port)


def _loopback_only(peer, network):
    try:
        net = ipaddress.ip_network(network)
        return net.subnet_of(ipaddress.ip_network('127.0.0.0/8')
                             if net.version == 4 else
                             ipaddress.ip_network('::1/128'))
    except (TypeError, ValueError):
        return False


def _judge_site(report, config, kind, public_url, fix):
    """Findings about the deployment as a whole, from the root's
    baseline."""
    if kind == 'env':
        yield Finding(OK, 'configuration', "[remoteuser] header is %s, a "
                      "server variable: no client can set it with a header"
                      % config.header.strip(), '')
    if kind == 'header' and not report.get('trusted'):
        yield Finding(WARN, 'configuration', "the front end reaches Trac "
                      "from %s, which is not in [remoteuser] "
                      "trusted_proxies: its %s header is never believed"
                      % (report.get('peer'), config.header.strip()),
                      fix['untrusted_front'])
    seen = report.get('public_url') or ''
    if public_url and seen and _same_site(seen, public_url) is False:
        yield Finding(WARN, 'configuration', "Trac takes its address to be "
                      "%s, not %s" % (seen, public_url.rstrip('/')),
                      fix['base_url'])
    if not config.base_url_set:
        yield Finding(WARN, 'configuration', "[trac] base_url is not set: "
                      "Trac builds links from the Host header the front end "
                      "passes on", fix['base_url'])


def _same_site(one, other):
    """Whether two base URLs name the same site; `None` when one of
    them does not parse."""
    try:
        return urls.parse_base_url(one)[:3] == urls.parse_base_url(other)[:3]
    except ValueError:
        return None


# Output

def merge(findings):
    """One finding per severity, text and fix, its places joined."""
    merged = []
    index = {}
    for finding in findings:
        key = (finding.severity, finding.text, finding.fix)
        if key in index:
            places = merged[index[key]]
            places[1].append(finding.where)
        else:
            index[key] = len(merged)
            merged.append((finding, [finding.where]))
    return [Finding(f.severity, _places(places), f.text, f.fix)
            for f, places in merged]


def _places(places):
    if len(places) <= 4:
        return ', '.join(places)
    return '%s and %d more' % (', '.join(places[:3]), len(places) - 3)


def lines(findings):
    """One line per finding: severity, where, what, and what to change."""
    for finding in merge(findings):
        line = '%-8s %s: %s' % (finding.severity, finding.where,
                                finding.text)
        if finding.fix:
            line += '. Fix: ' + finding.fix
        yield line


def summary(findings):
    """The last line: how many findings of each kind (places merged),
    and what that means."""
    findings = merge(findings)
    counts = {s: sum(1 for f in findings if f.severity == s)
              for s in (CRITICAL, WARN, OK, ERROR)}
    if counts[CRITICAL]:
        verdict = "the front end can be fooled"
    elif counts[ERROR]:
        verdict = "the self-test could not run"
    elif counts[WARN]:
        verdict = "no forged name got in, but see the warnings"
    else:
        verdict = "no forged name or address got through"
    return '%d critical, %d %s, %d ok: %s' % (
        counts[CRITICAL], counts[WARN],
        'warning' if counts[WARN] == 1 else 'warnings', counts[OK], verdict)


def exit_code(findings):
    """1 on any CRITICAL, 2 when the self-test could not run, else 0."""
    severities = {f.severity for f in findings}
    if CRITICAL in severities:
        return 1
    if ERROR in severities:
        return 2
    return 0
