"""Response splitting on the wire: a /login link whose referer holds
CR/LF must reach no client as two responses or a planted cookie, in the
real servers (tracd writes such a header as it is; gunicorn answers 500
without the plugin)."""

from backends import start_gunicorn, start_tracd
from conftest import TracEnv
from process import http

BASE = 'https://trac.example.com/prefix'
HOME = BASE

SPLIT = '/prefix/login?referer=%2Fprefix%2Fwiki%0D%0ASet-Cookie:%20' \
        'trac_auth%3Dplanted%0D%0AX-Split:%201'


def test_tracd_is_not_split(tmp_path, plugin_site, servers):
    env = TracEnv(str(tmp_path / 'env'))
    servers.append(start_tracd(env, plugin_site))
    port = servers[-1].port
    for headers in ([('Remote-User', 'alice')], []):
        r = http(port, SPLIT, headers)
        assert r.status == 302
        assert r.header('X-Split') is None
        assert not any('planted' in c for c in r.cookies())
        assert r.header('Location') == 'http://127.0.0.1:%d/prefix' % port
    assert 'Traceback' not in env.log()


def test_gunicorn_answers_a_redirect_not_500(tmp_path, plugin_site,
                                             servers):
    env = TracEnv(str(tmp_path / 'env'), [('trac', 'base_url', BASE)])
    servers.append(start_gunicorn(env, plugin_site,
                                  app='remoteuserauth.wsgi:application'))
    port = servers[-1].port
    r = http(port, SPLIT, [('Remote-User', 'alice')])
    assert r.status == 302
    assert r.header('Location') == HOME
    assert r.header('X-Split') is None
