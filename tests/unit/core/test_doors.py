"""Who may log a name in (`core.doors`): the rules, table-driven, on the
pure functions the authenticator and TracAccountManager's doors share."""

import pytest

from remoteuserauth.core import doors, names


def policy(lowercase=False, groups=('developers',), local_domains=()):
    def clean(raw):
        return names.clean_name(raw, True, lowercase, groups,
                                frozenset(d.casefold()
                                          for d in local_domains))
    return clean


OWNED = doors.owners(['bobby', 'alice'])


# (name, door, expected rule or None)
OTHER_DOORS = [
    ('carol', doors.PASSWORD, None),            # nobody's: a guest's
    ('bobby', doors.PASSWORD, doors.OWNED),     # the front end's
    ('Bobby', doors.REGISTRATION, doors.LOOKALIKE),
    ('BOBBY', doors.RESET, doors.LOOKALIKE),
    ('bobby', doors.COOKIE, None),              # the front end's own login
    ('Bobby', doors.COOKIE, doors.LOOKALIKE),   # another door's cookie
    ('bobby', doors.ADMIN, doors.OWNED),
    ('developers', doors.REGISTRATION, names.GROUP),
    ('Developers', doors.PASSWORD, names.GROUP),
    ('anonymous', doors.COOKIE, names.RESERVED),
    ('bob@OTHER.REALM', doors.PASSWORD, names.FOREIGN),
    ('al\u00a0ice', doors.REGISTRATION, names.SPACE),
    ('\uff41lice', doors.REGISTRATION, names.UNICODE),
    ('x' * 256, doors.REGISTRATION, names.TOO_LONG),
    ('a,b', doors.PASSWORD, names.COMMA),
    ('@admins', doors.REGISTRATION, names.AMBIGUOUS),
    ('~bobby', doors.REGISTRATION, names.SYNTAX),
    ('bo\ud800by', doors.PASSWORD, names.CONTROL),
]


@pytest.mark.parametrize('name, door, rule', OTHER_DOORS,
                         ids=[ascii(c[0])[:20] + '-' + c[1]
                              for c in OTHER_DOORS])
def test_other_doors(name, door, rule):
    refusal = doors.other_door(name, door, doors.clean(name, policy()),
                               OWNED)
    assert (refusal and refusal.rule) == rule
    if refusal:
        assert refusal.reason


def test_a_local_domain_the_front_end_strips_makes_a_look_alike():
    clean = policy(local_domains=['EXAMPLE.COM'])
    refusal = doors.other_door('bobby@example.com', doors.PASSWORD,
                               doors.clean('bobby@example.com', clean),
                               OWNED)
    assert refusal.rule == doors.LOOKALIKE
    assert 'bobby' in refusal.reason


def test_no_owner_no_refusal_but_the_policy():
    nobody = doors.owners(())
    assert doors.other_door('bobby', doors.PASSWORD,
                            doors.clean('bobby', policy()), nobody) is None


FRONT_DOOR = [
    # (name, local accounts, expected rule, recorded)
    ('alice', ['alice'], None, False),          # already the front end's
    ('carol', [], None, True),                  # a first login
    ('carol', ['carol'], doors.LOCAL_ACCOUNT, False),
    ('carol', ['Carol'], doors.LOCAL_ACCOUNT, False),
    ('carol', ['carol@example.com'], doors.LOCAL_ACCOUNT, False),
    ('carol', ['carola'], None, True),
]


@pytest.mark.parametrize('name, accounts, rule, record', FRONT_DOOR)
def test_front_door(name, accounts, rule, record):
    clean = policy(local_domains=['example.com'])

    def key(account):
        cleaned = doors.clean(account, clean)
        return doors.key(cleaned.name or account)
    refusal, recorded = doors.front_door(name, OWNED, accounts, key)
    assert (refusal and refusal.rule) == rule
    assert recorded == record
    if refusal:
        assert 'remoteuser adopt %s' % name in refusal.reason


def test_clean_reads_a_name_as_written():
    # A form's text is read as these characters, never as latin-1 bytes
    # of a header: 'Ã©' stays two characters.
    assert doors.clean('Ã©', policy()).name == 'Ã©'
    assert doors.clean('josé', policy()).name == 'josé'
