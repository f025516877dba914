"""Answers to "why am I anonymous?", shared by the check command and the
admin panel. Nothing here imports Trac."""

from remoteuserauth import assertion
from remoteuserauth.core import names
from remoteuserauth.core import trust
from remoteuserauth.decision.decide import ASSERTION, HEADER

# What to change, for each reason a name can be refused.
_HINTS = {
    names.EMPTY: "the front end must authenticate this request and pass "
                 "the name ([remoteuser] header, or REMOTE_USER)",
    names.NULL: "the front end passed no user: protect this URL (at least "
                "/login) with its authentication",
    names.CONTROL: "fix the proxy or identity provider that produced it",
    names.COMMA: "make the proxy set [remoteuser] header exactly once and "
                 "drop its Remote_User spelling",
    names.TOO_LONG: "fix the identity provider; names are limited to %d "
                    "characters" % names.MAX_NAME_LENGTH,
    names.SPACE: "fix the account at the identity provider: names are "
                 "not trimmed, since ' alice' may be an account of its own",
    names.UNICODE: "fix the account at the identity provider, or have it "
                   "send names in Unicode NFKC form",
    names.AMBIGUOUS: "send DOMAIN\\user, user@REALM or a bare name, "
                     "with one separator of each kind at most",
    names.FOREIGN: "list the domain in [remoteuser] local_domains if its "
                   "users are this Trac's users, or set [remoteuser] "
                   "strip_domain = false to keep whole names",
    names.RESERVED: "rename the account at the identity provider",
    names.SYNTAX: "rename the account at the identity provider; such "
                  "names are groups or wildcards in permission policies",
    names.GROUP: "rename the account or the Trac group (trac-admin "
                 "permission list shows the groups)",
    names.PLACEHOLDER: "fix the front end: it sends its placeholder as it "
                       "is written instead of the user's name (a Caddy "
                       "{...} or HAProxy %[...] that does not exist on "
                       "this request, an Apache %{...} outside an expr=)",
}


def verdict_line(decision):
    """``accepted: NAME`` or ``refused: REASON``, the reason naming the
    rule and the option or setting to change."""
    if decision.name:
        return "accepted: %s" % decision.name
    if decision.rule:
        where = {HEADER: 'header', ASSERTION: 'assertion'}.get(
            decision.source, 'REMOTE_USER')
        # Refusals of the assertion itself name their option already.
        hint = _HINTS.get(decision.rule)
        return "refused: %s (rule: %s, in %s%s)" % (
            decision.reason, decision.rule, where,
            '; ' + hint if hint else '')
    if decision.notes:
        return "refused: %s" % decision.notes[-1]
    return "refused: no user name in the configured header or in " \
           "REMOTE_USER (%s)" % _HINTS[names.EMPTY]


def trust_explanation(decision, settings):
    """Why the peer of `decision` is trusted or not, in one sentence."""
    peer = trust.describe_peer(decision.peer)
    if decision.network:
        return "%s is trusted: it is in %s of [remoteuser] " \
               "trusted_proxies" % (peer, decision.network)
    if not settings.networks:
        return "%s is not trusted: [remoteuser] trusted_proxies lists no " \
               "usable address" % peer
    return "%s is not trusted: it is in none of %s ([remoteuser] " \
           "trusted_proxies)" % (peer,
                                 ', '.join(str(n) for n in settings.networks))


def risky_settings(settings):
    """Warnings about settings that are valid but dangerous or useless."""
    warnings = list(settings.problems)
    if any(n.prefixlen == 0 for n in settings.networks):
        warnings.append("[remoteuser] trusted_proxies trusts every address "
                        "(%s): anyone who reaches Trac can send the header, "
                        "unless the web server removes it from every client "
                        "request (the SiteMinder sample) or a secret_header "
                        "is set" % ', '.join(str(n) for n in settings.networks
                                             if n.prefixlen == 0))
    if settings.header_key and not settings.networks:
        warnings.append("[remoteuser] trusted_proxies is empty: the header "
                        "%s is never believed" % settings.header)
    return warnings


#: How many subjects `unclaimed_warning` names before "and N more".
UNCLAIMED_SHOWN = 10


def unclaimed_warning(subjects):
    """The warning about permission subjects that hold permissions, have
    no member and have never logged in (`subjects`, sorted)."""
    shown = ', '.join(subjects[:UNCLAIMED_SHOWN])
    if len(subjects) > UNCLAIMED_SHOWN:
        shown += " and %d more" % (len(subjects) - UNCLAIMED_SHOWN)
    return "%s %s permissions but %s no member and never logged in: Trac " \
           "cannot tell such a subject from a user, so a user of that " \
           "name from the front end would get them. A group: list it in " \
           "[remoteuser] sync_groups, which refuses the name to users " \
           "(or give it a member). A user who has not logged in yet: " \
           "'trac-admin ENV session add NAME' records the name as a user" \
           % ((shown, 'holds', 'has') if len(subjects) == 1
              else (shown, 'hold', 'have'))


def assertion_warnings(verifier, status):
    """Warnings about signed assertions: what keeps any from being
    believed (PyJWT, issuer, audience, keys), and keys that failed to
    load or are not loaded yet."""
    warnings = []
    if status is None:
        return warnings
    if status['error']:
        warnings.append("[remoteuser] jwt_keys: %s" % status['error'])
    elif not status['keys']:
        warnings.append("[remoteuser] jwt_keys: no key is loaded yet from %s "
                        "(keys are loaded by the first request carrying an "
                        "assertion)" % status['source'])
    return warnings


def key_rows(status):
    """The keys of a verifier's status, for a table: kid, type, alg,
    source, and when they were loaded."""
    if status is None:
        return []
    loaded = assertion.format_time(status['loaded_at']) \
        if status['loaded_at'] else 'never'
    return [{'kid': key.kid or '(none)',
             'type': ' '.join(filter(None, (key.kty, key.crv))),
             'alg': key.alg or '(any that fits)', 'source': key.source,
             'loaded': loaded} for key in status['keys']]
