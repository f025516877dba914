from remoteuserauth.core.throttle import LogThrottle


class Clock(object):
    now = 1000.0

    def __call__(self):
        return self.now


def test_repeats_are_counted_and_reported_later():
    clock = Clock()
    throttle = LogThrottle(60, clock)
    lines = []
    def log(msg, *args, **kw):
        lines.append(msg % args)
    assert throttle.log(log, 'k', 'refused %s', 'x')
    for _ in range(5):
        assert not throttle.log(log, 'k', 'refused %s', 'x')
    assert throttle.log(log, 'other', 'refused %s', 'y')
    clock.now += 61
    assert throttle.log(log, 'k', 'refused %s', 'x')
    assert lines == ['refused x', 'refused y',
                     'refused x (5 similar messages suppressed)']


def test_memory_is_bounded():
    throttle = LogThrottle(60, Clock(), max_keys=10)
    for i in range(1000):
        throttle.admit(i)
    assert len(throttle._seen) == 10
