"""What the self-test's client sends where (`selftest.client`): the
test account's credentials and the front end's session go only with
the probe's requests to the front end, never to the backend directly,
never on the /login referer checks, never in place of a forged header;
the uwsgi request written straight to a uWSGI socket. The sockets are
replaced by a recorder, or are a server on loopback in this process:
nothing leaves the process."""

import json
import socket
import threading

import pytest

from remoteuserauth import decision, selftest
from remoteuserauth.selftest.plan import uwsgi_probe
from uwsgiwire import decode

MARKER = 'ruaprobe-0123abcd'
SESSION = 'S3ss10nV4lue'


def test_credentials_go_only_with_the_probe_to_the_front_end(monkeypatch):
    """The test account's Basic credentials: on the probe's requests to
    the front end; not on the /login referer checks (Trac's real login
    would log the account in), not to the backend directly, and never
    in place of a forged Authorization header."""
    import base64
    from remoteuserauth.selftest import client as probeclient
    sent = []

    def request(self, scheme, host, port, target, host_header, headers,
                source):
        sent.append((target, dict(headers).get('Authorization')))
        return 404, [], b''
    monkeypatch.setattr(probeclient.Site, '_request', request)
    site = probeclient.Site('http://trac.example.com/prefix',
                            credentials=('alice', 'pässword'))
    plan = selftest.plan(selftest.Config('Remote-User', '', '', False, True),
                         MARKER, ('/login',))
    for probe in plan:
        site.send(probe, 'TOKEN')
    site.send(plan[0], 'TOKEN', connect=('127.0.0.1', 8000))
    mine = 'Basic ' + base64.b64encode('alice:pässword'.encode()).decode()
    by_variant = dict(zip([p.variant for p in plan] + ['direct'], sent))
    assert by_variant['baseline'][1] == mine
    assert by_variant['header'][1] == mine
    assert by_variant['basic'][1] == selftest.forged_basic(MARKER)
    assert by_variant['referer-crlf'][1] is None
    assert by_variant['referer-foreign'][1] is None
    assert by_variant['direct'][1] is None


def test_session_goes_only_with_the_probe_to_the_front_end(monkeypatch):
    """The session of --cookie-file goes where the test account's
    credentials go, and beside the second forged Authorization; not
    beside the first (an unchecked name without any session is another
    hole), not with the /login referer checks (Trac's real login), not
    to the backend directly."""
    from remoteuserauth.selftest import client as probeclient
    sent = []

    def request(self, scheme, host, port, target, host_header, headers,
                source):
        sent.append((dict(headers).get('Cookie'),
                     dict(headers).get('Authorization')))
        return 404, [], b''
    monkeypatch.setattr(probeclient.Site, '_request', request)
    site = probeclient.Site('https://trac.example.com/prefix',
                            cookies=[('authsession', SESSION),
                                     ('other', '"quoted"')])
    plan = selftest.plan(selftest.Config('Remote-User', '', '', False, True),
                         MARKER, ('/login',), session=True)
    for probe in plan:
        site.send(probe, 'TOKEN')
    site.send(plan[0], 'TOKEN', connect=('127.0.0.1', 8000))
    mine = 'authsession=%s; other="quoted"' % SESSION
    by_variant = dict(zip([p.variant for p in plan] + ['direct'], sent))
    assert by_variant['baseline'] == (mine, None)
    assert by_variant['header'][0] == mine
    assert by_variant['basic'] == (None, selftest.forged_basic(MARKER))
    assert by_variant['basic-session'] == (
        mine, selftest.forged_basic(MARKER, 'basic-session'))
    assert by_variant['referer-crlf'] == (None, None)
    assert by_variant['referer-foreign'] == (None, None)
    assert by_variant['direct'] == (None, None)
    # A cookie the header could not carry is refused before anything
    # is sent, without its value.
    with pytest.raises(ValueError) as e:
        probeclient.Site('https://x/', cookies=[('a', SESSION + '\r\n')])
    assert SESSION not in str(e.value)


# A uWSGI socket, written to in the uwsgi protocol

class OneConnection(threading.Thread):
    """A server on a loopback port, in this process, that takes one
    connection, reads it to its end and writes `answer` (or closes
    without a word, as uWSGI's http-socket does with a uwsgi request);
    `received` is what it read, `peer` who wrote it."""

    def __init__(self, answer):
        threading.Thread.__init__(self, daemon=True)
        self.answer = answer
        self.received = self.peer = None
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.port = self.sock.getsockname()[1]
        self.start()

    def run(self):
        conn, self.peer = self.sock.accept()
        with conn:
            conn.settimeout(30)
            data = b''
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.received = data
            if self.answer:
                conn.sendall(self.answer)
        self.sock.close()


def probe_answer(accepted):
    """The probe's answer, as uWSGI writes Trac's: an HTTP response."""
    report = selftest.report(
        {'REMOTE_ADDR': '127.0.0.2'}, selftest.Config('', '', '', False,
                                                      True),
        decision.Decision(accepted, 'server', False, None, None,
                          '127.0.0.2', None, accepted, ()),
        'verdict', None, '', 'https://trac.example.com/prefix', '1.0')
    body = json.dumps(report).encode()
    return b'HTTP/1.1 200 OK\r\nContent-Type: application/json;' \
        b'charset=utf-8\r\nContent-Length: %d\r\n\r\n' % len(body) + body


def test_a_uwsgi_request_to_the_backend():
    """The forged REMOTE_USER and the probe's token, in a uwsgi request
    that says where it comes from; never the test account's credentials
    nor the session; the probe's answer read back."""
    from remoteuserauth.selftest import client as probeclient
    server = OneConnection(probe_answer(MARKER + '-uwsgi'))
    site = probeclient.Site('https://trac.example.com/prefix',
                            credentials=('alice', 'secret'),
                            cookies=[('authsession', SESSION)])
    exchange = site.send_uwsgi(uwsgi_probe(MARKER, '/'), 'TOKEN',
                               ('127.0.0.1', str(server.port)), '127.0.0.2',
                               '127.0.0.1:%d' % server.port)
    server.join(30)
    assert exchange.error is None, exchange.error
    assert exchange.status == 200
    assert exchange.report['decision']['accepted'] == MARKER + '-uwsgi'
    assert exchange.probe.variant == 'uwsgi'
    assert exchange.target == ('127.0.0.1', str(server.port))
    assert exchange.source == '127.0.0.2' == server.peer[0]
    modifier1, modifier2, variables = decode(server.received)
    assert (modifier1, modifier2) == (0, 0)
    found = dict(variables)
    assert found[b'REMOTE_USER'] == (MARKER + '-uwsgi').encode()
    assert found[b'QUERY_STRING'] == b'remoteuser-probe=TOKEN'
    assert found[b'PATH_INFO'] == b'/prefix/'
    assert found[b'REMOTE_ADDR'] == b'127.0.0.2'
    assert found[b'REMOTE_PORT'] == str(server.peer[1]).encode()
    assert found[b'HTTP_HOST'] == ('127.0.0.1:%d' % server.port).encode()
    sent = b''.join(n + v for n, v in variables)
    assert SESSION.encode() not in sent and b'secret' not in sent
    assert not [n for n in found if n in (b'HTTP_AUTHORIZATION',
                                          b'HTTP_COOKIE')]


def test_a_socket_that_does_not_speak_uwsgi():
    """A socket that closes on a uwsgi request (uWSGI's http-socket, or
    any HTTP server once the request is whole) is an error at once, not
    a wait for the timeout."""
    from remoteuserauth.selftest import client as probeclient
    server = OneConnection(None)
    site = probeclient.Site('http://trac.example.com/prefix', timeout=60)
    exchange = site.send_uwsgi(uwsgi_probe(MARKER, '/'), 'TOKEN',
                               ('127.0.0.1', server.port))
    server.join(30)
    assert exchange.report is None and exchange.status == 0
    assert exchange.error == 'closed the connection without an answer'
    assert decode(server.received)[2]


@pytest.mark.parametrize('uwsgi_answers, sent', [
    # A uWSGI socket that answers as the probe: HTTP never tried (it
    # would wait for the rest of what a uwsgi request announces).
    ('report', ['uwsgi']),
    # One that answers, but not as the probe: the root next, in uwsgi.
    (404, ['uwsgi', 'uwsgi']),
    # An http-socket: HTTP then, below the prefix and the root.
    ('closed', ['uwsgi', 'http', 'http']),
    (None, ['http', 'http']),
])
def test_the_direct_check_of_a_uwsgi_backend(monkeypatch, uwsgi_answers,
                                             sent):
    from remoteuserauth.selftest import client as probeclient
    calls = []

    def send_uwsgi(self, probe, token, connect, source=None,
                   host_header=None, prefix=None):
        calls.append('uwsgi')
        if uwsgi_answers == 'closed':
            return selftest.Exchange(probe, 0, [], None, 'closed', connect,
                                     source)
        return selftest.Exchange(
            probe, 200 if uwsgi_answers == 'report' else uwsgi_answers, [],
            {'probe': 'remoteuserauth'} if uwsgi_answers == 'report'
            else None, None, connect, source)

    def send(self, probe, token, connect=None, source=None,
             host_header=None, prefix=None):
        calls.append('http')
        return selftest.Exchange(probe, 404, [], None, None, connect, source)
    monkeypatch.setattr(probeclient.Site, 'send_uwsgi', send_uwsgi)
    monkeypatch.setattr(probeclient.Site, 'send', send)
    site = probeclient.Site('https://trac.example.com/prefix')
    found = probeclient.run_direct(
        site, [('127.0.0.1', '3031')], [],
        selftest.direct_probe(MARKER, 'Remote-User', '/'), 'TOKEN',
        None if uwsgi_answers is None else uwsgi_probe(MARKER, '/'))
    assert calls == sent
    assert len(found) == 1
    assert found[0].probe.variant == sent[-1].replace('http', 'direct')
