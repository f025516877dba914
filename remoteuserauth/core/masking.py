"""Keeping secrets that trac.ini holds off the pages that show it.

Trac's About page lists every trac.ini value to anyone holding
CONFIG_VIEW, `[remoteuser] secret` included: whoever reads it there can
send the secret header and log in as anyone. Every value Trac or this
plugin shows passes through `mask` first. Passwords inside URLs (``[trac]
database = postgres://trac:PASSWORD@db/trac``) are masked in every
option, whatever plugin declared it.

Nothing here imports Trac.
"""

import re

#: What is shown instead of a secret that is set.
HIDDEN = '(set, not shown)'

#: Options whose whole value is a secret.
SECRET_OPTIONS = frozenset([
    ('remoteuser', 'secret'),
    ('notification', 'smtp_password'),
])

#: Options holding URLs whose query may carry a token (an access key in
#: the address of a key set): the query is not shown either.
URL_OPTIONS = frozenset([
    ('remoteuser', 'jwt_keys'),
])

# scheme://user:password@ -- the password stops at the authority's end,
# and the greedy match reaches the last @ of it (passwords may hold @).
_USERINFO_RE = re.compile(
    r'(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*):[^\s/?#]*@')
_QUERY_RE = re.compile(r'[?#][^\s,]*')


def mask(section, name, value):
    """The text to show for the value of option `name` in `section`.

    :return: `HIDDEN` for a secret option that is set, `value` with URL
             passwords (and, for `URL_OPTIONS`, queries and fragments)
             replaced otherwise; an empty value stays empty, so a page
             still tells a set secret from a missing one.
    """
    if not value or not isinstance(value, str):
        return value
    key = (section.lower(), name.lower())
    if key in SECRET_OPTIONS:
        return HIDDEN
    value = _USERINFO_RE.sub(r'\g<head>:(not shown)@', value)
    if key in URL_OPTIONS:
        value = _QUERY_RE.sub('?(not shown)', value)
    return value


def mask_configinfo(sections):
    """Mask, in place, the values of the structure Trac's
    `trac.config.get_configinfo` returns (a list of sections, each a
    dict with `name` and `options`, each option a dict with `name` and
    `value`), which the About page renders. Anything of another shape
    is left alone."""
    if not isinstance(sections, list):
        return
    for section in sections:
        if not isinstance(section, dict) or \
                not isinstance(section.get('options'), list):
            continue
        for option in section['options']:
            if isinstance(option, dict) and 'value' in option:
                option['value'] = mask(section.get('name', ''),
                                       option.get('name', ''),
                                       option['value'])
