"""Which front end the self-test recognises (`selftest.frontend`), from
answers and probe reports as the real servers of tests/servers give
them: the headers of Caddy, Traefik, HAProxy and nginx before uWSGI
below are theirs, copied from runs of their samples."""

import pytest

from remoteuserauth.selftest import Exchange
from remoteuserauth.selftest.frontend import (APACHE, CADDY, HAPROXY, NAMES,
                                              NGINX, OTHER, TRAEFIK, UWSGI,
                                              front_end_kind)


def exchange(headers=(), report=None):
    return Exchange(None, 200 if report else 401, list(headers), report,
                    None, None, None)


def report(software='gunicorn/27.0.1', forwarded=None, inside=False):
    return {'server': {'software': software, 'inside_front_end': inside,
                       'local': ['127.0.0.1', 28767]},
            'forwarded': forwarded or {}}


PROBE_ANSWER = [('Cache-Control', 'no-store'),
                ('Content-Type', 'application/json;charset=utf-8'),
                ('Server', 'gunicorn'), ('X-Content-Type-Options', 'nosniff')]

CADDY_SITE = [
    # Trac's answer, passed on: gunicorn's Server, Caddy's Via.
    exchange(PROBE_ANSWER + [('Via', '1.1 Caddy')], report(forwarded={
        'X-Forwarded-For': '127.0.0.1', 'X-Forwarded-Host': '127.0.0.1:8080',
        'X-Forwarded-Proto': 'http'})),
    # basic_auth's challenge on /login, Caddy's own.
    exchange([('Server', 'Caddy'),
              ('Www-Authenticate', 'Basic realm="restricted"'),
              ('Content-Length', '0')]),
]

TRAEFIK_SITE = [
    exchange(PROBE_ANSWER, report(forwarded={
        'X-Forwarded-For': '127.0.0.1', 'X-Forwarded-Host': '127.0.0.1:8080',
        'X-Forwarded-Port': '8080', 'X-Forwarded-Proto': 'http',
        'X-Forwarded-Server': 'vm', 'X-Real-Ip': '127.0.0.1'})),
    # The forward-auth service's challenge, passed on as it is.
    exchange([('Content-Length', '0'),
              ('Server', 'BaseHTTP/0.6 Python/3.11.7'),
              ('Www-Authenticate', 'Basic realm="forwardauth"')]),
]

HAPROXY_SITE = [
    exchange([(n.lower(), v) for n, v in PROBE_ANSWER], report()),
    # http-request auth's challenge: no Server header at all.
    exchange([('content-length', '112'), ('cache-control', 'no-cache'),
              ('content-type', 'text/html'),
              ('www-authenticate', 'Basic realm="Trac"')]),
]

NGINX_ANSWER = [('Server', 'nginx/1.22.1'),
                ('Content-Type', 'application/json;charset=utf-8'),
                ('Connection', 'keep-alive')]

UWSGI_SITE = [
    exchange(NGINX_ANSWER, report(software='uWSGI/2.0.31')),
    exchange([('Server', 'nginx/1.22.1'), ('Content-Type', 'text/html'),
              ('WWW-Authenticate', 'Basic realm="Trac"')]),
]

NGINX_SITE = [exchange(NGINX_ANSWER, report(forwarded={
    'X-Forwarded-Proto': 'http'}))]

APACHE_PROXY_SITE = [
    exchange(PROBE_ANSWER[:2] + [('Server', 'Apache/2.4.71 (Debian)')],
             report(software='tracd/1.6', forwarded={
                 'X-Forwarded-For': '127.0.0.1',
                 'X-Forwarded-Host': '127.0.0.1:8080',
                 'X-Forwarded-Server': '127.0.0.1'}))]


@pytest.mark.parametrize('exchanges, kind', [
    (CADDY_SITE, CADDY),
    # Caddy's Via alone says so: a site where Caddy answers nothing
    # itself.
    (CADDY_SITE[:1], CADDY),
    (TRAEFIK_SITE, TRAEFIK),
    (HAPROXY_SITE, HAPROXY),
    (HAPROXY_SITE[:1], HAPROXY),
    (UWSGI_SITE, UWSGI),
    (NGINX_SITE, NGINX),
    (APACHE_PROXY_SITE, APACHE),
    # mod_proxy's X-Forwarded-Server alone, without Traefik's X-Real-Ip.
    ([exchange(PROBE_ANSWER, report(forwarded={
        'X-Forwarded-Server': 'trac'}))], APACHE),
    ([exchange(PROBE_ANSWER, report(software='mod_wsgi', inside=True))],
     APACHE),
    # gunicorn or tracd without a front end.
    ([exchange(PROBE_ANSWER, report())], OTHER),
    ([exchange([('Server', 'tracd/1.6 Python/3.11.7')],
               report(software='tracd/1.6'))], OTHER),
    ([], OTHER),
])
def test_each_front_end(exchanges, kind):
    assert front_end_kind(exchanges) == kind


def test_uwsgi_is_named_only_behind_nginx():
    """uWSGI behind another front end (its own http router, Apache's
    mod_proxy_uwsgi) has not nginx's uwsgi_param lines to fix."""
    alone = [exchange([('Content-Type', 'application/json')],
                      report(software='uWSGI/2.0.31'))]
    assert front_end_kind(alone) == OTHER
    apache = [exchange([('Server', 'Apache/2.4.71 (Debian)'),
                        ('Content-Type', 'text/html')],
                       report(software='uWSGI/2.0.31'))]
    assert front_end_kind(apache) == APACHE


def test_a_single_header_is_no_case_evidence():
    """The admin panel's exchanges carry the Server header alone; one
    header in lower case says nothing about HAProxy."""
    assert front_end_kind([exchange([('server', 'gunicorn')])]) == OTHER
    assert front_end_kind([exchange([('Server', 'gunicorn')])]) == OTHER


def test_names():
    assert NAMES[UWSGI] == 'uWSGI behind nginx'
    assert {NAMES[k] for k in (CADDY, TRAEFIK, HAPROXY, NGINX, APACHE)} == \
        {'Caddy', 'Traefik', 'HAProxy', 'nginx', 'Apache'}
    assert NAMES[OTHER] == 'not recognised'
