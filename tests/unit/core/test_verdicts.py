"""The memos of verdicts: remembered under one set of dependencies at a
time, and bounded."""

from remoteuserauth.core.verdicts import Admitted, Verdicts


def test_a_verdict_is_judged_once_per_dependencies():
    judged = []
    verdicts = Verdicts(10)

    def judge():
        judged.append(1)
        return 'no'
    assert verdicts.get(('a',), 'x', judge) == 'no'
    assert verdicts.get(('a',), 'x', judge) == 'no'
    assert len(judged) == 1
    assert verdicts.get(('b',), 'x', judge) == 'no'
    assert len(judged) == 2 and len(verdicts) == 1


def test_an_item_let_in_is_let_in_only_under_its_dependencies():
    admitted = Admitted(10)
    assert (('a',), 'x') not in admitted
    admitted.add(('a',), 'x')
    assert (('a',), 'x') in admitted
    assert (('a',), 'y') not in admitted
    assert (('b',), 'x') not in admitted
    admitted.add(('b',), 'y')
    # Another set of dependencies forgets every item of the last one.
    assert (('a',), 'x') not in admitted
    assert (('b',), 'y') in admitted and len(admitted) == 1


def test_items_let_in_are_bounded():
    admitted = Admitted(3)
    for number in range(10):
        admitted.add(('a',), number)
        assert 1 <= len(admitted) <= 3
        assert (('a',), number) in admitted
