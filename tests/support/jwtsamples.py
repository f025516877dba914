"""The signed-assertion samples (conf-samples/jwt-*.ini) filled in as an
administrator would, and their options as Trac reads them."""

import configparser

from deploy import render
from tokens import shaped


FILLED = {
    'pomerium': (dict(ROUTE_DOMAIN='trac.example.com',
                      EMAIL_DOMAIN='example.com', SYNC_GROUPS='developers'),
                 'https://trac.example.com/.well-known/pomerium/jwks.json'),
    'cloudflare': (dict(TEAM='example', AUD_TAG=shaped('cloudflare').audience,
                        EMAIL_DOMAIN='example.com'),
                   'https://example.cloudflareaccess.com/cdn-cgi/access/'
                   'certs'),
    'iap': (dict(PROJECT_NUMBER='123456789012',
                 SERVICE_ID='4567890123456789012', EMAIL_DOMAIN='example.com'),
            'https://www.gstatic.com/iap/verify/public_key-jwk'),
    'oauth2-proxy': (dict(ISSUER='https://idp.example.com/realms/example',
                          CLIENT_ID='trac', EMAIL_DOMAIN='example.com',
                          SYNC_GROUPS='developers'), None),
    'mod_auth_openidc': (dict(ISSUER='https://idp.example.com',
                              CLIENT_ID='trac', NAME_CLAIM='sub',
                              BASE_URL='https://trac.example.com/prefix',
                              BASE_URL_ENCODED='https%3A%2F%2Ftrac.example'
                                               '.com%2Fprefix%2F'), None),
}


def sample_options(name, dest, **values):
    """The (section, option, value) entries of a rendered sample."""
    path = render(name, dest, **values)
    parser = configparser.RawConfigParser(inline_comment_prefixes=None)
    parser.optionxform = str
    parser.read(path)
    return [(section, option, value) for section in parser.sections()
            for option, value in parser.items(section)]
