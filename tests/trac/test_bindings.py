"""Each Trac name bound to the identity provider's account of its first
verified assertion (`remoteuserauth.bindings`), and the plugin's tables
made only where they are needed, through real requests."""

import re

import pytest

from conftest import logged_in_as
from jwtsite import ISS, get, options, token
from tokens import Signer, write_jwks


@pytest.fixture
def signer():
    return Signer('ec')


@pytest.fixture
def jwt_env(make_env, tmp_path, signer):
    keys = write_jwks(tmp_path / 'keys.json', signer)
    env = make_env(*options(keys))
    env.keys = keys
    return env


def test_binding_refuses_a_recycled_name(jwt_env, signer):
    assert logged_in_as(get(jwt_env, token(signer, sub='alice',
                                           uid='x'))) == 'alice'
    # jwt_claim = preferred_username: the name, as the IdP reuses it.
    jwt_env.configure('remoteuser', jwt_claim='preferred_username')
    first = token(signer, sub='u-1', preferred_username='carol')
    second = token(signer, sub='u-2', preferred_username='carol')
    assert logged_in_as(get(jwt_env, first)) == 'carol'
    cookie = jwt_env.stale_cookie('carol')
    r = get(jwt_env, second, headers=[cookie])
    assert logged_in_as(r) is None
    log = jwt_env.log()
    assert "carol is bound to the account 'u-1'" in log
    assert 'remoteuser bindings release carol' in log
    listing = jwt_env.admin('remoteuser bindings')
    assert re.search(r'carol\s+https://idp.example.com\s+u-1', listing)
    assert 'alice' in listing
    assert 'released carol' in jwt_env.admin('remoteuser bindings release '
                                             'carol')
    assert logged_in_as(get(jwt_env, second)) == 'carol'
    assert logged_in_as(get(jwt_env, first)) is None
    assert jwt_env.db("SELECT subject FROM remoteuser_binding WHERE "
                      "name='carol'") == [('u-2',)]
    # A token without sub cannot be bound.
    r = get(jwt_env, token(signer, sub=None, preferred_username='dave'))
    assert logged_in_as(r) is None
    assert 'has no sub claim' in jwt_env.log()


def test_bindings_command_errors(jwt_env):
    from trac.admin.console import TracAdmin
    console = TracAdmin()
    console.env_set(jwt_env.path, jwt_env.env())
    assert console.onecmd('remoteuser bindings release nobody') == 2
    assert console.onecmd('remoteuser bindings forget x') == 2
    assert console.onecmd('remoteuser bindings release *') in (0, None)


def test_upgrade_needed_only_for_assertions(tmp_path, signer):
    """An environment made before the bindings table existed keeps
    running; turning assertions on asks for trac-admin upgrade, which
    makes the table."""
    from trac.env import Environment
    from remoteuserauth.bindings import AccountBindings
    from conftest import TracEnv
    env = TracEnv(str(tmp_path / 'env'))
    trac = env.env()
    with trac.db_transaction as db:
        db("DROP TABLE remoteuser_binding")
        db("DELETE FROM system WHERE name='remoteuserauth_version'")
    assert not AccountBindings(trac).environment_needs_upgrade()
    env.configure('remoteuser', jwt_header='X-Assertion',
                  jwt_keys=write_jwks(tmp_path / 'k.json', signer),
                  jwt_issuer=ISS, jwt_audience='trac')
    fresh = Environment(env.path)
    try:
        assert fresh.needs_upgrade()
        fresh.upgrade()
        assert not fresh.needs_upgrade()
        assert fresh.db_query("SELECT * FROM remoteuser_binding") == []
    finally:
        fresh.shutdown()
