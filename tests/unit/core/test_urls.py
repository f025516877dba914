import pytest

from remoteuserauth.core import urls
from remoteuserauth.core.urls import PublicURL


@pytest.mark.parametrize('base, expected', [
    ('https://trac.example.com/prefix', ('https', 'trac.example.com',
                                         '/prefix')),
    ('https://trac.example.com/prefix/', ('https', 'trac.example.com',
                                          '/prefix')),
    ('https://Trac.Example.com:443/', ('https', 'trac.example.com', '')),
    ('http://trac.example.com:80', ('http', 'trac.example.com', '')),
    ('http://trac.example.com:8080/a/b', ('http', 'trac.example.com:8080',
                                          '/a/b')),
    ('https://[2001:db8::1]:8443/t', ('https', '[2001:db8::1]:8443', '/t')),
])
def test_parse_base_url(base, expected):
    assert urls.parse_base_url(base)[:3] == expected


@pytest.mark.parametrize('base', [
    'trac.example.com/prefix', 'ftp://trac.example.com/', '/prefix',
    'https://trac.example.com/p?x=1', 'https://exa mple.com/',
    'https://trac.example.com/p#frag', 'https:///prefix',
])
def test_parse_base_url_refuses(base):
    with pytest.raises(ValueError):
        urls.parse_base_url(base)


def env(**headers):
    environ = {'wsgi.url_scheme': 'http', 'HTTP_HOST': 'backend:8000',
               'SCRIPT_NAME': ''}
    environ.update(('HTTP_' + k.upper(), v) for k, v in headers.items())
    return environ


def test_request_url_is_what_the_backend_sees():
    assert urls.request_url(env()) == PublicURL('http', 'backend:8000', '',
                                                'request')
    no_host = {'wsgi.url_scheme': 'https', 'SERVER_NAME': 'b',
               'SERVER_PORT': '443', 'SCRIPT_NAME': '/p'}
    assert urls.request_url(no_host)[:3] == ('https', 'b', '/p')


@pytest.mark.parametrize('headers, expected', [
    ({}, ('http', 'backend:8000', '')),
    ({'x_forwarded_proto': 'https'}, ('https', 'backend:8000', '')),
    ({'x_forwarded_proto': 'https, http'}, ('http', 'backend:8000', '')),
    ({'x_forwarded_proto': 'gopher'}, ('http', 'backend:8000', '')),
    ({'x_forwarded_host': 'trac.example.com'},
     ('http', 'trac.example.com', '')),
    ({'x_forwarded_host': 'evil.example, trac.example.com'},
     ('http', 'trac.example.com', '')),
    ({'x_forwarded_host': 'bad host'}, ('http', 'backend:8000', '')),
    ({'x_forwarded_proto': 'https', 'x_forwarded_host': 'trac.example.com',
      'x_forwarded_port': '443'}, ('https', 'trac.example.com', '')),
    ({'x_forwarded_host': 'trac.example.com:8000',
      'x_forwarded_port': '8443'}, ('http', 'trac.example.com:8443', '')),
    ({'x_forwarded_port': '99999'}, ('http', 'backend:8000', '')),
    ({'x_forwarded_prefix': '/prefix/'}, ('http', 'backend:8000',
                                          '/prefix')),
    ({'x_forwarded_prefix': 'javascript:x//'}, ('http', 'backend:8000',
                                                '/javascript:x')),
    ({'x_forwarded_prefix': '/a b'}, ('http', 'backend:8000', '')),
])
def test_forwarded_url(headers, expected):
    environ = env(**headers)
    assert urls.forwarded_url(environ, urls.request_url(environ))[:3] == \
        expected


def test_forwarded_prefix_goes_before_the_project_name():
    environ = env(x_forwarded_prefix='/trac')
    environ['SCRIPT_NAME'] = '/projA'
    assert urls.forwarded_url(environ, urls.request_url(environ)).prefix == \
        '/trac/projA'
    environ['SCRIPT_NAME'] = '/trac/projA'
    assert urls.forwarded_url(environ, urls.request_url(environ)).prefix == \
        '/trac/projA'


@pytest.mark.parametrize('url, inside', [
    ('https://trac.example.com/prefix', True),
    ('https://trac.example.com/prefix/wiki/X', True),
    # Going back over http would leave https (scheme downgrade).
    ('http://trac.example.com/prefix/wiki/X', False),
    ('https://TRAC.example.com/prefix/wiki', True),
    ('/prefix/wiki/X', True),
    ('https://trac.example.com/prefixed/x', False),
    ('https://trac.example.com/', False),
    ('https://evil.example/prefix/x', False),
    ('https://trac.example.com.evil.example/prefix', False),
    ('//evil.example/prefix', False),
    ('javascript:alert(1)', False),
    ('wiki/X', False),
    ('', False),
    (None, False),
])
def test_is_inside(url, inside):
    assert urls.is_inside(url, 'https://trac.example.com/prefix') is inside


def test_is_inside_a_root_site():
    assert urls.is_inside('https://t.example/wiki', 'https://t.example')
    assert not urls.is_inside('https://u.example/wiki', 'https://t.example')
