"""What the self-test finds on the API paths that a forged header does
not show: token paths an API client cannot reach, or reaches without
its Authorization header, and RPC paths below /login that the front end
lets through unauthenticated while it authenticates /login itself.

A forged name accepted on an API path is judged with every other path
(`judge`): CRITICAL.

Nothing here imports Trac.
"""

from remoteuserauth.selftest.findings import WARN, Finding

#: Answers of a front end that wants a login first: a challenge, or a
#: redirect to a sign-in page.
_CHALLENGES = (401, 407)


def asks_for_login(exchange):
    """Whether the front end answered `exchange` itself by asking for a
    login (a challenge or a redirect), instead of letting it reach
    Trac."""
    return exchange.report is None and not exchange.error and (
        exchange.status in _CHALLENGES or 300 <= exchange.status < 400)


def judge_api(by_path, config, marker, fix, prefix='', user=None,
              session=False):
    """Findings for the API paths, from the exchanges of each path
    (`by_path`: path -> exchanges)."""
    token_paths = tuple(config.token_paths or ())
    for path in [p for p in by_path if p in token_paths]:
        finding = _judge_token_path(prefix + path, by_path[path], fix)
        if finding is not None:
            yield finding
    login = _variant(by_path.get('/login') or [], 'baseline')
    if login is None or not _front_end_authenticates(login, marker, user,
                                                     session):
        return
    for path, group in by_path.items():
        if not path.startswith('/login/') or path in token_paths:
            continue
        baseline = _variant(group, 'baseline')
        if baseline is not None and baseline.report is not None and \
                not baseline.report['decision'].get('accepted'):
            yield Finding(
                WARN, prefix + path, "the front end asks for a login on "
                "%s/login but not on this path below it: an RPC client's "
                "credentials are never checked here, and its calls stay "
                "anonymous" % prefix, fix['rpc_uncovered'])


def _judge_token_path(where, group, fix):
    """A token path: an API client (its Authorization and nothing else;
    the baseline where the plan sent no such request) must reach Trac,
    and its Authorization with it."""
    exchange = _variant(group, 'bearer') or _variant(group, 'baseline')
    if exchange is None or exchange.error:
        return None
    if asks_for_login(exchange):
        return Finding(
            WARN, where, "the front end asks for a login on this token "
            "path (HTTP %d): token clients cannot pass a single sign-on "
            "or a password check" % exchange.status, fix['token_login'])
    if exchange.report is not None and exchange.probe.variant == 'bearer' \
            and not (exchange.report.get('authorization') or {}).get(
                'forged'):
        return Finding(
            WARN, where, "the front end does not pass the client's "
            "Authorization header on to Trac on this token path: no "
            "token ever arrives", fix['token_authorization'])
    return None


def _front_end_authenticates(login, marker, user, session):
    """Whether the front end authenticates /login: it asked for a login,
    or, with the test account or session of the self-test, named a user
    there."""
    if asks_for_login(login):
        return True
    if login.report is None or (user is None and not session):
        return False
    accepted = login.report['decision'].get('accepted') or ''
    return bool(accepted) and not accepted.startswith(marker)


def _variant(group, variant):
    return next((e for e in group if e.probe.variant == variant), None)
