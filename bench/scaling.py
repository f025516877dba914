#!/usr/bin/env python3
"""How the plugin's cost grows with the work (`make bench`, after
bench/run.py).

Each axis at three sizes, the sizes and a baseline interleaved round by
round:

  sessions         sessions and trac_auth cookies stored (100, 10,000,
                   100,000); the request carries a trac_auth cookie
                   (the plugin judges it, rule 13); baseline: Trac's
                   cookie login without the plugin, on as many rows
  trusted_proxies  entries of trusted_proxies (1, 100, 1,000), of every
                   prefix length, the peer's network configured last;
                   the decision alone from a new peer each call (none
                   remembered: the cost a client from many addresses
                   causes)
  local_domains    entries of local_domains (1, 100, 1,000), the name's
                   domain configured last
  groups           entries of sync_groups, and a groups header listing
                   as many (1, 50, 500), the user in all of them
  jwks             keys in the JWKS file (1, 10, 50), the token signed
                   by the last
  token_size       a signed assertion of 1 KB, 8 KB, 16 KiB (the
                   plugin's limit)

For each size: the decision alone (microseconds per call; for jwks and
token_size, a token seen before, and in brackets one never seen), the
plugin's own hooks per request (bench/run.py's measure), that as a
share of the baseline's page, and the hooks' growth from the smallest
size. Nothing here asserts a time; it prints what it measured.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import (ISSUER, ROOT, HookTimer, environ, load_plugin,  # noqa: E402
                 machine, make_env, one_request)

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

AXES = (('sessions', (100, 10000, 100000)),
        ('trusted_proxies', (1, 100, 1000)),
        ('local_domains', (1, 100, 1000)),
        ('groups', (1, 50, 500)),
        ('jwks', (1, 10, 50)),
        ('token_size', (1024, 8192, 16384)))

FORM_TOKEN = 'trac_form_token=0123456789abcdef01234567'


class Case(object):
    """One size of an axis: a request to make (`template`), and the
    decision alone (`decide`, and `first`: on a token never seen)."""

    def __init__(self, template, decide, first=None):
        self.template = template
        self.decide = decide
        self.first = first


def store_logins(path, count):
    """`count` sessions with a trac_auth cookie each, besides alice's."""
    from trac.env import Environment
    env = Environment(path)
    try:
        now = int(time.time())
        with env.db_transaction as db:
            db.executemany(
                "INSERT INTO session (sid, authenticated, last_visit) "
                "VALUES (%s, 1, %s)",
                [('user%d' % i, now) for i in range(count)])
            db.executemany(
                "INSERT INTO auth_cookie (cookie, name, ipnr, time) "
                "VALUES (%s, %s, '127.0.0.1', %s)",
                [('%032x' % random.getrandbits(128), 'user%d' % i, now)
                 for i in range(count)])
    finally:
        env.shutdown()


def decider(options, environs, remember=True):
    """The decision alone under the trac.ini `options` (a list of
    ``(section, name, value)``), on each of `environs` in turn; without
    `remember`, verifying each token as if never seen."""
    from remoteuserauth import assertion
    from remoteuserauth.core.names import Names
    from remoteuserauth.decision import decide, make_settings
    values = {name: value for section, name, value in options
              if section == 'remoteuser'}
    keys = {}
    for name in ('trusted_proxies', 'local_domains', 'sync_groups',
                 'jwt_audience'):
        if name in values:
            keys[name] = [v.strip() for v in values.pop(name).split(',')]
    if 'jwt_keys' in values:
        values['verifier'] = assertion.build(values.pop('jwt_keys'), ISSUER,
                                             keys.pop('jwt_audience'))
        if not remember:
            values['verifier'].cache_size = 0
        values.pop('jwt_issuer')
    groups = Names(keys.pop('sync_groups', []) + ['admins'])
    settings = make_settings(**dict(values, **keys))
    assert not settings.problems, settings.problems
    environs = list(environs)
    state = {'next': 0}

    def call():
        number = state['next'] = (state['next'] + 1) % len(environs)
        return decide(environs[number], settings, groups)
    assert call().name == 'alice', call()
    return call


def signed(folder, keys=1, size=0):
    """A JWKS file of `keys` ES256 keys in `folder`, a token the last
    signs (padded to `size` characters), and the options verifying
    it."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    private = [ec.generate_private_key(ec.SECP256R1()) for _ in range(keys)]
    jwks = []
    for number, key in enumerate(private):
        jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(),
                                                as_dict=True)
        jwk.update(kid='key%d' % number, alg='ES256', use='sig')
        jwks.append(jwk)
    path = os.path.join(folder, 'jwks.json')
    with open(path, 'w') as f:
        json.dump({'keys': jwks}, f)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))

    def token(pad=''):
        claims = {'iss': ISSUER, 'aud': 'trac', 'sub': 'alice',
                  'exp': int(time.time()) + 86400, 'iat': int(time.time()),
                  'jti': '%032x' % random.getrandbits(128)}
        if pad:
            claims['pad'] = pad
        return jwt.encode(claims, private[-1], algorithm='ES256',
                          headers={'kid': 'key%d' % (keys - 1)})
    made = token()
    if size:
        # Base64url makes 4 characters of 3 bytes; the claim's name and
        # quotes take 9.
        pad = max(0, (size - len(made)) * 3 // 4 - 9)
        made = token('x' * pad)
        while len(made) > size:
            pad -= (len(made) - size) * 3 // 4 + 1
            made = token('x' * pad)
    options = [('remoteuser', 'jwt_header', 'X-Assertion'),
               ('remoteuser', 'jwt_keys', path),
               ('remoteuser', 'jwt_issuer', ISSUER),
               ('remoteuser', 'jwt_audience', 'trac')]
    return made, options


def make_axis(axis, size, folder):
    """The `Case` of `axis` at `size`, its environment made in
    `folder`."""
    os.makedirs(folder)
    path = os.path.join(folder, 'env')
    if axis == 'sessions':
        make_env(path, True)
        store_logins(path, size)
        template = environ(path, HTTP_COOKIE='trac_auth=b3nch; ' +
                           FORM_TOKEN)
        return Case(template, None)
    if axis in ('jwks', 'token_size'):
        token, options = signed(folder, *(
            (size, 0) if axis == 'jwks' else (1, size)))
        make_env(path, True, options)
        request = [{'REMOTE_ADDR': '192.0.2.1', 'HTTP_X_ASSERTION': token}]
        decide = decider(options, request)
        first = decider(options, request, remember=False)
        return Case(environ(path, HTTP_X_ASSERTION=token,
                            HTTP_COOKIE=FORM_TOKEN), decide, first)
    extra = {}
    peers = ['127.0.0.1']
    name = 'alice'
    if axis == 'trusted_proxies':
        # Networks of every prefix length from 9 to 32 inside 10/8,
        # none holding the peers (127/8, configured last).
        import ipaddress
        entries = {}
        number = 0
        while len(entries) < size - 1:
            length = 9 + number % 24
            value = (10 << 24) | (number * 2654435761 % (1 << 24))
            entries[str(ipaddress.ip_network((value, length),
                                             strict=False))] = True
            number += 1
        entries = list(entries) + ['127.0.0.0/8']
        options = [('remoteuser', 'trusted_proxies', ', '.join(entries))]
        peers = ['127.%d.%d.1' % (i // 256, i % 256) for i in range(4096)]
    elif axis == 'local_domains':
        domains = ['DOMAIN%d' % i for i in range(size - 1)] + ['EXAMPLE']
        options = [('remoteuser', 'local_domains', ', '.join(domains))]
        name = 'EXAMPLE\\alice'
    else:
        groups = ['group%d' % i for i in range(size)]
        options = [('remoteuser', 'groups_header', 'X-Groups'),
                   ('remoteuser', 'sync_groups', ', '.join(groups))]
        extra['HTTP_X_GROUPS'] = '|'.join(groups)
    make_env(path, True, options)
    decide = decider(options, [dict(extra, REMOTE_ADDR=peer,
                                    HTTP_REMOTE_USER=name)
                               for peer in peers])
    return Case(environ(path, HTTP_REMOTE_USER=name, HTTP_COOKIE=FORM_TOKEN,
                        **extra), decide)


def baseline(axis, size, folder):
    """The same page without the plugin: the server's REMOTE_USER, or
    Trac's cookie login on as many stored logins."""
    os.makedirs(folder)
    path = make_env(os.path.join(folder, 'env'), False)
    if axis == 'sessions':
        store_logins(path, size)
        return environ(path, HTTP_COOKIE='trac_auth=b3nch; ' + FORM_TOKEN)
    return environ(path, REMOTE_USER='alice', HTTP_COOKIE=FORM_TOKEN)


def per_call(call, calls):
    start = time.process_time_ns()
    for _ in range(calls):
        call()
    return (time.process_time_ns() - start) / calls / 1000


def measure(axis, sizes, tmp, rounds, batch, calls):
    """{size: (decision us, first-token us or None, hooks us, share of
    the baseline's page)}."""
    cases = {size: make_axis(axis, size, os.path.join(tmp, '%s-%d' % (
        axis, size))) for size in sizes}
    base = baseline(axis, sizes[-1], os.path.join(tmp, axis + '-base'))
    decisions = {size: [] for size in sizes}
    firsts = {size: [] for size in sizes}
    hooks = {size: [] for size in sizes}
    pages = []
    order = list(sizes) + [None]
    for template in [c.template for c in cases.values()] + [base]:
        for _ in range(10):
            one_request(template)
    with HookTimer() as timer:
        for _ in range(rounds):
            random.shuffle(order)
            for size in order:
                if size is None:
                    start = time.process_time_ns()
                    for _ in range(batch):
                        one_request(base)
                    pages.append((time.process_time_ns() - start) / batch /
                                 1000)
                    continue
                case = cases[size]
                timer.reset()
                for _ in range(batch):
                    one_request(case.template)
                hooks[size].append(timer.own() / batch / 1000)
                if case.decide:
                    decisions[size].append(per_call(case.decide, calls))
                if case.first:
                    firsts[size].append(per_call(case.first, 20))
    page = statistics.median(pages)
    result = {}
    for size in sizes:
        own = statistics.median(hooks[size])
        result[size] = (
            statistics.median(decisions[size]) if decisions[size] else None,
            statistics.median(firsts[size]) if firsts[size] else None,
            own, own / page)
    return result, page


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='a short run, to check that everything works')
    parser.add_argument('axes', nargs='*', metavar='AXIS',
                        help='only these axes: %s' % ', '.join(
                            name for name, _ in AXES))
    args = parser.parse_args()
    rounds, batch, calls = (2, 2, 200) if args.quick else (7, 6, 2000)
    load_plugin()
    import trac
    print('TracRemoteUserAuth scaling, %s' % time.strftime('%Y-%m-%d'))
    print('machine: %s; Trac %s; load average %s' % (
        machine(), trac.__version__,
        '%.2f %.2f %.2f' % os.getloadavg()))
    print('median of %d interleaved rounds of %d requests per size' % (
        rounds, batch))
    print()
    print('%-16s %7s  %9s %10s  %9s %7s %7s' % (
        'axis', 'size', 'decision', '(new)', 'hooks', 'page', 'growth'))
    tmp = tempfile.mkdtemp(prefix='ruabench-scale-')
    try:
        for axis, sizes in AXES:
            if args.axes and axis not in args.axes:
                continue
            result, page = measure(axis, sizes, tmp, rounds, batch, calls)
            smallest = result[sizes[0]][2]
            for size in sizes:
                decision, first, own, share = result[size]
                print('%-16s %7d  %9s %10s  %6.1f us %6.3f%% %6.2fx' % (
                    axis, size,
                    '%.2f us' % decision if decision is not None else '-',
                    '(%.1f us)' % first if first is not None else '',
                    own, share * 100, own / smallest))
            print('%-16s %7s  baseline page %.1f ms' % ('', '', page / 1000))
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
