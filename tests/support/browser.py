"""Browsers for the single sign-on tests: the real headless Chromium,
driven through the DevTools protocol, and a scripted client.

`--dump-dom` can only load one URL; a single sign-on needs a browser
that fills in forms and presses buttons across several sites. Chromium
speaks the DevTools protocol over a pipe (`--remote-debugging-pipe`:
commands in on fd 3, answers out on fd 4, JSON messages ended by NUL),
which needs nothing but the standard library. The pages run in
Chromium itself: its cookies, redirects, form posts and SameSite rules.

`Client` does the same flows request by request, so that a test can
send what no browser would (a client's own identity headers) and look
at every hop.
"""

import fcntl
import html.parser
import http.cookiejar
import json
import os
import select
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from process import require, stop_process


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    require('chromium')


class BrowserError(Exception):
    pass


class Chromium(object):
    """One headless Chromium with one tab; `stop` ends it."""

    def __init__(self, profile_dir, timeout=30):
        chromium = find_chromium()
        self.timeout = timeout
        to_chrome, self._commands = os.pipe()
        self._answers, from_chrome = os.pipe()
        # bash moves Chromium's ends to fds 3 and 4; from fds above 9 of
        # their own, so that neither is one of the two it overwrites.
        ends = []
        for fd in (to_chrome, from_chrome):
            ends.append(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10))
            os.close(fd)
        to_chrome, from_chrome = ends
        script = 'exec "$0" "$@" 3<&%d 4>&%d %d<&- %d>&-' % (
            to_chrome, from_chrome, to_chrome, from_chrome)
        self.log = open(os.path.join(profile_dir, 'chromium.log'), 'ab')
        self.proc = subprocess.Popen(
            ['/bin/bash', '-c', script, chromium, '--headless',
             '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync',
             '--remote-debugging-pipe',
             '--user-data-dir=%s' % os.path.join(profile_dir, 'profile'),
             'about:blank'],
            pass_fds=(to_chrome, from_chrome), stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b''
        self._next_id = 0
        self.session = None
        try:
            target = self.send('Target.createTarget',
                               url='about:blank')['targetId']
            self.session = self.send('Target.attachToTarget',
                                     targetId=target,
                                     flatten=True)['sessionId']
        except Exception:
            self.stop()
            raise

    def send(self, method, **params):
        """Send one command (to the tab once attached) and return its
        result."""
        self._next_id += 1
        message = {'id': self._next_id, 'method': method, 'params': params}
        if self.session and not method.startswith(
                ('Target.', 'Browser.', 'Storage.')):
            message['sessionId'] = self.session
        os.write(self._commands, json.dumps(message).encode() + b'\0')
        while True:
            answer = self._receive()
            if answer.get('id') == self._next_id:
                if 'error' in answer:
                    raise BrowserError('%s: %s' % (method, answer['error']))
                return answer.get('result', {})

    def _receive(self):
        deadline = time.time() + self.timeout
        while b'\0' not in self._buffer:
            left = deadline - time.time()
            ready = select.select([self._answers], [], [], max(left, 0))[0]
            if not ready:
                raise BrowserError('no answer from Chromium in %ss'
                                   % self.timeout)
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                raise BrowserError('Chromium exited (%s)' % self.proc.poll())
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b'\0')
        return json.loads(message)

    def evaluate(self, expression):
        """The value of a JavaScript expression in the current page."""
        result = self.send('Runtime.evaluate', expression=expression,
                           returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in result:
            raise BrowserError('%s: %s' % (expression,
                                           result['exceptionDetails']))
        return result['result'].get('value')

    def wait_for(self, expression, timeout=None):
        """Wait until `expression` is true in a loaded page. A page that
        is being replaced just makes it try again."""
        deadline = time.time() + (timeout or self.timeout)
        last = None
        while time.time() < deadline:
            try:
                if self.evaluate('document.readyState == "complete" && '
                                 '!!(%s)' % expression):
                    return
            except BrowserError as e:
                last = e
            time.sleep(0.1)
        raise BrowserError('never true: %s (at %s; %s)\n%s'
                           % (expression, self.url(), last,
                              self.body[:3000]))

    def go(self, url):
        self.send('Page.navigate', url=url)

    def url(self):
        try:
            return self.evaluate('location.href')
        except BrowserError as e:
            return str(e)

    @property
    def body(self):
        """The page's HTML as it is now."""
        return self.evaluate('document.documentElement.outerHTML')

    def click(self, selector):
        """Press the button or follow the link that `selector` finds."""
        found = self.evaluate(
            '(function(e){ if (!e) return false; e.click(); return true; })'
            '(document.querySelector(%s))' % json.dumps(selector))
        if not found:
            raise BrowserError('nothing matches %s at %s\n%s'
                               % (selector, self.url(), self.body[:2000]))

    def cookies(self):
        """Every cookie the browser holds, as {name: cookie}."""
        return {c['name']: c for c in
                self.send('Storage.getCookies').get('cookies', [])}

    def stop(self):
        stop_process(self.proc)
        for fd in (self._commands, self._answers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()


#: What a browser sends: mod_auth_openidc answers 401 instead of sending
#: the browser to the provider unless the request accepts text/html.
ACCEPT_HTML = 'text/html,application/xhtml+xml,*/*;q=0.8'


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Page(object):
    def __init__(self, url, status, headers, body):
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body


class _Forms(html.parser.HTMLParser):
    """The forms of a page: (action, method, {name: value} of inputs)."""

    def __init__(self):
        html.parser.HTMLParser.__init__(self)
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'form':
            self.forms.append((attrs.get('action') or '',
                               (attrs.get('method') or 'get').lower(), {}))
        elif tag == 'input' and self.forms and attrs.get('name') and \
                attrs.get('type', 'text') in ('hidden', 'text'):
            self.forms[-1][2][attrs['name']] = attrs.get('value') or ''


class _LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies to http://127.0.0.1 too, as browsers do
    (loopback is a secure context)."""

    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.get_full_url()).hostname
        return host in ('127.0.0.1', 'localhost', '::1') or \
            http.cookiejar.DefaultCookiePolicy.return_ok_secure(
                self, cookie, request)


class Client(object):
    """A scripted browser: keeps cookies as a browser does, asks for
    HTML, follows redirects one at a time (`hops` lists the URLs it was
    sent to), submits forms, and sends `headers` with every request."""

    def __init__(self, headers=()):
        self.jar = http.cookiejar.CookieJar(_LoopbackIsSecure())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)
        self.headers = list(headers)
        self.hops = []

    def request(self, url, form=None, headers=()):
        """One request, the redirect not followed."""
        data = urllib.parse.urlencode(form).encode() \
            if form is not None else None
        request = urllib.request.Request(url, data=data)
        request.add_header('Accept', ACCEPT_HTML)
        request.add_header('User-Agent', 'TracRemoteUserAuth-tests')
        for name, value in self.headers + list(headers):
            request.add_header(name, value)
        try:
            response = self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as e:
            response = e
        with response:
            body = response.read().decode('utf-8', 'replace')
            return Page(url, response.status, response.headers, body)

    def go(self, url, form=None, headers=(), limit=10):
        """A request and the redirects that follow it; the last page."""
        page = self.request(url, form, headers)
        while page.status in (301, 302, 303, 307) and limit:
            url = urllib.parse.urljoin(url, page.headers['Location'])
            self.hops.append(url)
            page = self.request(url, headers=headers)
            limit -= 1
        return page

    def submit(self, page, fields=None, index=0, headers=()):
        """Submit a form of `page` with its own inputs and `fields` (the
        button pressed, what was typed); the last page."""
        parser = _Forms()
        parser.feed(page.body)
        assert len(parser.forms) > index, (page.url, page.body[:2000])
        action, method, inputs = parser.forms[index]
        inputs.update(fields or {})
        url = urllib.parse.urljoin(page.url, action)
        if method == 'post':
            return self.go(url, inputs, headers)
        return self.go(url + '?' + urllib.parse.urlencode(inputs),
                       headers=headers)

    def login(self, url, headers=(), **fields):
        """Go to `url` (Trac's /login), submit the identity provider's
        form with `fields` (the user chosen), and follow the way back,
        auto-posting forms (SAML's HTTP-POST binding) included; the last
        page."""
        page = self.go(url, headers=headers)
        assert page.status == 200, (page.url, page.status, page.body[:1000])
        page = self.submit(page, fields, headers=headers)
        while 'document.forms[0].submit()' in page.body:
            page = self.submit(page, headers=headers)
        return page

    def logout(self, page):
        """Press Trac's Logout button on `page`; the last page."""
        parser = _Forms()
        parser.feed(page.body)
        index = [i for i, (action, _, _) in enumerate(parser.forms)
                 if action.endswith('/logout')]
        assert index, page.body[:2000]
        return self.submit(page, index=index[0])

    def cookie(self, name):
        for cookie in self.jar:
            if cookie.name == name:
                return cookie.value
        return None
