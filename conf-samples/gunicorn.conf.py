# gunicorn settings for Trac with TracRemoteUserAuth, behind nginx.
#
#   gunicorn -c /etc/trac/gunicorn.conf.py
#
# Replace the placeholders:
#   @BACKEND_PORT@   the loopback port nginx proxies to (e.g. 8000)
#   @TRAC_ENV@       the Trac environment, or empty for several projects
#   @TRAC_ENV_PARENT_DIR@  the folder holding several projects, or empty

# Loopback only: nothing but nginx may reach Trac, or anyone could send
# the user header themselves. (trusted_proxies in trac.ini says the same.)
# A Unix socket works as well: bind = 'unix:/run/trac/trac.sock', nginx
# proxy_pass http://unix:/run/trac/trac.sock; and in trac.ini
# trusted_proxies = unix (such connections have no address).
bind = '127.0.0.1:@BACKEND_PORT@'

# The plugin's entry point: no hand-edited trac.wsgi.
wsgi_app = 'remoteuserauth.wsgi:application'

# One environment, or the folder of several (nginx-gunicorn-multi.conf).
TRAC_ENV = '@TRAC_ENV@'
TRAC_ENV_PARENT_DIR = '@TRAC_ENV_PARENT_DIR@'
if TRAC_ENV:
    raw_env = ['TRAC_ENV=' + TRAC_ENV]
else:
    raw_env = ['TRAC_ENV_PARENT_DIR=' + TRAC_ENV_PARENT_DIR]

workers = 2
threads = 4
timeout = 120

# The addresses whose SCRIPT_NAME and X-Forwarded-Proto headers gunicorn
# believes: nginx on this machine. gunicorn drops headers spelt with an
# underscore (Remote_User) from anyone else.
forwarded_allow_ips = '127.0.0.1,::1'

# Identities of any size: a signed assertion (jwt_header) of up to
# 16 KiB, the plugin's limit, in one header line. gunicorn refuses a
# header line over 8190 bytes (431), and 0 does not lift the limit (in
# gunicorn 27 it means 8190 again).
limit_request_field_size = 32768

accesslog = '-'
