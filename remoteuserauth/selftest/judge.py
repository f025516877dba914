"""What the self-test's exchanges mean: a `findings.Finding` for each
path and class of forgery, with the fix in the front end's own words
(`fixes`).

Nothing here imports Trac.
"""

from remoteuserauth.core import trust
from remoteuserauth.selftest.api import judge_api
from remoteuserauth.selftest.findings import (CRITICAL, ERROR, OK, RANK,
                                              WARN, Finding)
from remoteuserauth.selftest.fixes import fixes
from remoteuserauth.selftest.frontend import front_end_kind
from remoteuserauth.selftest.headers import http_name, identity_header
from remoteuserauth.selftest.plan import value_for
from remoteuserauth.selftest.site import (judge_direct, judge_referers,
                                          judge_site)


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
    api = list(judge_api(by_path, config, marker, fix, prefix, user,
                         session))
    # A token path's challenge is the API finding, not an OK.
    judged = {f.where for f in api}
    for path, group in by_path.items():
        baseline = [e for e in group if e.probe.variant == 'baseline']
        if not baseline:
            continue
        baseline = baseline[0]
        if path == '/':
            baseline_root = baseline
        if baseline.report is None and prefix + path in judged:
            continue
        findings.extend(_judge_path(prefix + path, group, baseline, config,
                                    marker, kind, name, fix, user, session))
    findings.extend(api)
    findings.extend(judge_referers(exchanges, marker, fix, prefix))
    findings.extend(judge_direct(exchanges, marker, fix, baseline_root))
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
        findings.extend(judge_site(baseline_root.report, config, kind,
                                    public_url, fix))
    return sorted(findings, key=lambda f: RANK[f.severity])


#: Variants judged on their own, not with the path they use.
_SEPARATE = ('direct', 'uwsgi', 'referer-crlf', 'referer-foreign')


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
        if report is None or variant in ('baseline', 'bearer'):
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
                    dict.fromkeys(bucket['accepted']))), fix[key]))
        elif bucket['passed']:
            spelled = list(dict.fromkeys(s for s, r in bucket['passed']))
            found.append(Finding(
                WARN, path, "a client's %s header reaches Trac but is not "
                "used (%s; sent as %s)" % (label, bucket['passed'][0][1],
                                          '; '.join(spelled)), fix[key]))
    if found:
        for finding in found:
            yield finding
    else:
        forged = sum(1 for e in group
                     if e.probe.variant not in ('baseline', 'bearer'))
        yield Finding(OK, path, "no forged header got through (%d forged "
                      "requests)" % forged, '')


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
                   trust.environ_key(name)) or '')]
    if not arrived:
        return []
    groups = (config.groups_header or '').strip()
    used = report.get('trusted')
    if used and config.sync_groups and groups and \
            http_name(groups) in arrived:
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
