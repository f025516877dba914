"""The one decision every request, the check command and the admin panel
share: who, if anyone, the front end says this request comes from.

`decide` looks at a WSGI environment only; it imports nothing from Trac
so that it can be tested directly and run outside a request.
"""

from collections import namedtuple

from remoteuserauth import names, trust

Settings = namedtuple('Settings', 'header header_key networks secret_header '
                      'secret_key secret strip_domain lowercase '
                      'local_domains problems')
Settings.__doc__ = """The [remoteuser] options as the decision needs them.

`problems` lists what is wrong with the configuration, one sentence
each, naming the option to change. A header is never believed while
`header_key` is `None`. A `header_key` that is a server variable
(``env:NAME``) is believed from any peer, as ``REMOTE_USER`` is."""

Decision = namedtuple('Decision', 'name source veto rule reason peer '
                      'network received notes')
Decision.__doc__ = """Who the front end says the request comes from.

- `name`: the accepted, cleaned user name, or `None`.
- `source`: ``'header'`` or ``'server'`` (``REMOTE_USER``) for the value
  that decided, `None` when nothing did.
- `veto`: the front end sent a name that was refused as dangerous; the
  request must stay anonymous whatever cookie it carries.
- `rule`, `reason`: why the deciding value was refused (`names` rules).
- `peer`: the direct peer (`trust.direct_peer`); `network`: the trusted network it fell in.
- `received`: the value that decided, as received.
- `notes`: sentences about values that were looked at and ignored."""

SERVER = 'server'
HEADER = 'header'


def make_settings(header='Remote-User', trusted_proxies=('127.0.0.1', '::1'),
                  secret_header='', secret='', strip_domain=True,
                  lowercase=False, local_domains=()):
    """Build `Settings` from option values, collecting what is wrong.

    `lowercase` is the case fold in force: ``[remoteuser] lowercase`` or
    Trac's ``[trac] ignore_auth_case``."""
    problems = []
    domains, errors = names.parse_local_domains(local_domains or ())
    problems.extend(errors)
    networks, errors = trust.parse_networks(trusted_proxies or ())
    problems.extend("[remoteuser] trusted_proxies: %s" % e for e in errors)
    try:
        header_key = trust.environ_key(header)
    except ValueError as e:
        problems.append("[remoteuser] header: %s; no header is believed "
                        "until it is corrected" % e)
        header_key = None
    try:
        secret_key = trust.environ_key(secret_header)
    except ValueError as e:
        problems.append("[remoteuser] secret_header: %s" % e)
        secret_key = None
        secret_header = ''
    secret = secret or ''
    if trust.is_server_variable(header_key):
        # The web server sets it; a secret proves nothing more.
        secret_key = None
        secret_header = ''
    elif header_key and bool(secret_header.strip()) != bool(secret):
        problems.append("[remoteuser] secret_header and secret must be set "
                        "together; no header is believed until both are "
                        "set or both are empty")
        header_key = None
    return Settings(header.strip() if header else '', header_key, networks,
                    secret_header.strip(), secret_key, secret,
                    bool(strip_domain), bool(lowercase), domains,
                    tuple(problems))


def decide(environ, settings, groups=()):
    """Decide who the request described by `environ` comes from.

    The configured header counts only when the direct peer is a trusted
    proxy (and the secret header matches, when one is configured), or
    when it names a server variable; otherwise ``REMOTE_USER``, which
    only the server can set, decides. Both go through
    `names.clean_name`.
    """
    peer = trust.direct_peer(environ)
    network = trust.trusted_network(peer, settings.networks)
    notes = []

    def verdict(value, source):
        cleaned = names.clean_name(value, settings.strip_domain,
                                   settings.lowercase, groups,
                                   settings.local_domains)
        veto = cleaned.name is None and cleaned.rule not in names.NOBODY
        return Decision(cleaned.name, source, veto, cleaned.rule,
                        cleaned.reason, peer,
                        str(network) if network else None, value,
                        tuple(notes))

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
            notes.append("header %s from %s ignored: %s"
                         % (settings.header, trust.describe_peer(peer),
                            ignored))
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
    return Decision(None, None, False, None, None, peer,
                    str(network) if network else None, None, tuple(notes))
