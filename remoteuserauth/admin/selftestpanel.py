"""The admin panel's "Test my front end" button: the plan the browser's
script sends through the front end, and the findings from what it
collected. The browser goes where the command cannot: through the
single sign-on, with the administrator's own session."""

import json

from trac.core import Component
from trac.web.api import RequestDone
from trac.web.chrome import add_script, add_script_data

from remoteuserauth import selftest
from remoteuserauth.probe import SelfTestProbe


class SelfTestPanelRun(Component):
    """The browser's part of the self-test, for the admin panel."""

    # Public API

    def browser_plan(self, req):
        """What the admin panel's script needs to run the browser's part
        of the self-test: the token, the marker, and the requests."""
        probe = SelfTestProbe(self.env)
        config = probe.selftest_config()
        marker = selftest.new_marker()
        plan = selftest.plan(config, marker, selftest.DEFAULT_PATHS,
                             req.scheme, req.abs_href(),
                             probe.forged_assertion(config, marker),
                             browser=True)
        data = {
            'token': probe.issue_token(selftest.PANEL_TOKEN_LIFETIME),
            'lifetime': selftest.PANEL_TOKEN_LIFETIME,
            'marker': marker,
            'base': req.href(),
            'requests': [{'id': p.id, 'path': p.path, 'variant': p.variant,
                          'headers': [list(h) for h in p.headers]}
                         for p in plan],
        }
        add_script_data(req, remoteuserSelftest=data)
        add_script(req, 'remoteuserauth/selftest.js')
        return data

    def answer_browser_run(self, req):
        """Judge what the panel's script collected (a POST of the admin
        panel, TRAC_ADMIN and the form token checked by then) and answer
        with the findings as JSON."""
        try:
            marker = req.args.getfirst('marker', '')
            results = json.loads(req.args.getfirst('results', ''))
            if not selftest.is_marker(marker) or \
                    not isinstance(results, list):
                raise ValueError("no marker or no results")
        except (ValueError, RecursionError) as e:
            self.log.warning("TracRemoteUserAuth: the admin panel's "
                             "self-test sent unusable results (%s)", e)
            self._send_json(req, {'error': "The browser sent no usable "
                                  "results; reload the page and try "
                                  "again."}, 400)
        probe = SelfTestProbe(self.env)
        config = probe.selftest_config()
        plan = selftest.plan(config, marker, selftest.DEFAULT_PATHS,
                             req.scheme, req.abs_href(),
                             'forged' if probe.assertion_planned(config)
                             else None, browser=True)
        exchanges = _browser_exchanges(plan, results)
        found = selftest.judge(exchanges, config, marker, req.abs_href(),
                               req.href())
        self._send_json(req, {
            'findings': [f._asdict() for f in selftest.merge(found)],
            'summary': selftest.summary(found),
            'critical': selftest.exit_code(found) == 1,
            'marker': marker})

    # Internal methods

    def _send_json(self, req, data, status=200):
        body = json.dumps(data).encode('utf-8')
        req.send_response(status)
        req.send_header('Content-Type', 'application/json;charset=utf-8')
        req.send_header('Cache-Control', 'no-store')
        req.send_header('Content-Length', len(body))
        req.end_headers()
        req.write(body)
        raise RequestDone


def _browser_exchanges(plan, results):
    """The panel's script reports, per planned request, its status, the
    Server header and the probe's report; anything else is dropped."""
    by_id = {p.id: p for p in plan}
    exchanges = []
    for result in results:
        if not isinstance(result, dict):
            continue
        probe = by_id.get(str(result.get('id')))
        if probe is None:
            continue
        report = result.get('report')
        status = result.get('status')
        server = result.get('server')
        exchanges.append(selftest.Exchange(
            probe, status if isinstance(status, int) else 0,
            [('Server', server)] if isinstance(server, str) else [],
            report if selftest.is_report(report) else None,
            result.get('error') if isinstance(result.get('error'), str)
            else None, None, None))
    return exchanges
