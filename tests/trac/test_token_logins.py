"""Personal access tokens through real requests: a script's way in beside
the single sign-on, on the API paths only, refused with 401 and no
cookie in every other case."""

import base64
import re
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import whoami  # noqa: F401  (the page that says who is logged in)
from conftest import cookies, logged_in_as
from remoteuserauth.core import tokens as core

TOKENS = [('remoteuser', 'tokens', 'true'),
          ('components', 'whoami.*', 'enabled')]
API = '/login/rpc'
PEER = '192.0.2.20'        # a script's address: not a trusted proxy


@pytest.fixture
def site(make_env):
    env = make_env(*TOKENS)
    env.admin('permission add admins TRAC_ADMIN')
    env.admin('permission add carol admins')
    return env


def make_token(env, user='alice', *args):
    out = env.admin('remoteuser token add', user, *args)
    return out.strip().splitlines()[-1]


def bearer(token):
    return [('Authorization', 'Bearer ' + token)]


def basic(user, password):
    return [('Authorization', 'Basic ' + base64.b64encode(
        ('%s:%s' % (user, password)).encode('utf-8')).decode('ascii'))]


def call(env, headers, path=API, peer=PEER, **kwargs):
    return env.request(path, headers=headers, peer=peer, **kwargs)


def authname(response):
    match = re.search(r'authname=(.*)', response.body)
    return match.group(1) if match else None


def refused(response):
    assert response.status == 401, response.body[:300]
    assert response.headers and dict(response.headers)[
        'WWW-Authenticate'].startswith('Bearer')
    assert not cookies(response), response.headers
    return True


def test_a_token_acts_as_its_owner_on_the_api_paths(site):
    token = make_token(site)
    for headers in (bearer(token), basic('alice', token)):
        for path in ('/login/rpc', '/login/xmlrpc', '/login/jsonrpc',
                     '/ticketrpc', '/login/rpc/'):
            r = call(site, headers, path)
            assert r.status == 200 and authname(r) == 'alice', path
            assert 'trac_auth' not in cookies(r)
    assert r.environ['remoteuserauth.door'] == 'personal access token'


@pytest.mark.parametrize('path', ['/wiki/WikiStart', '/login/rpc/x',
                                  '/api/other', '/login',
                                  # Near spellings of a token path, which
                                  # its exact match must not take.
                                  '/Login/rpc', '//login/rpc',
                                  '/login/rpc;x', '/login/rpc '])
def test_a_token_is_no_login_anywhere_else(site, path):
    token = make_token(site)
    r = call(site, bearer(token), path)
    assert r.status in (200, 302, 404)
    assert logged_in_as(r) is None and authname(r) in (None, 'anonymous')
    assert 'trac_auth' not in cookies(r)


def test_only_the_digest_is_kept_and_nothing_shows_the_token(site):
    token = make_token(site)
    rows = site.db("SELECT id, owner, name, digest FROM remoteuser_token")
    assert rows[0][3] == core.digest(token)
    assert token not in repr(rows)
    listing = site.admin('remoteuser token list')
    assert rows[0][0] in listing and token not in listing
    call(site, bearer(token + 'x'))
    call(site, bearer(token))
    assert token not in site.log() and token[8:30] not in site.log()


# Each way a presented token is refused: 401, no cookie, anonymous.
def expired(env):
    token = make_token(env)
    with env.env().db_transaction as db:
        db("UPDATE remoteuser_token SET expires=%s", (int(time.time()) - 1,))
    return bearer(token), {}


def removed(env):
    token = make_token(env)
    ident = env.db("SELECT id FROM remoteuser_token")[0][0]
    env.admin('remoteuser token remove', ident)
    return bearer(token), {}


def revoked(env):
    token = make_token(env)
    env.admin('remoteuser revoke alice')
    return bearer(token), {}


def other_user(env):
    return basic('bob', make_token(env)), {}


def owner_became_a_group(env):
    token = make_token(env)
    env.admin('permission add alice WIKI_ADMIN')
    env.admin('permission add dave alice')
    return bearer(token), {}


def front_end_names_another(env):
    return bearer(make_token(env)), {'headers_extra': [('Remote-User',
                                                        'bob')],
                                     'peer': '127.0.0.1'}


def malformed(env):
    token = make_token(env)
    return bearer(token[:-1] + ('A' if token[-1] != 'A' else 'B')), {}


def unknown(env):
    return bearer(core.new_token()), {}


REFUSALS = [expired, removed, revoked, other_user, owner_became_a_group,
            front_end_names_another, malformed, unknown]


@pytest.mark.parametrize('case', REFUSALS, ids=[c.__name__
                                                for c in REFUSALS])
def test_refused_tokens(site, case):
    headers, extra = case(site)
    cookie = site.stale_cookie('alice')
    headers = headers + [cookie] + extra.pop('headers_extra', [])
    site.log()
    r = call(site, headers, peer=extra.get('peer', PEER))
    assert refused(r)
    assert authname(r) is None
    log = site.log()
    assert 'refused a token' in log and 'Traceback' not in log


def test_a_cookie_on_an_api_path_is_no_api_login(site):
    r = call(site, [site.stale_cookie('alice')])
    assert r.status == 200 and authname(r) == 'anonymous'
    # Elsewhere the cookie is the login it always was.
    r = call(site, [site.stale_cookie('alice')], '/wiki/WikiStart')
    assert logged_in_as(r) == 'alice'


def test_the_front_end_may_still_name_the_user_on_an_api_path(site):
    r = call(site, [('Remote-User', 'alice')], peer='127.0.0.1')
    assert authname(r) == 'alice'
    token = make_token(site)
    r = call(site, bearer(token) + [('Remote-User', 'alice')],
             peer='127.0.0.1')
    assert authname(r) == 'alice'


def test_tokens_off_reads_no_token(make_env):
    env = make_env(('components', 'whoami.*', 'enabled'))
    token = make_token(env)
    r = call(env, bearer(token))
    assert r.status == 200 and authname(r) == 'anonymous'
    # Without tokens, an API path is an ordinary page: cookies count.
    r = call(env, [env.stale_cookie('alice')])
    assert authname(r) == 'alice'


def test_refusals_are_logged_once_per_peer_and_kind(site):
    site.log()
    for i in range(10):
        call(site, bearer(core.new_token()))
    log = site.log()
    assert len([line for line in log.splitlines()
                if 'refused a token' in line and 'WARNING' in line]) == 1


def test_the_last_use_is_written_once_in_ten_minutes(site):
    token = make_token(site)
    assert site.db("SELECT last_used FROM remoteuser_token") == [(0,)]
    call(site, bearer(token))
    first, = site.db("SELECT last_used FROM remoteuser_token")[0]
    assert first > 0
    from remoteuserauth.tokens import PersonalTokens
    tokens = PersonalTokens(site.env())
    record = tokens.records()[0]
    tokens.touch(record, now=first + 599)
    assert site.db("SELECT last_used FROM remoteuser_token") == [(first,)]
    tokens.touch(record, now=first + 600)
    assert site.db("SELECT last_used FROM remoteuser_token") == \
        [(first + 600,)]


def test_lookups_are_by_digest_only(site, monkeypatch):
    """How long a look-up takes cannot depend on how much of a guess is
    right: the token is never compared, only its SHA-256 is looked up,
    in the table the cache holds (no statement of its own)."""
    from remoteuserauth.tokens import PersonalTokens
    token = make_token(site)
    tokens = PersonalTokens(site.env())
    looked_up = []

    class Recorder(dict):
        def get(self, key, default=None):
            looked_up.append(key)
            return dict.get(self, key, default)
    records = Recorder(tokens._records)
    monkeypatch.setattr(PersonalTokens, '_records',
                        property(lambda self: records))
    guesses = [token[:-7] + token[-7] + 'AAAAAA', 'tracpat_' + 'A' * 49,
               token[:20] + 'x' * (len(token) - 20), token]
    verdicts = [tokens.verify(core.Presented(g, None)) for g in guesses]
    assert [v[0] is not None for v in verdicts] == [False] * 3 + [True]
    # Every guess is looked up by its digest; the checksum is looked at
    # only afterwards, to say why a guess was refused.
    assert looked_up == [core.digest(g) for g in guesses]
    assert all(re.match(r'[0-9a-f]{64}\Z', key) for key in looked_up)
    assert [v[1].rule for v in verdicts[:3]] == [
        core.MALFORMED if not core.is_well_formed(g) else core.UNKNOWN
        for g in guesses[:3]]


@pytest.mark.parametrize('value, rule', [
    ('tracpat_' + 'A' * 49, core.MALFORMED),          # checksum wrong
    ('tracpat_\udc80' + 'A' * 48, core.MALFORMED),    # a lone surrogate
    ('tracpat_' + '\x00' * 49, core.MALFORMED),
    ('tracpat_' + 'A' * 5000, core.MALFORMED),
    ('tracpat_', core.MALFORMED),
    ('tracpat_\u0661' * 7, core.MALFORMED),            # other digits
    (core.new_token(), core.UNKNOWN)])
def test_why_a_token_is_refused(site, value, rule):
    """A refused token is refused for the right reason, whatever it
    holds: the digest is taken of any text without an error."""
    from remoteuserauth.tokens import PersonalTokens
    make_token(site)
    record, refusal = PersonalTokens(site.env()).verify(
        core.Presented(value, None))
    assert record is None and refusal.rule == rule


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=core.LENGTH - 1),
       st.characters(codec='ascii'))
def test_no_token_that_differs_from_a_valid_one_is_accepted(site, i, char):
    from remoteuserauth.tokens import PersonalTokens
    tokens = PersonalTokens(site.env())
    if not tokens.records():
        site.tokens_made = make_token(site)
    token = site.tokens_made
    changed = token[:i] + char + token[i + 1:]
    record, refusal = tokens.verify(core.Presented(changed, None))
    assert (record is not None) == (changed == token)


# The administrator's commands.

def test_token_commands(site, capsys):
    out = site.admin('remoteuser token add alice --name=ci --days=400')
    token = out.strip().splitlines()[-1]
    assert core.is_well_formed(token)
    assert 'shown once' in out
    listing = site.admin('remoteuser token list alice')
    assert 'ci' in listing and token not in listing
    ident = site.db("SELECT id FROM remoteuser_token")[0][0]
    assert '%s (ci) of alice' % ident in site.admin(
        'remoteuser token remove', ident)
    for args, message in ((('add',), 'needs a user'),
                          (('add', 'alice', '--days=0'), 'at least 1'),
                          (('add', 'alice', '--name=\x01'), 'printable'),
                          (('add', 'admins'), 'refused by the name policy'),
                          (('add', 'alice', '--bogus'), 'unknown argument'),
                          (('remove', 'nope'), 'no token'),
                          (('frobnicate',), 'expected')):
        capsys.readouterr()
        rv, _ = site.admin_rv('remoteuser token', *args)
        assert rv not in (0, None), args
        assert message in capsys.readouterr().err, args


def test_revoke_removes_tokens_with_every_login(site):
    token = make_token(site)
    site.stale_cookie('alice')
    out = site.admin('remoteuser revoke alice')
    assert 'Forgot 2 logins of alice' in out
    assert refused(call(site, bearer(token)))


def test_tokens_need_the_upgrade_once(tmp_path):
    from trac.env import Environment
    from conftest import TracEnv
    env = TracEnv(str(tmp_path / 'env'))
    trac = env.env()
    with trac.db_transaction as db:
        db("DROP TABLE remoteuser_token")
        db("UPDATE system SET value='2' WHERE name='remoteuserauth_version'")
    from remoteuserauth.bindings import AccountBindings
    assert not AccountBindings(trac).environment_needs_upgrade()
    env.configure('remoteuser', tokens='true')
    fresh = Environment(env.path)
    try:
        assert fresh.needs_upgrade()
        fresh.upgrade()
        assert fresh.db_query("SELECT * FROM remoteuser_token") == []
    finally:
        fresh.shutdown()


# The Preferences panel.

def form(env, path, data, headers, peer='127.0.0.1'):
    from urllib.parse import urlencode
    body = urlencode(dict(data, __FORM_TOKEN='tok'), doseq=True).encode()
    return env.request(path, method='POST', body=body, peer=peer,
                       headers=headers + [('Cookie', 'trac_form_token=tok')])


FRONT_END = [('Remote-User', 'alice')]


def test_the_panel_makes_a_token_shown_once(site):
    r = site.request('/prefs/apitokens', headers=FRONT_END)
    assert r.status == 200 and 'Make a token' in r.body
    r = form(site, '/prefs/apitokens', {'create': '1', 'name': 'ci bot',
                                        'days': '30'}, FRONT_END)
    assert r.status == 200
    token = re.search(r'id="remoteuser-token-value">(tracpat_\w+)<',
                      r.body).group(1)
    assert authname(call(site, bearer(token))) == 'alice'
    (expires,), = site.db("SELECT expires - created FROM remoteuser_token")
    assert expires == 30 * 86400
    # Never again: the next page lists the token by its ID only.
    r = site.request('/prefs/apitokens', headers=FRONT_END)
    assert token not in r.body and 'ci bot' in r.body
    assert token not in site.log()


def test_the_panel_removes_only_its_users_tokens(site):
    mine = make_token(site)
    bobs = make_token(site, 'bob')
    ids = dict(site.db("SELECT owner, id FROM remoteuser_token"))
    form(site, '/prefs/apitokens', {'remove': '1',
                                    'token_id': [ids['alice'], ids['bob']]},
         FRONT_END)
    assert refused(call(site, bearer(mine)))
    assert authname(call(site, bearer(bobs))) == 'bob'


@pytest.mark.parametrize('data, warning', [
    ({'name': '', 'days': '30'}, 'Give the token a name'),
    ({'name': 'x\x07', 'days': '30'}, 'Give the token a name'),
    ({'name': 'ok', 'days': '366'}, 'from 1 to 365 days'),
    ({'name': 'ok', 'days': '-3'}, 'from 1 to 365 days'),
    ({'name': 'ok', 'days': 'soon'}, 'is not a number of days'),
])
def test_the_panel_refuses_bad_values(site, data, warning):
    r = form(site, '/prefs/apitokens', dict(data, create='1'), FRONT_END)
    assert r.status == 200 and warning in r.body
    assert site.db("SELECT id FROM remoteuser_token") == []


def test_no_token_makes_a_token(site):
    """A token is read on the API paths only; on the panel its request
    is anonymous, and the panel is not offered."""
    token = make_token(site)
    r = site.request('/prefs/apitokens', headers=bearer(token), peer=PEER)
    assert 'Make a token' not in r.body
    r = form(site, '/prefs/apitokens', {'create': '1', 'name': 'x'},
             bearer(token), peer=PEER)
    assert len(site.db("SELECT id FROM remoteuser_token")) == 1


def test_the_panel_is_offered_only_with_tokens_on(make_env):
    env = make_env()
    r = env.request('/prefs/apitokens', headers=FRONT_END)
    assert 'Make a token' not in r.body


# What the administrator sees.

def test_check_explains_a_token_without_showing_it(site):
    token = make_token(site)
    out = site.admin('remoteuser check', PEER, '""',
                     '"Authorization=Bearer %s"' % token)
    assert token not in out and token[8:30] not in out
    assert 'a personal access token, not shown' in out
    assert re.search(r'token: \w{12} \(trac-admin\) of alice', out)
    assert 'token: accepted as alice on /login/jsonrpc, /login/rpc' in out
    out = site.admin('remoteuser check', PEER, '""',
                     '"Authorization=Bearer %s"' % core.new_token())
    assert 'token: refused (401): no such token' in out


def test_the_admin_panel_lists_and_removes_tokens(site):
    token = make_token(site)
    ident = site.db("SELECT id FROM remoteuser_token")[0][0]
    admin = [('Remote-User', 'carol')]
    r = site.request('/admin/general/remoteuser', headers=admin)
    assert r.status == 200 and ident in r.body and token not in r.body
    assert 'id="remoteuser-door">front end' in r.body
    r = form(site, '/admin/general/remoteuser',
             {'remove_tokens': '1', 'token_id': ident}, admin)
    assert r.status in (302, 303)
    assert refused(call(site, bearer(token)))


def _make_alice_a_group(env):
    env.admin('permission add alice WIKI_ADMIN')
    env.admin('permission add dave alice')


@pytest.mark.parametrize('owner, change, undo', [
    ('alice', lambda env: env.configure('remoteuser', sync_groups='alice'),
     lambda env: env.configure('remoteuser', sync_groups='')),
    ('Alice', lambda env: env.configure('remoteuser', lowercase='true'),
     lambda env: env.configure('remoteuser', lowercase='false')),
    ('alice', _make_alice_a_group,
     lambda env: env.admin('permission remove dave alice')),
], ids=['sync_groups', 'lowercase', 'permission-group'])
def test_an_owner_verdict_follows_every_change(site, owner, change, undo):
    """The verdict on a token's owner is remembered, but never past a
    change of trac.ini or of Trac's groups."""
    token = make_token(site, owner)
    assert authname(call(site, bearer(token))) == owner
    change(site)
    assert refused(call(site, bearer(token)))
    undo(site)
    assert authname(call(site, bearer(token))) == owner


def test_owner_verdicts_are_bounded(site, monkeypatch):
    from remoteuserauth import tokens
    from remoteuserauth.ownership import NameOwnership
    personal = tokens.PersonalTokens(site.env())
    monkeypatch.setattr(personal._verdicts, 'max_entries', 10)
    monkeypatch.setattr(personal._let_in, 'max_entries', 10)
    monkeypatch.setattr(NameOwnership, 'owns', lambda self, name: True)
    for number in range(25):
        assert personal._owner_verdict('user%d' % number, None) is None
        assert len(personal._verdicts) <= 10
        assert 1 <= len(personal._let_in) <= 10


def test_an_owner_let_in_before_the_owners_were_recorded_is_asked_again(
        site):
    """An owner let in while the owners' table was not (yet) known to
    this process is judged again once it is: the front end must own the
    name from then on."""
    from remoteuserauth.ownership import NameOwnership
    token = _token_of_a_name_not_owned(site, 'zed')
    ownership = NameOwnership(site.env())
    ownership._table = False
    assert authname(call(site, bearer(token))) == 'zed'
    assert authname(call(site, bearer(token))) == 'zed'
    ownership.forget_table_state()
    assert refused(call(site, bearer(token)))


def _token_of_a_name_not_owned(env, owner):
    """A token of `owner`, whom the front end never named: kept as a
    token of an older release, made before the owners were recorded."""
    from remoteuserauth.tokens import PersonalTokens
    token = core.new_token()
    with env.env().db_transaction as db:
        db("INSERT INTO remoteuser_token (id, owner, name, digest, created, "
           "expires, last_used) VALUES (%s, %s, %s, %s, %s, %s, %s)",
           (core.new_id(), owner, 'old', core.digest(token),
            int(time.time()), int(time.time()) + 3600, 0))
    del PersonalTokens(env.env())._records
    return token


def test_a_token_waits_until_the_front_end_owns_its_owner(site):
    """Whether the front end owns a token's owner is asked on every
    request until it does: the first time the front end names the user,
    the token works, with no restart."""
    token = _token_of_a_name_not_owned(site, 'zed')
    site.log()
    assert refused(call(site, bearer(token)))
    assert 'the front end does not own zed' in site.log()
    assert refused(call(site, bearer(token)))
    r = site.request('/', headers=[('Remote-User', 'zed')])
    assert logged_in_as(r) == 'zed'
    assert authname(call(site, bearer(token))) == 'zed'


def test_an_owned_owner_is_not_looked_up_again(site, monkeypatch):
    """A name the front end owns stays its own (no door removes one): once
    a token's owner is found among the owners, its next requests read
    no owners, in this process."""
    from remoteuserauth.ownership import NameOwnership
    token = make_token(site)
    assert authname(call(site, bearer(token))) == 'alice'

    def no_reading(self):
        raise AssertionError("the owners were read")
    monkeypatch.setattr(NameOwnership, 'owners', no_reading)
    assert authname(call(site, bearer(token))) == 'alice'
    # Neither does the front end's user.
    r = site.request('/', headers=[('Remote-User', 'alice')])
    assert logged_in_as(r) == 'alice'


def test_a_name_recorded_between_the_look_and_the_door_logs_in(
        site, monkeypatch):
    """Another worker or thread may record a name as the front end's
    between this one's look at the owners and its door check (seen under
    load on PostgreSQL): the name is the front end's all the same, and
    the page answers, never 500."""
    from remoteuserauth.ownership import NameOwnership
    r = site.request('/', headers=[('Remote-User', 'zed')])
    assert logged_in_as(r) == 'zed'
    site.log()
    # The look found no owner; the door then reads zed among them.
    monkeypatch.setattr(NameOwnership, 'owns', lambda self, name: False)
    r = site.request('/', headers=[('Remote-User', 'zed')])
    assert r.status == 200 and logged_in_as(r) == 'zed'
    assert 'Traceback' not in site.log()


def test_the_owned_names_remembered_are_bounded(site, monkeypatch):
    from remoteuserauth import ownership
    owners = ownership.NameOwnership(site.env())
    for number in range(25):
        owners.record('user%d' % number)
    monkeypatch.setattr(ownership, 'MAX_KNOWN_OWNED', 10)
    for number in range(25):
        assert owners.owns('user%d' % number)
        assert len(owners._known) <= 10
    assert not owners.owns('nobody') and 'nobody' not in owners._known


@pytest.mark.parametrize('path, reads', [
    # As a WSGI server hands a path over: ISO-8859-1 text of its bytes.
    ('/api/k\u00e4se'.encode('utf-8').decode('iso-8859-1'), True),
    ('/api/k\u00e4se/'.encode('utf-8').decode('iso-8859-1'), True),
    ('/api/k\u00e4se', False),     # not what a server sends for it
    ('/api/kase', False),
    ('/api/k\u00c3', False),
    # Hostile: control characters after a token path, bytes that are
    # no UTF-8 (Trac answers 404, never 500).
    ('/login/rpc\r\n', False),
    ('/login/rpc\x00', False),
    ('/api/k\u00ff', False),
    ('/login/rpc/\u00c3', False)])
def test_a_token_path_beyond_ascii_is_matched_as_trac_decodes_it(
        make_env, path, reads):
    """The page's path is compared without Trac's decoding when it is
    ASCII; beyond ASCII, as Trac decodes it (UTF-8)."""
    env = make_env(*TOKENS + [('remoteuser', 'token_paths',
                               '/login/rpc, /api/k\u00e4se')])
    r = call(env, bearer(make_token(env)), path)
    # No page answers there (404, or Trac's redirect without the
    # slash): the door that let the request in is in its environment.
    door = r.environ.get('remoteuserauth.door')
    if reads:
        assert door == 'personal access token', r.body[:300]
        assert r.status in (301, 404) and r.status != 401
    else:
        assert door is None and 'trac_auth' not in cookies(r)
        assert r.status < 500, r.body[:300]
