# Trac's WSGI script for Apache mod_wsgi. Nothing in it needs editing:
# the environment comes from `SetEnv trac.env_path /srv/trac/PROJECT`
# next to the WSGIScriptAlias (or TRAC_ENV / TRAC_ENV_PARENT_DIR), and
# the user name from Apache's REMOTE_USER or a trusted header, cleaned by
# TracRemoteUserAuth. See remoteuserauth/wsgi.py.
from remoteuserauth.wsgi import application  # noqa: F401
