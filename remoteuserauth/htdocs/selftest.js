/* TracRemoteUserAuth: the Remote User admin panel's "Test my front end".
 *
 * Sends the planned requests, carrying forged identity and address
 * headers, from this browser through the front end to the site's probe,
 * without cookies (the probe's requests stay anonymous), then posts what
 * came back to the panel, which judges it with the same code as
 * `trac-admin ENV remoteuser selftest` and answers with the findings.
 */
(function () {
  'use strict';

  var PARALLEL = 4;
  var loadedAt = Date.now();

  function probeUrl(plan, request) {
    var url = plan.base.replace(/\/$/, '') + request.path;
    return url + '?remoteuser-probe=' + encodeURIComponent(plan.token);
  }

  function send(plan, request) {
    var headers = new Headers();
    try {
      request.headers.forEach(function (h) { headers.append(h[0], h[1]); });
    } catch (e) {
      return Promise.resolve({id: request.id, status: 0,
                              error: 'the browser cannot send it: ' + e});
    }
    return fetch(probeUrl(plan, request), {
      method: 'GET', headers: headers, credentials: 'omit',
      redirect: 'manual', cache: 'no-store'
    }).then(function (response) {
      var result = {id: request.id, status: response.status,
                    server: response.headers.get('Server')};
      var type = response.headers.get('Content-Type') || '';
      if (response.status !== 200 || type.indexOf('json') < 0) {
        return result;
      }
      return response.json().then(function (report) {
        result.report = report;
        return result;
      }, function () { return result; });
    }, function (error) {
      return {id: request.id, status: 0, error: String(error)};
    });
  }

  function sendAll(plan, progress) {
    var results = [];
    var queue = plan.requests.slice();
    function worker() {
      var request = queue.shift();
      if (!request) {
        return Promise.resolve();
      }
      return send(plan, request).then(function (result) {
        results.push(result);
        progress.textContent = results.length + ' / ' +
          plan.requests.length + ' requests';
        return worker();
      });
    }
    // The root's baseline first and alone, as the command does.
    var first = queue.shift();
    return send(plan, first).then(function (result) {
      results.push(result);
      var workers = [];
      for (var i = 0; i < PARALLEL; i++) {
        workers.push(worker());
      }
      return Promise.all(workers);
    }).then(function () { return results; });
  }

  function judge(form, plan, results) {
    var body = new URLSearchParams();
    body.append('__FORM_TOKEN', form.elements.__FORM_TOKEN.value);
    body.append('selftest', '1');
    body.append('marker', plan.marker);
    body.append('results', JSON.stringify(results));
    return fetch(form.action || window.location.href, {
      method: 'POST', body: body, credentials: 'same-origin',
      headers: {'Accept': 'application/json'}
    }).then(function (response) { return response.json(); });
  }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
  }

  function show(target, answer) {
    target.textContent = '';
    var summary = document.createElement('p');
    summary.id = 'remoteuser-selftest-summary';
    summary.className = answer.critical ? 'untrusted' : 'trusted';
    summary.textContent = answer.error || answer.summary;
    target.appendChild(summary);
    if (!answer.findings) {
      return;
    }
    var table = document.createElement('table');
    table.className = 'listing';
    var head = table.createTHead().insertRow();
    ['Severity', 'Where', 'Finding', 'What to change'].forEach(
      function (title) {
        var th = document.createElement('th');
        th.textContent = title;
        head.appendChild(th);
      });
    var tbody = table.createTBody();
    answer.findings.forEach(function (finding) {
      var row = tbody.insertRow();
      row.className = 'remoteuser-finding ' + finding.severity.toLowerCase();
      cell(row, finding.severity, 'severity');
      cell(row, finding.where);
      cell(row, finding.text);
      cell(row, finding.fix);
    });
    target.appendChild(table);
  }

  function run(form, plan) {
    var target = document.getElementById('remoteuser-selftest-findings');
    var progress = document.getElementById('remoteuser-selftest-progress');
    var button = document.getElementById('remoteuser-selftest-run');
    if (Date.now() - loadedAt > (plan.lifetime - 30) * 1000) {
      show(target, {error: 'This page is older than its probe token; ' +
                           'reload it and try again.'});
      return;
    }
    button.disabled = true;
    target.textContent = '';
    sendAll(plan, progress).then(function (results) {
      progress.textContent = 'judging...';
      return judge(form, plan, results);
    }).then(function (answer) {
      show(target, answer);
    }, function (error) {
      show(target, {error: 'The self-test failed: ' + error});
    }).then(function () {
      progress.textContent = '';
      button.disabled = false;
    });
  }

  function setUp() {
    var form = document.getElementById('remoteuser-selftest-form');
    var plan = window.remoteuserSelftest;
    if (!form || !plan) {
      return;
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      run(form, plan);
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', setUp);
  } else {
    setUp();
  }
}());
