"""Answers to "why am I anonymous?", shared by the check command and the
admin panel. Nothing here imports Trac."""

from remoteuserauth import names, trust
from remoteuserauth.decision import HEADER

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
}


def verdict_line(decision):
    """``accepted: NAME`` or ``refused: REASON``, the reason naming the
    rule and the option or setting to change."""
    if decision.name:
        return "accepted: %s" % decision.name
    if decision.rule:
        where = 'header' if decision.source == HEADER else 'REMOTE_USER'
        return "refused: %s (rule: %s, in %s; %s)" % (
            decision.reason, decision.rule, where, _HINTS[decision.rule])
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
