"""WSGI entry point for gunicorn, mod_wsgi and Nginx Unit.

    gunicorn remoteuserauth.wsgi:application        (TRAC_ENV=/srv/trac/p)
    WSGIScriptAlias /trac /srv/trac/trac.wsgi       (from conf-samples/)

It replaces the hand-edited ``trac.wsgi`` scripts of the Trac wiki. The
environment comes, in this order, from the request's ``trac.env_path``
(Apache ``SetEnv trac.env_path ...`` next to each ``WSGIScriptAlias``, so
several applications can share one process safely) or
``trac.env_parent_dir``, then from the process variables ``TRAC_ENV`` or
``TRAC_ENV_PARENT_DIR``.

Before Trac sees the request it does what a request filter is too late
for: when the proxy passed the public path prefix along (``/prefix/wiki``)
and nothing told the backend (``SCRIPT_NAME`` is empty), the prefix of
``[trac] base_url`` (or, with ``[remoteuser] trust_forwarded``, a trusted
proxy's ``X-Forwarded-Prefix``) moves from ``PATH_INFO`` to
``SCRIPT_NAME``, so that Trac finds the page instead of answering 404.
With ``[remoteuser] trust_forwarded_for``, it also gives Trac the
client's address (`remoteuserauth.remoteaddr`) before Trac reads it.
"""

import os

from trac.env import open_environment
from trac.web.main import dispatch_request

from remoteuserauth.core import trust, urls
from remoteuserauth.forwardedfor import ClientAddress
from remoteuserauth.publicurl import PublicURLFilter
from remoteuserauth.settings import RemoteUserSettings

#: The prefix that was moved, for diagnostics.
MOVED_KEY = 'remoteuserauth.moved_prefix'


def application(environ, start_response):
    """The WSGI application: Trac's `dispatch_request`, with the public
    path prefix moved into ``SCRIPT_NAME`` when needed, and the client
    address in ``REMOTE_ADDR`` when configured."""
    _locate_environment(environ)
    missing = _missing_project(environ)
    if missing is not None:
        environ['wsgi.errors'].write(
            "TracRemoteUserAuth: no Trac project %r in the parent folder "
            "(TRAC_ENV_PARENT_DIR); answered 404\n" % missing[:100])
        body = b'Not Found'
        start_response('404 Not Found', [('Content-Type', 'text/plain'),
                                         ('Content-Length', str(len(body)))])
        return [body]
    env = _open_environment(environ)
    if env is not None:
        current = RemoteUserSettings(env).current(environ)
        ClientAddress(env).apply(environ)
        prefix = _mount_prefix(env, environ, current)
        if prefix:
            _move_prefix(environ, prefix)
    return dispatch_request(environ, start_response)


def _locate_environment(environ):
    for key, variable in (('trac.env_path', 'TRAC_ENV'),
                          ('trac.env_parent_dir', 'TRAC_ENV_PARENT_DIR')):
        if not environ.get(key) and os.environ.get(variable):
            environ[key] = os.environ[variable]


def _missing_project(environ):
    """In parent-folder mode, the project name of the request when it
    names no Trac environment directly inside the folder ('..', '.',
    a hidden or a plain folder), or `None`. Trac would try to open it
    and answer 500 with a traceback and the server's paths."""
    parent = environ.get('trac.env_parent_dir')
    if environ.get('trac.env_path') or not parent:
        return None
    name = environ.get('PATH_INFO', '').lstrip('/').split('/')[0]
    if not name:
        return None     # the project index
    try:
        name = name.encode('latin-1').decode('utf-8')
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name
    if name.startswith('.') or len(name) > 255 or \
            '\\' in name or any(ord(c) < 32 for c in name) or \
            not os.path.isfile(os.path.join(parent, name, 'VERSION')):
        return name
    return None


def _open_environment(environ):
    """The environment of ``trac.env_path``, or `None` (several
    projects, or an environment that does not open)."""
    env_path = environ.get('trac.env_path')
    if not env_path:
        return None
    try:
        return open_environment(env_path, use_cache=True)
    except Exception:
        # dispatch_request opens it again and shows the error page.
        return None


def _mount_prefix(env, environ, current):
    """The path prefix the proxy left in ``PATH_INFO``, or `None`."""
    if environ.get('SCRIPT_NAME'):
        return None
    public = PublicURLFilter(env)
    base = public.configured_base(environ)
    if base is not None:
        return base.prefix or None
    if current.base_url.strip():
        return None     # set but invalid: the filter logs why
    forwarded = environ.get('HTTP_X_FORWARDED_PREFIX')
    if forwarded and current.trust_forwarded:
        if trust.trusted_network(trust.direct_peer(environ),
                                 current.settings.networks):
            return urls.normalize_prefix(trust.last_list_value(forwarded))
    return None


def _move_prefix(environ, prefix):
    path = environ.get('PATH_INFO', '')
    if path == prefix or path.startswith(prefix + '/'):
        environ['SCRIPT_NAME'] = prefix
        environ['PATH_INFO'] = path[len(prefix):]
        environ[MOVED_KEY] = prefix
