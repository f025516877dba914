"""A real headless Chromium, driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages separated by NUL bytes on
file descriptors 3 and 4), so that a test can click a page's button and
read what its script wrote."""

import json
import os
import queue
import shutil
import signal
import subprocess
import threading
import time

from servers import require


def find_chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    require('chromium')


class Chromium(object):
    """One headless browser with one page."""

    def __init__(self, profile_dir, timeout=60):
        self.timeout = timeout
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def child_fds():
            # Chromium reads commands on 3 and writes answers on 4; the
            # pipes' own numbers may be 3 or 4, hence the detour.
            read_fd = os.dup2(commands_read, 1000)
            write_fd = os.dup2(answers_write, 1001)
            os.dup2(read_fd, 3)
            os.dup2(write_fd, 4)

        self.proc = subprocess.Popen(
            [find_chromium(), '--headless', '--no-sandbox', '--disable-gpu',
             '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--remote-debugging-pipe',
             '--user-data-dir=%s' % profile_dir, 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(3, 4),
            preexec_fn=child_fds, start_new_session=True)
        os.close(commands_read)
        os.close(answers_write)
        self._next = 0
        self._inbox = queue.Queue()
        self._events = []
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call('Target.createTarget', url='about:blank')
        self.session = self.call('Target.attachToTarget',
                                 targetId=target['targetId'],
                                 flatten=True)['sessionId']
        self.page('Page.enable')
        self.page('Runtime.enable')

    def _read(self):
        buffer = b''
        while True:
            chunk = os.read(self._answers, 65536)
            if not chunk:
                self._inbox.put(None)
                return
            buffer += chunk
            while b'\0' in buffer:
                message, buffer = buffer.split(b'\0', 1)
                self._inbox.put(json.loads(message.decode('utf-8')))

    def call(self, method, session=None, **params):
        self._next += 1
        message = {'id': self._next, 'method': method, 'params': params}
        if session:
            message['sessionId'] = session
        os.write(self._commands, json.dumps(message).encode() + b'\0')
        deadline = time.time() + self.timeout
        while True:
            answer = self._inbox.get(timeout=max(deadline - time.time(),
                                                 0.1))
            if answer is None:
                raise RuntimeError("Chromium exited")
            if answer.get('id') == self._next:
                if 'error' in answer:
                    raise RuntimeError("%s: %s" % (method, answer['error']))
                return answer.get('result', {})
            self._events.append(answer)

    def page(self, method, **params):
        return self.call(method, session=self.session, **params)

    def wait_event(self, method):
        deadline = time.time() + self.timeout
        while True:
            for event in self._events:
                if event.get('method') == method:
                    self._events.remove(event)
                    return event
            answer = self._inbox.get(timeout=max(deadline - time.time(),
                                                 0.1))
            if answer is None:
                raise RuntimeError("Chromium exited")
            self._events.append(answer)

    def open(self, url):
        """Navigate and wait until the page has loaded."""
        self._events = [e for e in self._events
                        if e.get('method') != 'Page.loadEventFired']
        self.page('Page.navigate', url=url)
        self.wait_event('Page.loadEventFired')

    def evaluate(self, expression):
        result = self.page('Runtime.evaluate', expression=expression,
                           returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in result:
            raise RuntimeError(result['exceptionDetails'])
        return result['result'].get('value')

    def click(self, element_id):
        """A real mouse click in the middle of the element."""
        box = self.evaluate(
            "(function () { var e = document.getElementById(%s);"
            " e.scrollIntoView(); var r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
            % json.dumps(element_id))
        for kind in ('mousePressed', 'mouseReleased'):
            self.page('Input.dispatchMouseEvent', type=kind, x=box[0],
                      y=box[1], button='left', clickCount=1)

    def wait_for(self, expression, timeout=None):
        """The value of `expression` once it is truthy."""
        deadline = time.time() + (timeout or self.timeout)
        while time.time() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError("timed out waiting for %s" % expression)

    def close(self):
        try:
            os.close(self._commands)
        except OSError:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        os.close(self._answers)
