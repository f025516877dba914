"""What the self-test finds about the site as a whole rather than one
path: /login's answer to a hostile referer, the backend reached around
the front end, and the front end's own address.

Nothing here imports Trac.
"""

import ipaddress
from urllib.parse import urlsplit

from remoteuserauth.core import urls
from remoteuserauth.selftest.findings import CRITICAL, OK, WARN, Finding
from remoteuserauth.selftest.headers import header_value
from remoteuserauth.selftest.plan import INJECTED_HEADER


def judge_referers(exchanges, marker, fix, prefix):
    for exchange in exchanges:
        variant = exchange.probe.variant
        if variant not in ('referer-crlf', 'referer-foreign'):
            continue
        where = prefix + '/login?referer=' + (
            '<CR/LF>' if variant == 'referer-crlf' else '<foreign host>')
        if exchange.error or not exchange.status:
            yield Finding(WARN, where, "could not be checked: %s" %
                          (exchange.error or 'no answer'), '')
            continue
        if exchange.status in (401, 407):
            yield Finding(OK, where, "the front end asks for a login first "
                          "(HTTP %d); Trac's answer is not checked" %
                          exchange.status, '')
            continue
        headers = exchange.headers or []
        location = header_value(headers, 'Location') or ''
        if variant == 'referer-crlf':
            planted = [n for n, v in headers
                       if n.lower() == INJECTED_HEADER.lower() or
                       (n.lower() == 'set-cookie' and marker in v)]
            if planted or '\r' in location or '\n' in location:
                yield Finding(CRITICAL, where, "a CR/LF in the referer "
                              "splits /login's answer: the client planted "
                              "a header of its own", fix['referer'])
            else:
                yield Finding(OK, where, "no header planted (HTTP %d)" %
                              exchange.status, '')
        else:
            host = urlsplit(location).hostname or ''
            if host.lower() == '%s.invalid' % marker:
                yield Finding(CRITICAL, where, "/login redirects to a "
                              "foreign host the client chose", fix['referer'])
            else:
                yield Finding(OK, where, "no redirect off the site "
                              "(HTTP %d)" % exchange.status, '')


def judge_direct(exchanges, marker, fix, baseline):
    front = baseline.report.get('peer') if baseline is not None and \
        baseline.report else None
    for exchange in exchanges:
        if exchange.probe.variant == 'uwsgi':
            yield _judge_uwsgi(exchange, marker, fix)
            continue
        if exchange.probe.variant != 'direct':
            continue
        where = 'backend %s from %s' % (
            _hostport(exchange.target),
            exchange.source or 'this machine')
        report = exchange.report
        if exchange.error:
            yield Finding(OK, where, "not reachable (%s)" % exchange.error,
                          '')
            continue
        if report is None:
            yield Finding(OK, where, "answered HTTP %d, but not as this "
                          "Trac's probe" % exchange.status, '')
            continue
        accepted = report['decision'].get('accepted') or ''
        peer, network = report.get('peer'), report.get('network')
        if not accepted.startswith(marker):
            yield Finding(OK, where, "reachable, but a forged header from "
                          "%s is not believed" % peer, '')
        elif _loopback_only(peer, network):
            yield Finding(OK, where, "a forged header from %s is believed: "
                          "[remoteuser] trusted_proxies trusts local "
                          "processes (%s), as it says" % (peer, network), '')
        else:
            yield Finding(
                CRITICAL, where, "a client that bypasses the front end is "
                "believed: a forged name from %s is accepted (trusted by "
                "%s of [remoteuser] trusted_proxies; the front end is %s)"
                % (peer, network, front or 'unknown'), fix['backend'])


def _judge_uwsgi(exchange, marker, fix):
    """A request written straight to uWSGI's socket in the uwsgi
    protocol: its writer sets REMOTE_USER, which only the server sets
    anywhere else, so no trusted_proxies can keep it out."""
    source = exchange.source or 'this machine'
    where = 'uWSGI socket %s from %s' % (_hostport(exchange.target), source)
    report = exchange.report
    if report is None:
        return Finding(OK, where, "answered (%s), but not as this Trac's "
                       "probe" % (exchange.error or 'HTTP %d' %
                                  exchange.status), '')
    if (report['decision'].get('accepted') or '').startswith(marker):
        return Finding(
            CRITICAL, where, "a program that bypasses the front end names "
            "the user: the REMOTE_USER of a uwsgi request written from %s "
            "is accepted (uWSGI takes every variable as the writer sends "
            "it, REMOTE_ADDR too: [remoteuser] trusted_proxies cannot "
            "tell)" % source, fix['uwsgi_socket'])
    return Finding(OK, where, "reachable in the uwsgi protocol, but the "
                   "REMOTE_USER of a uwsgi request written from %s is not "
                   "believed" % source, '')


def _hostport(target):
    host, port = target or ('?', '?')
    return '[%s]:%s' % (host, port) if ':' in host else '%s:%s' % (host,
                                                                   port)


def _loopback_only(peer, network):
    try:
        net = ipaddress.ip_network(network)
        return net.subnet_of(ipaddress.ip_network('127.0.0.0/8')
                             if net.version == 4 else
                             ipaddress.ip_network('::1/128'))
    except (TypeError, ValueError):
        return False


def judge_site(report, config, kind, public_url, fix):
    """Findings about the deployment as a whole, from the root's
    baseline."""
    if kind == 'env':
        yield Finding(OK, 'configuration', "[remoteuser] header is %s, a "
                      "server variable: no client can set it with a header"
                      % config.header.strip(), '')
    if kind == 'header' and not report.get('trusted'):
        yield Finding(WARN, 'configuration', "the front end reaches Trac "
                      "from %s, which is not in [remoteuser] "
                      "trusted_proxies: its %s header is never believed"
                      % (report.get('peer'), config.header.strip()),
                      fix['untrusted_front'])
    seen = report.get('public_url') or ''
    if public_url and seen and _same_site(seen, public_url) is False:
        yield Finding(WARN, 'configuration', "Trac takes its address to be "
                      "%s, not %s" % (seen, public_url.rstrip('/')),
                      fix['base_url'])
    if not config.base_url_set:
        yield Finding(WARN, 'configuration', "[trac] base_url is not set: "
                      "Trac builds links from the Host header the front end "
                      "passes on", fix['base_url'])


def _same_site(one, other):
    """Whether two base URLs name the same site; `None` when one of
    them does not parse."""
    try:
        return urls.parse_base_url(one)[:3] == urls.parse_base_url(other)[:3]
    except ValueError:
        return None


# Output
