"""Every `[remoteuser]` option, declared once, by one owner.

The docstrings are the one text administrators read: Trac shows them on
the TracIni page and in `trac-admin ENV config`, the admin panel lists
the options with them, and `docs/options.md` is generated from them
(`tools/optionsdoc.py`; a test fails when the two disagree). The
components read their values through `RemoteUserOptions`, and the
settings the decision needs through `settings.RemoteUserSettings`.
"""

from trac.config import BoolOption, IntOption, ListOption, Option
from trac.core import Component
from trac.util import as_bool

from remoteuserauth.assertion.keys import DEFAULT_ALGORITHMS

#: The words Trac reads as a boolean.
BOOLEAN_WORDS = ('yes', 'true', 'enabled', 'on',
                 'no', 'false', 'disabled', 'off')

SECTION = 'remoteuser'


class SafeBoolOption(BoolOption):
    """A boolean option whose value, when it is no boolean at all
    (`maybe`), is its default, as the log then says; Trac's own reads
    any unknown word as false, which would turn `strip_domain` off."""

    def accessor(self, section, name, default):
        value = section.get(name, default)
        if not is_boolean(value):
            value = default
        return as_bool(value)


def is_boolean(value):
    """Whether Trac reads `value` as a boolean on purpose (a known word,
    a number, or nothing at all)."""
    if not isinstance(value, str) or not value.strip():
        return True
    try:
        float(value)
        return True
    except ValueError:
        return value.strip().lower() in BOOLEAN_WORDS


class RemoteUserOptions(Component):
    """The `[remoteuser]` options of TracRemoteUserAuth."""

    header = Option('remoteuser', 'header', 'Remote-User',
        """HTTP header that carries the user name, matched the way WSGI
        servers name headers (`Remote-User`, `REMOTE_USER` and
        `HTTP_REMOTE_USER` are the same header; `SM_USER` is
        CA SiteMinder's). A request header is believed only from
        `trusted_proxies` (and with the `secret`, when one is set).
        `env:NAME` names a server variable instead (`env:SM_USER`,
        `env:OIDC_CLAIM_email`), which web server modules set and
        clients cannot: it is believed from any peer, as `REMOTE_USER`
        is. Leave empty when the web server itself authenticates and
        sets `REMOTE_USER` (Apache with mod_wsgi or mod_python): then
        no header is ever read.
        """)

    trusted_proxies = ListOption('remoteuser', 'trusted_proxies',
                                 '127.0.0.1, ::1',
        doc="""Addresses or CIDR networks (IPv4 and IPv6) of the proxies
        whose `header` is believed, comma separated, e.g.
        `127.0.0.1, ::1, 10.0.0.0/24`. Only the direct peer of the
        connection is checked, never `X-Forwarded-For`. An entry that
        does not parse is logged and ignored, so it never widens trust.
        `unix` trusts connections over a Unix domain socket (gunicorn
        `bind = unix:/run/trac.sock`), which have no address.
        The default trusts a proxy on the same machine only.
        """)

    secret_header = Option('remoteuser', 'secret_header', '',
        """With `secret`: a header the proxy must send carrying the
        `secret`, for proxies that cannot be told apart by address
        (an SSO agent inside the web server, a shared network).
        """)

    secret = Option('remoteuser', 'secret', '',
        """The shared secret the proxy sends in `secret_header`,
        compared in constant time. Keep trac.ini readable by the Trac
        process only when you set it, or use `secret_file`. It is never
        shown on the About page, the admin panel or in the log.
        """)

    secret_file = Option('remoteuser', 'secret_file', '',
        """A file holding the `secret` on its first line (the line end
        is not part of it), so that trac.ini need not hold it: make it
        readable by the Trac process only (`chmod 600`). It is read
        again when it changes (looked at once a second at most), and
        wins over `secret`. A relative path is relative to the folder
        holding trac.ini. While it is missing, unreadable, not a
        regular file (a FIFO, a device), over 4 KiB, or its first line
        is empty, starts with a byte order mark, has spaces at either
        end or holds anything but printable ASCII, no header is
        believed at all, rather than falling back to `secret` (perhaps
        the very secret the file replaced): the log and the admin panel
        say what is wrong. The admin panel also warns when the file's
        mode lets its group or others read or write it.
        """)

    strip_domain = SafeBoolOption('remoteuser', 'strip_domain', 'true',
        """Remove the Windows domain and the Kerberos realm from the
        names of `local_domains`: `EXAMPLE\\user` and `user@EXAMPLE.COM`
        become `user`. A name of any other domain is refused (logged),
        never mapped onto a local account. Set to `false` to keep whole
        names (`user@EXAMPLE.COM` is then a Trac user of its own).
        """)

    local_domains = ListOption('remoteuser', 'local_domains', '',
        doc="""The Windows domains, Kerberos realms and e-mail domains
        whose users are this Trac's users, comma separated (e.g.
        `EXAMPLE, EXAMPLE.COM, example.com`), compared without regard
        to case. With `strip_domain`, a name from one of them loses its
        domain part; a name from any other domain, or from any domain
        while this is empty, is refused: `carol@OTHER.REALM` of a
        trusted realm is not the local `carol`.
        """)

    lowercase = SafeBoolOption('remoteuser', 'lowercase', 'false',
        """Fold user names to lower case, for identity providers that
        do not care about case (Active Directory) so that `JDoe` and
        `jdoe` are one Trac user. `[trac] ignore_auth_case` folds the
        same way. Run `trac-admin ENV remoteuser collisions lowercase`
        first: it lists the existing users that would become one.
        """)

    cookie_login = SafeBoolOption('remoteuser', 'cookie_login', 'true',
        """Let Trac's `trac_auth` cookie keep a browser logged in on the
        pages the front end leaves alone (a front end that protects
        `/login` only). Set to `false` when the front end authenticates
        every request: the front end is then the only authority, no
        cookie logs anyone in without its name, and a user disabled at
        the identity provider is out at once.
        """)

    jwt_header = Option('remoteuser', 'jwt_header', '',
        """Header carrying a signed identity assertion (a JWT) from an
        identity-aware proxy, e.g. `X-Pomerium-Jwt-Assertion`,
        `Cf-Access-Jwt-Assertion`, `X-Goog-IAP-JWT-Assertion`;
        `Authorization` means a `Bearer` token, `env:OIDC_id_token` the
        server variable of Apache mod_auth_openidc. When set (or when
        `jwt_preset` is), the user name comes only from an assertion
        whose signature, issuer, audience and expiry verify, from any
        peer: `header` and `REMOTE_USER` are not read. A present but
        invalid assertion leaves the request anonymous whatever cookie
        it carries. Needs `pip install TracRemoteUserAuth[jwt]`.
        """)

    jwt_preset = Option('remoteuser', 'jwt_preset', '',
        """The identity-aware proxy in front of Trac: `pomerium`,
        `cloudflare`, `iap`, `oauth2-proxy` or `mod_auth_openidc`. It
        fills `jwt_header`, `jwt_algorithms`, the claims and, where the
        product publishes its keys at a known place, `jwt_keys`, as the
        product documents them; options set here win. `jwt_issuer` and
        `jwt_audience` are always yours to set.
        """)

    jwt_keys = Option('remoteuser', 'jwt_keys', '',
        """The keys that verify assertions: an `https://` URL of a JSON
        Web Key Set (`http://` only on 127.0.0.1, ::1 or localhost), or
        the path of a JWKS or PEM public-key file (relative to the
        folder of trac.ini). A URL is fetched on first use and cached;
        a token naming an unknown key causes one fetch, at most once
        every `jwt_refresh` seconds; a failed fetch keeps the keys
        fetched before. A file is read again when it changes (looked
        at once a second at most, and at once for a token naming a key
        it did not hold: a removed key stops verifying within a
        second). Keys named by the token itself (`jku`, `x5u`, `jwk`,
        `x5c`) are never used.
        """)

    jwt_issuer = Option('remoteuser', 'jwt_issuer', '',
        """The issuer (`iss`) assertions must carry, exactly. No
        assertion is believed while it is empty.
        """)

    jwt_audience = ListOption('remoteuser', 'jwt_audience', '',
        doc="""The audiences (`aud`) accepted, comma separated: this
        Trac's identifier at the proxy or identity provider (an
        application tag, a client id, a route's domain). The token's
        `aud` must hold one of them. No assertion is believed while it
        is empty.
        """)

    jwt_algorithms = ListOption('remoteuser', 'jwt_algorithms',
                                ', '.join(DEFAULT_ALGORITHMS),
        doc="""Signature algorithms accepted, comma separated (also
        RS384, RS512, PS384, PS512, ES384, ES512). An algorithm must
        suit the key's type, and be the key's own `alg` when the key
        states one. `none` and the HMAC family (HS256 ...) are never
        accepted, whatever this says: they are dropped with a log line.
        """)

    jwt_claim = Option('remoteuser', 'jwt_claim', 'sub',
        """The claim holding the user name. It is cleaned by the same
        rules as a header's name (`strip_domain`, `local_domains`,
        `lowercase`, refusals): with `email` and `local_domains =
        example.com`, `alice@example.com` is the Trac user `alice`.
        """)

    jwt_name_claim = Option('remoteuser', 'jwt_name_claim', 'name',
        """The claim whose value is stored as the session's display
        `name`; empty: not synced.
        """)

    jwt_email_claim = Option('remoteuser', 'jwt_email_claim', 'email',
        """The claim whose value is stored as the session's `email`;
        empty: not synced.
        """)

    jwt_groups_claim = Option('remoteuser', 'jwt_groups_claim', '',
        """The claim listing the user's groups (a list, or a comma or
        `|` separated string), for the group sync of `sync_groups`.
        """)

    jwt_leeway = IntOption('remoteuser', 'jwt_leeway', 60,
        """Seconds of clock difference allowed when checking `exp`,
        `nbf` and `iat`.
        """)

    jwt_refresh = IntOption('remoteuser', 'jwt_refresh', 300,
        """The least number of seconds between two fetches of a
        `jwt_keys` URL: a token naming an unknown key fetches the keys
        again only when the last fetch is older (at least 10).
        """)

    logout_url = Option('remoteuser', 'logout_url', '',
        """Where Logout sends the browser once Trac has forgotten the
        user: the sign-out page of the single sign-on, since the front
        end would otherwise log the user straight back in. An absolute
        `http(s)://` URL or a path starting with `/`.
        """)

    log_interval = IntOption('remoteuser', 'log_interval', 300,
        """Seconds during which the same refusal (same reason, same
        peer) is not logged again; the repeats are counted instead.
        """)

    tokens = SafeBoolOption('remoteuser', 'tokens', 'false',
        """Personal access tokens for scripts and API clients, which
        cannot follow a single sign-on's redirect: a user logged in
        through the front end makes them in Preferences ("API tokens"),
        and a token acts as its owner on `token_paths` only, presented
        as `Authorization: Bearer TOKEN` or as the password of Basic
        credentials whose user is the owner. A token is shown once and
        only its SHA-256 is kept. A token that is not live, comes with
        another user name, whose owner the name policy now refuses, or
        that arrives while the front end names someone else is refused
        with 401 and no cookie. `trac-admin ENV remoteuser token`
        manages them whatever this says; while it is `false`, no token
        is read and Preferences makes none.
        """)

    token_paths = ListOption('remoteuser', 'token_paths',
                             '/login/rpc, /login/xmlrpc, /login/jsonrpc, '
                             '/ticketrpc',
        doc="""The only pages, below the site's base path and matched
        exactly, where a token is read (the RPC plugins' end points:
        TracXMLRPC's `/login/rpc`, `/login/xmlrpc`, `/login/jsonrpc`,
        trac-ticketrpc's `/ticketrpc`). Anywhere else an Authorization
        header carrying a token is ignored. The front end must pass the
        client's Authorization header to Trac on these paths and ask
        for no login there.
        """)

    token_lifetime = IntOption('remoteuser', 'token_lifetime', 90,
        """Days a new token lives unless its maker picks another
        lifetime (up to `token_max_lifetime`).
        """)

    token_max_lifetime = IntOption('remoteuser', 'token_max_lifetime', 365,
        """The longest lifetime, in days, a user may pick for a token
        in Preferences. `trac-admin ENV remoteuser token add USER --days
        N` may exceed it (for bot accounts).
        """)

    groups_header = Option('remoteuser', 'groups_header', '',
        """Header in which a trusted proxy lists the user's groups,
        separated by commas or `|` (e.g. `X-Forwarded-Groups`), or
        `env:NAME` for a server variable. Only the groups named in
        `sync_groups` are added or removed; a request without the header
        changes nothing. With `jwt_header`, `jwt_groups_claim` of the
        assertion is used instead.
        """)

    sync_groups = ListOption('remoteuser', 'sync_groups', '',
        doc="""The Trac permission groups that `groups_header` manages,
        comma separated (e.g. `developers, testers`). On each request a
        user is added to those of them the header lists and removed
        from those it no longer lists; no other group and no permission
        is ever touched. Upper-case names (permissions), Trac's built-in
        `anonymous` and `authenticated`, and names a groups header could
        not carry (white space other than spaces around them, control
        characters, spellings Unicode NFKC would change) are refused. A
        user name equal to one of these groups is refused at every door,
        so list here a group that holds permissions before it has a
        member.
        """)

    name_header = Option('remoteuser', 'name_header', '',
        """Header carrying the user's display name, from a trusted
        proxy (or `env:NAME`, a server variable); it is stored as the
        session's `name` when it changes. With `jwt_header`, the
        `jwt_name_claim` of the assertion is used instead.
        """)

    email_header = Option('remoteuser', 'email_header', '',
        """Header carrying the user's e-mail address, from a trusted
        proxy (or `env:NAME`, a server variable); it is stored as the
        session's `email` when it changes. With `jwt_header`, the
        `jwt_email_claim` of the assertion is used instead.
        """)

    trust_forwarded = SafeBoolOption('remoteuser', 'trust_forwarded', 'false',
        """Honour `X-Forwarded-Proto`, `X-Forwarded-Host`,
        `X-Forwarded-Port` and `X-Forwarded-Prefix` (the part of the path
        the proxy removed) from `trusted_proxies`, taking the value the
        nearest proxy added (the last of a list). From any other peer
        they change nothing. `[trac] base_url`, when set, wins over
        them. Leave it off unless your proxy sets all of these headers
        on every request.
        """)

    trust_forwarded_for = SafeBoolOption('remoteuser', 'trust_forwarded_for',
                                     'false',
        """Dangerous unless every proxy in `trusted_proxies` sets
        X-Forwarded-For itself (nginx: `proxy_set_header X-Forwarded-For
        $proxy_add_x_forwarded_for;`): the client writes the rest of
        that header. When enabled, Trac sees the client's address
        instead of the proxy's, in its log and for `[trac]
        check_auth_ip`: the entry the nearest trusted proxy appended,
        passing over entries that are themselves `trusted_proxies`
        (as nginx's `real_ip_recursive` does). An entry that is not an
        IP address stops the walk. Only the direct peer ever decides
        whether headers are believed. Off by default: then Trac sees the
        proxy's address.
        """)


def declared():
    """The `[remoteuser]` options, as Trac's `Option` objects, in the
    order they are declared here."""
    return [value for value in vars(RemoteUserOptions).values()
            if isinstance(value, Option)]


def boolean_names():
    """The names of the boolean options."""
    return [option.name for option in declared()
            if isinstance(option, BoolOption)]
