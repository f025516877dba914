"""The one decision every request, the check command and the admin panel
share: who, if anyone, the front end says this request comes from.

`decide` looks at a WSGI environment only; it imports nothing from Trac
so that it can be tested directly and run outside a request.
"""

from collections import namedtuple

from remoteuserauth import assertion
from remoteuserauth.core import groups as grouplists
from remoteuserauth.core import names
from remoteuserauth.core import trust

Profile = namedtuple('Profile', 'name email groups origins')
Profile.__doc__ = """What the source that named the user says about
them: the display `name` and `email` (cleaned text, or `None` when not
sent or unusable), the `groups` listed (a frozenset, or `None` when not
sent, which changes no membership), and `origins`, a dict saying where
each field came from (``header X-Email``, ``claim email``)."""

NO_PROFILE = Profile(None, None, None, {})

Decision = namedtuple('Decision', 'name source veto rule reason peer '
                      'network received notes profile assertion',
                      defaults=(NO_PROFILE, None))
Decision.__doc__ = """Who the front end says the request comes from.

- `name`: the accepted, cleaned user name, or `None`.
- `source`: ``'header'`` or ``'server'`` (``REMOTE_USER``) for the value
  that decided, `None` when nothing did.
- `veto`: the front end sent a name that was refused as dangerous; the
  request must stay anonymous whatever cookie it carries.
- `rule`, `reason`: why the deciding value was refused (`names` rules).
- `peer`: the direct peer (`trust.direct_peer`); `network`: the
  trusted network it fell in.
- `received`: the value that decided, as received (for an assertion,
  the claim holding the name; never the token).
- `notes`: sentences about values that were looked at and ignored.
- `profile`: the `Profile` from the same source, when a name was
  accepted.
- `assertion`: the `assertion.Verdict` on the token, when one was
  verified."""

SERVER = 'server'
HEADER = 'header'
ASSERTION = 'assertion'


class Note(str):
    """A sentence about a value the decision looked at and ignored.

    `kind` names the class of it (one of the constants below): the log
    throttles by kind and peer, never by the sentence, which may quote
    what the client sent."""

    def __new__(cls, kind, text):
        note = str.__new__(cls, text)
        note.kind = kind
        return note


#: Kinds of `Note`.
HEADER_IGNORED = 'header-ignored'
PROFILE_IGNORED = 'profile-value-ignored'
GROUP_DROPPED = 'group-entry-dropped'
SOURCE_IGNORED = 'source-ignored'
NO_ASSERTION = 'assertion-not-read'

#: A verified assertion without the claim that holds the user name.
NO_CLAIM = 'no-claim'


def decide(environ, settings, groups=()):
    """Decide who the request described by `environ` comes from.

    The configured header counts only when the direct peer is a trusted
    proxy (and the secret header matches, when one is configured), or
    when it names a server variable; otherwise ``REMOTE_USER``, which
    only the server can set, decides. Both go through
    `names.clean_name`.
    """
    peer = trust.direct_peer(environ)
    network = trust.trusted_network_name(peer, settings.networks)
    notes = []
    if settings.assertion is not None:
        return _decide_assertion(environ, settings, groups, peer, network,
                                 notes)
    proven = network is not None and not (
        settings.secret_key and not trust.secret_matches(
            settings.secret, environ.get(settings.secret_key)))

    def verdict(value, source):
        cleaned = names.clean_name(value, settings.strip_domain,
                                   settings.lowercase, groups,
                                   settings.local_domains)
        veto = cleaned.name is None and cleaned.rule not in names.NOBODY
        profile = _header_profile(environ, settings, proven, source,
                                  cleaned.name, notes) \
            if cleaned.name else NO_PROFILE
        return Decision(cleaned.name, source, veto, cleaned.rule,
                        cleaned.reason, peer, network, value,
                        tuple(notes), profile)

    header_value = nobody = None
    if settings.header_key:
        header_value = environ.get(settings.header_key) or None
    if header_value is not None:
        if trust.is_server_variable(settings.header_key):
            ignored = None      # set by the web server, from any peer
        elif network is None:
            ignored = "the peer is not in [remoteuser] trusted_proxies"
        elif settings.secret_key and not trust.secret_matches(
                settings.secret, environ.get(settings.secret_key)):
            ignored = "header %s does not carry [remoteuser] secret" \
                % settings.secret_header
        else:
            ignored = None
        if ignored:
            notes.append(Note(HEADER_IGNORED, "header %s from %s ignored: %s"
                              % (settings.header, trust.describe_peer(peer),
                                 ignored)))
        else:
            nobody = verdict(header_value, HEADER)
            if nobody.name or nobody.veto:
                return nobody

    server_value = environ.get('REMOTE_USER')
    if server_value:
        return verdict(server_value, SERVER)
    if nobody is not None:
        # The proxy says nobody logged in: Trac's own login may still
        # know the browser.
        return nobody
    return Decision(None, None, False, None, None, peer, network, None,
                    tuple(notes))


def _header_profile(environ, settings, proven, source, user, notes):
    """The profile headers: believed from a proxy the decision trusts
    (its address, and the secret when one is set; for the groups, only
    when that proxy also named the user), or when they name server
    variables, which only the web server sets."""
    values = {}
    origins = {}
    for field, header, key in settings.profile_headers:
        value = environ.get(key)
        believed = trust.is_server_variable(key) or proven and (
            field != 'groups' or source == HEADER)
        if value is None or not believed:
            continue
        origins[field] = "header %s" % header
        if field == 'groups':
            values[field] = _groups(grouplists.split_groups_header(value),
                                    user, origins[field], notes)
            continue
        values[field] = (names.clean_email if field == 'email'
                         else names.clean_profile_value)(value)
        if values[field] is None:
            notes.append(Note(PROFILE_IGNORED, "ignored the %s of %s in "
                              "header %s: not a usable value"
                              % (field, user, header)))
    return Profile(values.get('name'), values.get('email'),
                   values.get('groups'), origins)


def _groups(entries, user, origin, notes):
    """The group names among `entries`; a note for each dropped one."""
    listed = grouplists.sort_groups(entries)
    for entry, problem in listed.dropped:
        notes.append(Note(GROUP_DROPPED, "ignored the group entry %s of %s "
                          "in %s: it %s; an entry is never trimmed into "
                          "another group's name" % (
                              names.client_text(entry), user, origin,
                              problem)))
    return listed.accepted


def _claims_profile(claims, jwt, user, notes):
    """The profile claims of a verified assertion."""
    values = {}
    origins = {}
    for field, claim in (('name', jwt.name_claim),
                         ('email', jwt.email_claim)):
        if not claim or claim not in claims:
            continue
        origins[field] = "claim %s" % claim
        text = assertion.claim_text(claims, claim)
        values[field] = None if text is None else \
            (names.clean_email if field == 'email'
             else names.clean_profile_value)(text.encode('utf-8'))
        if values[field] is None:
            notes.append(Note(PROFILE_IGNORED, "ignored the %s of %s in "
                              "claim %s of the assertion: not a usable value"
                              % (field, user, claim)))
    if jwt.groups_claim:
        listed = assertion.claim_list(claims, jwt.groups_claim)
        if listed is not None:
            origins['groups'] = "claim %s" % jwt.groups_claim
            values['groups'] = _groups(listed, user, origins['groups'],
                                       notes)
    return Profile(values.get('name'), values.get('email'),
                   values.get('groups'), origins)


def _decide_assertion(environ, settings, groups, peer, network, notes):
    """The name from the signed assertion, whatever the peer; `header`
    and ``REMOTE_USER`` are not read. A present but invalid assertion
    vetoes (the request stays anonymous whatever cookie it carries); an
    absent one means nobody."""
    jwt = settings.assertion

    def outcome(name=None, veto=False, rule=None, reason=None,
                received=None, profile=NO_PROFILE, verdict=None):
        return Decision(name, ASSERTION if (name or rule) else None, veto,
                        rule, reason, peer, network, received, tuple(notes),
                        profile, verdict)

    value = environ.get(jwt.header_key) if jwt.header_key else None
    extracted = assertion.extract_token(value, jwt.bearer)
    if extracted.token is None and extracted.rule is None:
        for key, what in ((settings.header_key, "header %s"
                           % settings.header), ('REMOTE_USER', "REMOTE_USER")):
            if key and environ.get(key):
                notes.append(Note(SOURCE_IGNORED, "%s ignored: [remoteuser] "
                                  "jwt_header is set, so names come only "
                                  "from a verified assertion" % what))
        return outcome()
    if extracted.rule in assertion.NOBODY:
        notes.append(Note(NO_ASSERTION, "%s: %s" % (jwt.header,
                                                    extracted.reason)))
        return outcome()
    if extracted.rule:
        return outcome(veto=True, rule=extracted.rule,
                       reason=extracted.reason)
    verdict = jwt.verifier.verify(extracted.token)
    if not verdict.accepted:
        return outcome(veto=True, rule=verdict.rule, reason=verdict.reason,
                       verdict=verdict)
    user = assertion.claim_text(verdict.claims, jwt.claim)
    if user is None:
        return outcome(veto=True, rule=NO_CLAIM, verdict=verdict,
                       reason="the verified assertion has no text claim %r "
                       "to take the user name from; set [remoteuser] "
                       "jwt_claim to the claim that holds it" % jwt.claim)
    cleaned = names.clean_name(user.encode('utf-8'), settings.strip_domain,
                               settings.lowercase, groups,
                               settings.local_domains)
    if cleaned.name is None:
        return outcome(veto=True, rule=cleaned.rule, received=user,
                       reason="claim %s of the assertion: %s"
                       % (jwt.claim, cleaned.reason), verdict=verdict)
    return outcome(cleaned.name, received=user, verdict=verdict,
                   profile=_claims_profile(verdict.claims, jwt, cleaned.name,
                                           notes))
