# gunicorn on one backend host of several (nginx-gunicorn-cluster.conf):
# the same file on every backend, with its own @BACKEND_ADDRESS@.
#
#   gunicorn -c /etc/trac/gunicorn-cluster.conf.py
#   (trac-gunicorn.service runs it when its ExecStart names this file)
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

# Processes rather than threads on PostgreSQL (README, "Under load").
# nginx buffers slow clients, which suits gunicorn's sync workers.
workers = 3
timeout = 120
# A request in progress finishes before a worker stops (HUP, restart).
graceful_timeout = 30

# Whose SCRIPT_NAME and X-Forwarded-Proto gunicorn believes: the balancer.
forwarded_allow_ips = '@BALANCER_ADDRESSES@'

accesslog = '-'
