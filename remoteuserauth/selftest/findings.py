"""The self-test's findings: their severities, and the lines and exit
code the command gives them, worst first.

Severities: CRITICAL, a forged name (or address) is believed; WARN, a
forged header reaches Trac but is not used (one setting away from being
believed, or refused only by a second line of defence); OK; and ERROR
when the self-test could not run at all.

Nothing here imports Trac.
"""

from collections import namedtuple

CRITICAL, WARN, OK, ERROR = 'CRITICAL', 'WARN', 'OK', 'ERROR'
RANK = {CRITICAL: 0, ERROR: 1, WARN: 2, OK: 3}

Finding = namedtuple('Finding', 'severity where text fix')


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
