"""The benchmark's hook timer (bench/run.py) counts each moment for the
innermost timed call: the plugin's hooks, less the Trac work inside
them, plus the plugin's hooks that Trac's work asks in turn."""

import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import run  # noqa: E402


class Clock(object):
    """process_time_ns that moves only when a function says it worked."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now

    def work(self, ns):
        self.now += ns


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(run.time, 'process_time_ns', clock)
    return clock


def make_calls(clock):
    """A filter (hook) asks Trac's round of authenticators (Trac), which
    asks the plugin's authenticator (hook), which asks Trac's cookie
    login (Trac); each works a known time of its own."""
    class TracLogin(object):
        def authenticate(self):
            clock.work(1000)

    class Plugin(object):
        def authenticate(self):
            clock.work(30)
            TracLogin().authenticate()
            clock.work(7)

    class Dispatcher(object):
        def authenticate(self):
            clock.work(200)
            Plugin().authenticate()
            clock.work(100)

    class Filter(object):
        def pre_process_request(self):
            clock.work(5)
            Dispatcher().authenticate()
            clock.work(1)

    return Filter, Dispatcher, Plugin, TracLogin


def timed(call, *patches):
    """A `HookTimer` that timed `call()` with only `patches` ((class,
    name, bucket) triples) in place, removed again afterwards."""
    timer = run.HookTimer()
    for cls, name, bucket in patches:
        timer._patch(cls, name, bucket)
    try:
        call()
    finally:
        timer.__exit__()
    return timer


def timed_filter(clock):
    """The timer of one call of the filter of `make_calls`, with every
    call of it timed."""
    Filter, Dispatcher, Plugin, TracLogin = make_calls(clock)
    return timed(lambda: Filter().pre_process_request(),
                 (Filter, 'pre_process_request', 'hooks'),
                 (Dispatcher, 'authenticate', 'trac'),
                 (Plugin, 'authenticate', 'hooks'),
                 (TracLogin, 'authenticate', 'trac'))


def test_each_moment_counts_for_the_innermost_timed_call(clock):
    timer = timed_filter(clock)
    assert timer.spent == {'hooks': 5 + 1 + 30 + 7, 'trac': 200 + 100 + 1000}
    assert timer.calls == 4
    assert timer.own() == 43


def test_trac_work_outside_a_hook_is_not_timed(clock):
    Filter, Dispatcher, Plugin, TracLogin = make_calls(clock)
    # Trac asks its authenticators from its own code: only the plugin's
    # authenticator counts.
    timer = timed(lambda: Dispatcher().authenticate(),
                  (Dispatcher, 'authenticate', 'trac'),
                  (Plugin, 'authenticate', 'hooks'))
    assert timer.spent == {'hooks': 30 + 1000 + 7, 'trac': 0}
    assert timer.calls == 1


def test_the_timers_are_removed_on_exit(clock):
    Filter = make_calls(clock)[0]
    original = Filter.__dict__['pre_process_request']
    with run.HookTimer():
        assert Filter.__dict__['pre_process_request'] is original
    timer = run.HookTimer()
    timer._patch(Filter, 'pre_process_request', 'hooks')
    assert Filter.__dict__['pre_process_request'] is not original
    timer.__exit__()
    assert Filter.__dict__['pre_process_request'] is original


def test_trac_permission_cache_counts_as_trac_work_however_reached(clock):
    """The plugin reads Trac's permissions through the permission store
    itself (settings._permission_store) as well as through
    PermissionSystem: both are Trac's cache, which Trac's permission
    checks read later in the request anyway."""
    from trac.perm import DefaultPermissionStore

    class Store(object):
        @property
        def _all_permissions(self):
            clock.work(1000)
            return []

    class Filter(object):
        def pre_process_request(self):
            clock.work(3)
            DefaultPermissionStore.get_all_permissions(Store())

    with run.HookTimer() as timer:
        timer._patch(Filter, 'pre_process_request', 'hooks')
        timer.reset()
        Filter().pre_process_request()
    assert timer.spent == {'hooks': 3, 'trac': 1000}


def test_each_hook_gets_its_own_moments(clock):
    timer = timed_filter(clock)
    assert timer.by_hook == {'Filter.pre_process_request': 5 + 1,
                             'Plugin.authenticate': 30 + 7}
    assert sum(timer.by_hook.values()) == timer.spent['hooks']
    timer.reset()
    assert not timer.by_hook


def test_trac_lazy_attributes_count_as_trac_work(clock):
    """The first to read `req.session` or `req.authname` runs Trac's
    lazy attribute, whose callback Trac's page would run a little later
    anyway: the filter that reads it first is not charged for it."""
    from trac.web.api import Request

    def session(req):
        clock.work(1000)
        return {}

    class Filter(object):
        def pre_process_request(self, req):
            clock.work(3)
            req.session
            req.session
            clock.work(2)

    req = Request({'wsgi.url_scheme': 'http', 'SERVER_NAME': 'localhost',
                   'SERVER_PORT': '80', 'REQUEST_METHOD': 'GET'},
                  lambda status, headers, exc_info=None: None)
    req.callbacks['session'] = session
    with run.HookTimer() as timer:
        timer._patch(Filter, 'pre_process_request', 'hooks')
        timer.reset()
        Filter().pre_process_request(req)
    assert timer.spent == {'hooks': 5, 'trac': 1000}
