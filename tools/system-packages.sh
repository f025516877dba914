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
# Single sign-on for real: a Kerberos KDC (k5test builds the realms; it and
# the gssapi wheel want krb5-config from libkrb5-dev), the SPNEGO, OpenID
# Connect and SAML modules of Apache.
have /usr/sbin/krb5kdc || need+=(krb5-kdc)
have /usr/sbin/kadmind || need+=(krb5-admin-server)
have kinit || need+=(krb5-user)
have krb5-config || need+=(libkrb5-dev)
[ -e /usr/lib/apache2/modules/mod_auth_gssapi.so ] || need+=(libapache2-mod-auth-gssapi)
[ -e /usr/lib/apache2/modules/mod_auth_openidc.so ] || need+=(libapache2-mod-auth-openidc)
[ -e /usr/lib/apache2/modules/mod_auth_mellon.so ] || need+=(libapache2-mod-auth-mellon)
# pysaml2, the SAML identity provider of the tests, signs with xmlsec1.
have xmlsec1 || need+=(xmlsec1)
have openssl || need+=(openssl)
# The other front ends: HAProxy from Debian (Caddy, Traefik and uWSGI come
# from PyPI into the virtualenv, uWSGI built there for its Python: a C
# compiler, and the headers of the Python the virtualenv is made from).
have haproxy || have /usr/sbin/haproxy || need+=(haproxy)
have gcc || need+=(gcc)
"${PYTHON:-python3}" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    2>/dev/null || need+=(python3-dev)

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
for svc in nginx apache2 postgresql slapd krb5-kdc krb5-admin-server haproxy; do
    service "$svc" stop >/dev/null 2>&1 || true
done
