"""A Trac site that believes signed assertions in `X-Assertion`: its
options, tokens for it, and requests to it (through dispatch_request)."""

ISS = 'https://idp.example.com'
UNTRUSTED = '192.0.2.10'


def options(keys, *extra):
    return [('remoteuser', 'jwt_header', 'X-Assertion'),
            ('remoteuser', 'jwt_keys', keys),
            ('remoteuser', 'jwt_issuer', ISS),
            ('remoteuser', 'jwt_audience', 'trac'),
            ('remoteuser', 'jwt_name_claim', '')] + list(extra)


def token(signer, sub='alice', **claims):
    values = {'iss': ISS, 'aud': 'trac', 'sub': sub}
    values.update(claims)
    return signer.token(values)


def get(env, value=None, path='/wiki/WikiStart', peer=UNTRUSTED, headers=(),
        **kwargs):
    headers = list(headers)
    if value is not None:
        headers.append(('X-Assertion', value))
    r = env.request(path, headers=headers, peer=peer, **kwargs)
    assert r.status in (200, 302, 303), r.body[:500]
    return r
