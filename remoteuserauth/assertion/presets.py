"""What each identity-aware proxy sends, so that ``[remoteuser]
jwt_preset = cloudflare`` (say) is all an administrator writes besides
the issuer and the audience, which only they can know.

A preset fills the header, the algorithms, the key URL (when the product
publishes its keys at a URL derived from the issuer or the audience) and
the claims holding the user name, display name, e-mail and groups, as
each product documents them. An option set in trac.ini to anything but
its default wins over the preset. The issuer and the audience are never
guessed: an assertion
proves something only for the issuer and the application the
administrator names.

Nothing here imports Trac.
"""

from collections import namedtuple

from remoteuserauth.assertion.keys import DEFAULT_ALGORITHMS

Preset = namedtuple('Preset', 'name product header algorithms keys claim '
                    'name_claim email_claim groups_claim issuer audience '
                    'keys_hint')
Preset.__doc__ = """One product's defaults: `header` (``env:NAME`` for a
server variable), `algorithms`, `keys` (a URL with ``{issuer}`` or
``{audience}`` in it, or empty when the administrator must give the
identity provider's key URL), the claims, and for the documentation what
`issuer`, `audience` and the keys are in that product."""

PRESETS = {
    'pomerium': Preset(
        'pomerium', 'Pomerium', 'X-Pomerium-Jwt-Assertion',
        ('ES256', 'EdDSA'),
        'https://{audience}/.well-known/pomerium/jwks.json',
        'email', 'name', 'email', 'groups',
        issuer="the route's domain as in its `from` URL, without "
               "https:// (e.g. trac.example.com); Pomerium before 0.22 "
               "used the authenticate service's domain",
        audience="the route's domain, as for the issuer",
        keys_hint="Pomerium serves its signing keys on every route at "
                  "/.well-known/pomerium/jwks.json; the route needs "
                  "pass_identity_headers: true"),
    'cloudflare': Preset(
        'cloudflare', 'Cloudflare Access', 'Cf-Access-Jwt-Assertion',
        ('RS256',),
        '{issuer}/cdn-cgi/access/certs',
        'email', '', 'email', '',
        issuer="https://TEAM.cloudflareaccess.com, your team domain "
               "(Zero Trust > Settings > Custom Pages, or the team name "
               "chosen at sign-up)",
        audience="the Application Audience (AUD) Tag (Zero Trust > "
                 "Access > Applications > your application > Overview)",
        keys_hint="Access publishes its keys at "
                  "https://TEAM.cloudflareaccess.com/cdn-cgi/access/certs "
                  "and rotates them every six weeks"),
    'iap': Preset(
        'iap', 'Google Cloud Identity-Aware Proxy',
        'X-Goog-IAP-JWT-Assertion', ('ES256',),
        'https://www.gstatic.com/iap/verify/public_key-jwk',
        'email', '', 'email', '',
        issuer="https://cloud.google.com/iap",
        audience="/projects/PROJECT_NUMBER/global/backendServices/"
                 "SERVICE_ID for a load balancer backend (Security > "
                 "Identity-Aware Proxy > the resource's menu > Get JWT "
                 "audience code), /projects/PROJECT_NUMBER/apps/PROJECT_ID "
                 "for App Engine",
        keys_hint="Google publishes the IAP keys at "
                  "https://www.gstatic.com/iap/verify/public_key-jwk"),
    'oauth2-proxy': Preset(
        'oauth2-proxy', 'oauth2-proxy', 'Authorization', ('RS256',),
        '', 'email', 'name', 'email', 'groups',
        issuer="the identity provider's issuer, oauth2-proxy's "
               "--oidc-issuer-url (e.g. "
               "https://sso.example.com/realms/example)",
        audience="oauth2-proxy's --client-id",
        keys_hint="the identity provider's jwks_uri, listed at "
                  "ISSUER/.well-known/openid-configuration (oauth2-proxy's "
                  "--oidc-jwks-url when set); oauth2-proxy passes the ID "
                  "token with --pass-authorization-header"),
    'mod_auth_openidc': Preset(
        'mod_auth_openidc', 'Apache mod_auth_openidc', 'env:OIDC_id_token',
        ('RS256',), '', 'sub', 'name', 'email', '',
        issuer="the provider's issuer (OIDCProviderIssuer, or the "
               "issuer in OIDCProviderMetadataURL's document)",
        audience="OIDCClientID",
        keys_hint="the provider's jwks_uri (OIDCProviderJwksUri, or the "
                  "one listed in OIDCProviderMetadataURL's document); "
                  "mod_auth_openidc passes the ID token with "
                  "OIDCPassIDTokenAs serialized"),
}

#: The options a preset fills, and their defaults without one.
DEFAULTS = {
    'jwt_header': '',
    'jwt_algorithms': DEFAULT_ALGORITHMS,
    'jwt_keys': '',
    'jwt_claim': 'sub',
    'jwt_name_claim': 'name',
    'jwt_email_claim': 'email',
    'jwt_groups_claim': '',
}

# Options that mean nothing when empty: an empty value in trac.ini
# leaves the preset's. For the claims, an empty value means "not
# synced" and wins.
_EMPTY_MEANS_UNSET = frozenset(('jwt_header', 'jwt_algorithms', 'jwt_keys'))

Resolved = namedtuple('Resolved', 'values problems blocked')
Resolved.__doc__ = """The effective ``jwt_*`` values (a dict keyed like
`DEFAULTS`; `jwt_algorithms` a tuple), sentences about the preset, and
why no assertion may be believed (or `None`)."""


def resolve(preset, explicit, issuer='', audience=()):
    """The effective ``jwt_*`` options.

    :param preset: the value of ``[remoteuser] jwt_preset`` (or empty).
    :param explicit: ``{option: value}`` for the options written in
                     trac.ini; `jwt_algorithms` as a list. A value equal
                     to the option's default does not override the
                     preset (Trac writes all defaults into a new
                     trac.ini).
    :param issuer: ``jwt_issuer``, for key URLs derived from it.
    :param audience: ``jwt_audience``, for key URLs derived from it.
    :return: a `Resolved`. An unknown preset believes nothing (rather
             than fall back to trusting plain headers), and says so.
    """
    values = dict(DEFAULTS)
    problems = []
    blocked = None
    name = (preset or '').strip().lower()
    chosen = None
    if name:
        chosen = PRESETS.get(name)
        if chosen is None:
            blocked = ("[remoteuser] jwt_preset: %r is not one of %s; no "
                       "assertion is believed until it is corrected"
                       % (preset.strip(), ', '.join(sorted(PRESETS))))
            problems.append(blocked)
        else:
            values.update(jwt_header=chosen.header,
                          jwt_algorithms=chosen.algorithms,
                          jwt_claim=chosen.claim,
                          jwt_name_claim=chosen.name_claim,
                          jwt_email_claim=chosen.email_claim,
                          jwt_groups_claim=chosen.groups_claim)
    for option, value in explicit.items():
        if option not in values:
            continue
        if option == 'jwt_algorithms':
            value = tuple(v.strip() for v in value if v.strip())
        else:
            value = (value or '').strip()
        if option in _EMPTY_MEANS_UNSET and not value:
            continue
        if chosen is not None and value == DEFAULTS[option]:
            # Trac writes every default into a new trac.ini: the
            # default value there is no choice against the preset.
            continue
        values[option] = value
    if chosen is not None and not values['jwt_keys']:
        values['jwt_keys'] = _key_url(chosen, issuer, audience)
        if not values['jwt_keys'] and not chosen.keys:
            problems.append("[remoteuser] jwt_keys is needed with jwt_preset "
                            "= %s: %s" % (chosen.name, chosen.keys_hint))
    return Resolved(values, problems, blocked)


def _key_url(preset, issuer, audience):
    """The preset's key URL for this issuer and audience; empty when it
    has none or a value it needs is not set."""
    issuer = (issuer or '').strip().rstrip('/')
    first = next((a.strip() for a in audience if a.strip()), '')
    if not preset.keys or ('{issuer}' in preset.keys and not issuer) or \
            ('{audience}' in preset.keys and not first):
        return ''
    return preset.keys.format(issuer=issuer, audience=first)
