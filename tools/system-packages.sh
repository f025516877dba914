#!/usr/bin/env bash
# Install the real servers the end-to-end tests run, when they are missing
# and we are root. Without root, say what is missing; the tests then skip
# (or, with CI=true, fail) the parts that need them.
set -eu

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -e "$1" ]; }
have nginx || need+=(nginx)
have apache2 || have /usr/sbin/apache2 || need+=(apache2)
have htpasswd || need+=(apache2-utils)
[ -e /usr/lib/apache2/modules/mod_wsgi.so ] || need+=(libapache2-mod-wsgi-py3)
[ -e /usr/lib/apache2/modules/mod_python.so ] || need+=(libapache2-mod-python)
have chromium || need+=(chromium)
have /usr/lib/postgresql || need+=(postgresql)
have curl || need+=(curl)
have /usr/sbin/slapd || need+=(slapd)
have ldapadd || need+=(ldap-utils)

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "not root: cannot install ${need[*]}; tests that need them will skip" >&2
    exit 0
fi
echo "installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
# The packages start their services; the tests run their own on high ports.
for svc in nginx apache2 postgresql slapd; do
    service "$svc" stop >/dev/null 2>&1 || true
done
