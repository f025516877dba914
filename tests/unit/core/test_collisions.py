"""remoteuser collisions: whose names a new name policy would merge,
rename or lock out; the grouping directly, then the command on a real
environment."""

import io

import pytest

from conftest import logged_in_as
from remoteuserauth.core import names
from remoteuserauth.core.collisions import (Policy, evaluate, parse_policy,
                                       policy_name, report_lines, shown)

CURRENT = Policy(strip_domain=True, lowercase=False, local_domains=(),
                 ignore_auth_case=False)
FOLDING = Policy(strip_domain=True, lowercase=True,
                 local_domains=('EXAMPLE', 'Example.COM'),
                 ignore_auth_case=False)

OCCURRENCES = {
    'JDoe': {'session': 1, 'permission': 2},
    'jdoe': {'session': 1, 'ticket owner': 3},
    'JDOE': {'ticket cc': 1},
    'Alice': {'session': 1, 'ticket reporter': 4},
    'bob': {'session': 1},
    'EXAMPLE\\bob': {'session': 1, 'login cookie': 1},
    'carol': {'permission': 1},
    'carol@example.com': {'ticket cc': 2},
    'dave@elsewhere.org': {'ticket cc': 1},
    'anonymous': {'ticket reporter': 5},
    'authenticated': {'permission': 3},
    'developers': {'session': 1},
    '\uff4adoe': {'session': 1},               # full-width j
    'EXAMPLE\\Mallory': {'wiki author': 1},
    '': {'ticket owner': 7},
}


@pytest.mark.parametrize('args, expected', [
    ([], CURRENT),
    (['lowercase'], CURRENT._replace(lowercase=True)),
    (['LOWERCASE=yes', 'lowercase=off'], CURRENT),
    (['ignore_auth_case'], CURRENT._replace(ignore_auth_case=True)),
    (['strip_domain=false'], CURRENT._replace(strip_domain=False)),
    (['local_domains=EXAMPLE, example.com ,'],
     CURRENT._replace(local_domains=('EXAMPLE', 'example.com'))),
    (['local_domains='], CURRENT),
])
def test_parse_policy(args, expected):
    assert parse_policy(args, CURRENT) == expected


@pytest.mark.parametrize('arg', ['lowercase=maybe', 'frobnicate',
                                 'local_domains', 'strip_domain=',
                                 'secret=x'])
def test_parse_policy_refuses(arg):
    with pytest.raises(ValueError):
        parse_policy([arg], CURRENT)


def test_folding_policy():
    report = evaluate(OCCURRENCES, FOLDING, groups={'developers'})
    assert report.merged == [
        ('bob', [('EXAMPLE\\bob', {'session': 1, 'login cookie': 1}),
                 ('bob', {'session': 1})]),
        ('carol', [('carol', {'permission': 1}),
                   ('carol@example.com', {'ticket cc': 2})]),
        ('jdoe', [('JDOE', {'ticket cc': 1}),
                  ('JDoe', {'session': 1, 'permission': 2}),
                  ('jdoe', {'session': 1, 'ticket owner': 3})]),
    ]
    assert report.renamed == [('Alice', 'alice',
                               {'session': 1, 'ticket reporter': 4})]
    refused = {name: reason for name, places, reason in report.refused}
    assert sorted(refused) == ['developers', '\uff4adoe']
    assert 'permission group' in refused['developers']
    assert 'NFKC' in refused['\uff4adoe']
    # Names in fields only: refused, but nobody logs in as them.
    assert report.unaccounted == 1    # dave@elsewhere.org
    # EXAMPLE\Mallory becomes mallory, whom nobody else is: a field
    # value only, not an account, so not reported as renamed.
    assert 'EXAMPLE\\Mallory' not in [r[0] for r in report.renamed]


def test_current_policy_merges_nothing():
    report = evaluate(OCCURRENCES, CURRENT, groups={'developers'})
    assert report.merged == [] and report.renamed == []
    refused = {name: reason for name, places, reason in report.refused}
    assert sorted(refused) == ['EXAMPLE\\bob', 'developers', '\uff4adoe']
    assert 'local_domains' in refused['EXAMPLE\\bob']
    assert report.unaccounted == 3    # the e-mail addresses, Mallory


def test_ignore_auth_case_folds_like_lowercase():
    policy = CURRENT._replace(ignore_auth_case=True)
    report = evaluate(OCCURRENCES, policy)
    assert [target for target, members in report.merged] == ['jdoe']
    assert [name for name, target, places in report.renamed] == ['Alice']
    assert evaluate(OCCURRENCES, CURRENT._replace(lowercase=True)) == report


def test_whole_names_kept():
    report = evaluate(OCCURRENCES, CURRENT._replace(strip_domain=False))
    assert report.merged == [] and report.renamed == []
    assert [name for name, p, r in report.refused] == ['\uff4adoe']


def test_policy_name_is_the_request_cleaning():
    for name in OCCURRENCES:
        if not name:
            continue
        for policy in (CURRENT, FOLDING):
            expected = names.clean_name(
                name.encode('utf-8').decode('latin-1'),
                strip_domain=policy.strip_domain,
                lowercase=policy.lowercase,
                groups=('developers',),
                local_domains=names.parse_local_domains(
                    policy.local_domains)[0])
            assert policy_name(name, policy, ('developers',)) == expected
    assert policy_name('Jos\xe9', FOLDING).name == 'jos\xe9'
    assert policy_name('x\udcff', FOLDING).rule == names.CONTROL


def test_report_lines():
    lines = report_lines(evaluate(OCCURRENCES, FOLDING, {'developers'}),
                         FOLDING)
    assert lines[0] == ('policy: strip_domain=true local_domains=EXAMPLE,'
                        'Example.COM lowercase=true [trac] '
                        'ignore_auth_case=false')
    assert lines[1] == ('merged into bob: EXAMPLE\\bob (session, login '
                        'cookie) + bob (session)')
    assert lines[3] == ('merged into jdoe: JDOE (ticket cc) + JDoe (session, '
                        'permission x2) + jdoe (session, ticket owner x3)')
    assert lines[4] == ('renamed: Alice (session, ticket reporter x4) would '
                        'log in as alice, without what Alice holds')
    assert lines[5].startswith("locked out: developers (session): ")
    assert lines[6].startswith("locked out: '\\uff4adoe' (session): ")
    assert lines[-2].startswith('(1 more names the policy refuses')
    assert lines[-1] == ('3 group(s) of names would merge, 1 account(s) '
                         'would be renamed, 2 locked out')
    bad = report_lines(evaluate({}, CURRENT._replace(
        local_domains=('a b',))), CURRENT._replace(local_domains=('a b',)))
    assert bad[1].startswith("warning: [remoteuser] local_domains: 'a b'")


@pytest.mark.parametrize('name, text', [
    ('EXAMPLE\\bob', 'EXAMPLE\\bob'),
    ('jos\xe9', 'jos\xe9'),
    ('\uff4adoe', "'\\uff4adoe'"),
    ('jose\u0301', "'jose\\u0301'"),
    ('a b', "'a b'"),
    ('', "''"),
    ('x)+(y', "'x)+(y'"),
    ('\x1b[31mroot', "'\\x1b[31mroot'"),
    ('ad\u202emin', "'ad\\u202emin'"),
    ('a\u2028b', "'a\\u2028b'"),
])
def test_shown_names_cannot_fool_a_terminal(name, text):
    assert shown(name) == text


# The command, on a real environment

@pytest.fixture
def users_env(make_env):
    """Sessions, permissions, tickets, a component, a wiki page and an
    attachment, made the way Trac makes them."""
    from trac.attachment import Attachment
    from trac.ticket.model import Ticket
    from trac.wiki.model import WikiPage
    env = make_env(('remoteuser', 'local_domains', 'EXAMPLE'))
    for name in ('JDoe', 'jdoe', 'Alice', 'bob'):
        r = env.request('/', headers=[('Remote-User', name)])
        assert logged_in_as(r) == name
    env.admin('permission add JDoe TICKET_ADMIN')
    env.admin('permission add developers WIKI_ADMIN')
    env.admin('permission add bob developers')
    env.admin('component chown component1 JDOE')
    trac = env.env()
    ticket = Ticket(trac)
    ticket.populate({'summary': 'one', 'reporter': 'jdoe', 'owner': 'Bob',
                     'cc': 'JDOE, alice@example.com; carol'})
    ticket.insert()
    ticket['status'] = 'accepted'
    ticket.save_changes(author='JDoe', comment='mine')
    ticket = Ticket(trac)
    ticket.populate({'summary': 'two', 'reporter': 'jdoe', 'owner': 'jdoe',
                     'cc': 'jdoe'})
    ticket.insert()
    page = WikiPage(trac, 'Notes')
    page.text = 'notes'
    page.save('EXAMPLE\\alice', 'created')
    attachment = Attachment(trac, 'wiki', 'Notes')
    attachment.author = 'ALICE'
    attachment.insert('a.txt', io.BytesIO(b'a'), 1)
    return env


def collisions(env, *args):
    return env.admin('remoteuser collisions', *args).strip().splitlines()


def test_command_with_the_current_policy(users_env):
    lines = collisions(users_env)
    assert lines[0] == ('policy: strip_domain=true local_domains=EXAMPLE '
                        'lowercase=false [trac] ignore_auth_case=false')
    assert lines[-1] == ('0 group(s) of names would merge, 0 account(s) '
                         'would be renamed, 0 locked out')
    # EXAMPLE\alice (a wiki author) becomes alice, whom nobody is yet.
    assert '(1 more names' in lines[-2]     # alice@example.com


def test_command_with_lowercase(users_env):
    lines = collisions(users_env, 'lowercase')
    assert 'merged into jdoe: JDOE (component owner, ticket cc) + JDoe ' \
           '(session, permission, ticket change author) + jdoe (session, ' \
           'ticket cc, ticket owner, ticket reporter x2)' in lines
    assert 'merged into bob: Bob (ticket owner) + bob (session, ' \
           'permission)' in lines
    assert 'merged into alice: ALICE (attachment author) + Alice ' \
           '(session) + EXAMPLE\\alice (wiki author)' in lines
    assert lines[-1] == ('3 group(s) of names would merge, 0 account(s) '
                         'would be renamed, 0 locked out')
    assert not any('developers' in line for line in lines)
    # trac.ini decides without arguments; arguments override it.
    users_env.configure('trac', ignore_auth_case='true')
    assert collisions(users_env)[1:] == lines[1:]
    assert collisions(users_env, 'ignore_auth_case=false')[-1] == \
        lines[-1].replace('3 group(s)', '0 group(s)')


def test_command_locks_out_and_renames(users_env):
    users_env.admin('permission add EXAMPLE\\\\dave TICKET_VIEW')
    users_env.admin('permission add Zed TICKET_VIEW')
    lines = collisions(users_env, 'lowercase', 'local_domains=')
    assert any(line.startswith('locked out: EXAMPLE\\dave (permission): ')
               and 'local_domains' in line for line in lines)
    assert 'renamed: Zed (permission) would log in as zed, without what ' \
           'Zed holds' in lines
    lines = collisions(users_env, 'strip_domain=false')
    assert lines[-1] == ('0 group(s) of names would merge, 0 account(s) '
                         'would be renamed, 0 locked out')


def test_command_matches_real_logins(users_env):
    """What the command predicts is what a request then does."""
    users_env.configure('remoteuser', lowercase='true')
    lines = collisions(users_env)
    assert 'merged into jdoe:' in ' '.join(lines)
    for sent, expected in (('JDoe', 'jdoe'), ('EXAMPLE\\Alice', 'alice'),
                           ('Bob', 'bob')):
        r = users_env.request('/', headers=[('Remote-User', sent)])
        assert logged_in_as(r) == expected


def test_command_usage_and_completion(users_env):
    from trac.admin.console import TracAdmin
    console = TracAdmin()
    console.env_set(users_env.path, users_env.env())
    assert console.onecmd('remoteuser collisions lowercase=perhaps') == 2
    assert console.onecmd('remoteuser collisions secret=x') == 2
    done = sorted(c.strip() for c in console.complete_line(
        '', 'remoteuser collisions lowercase '))
    assert done == ['ignore_auth_case', 'ignore_auth_case=false',
                    'local_domains=', 'strip_domain=false',
                    'strip_domain=true']
    done = [c.strip() for c in console.complete_line(
        '', 'remoteuser collisions local_domains=')]
    assert 'local_domains=EXAMPLE' in done
