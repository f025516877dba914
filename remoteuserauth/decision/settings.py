"""The [remoteuser] options as the decision needs them: parsed once,
with a sentence for every value that cannot be used.

Nothing here imports Trac.
"""

from collections import namedtuple

from remoteuserauth.core import names
from remoteuserauth.core import trust

Settings = namedtuple('Settings', 'header header_key networks secret_header '
                      'secret_key secret strip_domain lowercase '
                      'local_domains problems profile_headers assertion',
                      defaults=((), None))
Settings.__doc__ = """The [remoteuser] options as the decision needs them.

`problems` lists what is wrong with the configuration, one sentence
each, naming the option to change. A header is never believed while
`header_key` is `None`. A `header_key` that is a server variable
(``env:NAME``) is believed from any peer, as ``REMOTE_USER`` is.
`profile_headers` holds ``(field, header, key)`` for the display name,
e-mail and groups headers. With `assertion` (an `AssertionSettings`),
names come from a verified signed assertion only."""

AssertionSettings = namedtuple('AssertionSettings', 'header header_key '
                               'bearer verifier claim name_claim '
                               'email_claim groups_claim')
AssertionSettings.__doc__ = """The ``jwt_*`` options as the decision
needs them: the header (`header_key` `None` when it is unusable: then no
assertion is read), whether it is ``Authorization`` (`bearer`), the
`assertion.Verifier`, and the claims holding the user name and the
profile (empty: not read)."""

def make_settings(header='Remote-User', trusted_proxies=('127.0.0.1', '::1'),
                  secret_header='', secret='', strip_domain=True,
                  lowercase=False, local_domains=(), name_header='',
                  email_header='', groups_header='', verifier=None,
                  jwt_header='', jwt_claim='sub', jwt_name_claim='name',
                  jwt_email_claim='email', jwt_groups_claim=''):
    """Build `Settings` from option values, collecting what is wrong.

    `lowercase` is the case fold in force: ``[remoteuser] lowercase`` or
    Trac's ``[trac] ignore_auth_case``. With a `verifier` (an
    `assertion.Verifier`), the user name comes from the signed assertion
    in `jwt_header` only."""
    problems = []
    profile_headers = []
    for field, option, value in (('name', 'name_header', name_header),
                                 ('email', 'email_header', email_header),
                                 ('groups', 'groups_header', groups_header)):
        key = _environ_key(option, value, problems, "; it is not read")
        if key:
            profile_headers.append((field, value.strip(), key))
    jwt = None
    if verifier is not None:
        jwt, jwt_problems = _assertion_settings(
            verifier, jwt_header, jwt_claim, jwt_name_claim, jwt_email_claim,
            jwt_groups_claim)
        problems.extend(jwt_problems)
    domains, errors = names.parse_local_domains(local_domains or ())
    problems.extend(errors)
    networks, errors = trust.parse_networks(trusted_proxies or ())
    problems.extend("[remoteuser] trusted_proxies: %s" % e for e in errors)
    header_key = _environ_key('header', header, problems,
                              "; no header is believed until it is "
                              "corrected")
    secret_key = _environ_key('secret_header', secret_header, problems)
    if secret_key is None:
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
                    tuple(problems), tuple(profile_headers), jwt)


def _environ_key(option, value, problems, consequence=''):
    """The environ key of the header or variable that `option` names
    (`trust.environ_key`), or `None`; a name that is not valid is added
    to `problems`, followed by `consequence`."""
    try:
        return trust.environ_key(value)
    except ValueError as e:
        problems.append("[remoteuser] %s: %s%s" % (option, e, consequence))
        return None


def _assertion_settings(verifier, header, claim, name_claim, email_claim,
                        groups_claim):
    problems = list(verifier.problems)
    header = (header or '').strip()
    key = _environ_key('jwt_header', header, problems,
                       "; no assertion is believed until it is corrected")
    if key is None and not problems:
        problems.append("[remoteuser] jwt_header is empty; no assertion is "
                        "believed")
    if not (claim or '').strip():
        problems.append("[remoteuser] jwt_claim is empty; no assertion is "
                        "believed")
    return AssertionSettings(
        header, key, key == 'HTTP_AUTHORIZATION', verifier,
        (claim or '').strip(), (name_claim or '').strip(),
        (email_claim or '').strip(), (groups_claim or '').strip()), problems
