"""The fixes table (`selftest.fixes`): every finding that depends on the
front end has a fix for every front end the self-test recognises, in
that server's own directives and in no other server's, filled in for
every kind of [remoteuser] header."""

import pytest

from remoteuserauth.selftest import Config
from remoteuserauth.selftest.fixes import FIXES, fix, fixes
from remoteuserauth.selftest.frontend import (APACHE, CADDY, HAPROXY, NAMES,
                                              NGINX, OTHER, TRAEFIK, UWSGI)

RECOGNISED = (NGINX, APACHE, CADDY, TRAEFIK, HAPROXY, UWSGI)

#: What each server's configuration is written with; a fix for one
#: server never says another's (nginx's `location` is uWSGI's front
#: end's too). Under uwsgi_pass, proxy_set_header is named only to say
#: that it does nothing.
DIRECTIVES = {
    NGINX: ('`proxy_set_header', '`location '),
    APACHE: ('`RequestHeader', '<Location', '`WSGIPassAuthorization'),
    CADDY: ('header_up', 'forward_auth', 'basic_auth'),
    TRAEFIK: ('authResponseHeaders', 'customRequestHeaders',
              'forwardedHeaders', 'Path(`'),
    HAPROXY: ('http-request',),
    UWSGI: ('uwsgi_param', '`location '),
}

CONFIGS = [
    Config('Remote-User', '', '', False, True),
    Config('', '', '', False, True),
    Config('env:SM_USER', '', '', False, True),
    Config('X-Remote-User', 'X-Proxy-Secret', '', True, False),
]

PROFILE = ['Remote-Name', 'Remote-Groups']


def texts(kind, config):
    table = fixes(kind, 'X-Remote-User' if 'X-' in config.header
                  else 'Remote-User', config)
    table['profile'] = table['profile'](PROFILE)
    return table


def test_every_finding_has_a_fix_for_every_front_end():
    """A finding whose fix depends on the front end has a column for
    each one the self-test recognises (else its administrator would get
    the generic text); the others say the same to every front end."""
    for finding, entry in FIXES.items():
        if isinstance(entry, dict):
            assert set(entry) == set(RECOGNISED) | {OTHER}, finding
        else:
            assert isinstance(entry, str), finding
    assert set(NAMES) == set(RECOGNISED) | {OTHER}


@pytest.mark.parametrize('kind', RECOGNISED)
@pytest.mark.parametrize('config', CONFIGS)
def test_each_fix_in_its_own_servers_words(kind, config):
    table = texts(kind, config)
    assert set(table) == set(FIXES)
    foreign = [word for other, words in DIRECTIVES.items()
               if other != kind for word in words
               if word not in DIRECTIVES[kind]]
    for finding, text in table.items():
        assert '%(' not in text and '%%' not in text, (finding, text)
        if not isinstance(FIXES[finding], dict):
            continue
        assert any(word in text for word in DIRECTIVES[kind]), \
            (finding, text)
        assert not [word for word in foreign if word in text], \
            (finding, text)


@pytest.mark.parametrize('config', CONFIGS)
def test_under_uwsgi_pass_the_variables(config):
    """Under uwsgi_pass a header is the variable HTTP_NAME, a
    uwsgi_param line; proxy_set_header does nothing there."""
    table = texts(UWSGI, config)
    name = 'X_REMOTE_USER' if 'X-' in config.header else 'REMOTE_USER'
    assert '`uwsgi_param HTTP_%s "";`' % name in table['identity']
    assert 'proxy_set_header does nothing under uwsgi_pass' in \
        table['identity']
    assert '`uwsgi_param HTTP_REMOTE_NAME "";` `uwsgi_param ' \
        'HTTP_REMOTE_GROUPS "";`' in table['profile']
    if config.secret_header:
        assert '`uwsgi_param HTTP_X_PROXY_SECRET <secret>;`' in \
            table['secret']
    for text in table.values():
        assert 'proxy_set_header' not in text.replace(
            'proxy_set_header does nothing', '')


def test_the_fix_follows_the_header_trac_reads():
    """Where Trac reads the header, the fix says where to set it; where
    it reads none, removing the client's is the whole fix."""
    reads, none = CONFIGS[0], CONFIGS[1]
    assert "`header_up Remote-User {http.auth.user.id}` only in the route " \
        "where basic_auth checked" in fix('identity', CADDY, 'Remote-User',
                                          reads)
    assert '{http.auth.user.id}' not in fix('identity', CADDY,
                                            'Remote-User', none)
    assert "`http-request set-header Remote-User %[http_auth_user] if " \
        "login` only where `http-request auth` checked the password " \
        "(set-header: add-header keeps the client's copy" in \
        fix('identity', HAPROXY, 'Remote-User', reads)
    assert 'set-header' not in fix('identity', HAPROXY, 'Remote-User', none)
    assert 'uwsgi_param REMOTE_USER $trac_user if_not_empty' in \
        fix('identity', UWSGI, 'Remote-User', reads)
    assert 'uwsgi_param REMOTE_USER' not in fix('identity', UWSGI,
                                                'Remote-User', none)


def test_an_unrecognised_front_end_gets_the_generic_fix():
    for finding, entry in FIXES.items():
        if isinstance(entry, dict):
            assert fix(finding, 'lighttpd', 'Remote-User', CONFIGS[0],
                       PROFILE) == fix(finding, OTHER, 'Remote-User',
                                       CONFIGS[0], PROFILE)
