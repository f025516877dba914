"""The front end's session the administrator lends the self-test
(``--cookie-file``): read, checked, and never shown.

Nothing here imports Trac.
"""

import re

# The front end's session (--cookie-file)

#: The most a Cookie header may hold: nginx's and Apache's default
#: limits for one request header are about 8 KiB.
MAX_COOKIE_HEADER = 8000
_COOKIE_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
# RFC 6265's cookie-octet, optionally quoted: no control character,
# space, quote, comma, semicolon, backslash or anything beyond ASCII.
_COOKIE_VALUE = re.compile(
    r'("?)[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+\1\Z')


def parse_cookies(text):
    """The cookies of a ``--cookie-file``: ``NAME=VALUE`` pairs separated
    by ``;`` (as a browser's Cookie header shows them) or on lines of
    their own; blank lines and lines starting with ``#`` are left out.
    Returns a list of (name, value).

    :raise ValueError: saying what is wrong, never with a value in it
        (the values are a browser's session)."""
    cookies = []
    for number, line in enumerate(text.split('\n'), 1):
        line = line[:-1] if line.endswith('\r') else line
        content = line.strip(' ')
        if not content or content.startswith('#'):
            continue
        if line.count('\t') >= 6:
            raise ValueError("line %d looks like a cookie jar (curl -c, "
                             "Netscape format); write the cookie as "
                             "NAME=VALUE" % number)
        for pair in content.split(';'):
            pair = pair.strip(' ')
            if not pair:
                continue
            name, equals, value = pair.partition('=')
            if not equals:
                raise ValueError("line %d: a cookie is written NAME=VALUE "
                                 "(no '=' found)" % number)
            cookies.append((name.strip(' '), value.strip(' ')))
            check_cookie(*cookies[-1], where='line %d: ' % number)
    if not cookies:
        raise ValueError("no cookie in it (write NAME=VALUE)")
    cookie_header(cookies)
    return cookies


def check_cookie(name, value, where=''):
    """Whether (`name`, `value`) can go in a Cookie header as it is.

    :raise ValueError: why not, without the value."""
    if not _COOKIE_NAME.match(name):
        raise ValueError("%sa cookie name is made of ASCII letters, digits "
                         "and !#$%%&'*+-.^_`|~ (the name before '=' is not)"
                         % where)
    if name.lower().startswith('trac_'):
        raise ValueError("%s%s is a cookie of Trac itself; give the front "
                         "end's session cookie (its authenticator's)"
                         % (where, name))
    if not value:
        raise ValueError("%scookie %s has no value" % (where, name))
    if not _COOKIE_VALUE.match(value):
        raise ValueError("%sthe value of cookie %s holds a character a "
                         "cookie cannot carry (a control character, a "
                         "space, a quote, a comma, a semicolon, a backslash "
                         "or a letter beyond ASCII)" % (where, name))


def cookie_header(cookies):
    """The Cookie header carrying `cookies`, (name, value) pairs.

    :raise ValueError: when one cannot be sent as it is, or the header
        would be longer than front ends take (never with a value)."""
    for name, value in cookies:
        check_cookie(name, value)
    header = '; '.join('%s=%s' % pair for pair in cookies)
    if len(header) > MAX_COOKIE_HEADER:
        raise ValueError("the cookies make a header of %d bytes, more than "
                         "the %d a front end takes in one header"
                         % (len(header), MAX_COOKIE_HEADER))
    return header
