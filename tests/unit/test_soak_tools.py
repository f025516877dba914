"""The soak's own tools (bench/soak.py): the mix an administrator
changes on the command line, and the report of where memory grew."""

import itertools
import os
import sys
import tracemalloc

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'bench'))
import soak  # noqa: E402


def test_mix_changes_only_the_kinds_named():
    mix = soak.parse_mix(' new-user=600, profile-change = 0 ')
    assert mix['new-user'] == 600 and mix['profile-change'] == 0
    assert {k: v for k, v in mix.items()
            if k not in ('new-user', 'profile-change')} == \
        {k: v for k, v in soak.MIX.items()
         if k not in ('new-user', 'profile-change')}
    assert soak.parse_mix('') == soak.MIX


@pytest.mark.parametrize('text', ['new_user=5', 'header', 'header=-1',
                                  'header=1.5', 'header=x',
                                  ','.join('%s=0' % k for k in soak.MIX)])
def test_mix_refuses_what_it_cannot_run(text):
    with pytest.raises(ValueError):
        soak.parse_mix(text)


held = []


def _grow():
    held.extend(['x' * 100 + str(i) for i in range(5000)])


def growth_of(grow, folder):
    """`soak.memory_growth` of snapshots (in `folder`) taken before and
    after `grow()`, which fills `held`; emptied again afterwards."""
    tracemalloc.start(8)
    try:
        tracemalloc.take_snapshot().dump(str(folder / 'before'))
        grow()
        tracemalloc.take_snapshot().dump(str(folder / 'after'))
    finally:
        tracemalloc.stop()
        del held[:]
    return soak.memory_growth(str(folder / 'before'), str(folder / 'after'))


def test_memory_growth_names_where_held_memory_was_allocated(tmp_path):
    lines = growth_of(_grow, tmp_path)
    first = lines[0].split()
    assert float(first[0]) > 500 and first[1] == 'kB'
    # Most recent call first: the comprehension inside _grow, then _grow.
    frames = [line for line in lines[1:] if line.startswith('      File')]
    assert __file__ in frames[0] and __file__ in frames[1]


def test_memory_growth_names_frames_whose_source_cannot_be_read(tmp_path):
    """A frame without a source line (code made from a string, as
    namedtuple's) is named like any other, never replaced by the next
    frame's source line."""
    namespace = {'held': held}
    exec(compile("def grow():\n    held.extend(['y' * 100 + str(i) "
                 "for i in range(5000)])\n", '<string>', 'exec'), namespace)
    lines = growth_of(namespace['grow'], tmp_path)
    frames = list(itertools.takewhile(
        lambda line: line.startswith('      '), lines[1:]))
    assert all(line.startswith('      File ') for line in frames), frames
    assert frames[0] == '      File "<string>", line 2'
    assert __file__ in frames[2]


def test_dead_rows_are_reported_per_tenth_of_the_run():
    """PostgreSQL's statistics, sampled as a run of 1,000 requests
    goes: each table that held dead row versions gets the most seen in
    each tenth, the vacuums during the run and its live rows; tables
    that never held one are left out, and a tenth with no sample says
    so."""
    def sample(sent, cache_dead, vacuums):
        return (sent, {'site': {'cache': (8, cache_dead, vacuums),
                                'wiki': (40, 0, 0)},
                       'sso': {'session': (3, 2, 1)}})
    samples = [sample(0, 0, 5), sample(50, 30, 5), sample(90, 10, 6),
               sample(450, 200, 6), sample(999, 120, 9),
               sample(1000, 400, 9)]
    report = soak.dead_rows_per_tenth(samples, 1000)
    assert report == [
        (('site', 'cache'), [30, None, None, None, 200, None, None, None,
                             None, 400], 4, 8),
        (('sso', 'session'), [2, None, None, None, 2, None, None, None,
                              None, 2], 0, 3)]
    assert soak.dead_rows_per_tenth([sample(0, 0, 0)], 1000) == [
        (('sso', 'session'), [2] + [None] * 9, 0, 3)]
