"""What the self-test's client sends where (`selftest.client`): the
test account's credentials and the front end's session go only with
the probe's requests to the front end, never to the backend directly,
never on the /login referer checks, never in place of a forged header.
The sockets are replaced by a recorder: nothing leaves the process."""

import pytest

from remoteuserauth import selftest

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
