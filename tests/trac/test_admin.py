"""The check command, the admin panel and the About page."""

import re

import pytest

from conftest import logged_in_as


def check(env, *args):
    return env.admin('remoteuser check', *args).strip().splitlines()


def test_check_accepted(make_env):
    env = make_env(('remoteuser', 'local_domains', 'EXAMPLE'))
    lines = check(env, '127.0.0.1', 'EXAMPLE\\\\alice')
    assert lines[-1] == 'accepted: alice'
    assert any('127.0.0.1 is trusted' in ln for ln in lines)


def test_check_foreign_domain_names_the_options(trac_env):
    lines = check(trac_env, '127.0.0.1', 'EVIL\\\\admin')
    assert lines[-1].startswith('refused: ')
    assert 'rule: foreign-domain' in lines[-1]
    assert 'local_domains' in lines[-1] and 'strip_domain' in lines[-1]


def test_check_untrusted(trac_env):
    lines = check(trac_env, '192.0.2.7', 'alice')
    assert lines[-1].startswith('refused: header Remote-User from '
                                '192.0.2.7 ignored')
    assert 'trusted_proxies' in lines[-1]


@pytest.mark.parametrize('value, rule', [
    ('anonymous', 'reserved'), ('(null)', 'null'), ('Anonymous', 'reserved'),
])
def test_check_reserved(trac_env, value, rule):
    last = check(trac_env, '::1', '"%s"' % value)[-1]
    assert last.startswith('refused: ')
    assert 'rule: %s' % rule in last


def test_check_group_name(trac_env):
    trac_env.admin('permission add developers WIKI_ADMIN')
    trac_env.admin('permission add bob developers')
    last = check(trac_env, '127.0.0.1', 'developers')[-1]
    assert last.startswith("refused: 'developers' is the name of a Trac "
                           "permission group")
    assert 'rule: group' in last and 'rename' in last


def test_check_comma_joined(trac_env):
    last = check(trac_env, '127.0.0.1', 'alice,mallory')[-1]
    assert 'rule: comma' in last and 'Remote_User spelling' in last


def test_check_secret_header_and_remote_user(make_env):
    env = make_env(('remoteuser', 'secret_header', 'X-Secret'),
                   ('remoteuser', 'secret', 's3cr3t'))
    assert check(env, '127.0.0.1', 'alice')[-1].startswith(
        'refused: header Remote-User from 127.0.0.1 ignored: header '
        'X-Secret does not carry')
    assert check(env, '127.0.0.1', 'alice', 'X-Secret=s3cr3t')[-1] == \
        'accepted: alice'
    env.configure('remoteuser', header='', local_domains='CORP')
    assert check(env, '192.0.2.1', 'CORP\\\\bob')[-1] == 'accepted: bob'


def test_check_runs_the_request_decision(trac_env):
    """Same answer as a real request, for the same input."""
    for peer, value in (('127.0.0.1', 'alice'), ('192.0.2.9', 'alice'),
                        ('127.0.0.1', 'authenticated')):
        last = check(trac_env, peer, value)[-1]
        r = trac_env.request('/', peer=peer, headers=[('Remote-User', value)])
        assert (logged_in_as(r) == value) == last.startswith('accepted')


def test_check_usage_error(trac_env):
    from trac.admin.console import TracAdmin
    admin = TracAdmin()
    admin.env_set(trac_env.path, trac_env.env())
    assert admin.onecmd('remoteuser check 127.0.0.1 alice broken') == 2


def test_check_completion(make_env):
    env = make_env(('remoteuser', 'secret_header', 'X-Secret'),
                   ('remoteuser', 'secret', 's3cr3t'),
                   ('remoteuser', 'trusted_proxies', '10.0.0.0/8, ::1'))
    from remoteuserauth.admin.check import CheckCommand
    admin = CheckCommand(env.env())
    assert admin._complete_check(['']) == ['10.0.0.0', '::1']
    assert admin._complete_check(['::1', '']) == []
    assert admin._complete_check(['::1', 'alice', '']) == \
        ['X-Secret=', 'REMOTE_USER=']
    from trac.admin.console import TracAdmin
    console = TracAdmin()
    console.env_set(env.path, env.env())
    assert {'bindings', 'check', 'collisions', 'selftest'} <= {
        c.strip() for c in console.complete_line('', 'remoteuser ')}
    assert sorted(c.strip() for c in
                  console.complete_line('', 'remoteuser check ')) == \
        ['10.0.0.0', '::1']


def panel(env, peer='127.0.0.1', headers=()):
    return env.request('/admin/general/remoteuser', peer=peer,
                       headers=list(headers))


@pytest.fixture
def admin_env(make_env):
    env = make_env(('remoteuser', 'name_header', 'X-Name'),
                   ('remoteuser', 'trusted_proxies', '127.0.0.1, 0.0.0.0/0'))
    env.admin('permission add root TRAC_ADMIN')
    return env


def test_panel_for_trusted_request(admin_env):
    r = panel(admin_env, headers=[('Remote-User', 'root'),
                                  ('X-Name', 'Root User')])
    assert r.status == 200
    assert 'id="remoteuser-verdict"><strong>accepted: root' in r.body
    assert '127.0.0.1 is trusted: it is in 127.0.0.1/32' in r.body
    assert '<code>Root User</code>' in r.body
    assert 'trusts every address' in r.body
    assert '[trac] base_url is not set' in r.body
    assert re.search(r'<code>trusted_proxies</code></td>\s*<td>\s*<code>'
                     r'127.0.0.1, 0.0.0.0/0', r.body)
    assert re.search(r'<code>logout_url</code></td>\s*<td>\s*'
                     r'<em>\(empty\)</em>', r.body)
    # Linked from /admin like Trac's own panels.
    r = admin_env.request('/admin', headers=[('Remote-User', 'root')])
    assert 'href="/admin/general/remoteuser"' in r.body


def test_panel_for_untrusted_request(admin_env):
    """An administrator logged in by cookie, reaching Trac directly."""
    admin_env.configure('remoteuser', trusted_proxies='127.0.0.1')
    r = admin_env.request('/login', remote_user='root', peer='192.0.2.4')
    cookie = [v for k, v in r.headers if k == 'Set-Cookie' and
              v.startswith('trac_auth=')][0].split(';')[0]
    r = panel(admin_env, peer='192.0.2.4', headers=[
        ('Cookie', cookie), ('Remote-User', 'mallory')])
    assert r.status == 200
    assert '192.0.2.4 is not trusted: it is in none of 127.0.0.1/32' in r.body
    assert '<code>mallory</code>' in r.body
    assert 'refused: header Remote-User from 192.0.2.4 ignored' in r.body


def test_panel_requires_trac_admin(admin_env):
    admin_env.admin('permission add alice PERMISSION_GRANT')
    r = panel(admin_env, headers=[('Remote-User', 'alice')])
    assert r.status in (403, 404)
    assert 'remoteuser-verdict' not in r.body
    r = admin_env.request('/admin', headers=[('Remote-User', 'alice')])
    assert 'remoteuser' not in r.body


def test_panel_hides_the_secret(make_env):
    env = make_env(('remoteuser', 'secret_header', 'X-Secret'),
                   ('remoteuser', 'secret', 'hunter2hunter2'))
    env.admin('permission add root TRAC_ADMIN')
    r = panel(env, headers=[('Remote-User', 'root'),
                            ('X-Secret', 'hunter2hunter2')])
    assert r.status == 200
    assert 'hunter2' not in r.body
    assert 'matches [remoteuser] secret' in r.body


def test_system_information_names_the_plugin(trac_env):
    trac_env.admin('permission add root TRAC_ADMIN')
    r = trac_env.request('/about', headers=[('Remote-User', 'root')])
    from remoteuserauth import __version__
    assert re.search(r'<th>TracRemoteUserAuth</th>\s*<td>%s</td>'
                     % re.escape(__version__), r.body)


@pytest.mark.parametrize('option, value, warning', [
    ('trusted_proxies', '', 'trusted_proxies is empty'),
    ('secret', 'x', 'secret_header and secret must be set together'),
])
def test_panel_warns_about_risky_settings(make_env, option, value, warning):
    env = make_env(('remoteuser', option, value))
    env.admin('permission add root TRAC_ADMIN')
    r = env.request('/login', remote_user='root')
    cookie = [v for k, v in r.headers if k == 'Set-Cookie' and
              v.startswith('trac_auth=')][0].split(';')[0]
    r = panel(env, headers=[('Cookie', cookie)])
    assert r.status == 200
    warnings = r.body[r.body.index('id="remoteuser-warnings"'):]
    assert warning in warnings[:warnings.index('</div>')]


# Subjects a front-end user could take

def unclaimed_warning(env):
    lines = [ln for ln in check(env, '127.0.0.1', 'nobody-at-all')
             if 'never logged in' in ln]
    assert len(lines) <= 1
    return lines[0] if lines else ''


def test_a_memberless_group_is_named_until_it_is_claimed(trac_env):
    trac_env.admin('permission add developers WIKI_ADMIN')
    # Trac cannot tell it from a user: the front end's "developers"
    # would get WIKI_ADMIN, and the warning says so.
    assert check(trac_env, '127.0.0.1', 'developers')[-1] == \
        'accepted: developers'
    warning = unclaimed_warning(trac_env)
    assert 'developers holds permissions' in warning
    assert 'sync_groups' in warning and 'session add' in warning
    # A member makes it a group: refused as a name, no longer warned of.
    trac_env.admin('permission add bob developers')
    assert 'rule: group' in check(trac_env, '127.0.0.1', 'developers')[-1]
    assert unclaimed_warning(trac_env) == ''


def test_sync_groups_and_known_users_are_not_named(make_env):
    env = make_env(('remoteuser', 'sync_groups', 'testers'))
    env.admin('permission add testers TICKET_ADMIN')
    env.admin('permission add carol TICKET_VIEW')
    env.admin('permission add dave TICKET_VIEW')
    env.admin('permission add anonymous WIKI_VIEW')
    warning = unclaimed_warning(env)
    assert 'carol, dave hold permissions' in warning
    assert 'testers' not in warning and 'anonymous' not in warning
    # carol logs in through the front end; dave is recorded by hand.
    assert logged_in_as(env.request('/', headers=[('Remote-User',
                                                   'carol')])) == 'carol'
    env.admin('session add dave')
    assert unclaimed_warning(env) == ''


def test_only_names_the_front_end_could_send_are_named(make_env):
    env = make_env(('remoteuser', 'lowercase', 'true'))
    # Nobody can become these: lower-cased away, refused as names, or
    # (written straight into the table) control characters, full-width
    # letters, spaces around the name, a name over the length limit.
    stored = ('ops\nroot', '\uff4f\uff50\uff53', ' ops', 'o' * 300)
    env.env().db_transaction.executemany(
        "INSERT INTO permission (username, action) VALUES (%s, %s)",
        [(subject, 'WIKI_ADMIN') for subject in stored])
    for subject in ('Admins', '@admins', 'bob@example.com'):
        env.admin('permission add', '"%s"' % subject, 'WIKI_ADMIN')
    env.admin('permission add ops WIKI_ADMIN')
    from remoteuserauth.admin.warnings import SiteWarnings
    assert SiteWarnings(env.env()).unclaimed_subjects() == ['ops']
    # One subject, so "holds": none of the others is listed.
    assert 'warning: ops holds permissions' in unclaimed_warning(env)


def test_a_long_list_is_cut(trac_env):
    for i in range(14):
        trac_env.admin('permission add user%02d WIKI_VIEW' % i)
    warning = unclaimed_warning(trac_env)
    assert 'user00, user01' in warning and 'and 4 more' in warning
    assert 'user13' not in warning


def test_the_panel_shows_it(admin_env):
    admin_env.admin('permission add developers WIKI_ADMIN')
    r = panel(admin_env, headers=[('Remote-User', 'root')])
    assert r.status == 200
    warnings = r.body[r.body.index('id="remoteuser-warnings"'):]
    assert 'developers holds permissions' in \
        warnings[:warnings.index('</div>')]
