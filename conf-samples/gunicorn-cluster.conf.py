# gunicorn on one backend host of several (nginx-gunicorn-cluster.conf):
# the same file on every backend, with its own @BACKEND_ADDRESS@.
# Install it as gunicorn.conf.py in trac-gunicorn.service's CONF_DIR,
# which then starts it unchanged:
#
#   gunicorn --config /etc/trac/gunicorn.conf.py
#
# Replace the placeholders:
#   @BACKEND_ADDRESS@     this host's private address, which the balancer
#                         connects to (never 0.0.0.0)
#   @BACKEND_PORT@        the port the balancer's upstream names
#   @BALANCER_ADDRESSES@  the balancer's addresses as this host sees them,
#                         comma separated (the same as trusted_proxies)
#   @TRAC_ENV@            the environment, on storage every backend shares

# The private address only: anyone who reaches this port could send the
# user header. Firewall it to the balancer as well; trusted_proxies in
# trac.ini believes the header from the balancer's addresses only.
bind = '@BACKEND_ADDRESS@:@BACKEND_PORT@'

wsgi_app = 'remoteuserauth.wsgi:application'
raw_env = ['TRAC_ENV=@TRAC_ENV@']

# Processes rather than threads on PostgreSQL (docs/operations.md,
# "Under load"). nginx buffers slow clients, which suits gunicorn's sync
# workers.
workers = 3
timeout = 120
# A request in progress finishes before a worker stops (HUP, restart).
graceful_timeout = 30

# Whose SCRIPT_NAME and X-Forwarded-Proto gunicorn believes: the balancer.
forwarded_allow_ips = '@BALANCER_ADDRESSES@'

# Identities of any size: a signed assertion (jwt_header) of up to
# 16 KiB, the plugin's limit, in one header line. gunicorn refuses a
# header line over 8190 bytes (431), and 0 does not lift the limit (in
# gunicorn 27 it means 8190 again).
limit_request_field_size = 32768

accesslog = '-'
