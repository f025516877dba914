"""`trac-admin ENV remoteuser selftest` (`remoteuserauth.admin.selftest`):
its arguments, the password and cookie files it reads (never shown),
completion, and a run where nothing answers. Its runs against real
front ends are in tests/servers."""

import pytest

SESSION = 'S3ss10nV4lue'


@pytest.mark.parametrize('args, message', [
    ((), "give the site's public URL: [trac] base_url is not set"),
    (('ftp://x/',), "'ftp://x/' is not an absolute http:// or https:// URL"),
    (('http://x/', '--backend=nope'), "'--backend=nope' is not "
                                      "--backend=HOST:PORT"),
    (('http://x/', '--path=wiki'), "'--path=wiki': a path starts with /"),
    (('http://x/', '--bogus'), "unknown argument '--bogus'"),
    (('http://x/', 'http://y/'), "unknown argument 'http://y/'"),
    (('http://x/', '--user=al:ice'), "'--user=al:ice': a user name, "
                                     "without ':'"),
    (('http://x/', '--user='), "'--user=': a user name"),
    (('http://x/', '--password-file=/p'), "--password-file goes with "
                                          "--user"),
    (('http://127.0.0.1:8080/', '--user=alice'), "--user needs "
     "--password-file (no terminal to ask for the password)"),
    (('https://x/', '--user=alice', '--password-file=/nonexistent/pw'),
     "--password-file: /nonexistent/pw cannot be read (No such file"),
    # A password in the clear over the network: only to loopback.
    (('http://trac.example.com/', '--user=alice',
      '--password-file=/nonexistent/pw'), "--user would send the password "
     "of alice unencrypted to trac.example.com: give the site's https://"),
    (('http://[2001:db8::1]:8080/', '--user=alice'), "unencrypted to "
     "2001:db8::1"),
    (('https://x/', '--cookie-file='), "--cookie-file= needs a file"),
    (('https://x/', '--cookie-file=/a', '--cookie-file=/b'),
     "--cookie-file is given twice"),
    (('https://x/', '--cookie-file=/nonexistent/jar'),
     "--cookie-file: /nonexistent/jar cannot be read (No such file"),
    # A session is as good as a password: never in the clear.
    (('http://trac.example.com/', '--cookie-file=/nonexistent/jar'),
     "--cookie-file would send a session unencrypted to trac.example.com: "
     "give the site's https:// address"),
])
def test_command_usage(trac_env, capsys, args, message):
    rv, output = trac_env.admin_rv('remoteuser selftest', *args)
    assert rv == 2
    assert message in capsys.readouterr().err


def test_command_refuses_an_empty_password(trac_env, capsys, tmp_path):
    empty = tmp_path / 'pw'
    empty.write_text('\nsecond line\n')
    rv, output = trac_env.admin_rv('remoteuser selftest', 'https://x/',
                                   '--user=alice',
                                   '--password-file=%s' % empty)
    assert rv == 2
    assert 'the first line of %s is empty' % empty in \
        capsys.readouterr().err


@pytest.mark.parametrize('content, message', [
    (b'authsession=' + SESSION.encode() + b'\x01x', "line 1: the value of "
     "cookie authsession holds a character a cookie cannot carry"),
    (b'authsession=' + SESSION.encode() + b'\rX-Injected: 1\n',
     "line 1: the value of cookie authsession holds a character"),
    (b'# mine\n\nauthsession=' + SESSION.encode() + b'\x00\n',
     "line 3: the value of cookie authsession holds a character"),
    (('authsession=%s\u00e9' % SESSION).encode('utf-8'),
     "holds a character a cookie cannot carry"),
    (('authsession=%s\uff21' % SESSION).encode('utf-8'),
     "holds a character a cookie cannot carry"),
    (b'authsession=' + SESSION.encode() + b'\xe9', "cannot be read (not "
     "UTF-8 text)"),
    (b'authsession=' + SESSION.encode() + b' more', "holds a character"),
    (b'authsession=' + SESSION.encode() * 1000, "more than the 8000 a "
     "front end takes in one header"),
    (b'#' + b'x' * (70 * 1024), "is larger than 64 KiB: no cookie file"),
    (SESSION.encode(), "line 1: a cookie is written NAME=VALUE (no '=' "
     "found)"),
    (b'auth\x1bsession=' + SESSION.encode(), "line 1: a cookie name is "
     "made of ASCII letters"),
    (b'trac_auth=' + SESSION.encode(), "trac_auth is a cookie of Trac "
     "itself; give the front end's session cookie"),
    (b'authsession=', "line 1: cookie authsession has no value"),
    (b'\n# nothing\n', "no cookie in it (write NAME=VALUE)"),
    (b'#HttpOnly_.example.com\tTRUE\t/\tTRUE\t0\tauthsession\t' +
     SESSION.encode() + b'\n.example.com\tTRUE\t/\tTRUE\t0\ta\t' +
     SESSION.encode(), "line 2 looks like a cookie jar (curl -c, "
     "Netscape format)"),
])
def test_command_refuses_a_bad_cookie_file(trac_env, capsys, tmp_path,
                                           content, message):
    """Control characters, CR/LF, NUL, letters beyond ASCII, a huge file,
    a cookie of Trac's own: a clear error, before any request, and
    never the value, neither on the terminal nor in the log."""
    jar = tmp_path / 'jar'
    jar.write_bytes(content)
    trac_env.log()
    rv, output = trac_env.admin_rv('remoteuser selftest', 'https://x/',
                                   '--cookie-file=%s' % jar)
    err = capsys.readouterr().err
    assert rv == 2, (output, err)
    assert '--cookie-file: %s' % jar in err
    assert message in err, err
    assert 'Traceback' not in err
    for where in (output, err, trac_env.log()):
        assert SESSION not in where


@pytest.mark.parametrize('path, shown', [
    ('/tmp/a\x1b[2Jb', "/tmp/a\\x1b[2Jb"),
    ('/tmp/' + 'x' * 5000, '/tmp/' + 'x' * 195 + '...'),
    ('/tmp/caf\u00e9/jar', '/tmp/caf\u00e9/jar'),
])
def test_command_with_a_hostile_cookie_file_name(trac_env, capsys, path,
                                                 shown):
    rv, output = trac_env.admin_rv('remoteuser selftest', 'https://x/',
                                   '--cookie-file=' + path)
    err = capsys.readouterr().err
    assert rv == 2
    assert '--cookie-file: %s cannot be read (' % shown in err, err
    assert 'Traceback' not in err and '\x1b' not in err


def test_command_with_a_directory_or_nul_as_cookie_file(trac_env, tmp_path):
    from trac.admin.api import AdminCommandError
    from remoteuserauth.admin.selftest import SelfTestCommand
    command = SelfTestCommand(trac_env.env())
    with pytest.raises(AdminCommandError) as e:
        command._do_selftest('https://x/', '--cookie-file=%s' % tmp_path)
    assert 'cannot be read (Is a directory)' in str(e.value)
    with pytest.raises(AdminCommandError) as e:
        command._do_selftest('https://x/', '--cookie-file=/tmp/a\x00b')
    assert "--cookie-file: /tmp/a\\x00b cannot be read (not a file " \
        "name)" in str(e.value)


def test_command_completion(trac_env):
    from remoteuserauth.admin.selftest import SelfTestCommand
    command = SelfTestCommand(trac_env.env())
    options = ['--path=', '--backend=', '--user=', '--password-file=',
               '--cookie-file=', '--no-direct', '--insecure']
    assert command._complete_selftest(['']) == options
    trac_env.configure('trac', base_url='https://trac.example.com/x')
    assert command._complete_selftest(['']) == \
        ['https://trac.example.com/x'] + options
    assert command._complete_selftest(['http://x/', '']) == options


def test_command_when_nothing_answers(trac_env):
    from process import free_port
    rv, output = trac_env.admin_rv('remoteuser selftest',
                                   'http://127.0.0.1:%d/' % free_port())
    lines = output.splitlines()
    assert rv == 2, output
    assert lines[1].startswith("ERROR    /: the probe did not answer at the "
                               "site's root (connection refused)")
    assert lines[-1].endswith('the self-test could not run')
