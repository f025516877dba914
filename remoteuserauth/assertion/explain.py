"""Explaining a verdict to an administrator (the check command and the
admin panel), without ever showing the token itself.

Nothing here imports Trac."""

import json

from remoteuserauth.assertion.token import format_time, is_number

# Explaining

def explain(verdict, status=None):
    """Lines explaining `verdict` for an administrator: the token's
    header and claims (marked unverified unless accepted), the key, and
    each check with its result. The verdict line itself is the caller's.
    """
    lines = []
    if verdict.header is not None:
        lines.append("token header: %s" % json.dumps(verdict.header,
                                                     sort_keys=True))
    if verdict.claims is not None:
        lines.append("claims%s: %s" % (
            '' if verdict.accepted else " (not verified)",
            json.dumps(verdict.claims, sort_keys=True, ensure_ascii=False)))
        for name in ('exp', 'nbf', 'iat'):
            if is_number(verdict.claims.get(name)):
                lines.append("  %s = %s" % (name,
                                            format_time(verdict.claims[name])))
    if status is not None:
        lines.append("keys: %d from %s%s" % (
            len(status['keys']), status['source'],
            ", loaded %s" % format_time(status['loaded_at'])
            if status['loaded_at'] else ", never loaded"))
        if status['error']:
            lines.append("  last error: %s" % status['error'])
    for check in verdict.checks:
        mark = {True: 'ok', False: 'FAILED', None: 'note'}[check.ok]
        lines.append("check %s: %s: %s" % (check.name, mark, check.detail))
    return lines
