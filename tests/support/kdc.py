"""Throwaway Kerberos realms on loopback, for real single sign-on tests.

Two MIT realms built with k5test: LOCAL holds this Trac's users and its
web service principal HTTP/localhost; OTHER is a partner organisation
whose realm LOCAL trusts both ways (krbtgt/LOCAL@OTHER, krbtgt/OTHER@LOCAL).
A user of OTHER therefore gets a real service ticket for Trac, and Apache
accepts it: only the plugin stands between `carol@OTHER.REALM` and the
local account `carol`. That is what a simulated name cannot show.

Both KDCs listen on 127.0.0.1 alone, on free ports (k5test's own
configuration listens on every interface at fixed ports). The clients and
Apache share one krb5.conf naming both realms, as /etc/krb5.conf would on
real machines. The service keytab and the replay-cache folder belong to
Apache's worker user, which mod_auth_gssapi reads and writes them as.
`stop` ends both KDCs and removes every file made here.
"""

import base64
import os
import pwd
import shutil
import subprocess
import tempfile

from deploy import PASSWORD, server_user
from process import free_port, require, require_module

LOCAL = 'EXAMPLE.COM'
OTHER = 'OTHER.REALM'
SERVICE_HOST = 'localhost'
SPNEGO = '1.3.6.1.5.5.2'

# Every client and Apache use this file (KRB5_CONFIG): both realms, no
# DNS, and the web host mapped to LOCAL, so that a client of OTHER asks
# its KDC for the cross-realm ticket to LOCAL.
KRB5_CONF = """\
[libdefaults]
    default_realm = {local}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = true
[realms]
    {local} = {{
        kdc = 127.0.0.1:{local_port}
    }}
    {other} = {{
        kdc = 127.0.0.1:{other_port}
    }}
[domain_realm]
    {host} = {local}
"""


def kdc_settings(port, pac=True):
    """k5test's configuration of one realm, moved to 127.0.0.1:`port`.
    k5test writes `$hostname:$port0` (every interface, fixed ports);
    a None value drops its entry.

    `pac=False`: tickets without a PAC, as MIT before 1.20 and most
    non-Windows KDCs issue them. MIT 1.20 refuses every ticket request
    of a principal whose name holds a backslash when it issues PACs
    ("HEADER_PAC ... KDC can't fulfill requested option"); without
    them, such a principal gets tickets, which is what a partner realm's
    administrator can make use of."""
    listen = '127.0.0.1:%d' % port
    kdc_conf = {'realms': {'$realm': {
        'kdc_ports': None, 'kdc_tcp_ports': None,
        'kdc_listen': listen, 'kdc_tcp_listen': listen,
        'disable_pac': None if pac else 'true'}}}
    krb5_conf = {'realms': {'$realm': {
        'kdc': listen, 'admin_server': None, 'kpasswd_server': None}}}
    return kdc_conf, krb5_conf


class Realms(object):
    """LOCAL and OTHER, trusting each other, with their KDCs running.

    `users` maps a realm to the user principals made in it (password
    `deploy.PASSWORD`)."""

    def __init__(self, users):
        require('/usr/sbin/krb5kdc', '/usr/sbin/kdb5_util',
                '/usr/sbin/kadmin.local', 'kinit', 'klist', 'krb5-config')
        k5test = require_module('k5test')
        self.realms = {}
        self.dir = tempfile.mkdtemp(prefix='ruakrb-')
        os.chmod(self.dir, 0o755)
        try:
            for name in (LOCAL, OTHER):
                port = free_port()
                kdc_conf, krb5_conf = kdc_settings(port, pac=name == LOCAL)
                self.realms[name] = k5test.K5Realm(
                    realm=name, portbase=port, kdc_conf=kdc_conf,
                    krb5_conf=krb5_conf, create_user=False,
                    create_host=False, get_creds=False, start_kdc=False)
                self.realms[name].port = port
            self._populate(users)
            for realm in self.realms.values():
                realm.start_kdc()
        except BaseException:
            self.stop()
            raise

    def _populate(self, users):
        local, other = self.realms[LOCAL], self.realms[OTHER]
        # A trust is one key shared by the two KDCs, per direction: the
        # same principal, password and salt in both databases.
        for trust in ('krbtgt/%s@%s' % (LOCAL, OTHER),
                      'krbtgt/%s@%s' % (OTHER, LOCAL)):
            for realm in (local, other):
                realm.addprinc(trust, 'trust-' + PASSWORD)
        for realm, names in users.items():
            for name in names:
                self.add_user(realm, name)
        self.conf = os.path.join(self.dir, 'krb5.conf')
        with open(self.conf, 'w') as f:
            f.write(KRB5_CONF.format(local=LOCAL, other=OTHER,
                                     local_port=local.port,
                                     other_port=other.port,
                                     host=SERVICE_HOST))
        os.chmod(self.conf, 0o644)
        self.service = 'HTTP/%s@%s' % (SERVICE_HOST, LOCAL)
        local.addprinc(self.service)
        self.keytab = os.path.join(self.dir, 'http.keytab')
        local.extract_keytab(self.service, self.keytab)
        self.rcache = os.path.join(self.dir, 'rcache')
        os.mkdir(self.rcache, 0o700)
        self.clients = os.path.join(self.dir, 'clients')
        os.mkdir(self.clients, 0o700)
        # Apache's workers (www-data when the tests run as root) read
        # the keytab and keep the replay cache; nobody else may.
        user = server_user()
        if user is not None:
            entry = pwd.getpwnam(user)
            for path in (self.keytab, self.rcache):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(self.keytab, 0o600)

    def add_user(self, realm, name):
        r"""The principal `name`@`realm`, password `deploy.PASSWORD`.
        `name` is written the way krb5 parses it: `\\` is a backslash
        and `\@` an at sign inside the name."""
        # k5test's addprinc quotes for a shell, which kadmin.local does
        # not undo; its query is parsed as krb5 writes principal names.
        self.realms[realm].run_kadminl(
            'addprinc -pw %s %s@%s' % (PASSWORD, name, realm))

    def env(self, ccache=None):
        """The environment of a Kerberos client (kinit, curl)."""
        env = {'PATH': '/usr/bin:/bin', 'LANG': 'C.UTF-8',
               'KRB5_CONFIG': self.conf}
        if ccache:
            env['KRB5CCNAME'] = 'FILE:' + ccache
        return env

    def ccache(self, name):
        """A new, empty credential cache of one browser's user."""
        path = os.path.join(self.clients, name)
        if os.path.exists(path):
            os.remove(path)
        return path

    def kinit(self, principal, ccache, renewable=False):
        """Log `principal` in with its password: its ticket-granting
        ticket replaces what `ccache` held."""
        args = ['kinit']
        if renewable:
            args += ['-r', '1h', '-l', '10m']
        subprocess.run(args + [principal], input=PASSWORD + '\n',
                       env=self.env(ccache), check=True,
                       capture_output=True, text=True, timeout=30)

    def renew(self, ccache):
        """`kinit -R`: the ticket of `ccache`, renewed at the KDC."""
        subprocess.run(['kinit', '-R'], env=self.env(ccache), check=True,
                       capture_output=True, text=True, timeout=30)

    def principal(self, ccache):
        """The client principal `klist` reads from `ccache`."""
        out = subprocess.run(['klist', ccache], env=self.env(), check=True,
                             capture_output=True, text=True,
                             timeout=30).stdout
        for line in out.splitlines():
            if line.startswith('Default principal:'):
                return line.split(':', 1)[1].strip()
        raise AssertionError(out)

    def negotiate(self, ccache):
        """The `Authorization: Negotiate` header a browser sends for
        HTTP/localhost with the tickets of `ccache`: a fresh SPNEGO
        token each time (Apache's replay cache refuses one sent twice)."""
        gssapi = require_module('gssapi')
        saved = os.environ.get('KRB5_CONFIG')
        os.environ['KRB5_CONFIG'] = self.conf
        try:
            creds = gssapi.Credentials(usage='initiate',
                                       store={'ccache': 'FILE:' + ccache})
            target = gssapi.Name('HTTP@' + SERVICE_HOST,
                                 gssapi.NameType.hostbased_service)
            context = gssapi.SecurityContext(
                name=target, creds=creds, usage='initiate',
                mech=gssapi.OID.from_int_seq(SPNEGO))
            token = context.step()
        finally:
            if saved is None:
                os.environ.pop('KRB5_CONFIG', None)
            else:
                os.environ['KRB5_CONFIG'] = saved
        return [('Authorization',
                 'Negotiate ' + base64.b64encode(token).decode())]

    def kdc_log(self, name=LOCAL):
        """What the KDC of realm `name` logged (tickets it issued)."""
        path = os.path.join(self.realms[name].tmpdir, 'kdc.log')
        with open(path, errors='replace') as f:
            return f.read()

    def stop(self):
        for realm in self.realms.values():
            realm.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
