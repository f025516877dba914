"""apache-mod-wsgi-ldap.conf against a real Apache and a real slapd,
both on loopback."""

import os
import subprocess

import pytest

from deploy import PASSWORD
from e2e import (basic, check_deployment, check_selftest_clean,
                 check_selftest_clean_logged_in)
from process import Server, free_port, http, require

SUFFIX = 'dc=example,dc=com'
ADMIN = 'cn=admin,' + SUFFIX
ADMIN_PASSWORD = 'Adm1n-pw'

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {dir}/slapd.pid
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{admin}"
rootpw {password}
directory {dir}/data
"""

USERS = """\
dn: {suffix}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{suffix}
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,{suffix}
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.com
userPassword: {userpw}
"""


@pytest.fixture
def slapd(tmp_path):
    require('/usr/sbin/slapd', 'ldapadd')
    workdir = str(tmp_path / 'ldap')
    os.makedirs(os.path.join(workdir, 'data'))
    conf = os.path.join(workdir, 'slapd.conf')
    with open(conf, 'w') as f:
        f.write(SLAPD_CONF.format(dir=workdir, suffix=SUFFIX, admin=ADMIN,
                                  password=ADMIN_PASSWORD))
    port = free_port()
    url = 'ldap://127.0.0.1:%d/' % port
    server = Server(['/usr/sbin/slapd', '-f', conf, '-h', url, '-d', '0'],
                    port, os.path.join(workdir, 'slapd.out'))
    try:
        ldif = os.path.join(workdir, 'users.ldif')
        with open(ldif, 'w') as f:
            f.write(USERS.format(suffix=SUFFIX, userpw=PASSWORD))
        subprocess.run(['ldapadd', '-x', '-H', url, '-D', ADMIN, '-w',
                        ADMIN_PASSWORD, '-f', ldif], check=True,
                       capture_output=True)
        yield port
    finally:
        server.stop()


def test_mod_wsgi_ldap(deployed, slapd):  # noqa: F811
    d = deployed('apache-mod-wsgi-ldap.conf', [('remoteuser', 'header', '')],
                 ['ldap', 'authnz_ldap'],
                 LDAP_URL='127.0.0.1:%d' % slapd,
                 LDAP_BASE='ou=people,' + SUFFIX, LDAP_BIND_DN=ADMIN,
                 LDAP_BIND_PASSWORD=ADMIN_PASSWORD)
    wrong = [('Authorization', basic()[0][1][:-4] + 'AAAA')]
    assert http(d.port, '/prefix/login', wrong).status == 401
    check_deployment(d.port, d.prefix, d.base_url, basic(), static=False)
    check_selftest_clean(d.env, d.base_url)
    check_selftest_clean_logged_in(d.env, d.base_url)
