from remoteuserauth.decision import explain as diagnostics
from remoteuserauth.core import names
from remoteuserauth.decision import decide, make_settings


def test_risky_settings():
    assert diagnostics.risky_settings(make_settings()) == []
    everyone = diagnostics.risky_settings(
        make_settings(trusted_proxies=['0.0.0.0/0', '::/0']))
    assert len(everyone) == 1 and 'trusts every address' in everyone[0]
    assert '0.0.0.0/0, ::/0' in everyone[0]
    empty = diagnostics.risky_settings(make_settings(trusted_proxies=[]))
    assert empty == ['[remoteuser] trusted_proxies is empty: the header '
                     'Remote-User is never believed']
    secret = diagnostics.risky_settings(make_settings(secret='x'))
    assert any('secret_header and secret must be set together' in w
               for w in secret)
    assert diagnostics.risky_settings(make_settings(header='')) == []


def test_verdict_names_rule_and_what_to_change():
    s = make_settings()
    for value, rule in (('a,b', names.COMMA), ('admins', names.GROUP),
                        ('anonymous', names.RESERVED),
                        ('(null)', names.NULL), ('x' * 300, names.TOO_LONG),
                        ('a\x00', names.CONTROL)):
        d = decide({'REMOTE_ADDR': '::1', 'HTTP_REMOTE_USER': value}, s,
                   {'admins'})
        line = diagnostics.verdict_line(d)
        assert line.startswith('refused: ') and 'rule: %s' % rule in line
    d = decide({'REMOTE_ADDR': '::1'}, s)
    assert diagnostics.verdict_line(d).startswith('refused: no user name')
    d = decide({'REMOTE_ADDR': '::1', 'REMOTE_USER': 'bob'}, s)
    assert diagnostics.verdict_line(d) == 'accepted: bob'


def test_trust_explanation():
    s = make_settings()
    d = decide({'REMOTE_ADDR': '10.1.1.1'}, s)
    assert diagnostics.trust_explanation(d, s) == (
        '10.1.1.1 is not trusted: it is in none of 127.0.0.1/32, ::1/128 '
        '([remoteuser] trusted_proxies)')
    empty = make_settings(trusted_proxies=[])
    assert 'lists no usable address' in diagnostics.trust_explanation(
        decide({'REMOTE_ADDR': '::1'}, empty), empty)


def test_every_rule_has_a_hint():
    assert set(diagnostics._HINTS) == set(names.RULES)
