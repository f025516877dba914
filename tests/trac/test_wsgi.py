"""remoteuserauth.wsgi:application, in-process."""

import io
import os
import re

import pytest


from conftest import logged_in_as, header
from remoteuserauth.wsgi import MOVED_KEY, application


def test_prefix_left_in_the_path_is_moved_to_script_name(make_env):
    env = make_env(('trac', 'base_url', 'https://trac.example.com/prefix'))
    r = env.request('/prefix/wiki/WikiStart', app=application,
                    headers=[('Remote-User', 'alice')])
    assert r.status == 200 and logged_in_as(r) == 'alice'
    assert r.environ['SCRIPT_NAME'] == '/prefix'
    assert 'href="/prefix/wiki/TracGuide"' in r.body
    r = env.request('/prefix', app=application)
    assert r.status == 200
    # Without the entry point Trac finds no page there.
    assert env.request('/prefix/wiki/WikiStart').status == 404


def test_paths_outside_the_prefix_and_announced_prefixes_are_kept(make_env):
    env = make_env(('trac', 'base_url', 'https://trac.example.com/prefix'))
    r = env.request('/prefixed/x', app=application)
    assert MOVED_KEY not in r.environ and r.status == 404
    r = env.request('/wiki/WikiStart', script_name='/prefix', app=application)
    assert r.status == 200 and MOVED_KEY not in r.environ
    r = env.request('/prefix/wiki/WikiStart', app=application)
    assert r.status == 200 and r.environ[MOVED_KEY] == '/prefix'


def test_forwarded_prefix_from_trusted_proxy(make_env):
    env = make_env(('remoteuser', 'trust_forwarded', 'true'))
    headers = [('X-Forwarded-Prefix', '/trac')]
    r = env.request('/trac/wiki/', app=application, headers=headers)
    assert header(r, 'Location') == 'http://backend:8000/trac/wiki'
    r = env.request('/trac/wiki/WikiStart', app=application, headers=headers,
                    peer='192.0.2.1')
    assert r.status == 404


def test_environment_from_process_variables(trac_env, monkeypatch):
    monkeypatch.setenv('TRAC_ENV', trac_env.path)
    r = trac_env.request('/wiki/WikiStart', app=application,
                         environ={'trac.env_path': None},
                         headers=[('Remote-User', 'alice')])
    assert r.status == 200 and logged_in_as(r) == 'alice'


def test_per_application_env_path_wins_over_trac_env(make_env, monkeypatch):
    one, two = make_env(('project', 'name', 'One')), \
        make_env(('project', 'name', 'Two'))
    monkeypatch.setenv('TRAC_ENV', one.path)
    r = two.request('/wiki/WikiStart', app=application)
    title = re.search(r'<title>\s*(.*?)\s*</title>', r.body).group(1)
    assert title == 'Two'


def test_parent_dir_from_process_variables(trac_env, monkeypatch):
    parent, name = os.path.split(trac_env.path)
    monkeypatch.setenv('TRAC_ENV_PARENT_DIR', parent)
    r = trac_env.request('/%s/wiki/WikiStart' % name, app=application,
                         environ={'trac.env_path': None})
    assert r.status == 200
    assert 'href="/%s/wiki/TracGuide"' % name in r.body


def test_broken_environment_is_trac_s_error_page(tmp_path):
    from conftest import TracEnv
    env = TracEnv(str(tmp_path / 'env'))
    os.remove(os.path.join(env.path, 'VERSION'))
    r = env.request('/prefix/wiki/WikiStart', app=application)
    assert r.status == 500
    assert 'Traceback' not in r.body


@pytest.mark.parametrize('project', [
    '..', '.', '%2e%2e', '..%2f..', 'log', 'nosuchproject', 'a\x00b',
    '.hidden', '..\\..', '%C0%AE%C0%AE', 'x' * 300,
])
def test_parent_dir_answers_404_for_what_is_no_project(trac_env,
                                                       monkeypatch, project):
    """PATH_INFO arrives percent-decoded: '..' names the parent's
    parent, which Trac tries to open (500, traceback, server paths)."""
    from urllib.parse import unquote
    parent, name = os.path.split(trac_env.path)
    os.makedirs(os.path.join(parent, 'log'), exist_ok=True)
    monkeypatch.setenv('TRAC_ENV_PARENT_DIR', parent)
    errors = io.StringIO()
    r = trac_env.request('/%s/wiki/WikiStart' % unquote(project),
                         app=application,
                         environ={'trac.env_path': None,
                                  'wsgi.errors': errors})
    assert r.status == 404
    assert 'Traceback' not in r.body and parent not in r.body
    assert 'no Trac project' in errors.getvalue()
    assert len(errors.getvalue().splitlines()) == 1
