// wfgateway console: plain JS, no build step.  Talks to /console/api (JSON), polls with ETags.
(function () {
  'use strict';
  var API = '/console/api';
  var POLL_MS = 2000;
  var state = { session: null, timer: null, etag: null, view: null };
  var STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'TIMED_OUT', 'TERMINATED', 'PAUSED'];
  var ACTION_LABELS = {
    retry: 'Retry', rerun: 'Rerun', restart: 'Restart', resume_from: 'Resume from…',
    pause: 'Pause', resume: 'Resume', terminate: 'Terminate'
  };

  // -- small DOM helpers (text only: nothing from the server is parsed as HTML) ---------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    var kids = Array.prototype.slice.call(arguments, 2);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === 'text') node.textContent = v;
      else if (k.slice(0, 2) === 'on') node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    });
    kids.forEach(function (c) { if (c !== null && c !== undefined) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function when(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : ''; }
  function json(v) { return JSON.stringify(v, null, 2); }
  function badge(status) { return el('span', { 'class': 'badge s-' + status, text: status }); }

  function notice(text, refusal) {
    var box = document.getElementById('notice');
    box.textContent = text;
    box.className = 'notice' + (refusal ? ' refusal' : '');
    box.hidden = !text;
  }

  // -- API -------------------------------------------------------------------------------------------
  function call(method, path, body, etag) {
    var headers = { 'Accept': 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.session && state.session.identity) headers['X-Console-CSRF'] = state.session.identity.csrf;
    if (etag) headers['If-None-Match'] = etag;
    return fetch(API + path, {
      method: method, headers: headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      if (r.status === 304) return { status: 304, etag: etag, body: null };
      return r.json().then(function (doc) { return { status: r.status, etag: r.headers.get('etag'), body: doc }; },
        function () { return { status: r.status, etag: null, body: { error: 'The gateway answered HTTP ' + r.status + ' without JSON' } }; });
    }, function () {
      return { status: 0, etag: null, body: { error: 'The gateway did not answer: is it still running?' } };
    });
  }
  function get(path) {
    return call('GET', path).then(function (r) {
      if (r.status === 401) { showLogin(r.body.error); throw new Error('login'); }
      if (r.status >= 400) throw new Error(r.body.error || ('HTTP ' + r.status));
      return r.body;
    });
  }

  // -- modal confirmation ---------------------------------------------------------------------------
  // ``check`` (optional) says what is wrong with the form (a string) or null: the dialog stays open on it
  function confirmModal(title, body, confirmLabel, danger, check) {
    var modal = document.getElementById('modal');
    document.getElementById('modal-title').textContent = title;
    var holder = clear(document.getElementById('modal-body'));
    if (body) holder.appendChild(body);
    var ok = document.getElementById('modal-confirm');
    ok.textContent = confirmLabel || 'Confirm';
    ok.className = danger ? 'danger' : 'primary';
    var opener = document.activeElement;
    modal.hidden = false;
    var first = holder.querySelector('select, input, textarea');
    (first || ok).focus();
    return new Promise(function (resolve) {
      function done(answer) {
        modal.hidden = true;
        ok.removeEventListener('click', yes);
        document.getElementById('modal-cancel').removeEventListener('click', no);
        modal.removeEventListener('keydown', key);
        if (opener && opener.focus && document.body.contains(opener)) opener.focus();
        resolve(answer);
      }
      function yes() {
        var problem = check ? check() : null;
        var shown = document.getElementById('modal-problem');
        if (shown) shown.parentNode.removeChild(shown);
        if (problem) { holder.appendChild(el('p', { 'class': 'notice refusal', id: 'modal-problem', role: 'alert', text: problem })); return; }
        done(true);
      }
      function no() { done(false); }
      function key(ev) {
        if (ev.key === 'Escape') { ev.preventDefault(); no(); }
        else if (ev.key === 'Tab') {  // Tab stays in the dialog: the page behind it is not there for now
          var stops = modal.querySelectorAll('select, input, textarea, button');
          var edge = ev.shiftKey ? stops[0] : stops[stops.length - 1];
          if (document.activeElement === edge) { ev.preventDefault(); (ev.shiftKey ? stops[stops.length - 1] : stops[0]).focus(); }
        }
        else if (ev.key === 'Enter' && ev.target.tagName === 'INPUT') { ev.preventDefault(); yes(); }
      }
      ok.addEventListener('click', yes);
      document.getElementById('modal-cancel').addEventListener('click', no);
      modal.addEventListener('keydown', key);
    });
  }

  // -- session and login ----------------------------------------------------------------------------
  function loadSession() {
    return call('GET', '/session').then(function (r) {
      state.session = r.body;
      renderWho();
      var docs = clear(document.getElementById('nav-docs'));
      (r.body.dialects || []).forEach(function (d) {
        docs.appendChild(el('a', { href: '/docs/' + d.name, target: '_blank', text: d.title + ' API' }));
      });
      return r.body;
    });
  }
  function renderWho() {
    var who = clear(document.getElementById('who'));
    var id = state.session && state.session.identity;
    if (!id) return;
    var tenants = id.tenants === null ? 'every tenant' : id.tenants.join(', ');
    who.appendChild(document.createTextNode(id.subject + (id.dialect ? ' (' + id.dialect + ')' : '') + ' · ' + tenants));
    if (id.dialect) who.appendChild(el('button', { type: 'button', id: 'logout', onclick: function () {
      call('POST', '/logout', {}).then(function () { state.session.identity = null; showLogin(); });
    }, text: 'Log out' }));
  }
  function showLogin(message) {
    stopPolling();
    var view = clear(document.getElementById('view'));
    var dialects = (state.session && state.session.dialects) || [];
    var form = el('form', { 'class': 'login', id: 'login-form' });
    var choose = el('select', { id: 'login-dialect', name: 'dialect' });
    dialects.forEach(function (d) { choose.appendChild(el('option', { value: d.name, text: d.title })); });
    var fields = el('div');
    function drawFields() {
      clear(fields);
      var d = dialects.filter(function (x) { return x.name === choose.value; })[0];
      (d ? d.login_fields : []).forEach(function (f) {
        fields.appendChild(el('label', { 'for': 'login-' + f, text: f.replace('_', ' ') }));
        fields.appendChild(el('input', { id: 'login-' + f, name: f, type: f.indexOf('secret') >= 0 || f === 'token' ? 'password' : 'text', autocomplete: 'off' }));
      });
    }
    choose.addEventListener('change', drawFields);
    form.appendChild(el('h1', { text: 'Log in to the console' }));
    form.appendChild(el('p', { 'class': 'muted', text: 'Use a credential of any dialect: you see the tenants it may see.' }));
    if (message) form.appendChild(el('p', { 'class': 'notice refusal', id: 'login-error', text: message }));
    form.appendChild(el('label', { 'for': 'login-dialect', text: 'dialect' }));
    form.appendChild(choose);
    form.appendChild(fields);
    form.appendChild(el('p', {}, el('button', { type: 'submit', 'class': 'primary', id: 'login-submit', text: 'Log in' })));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var values = {};
      Array.prototype.forEach.call(fields.querySelectorAll('input'), function (i) { values[i.name] = i.value; });
      call('POST', '/login', { dialect: choose.value, fields: values }).then(function (r) {
        if (r.status >= 400) { showLogin(r.body.error); return; }
        state.session.identity = r.body.identity;
        renderWho();
        route();
      });
    });
    view.appendChild(form);
    drawFields();
  }

  // -- polling ----------------------------------------------------------------------------------------
  function stopPolling() { if (state.timer) clearTimeout(state.timer); state.timer = null; state.etag = null; }
  function poll(path, render, failed) {
    stopPolling();
    var token = {};
    state.view = token;
    function tick() {
      call('GET', path, undefined, state.etag).then(function (r) {
        if (state.view !== token) return;
        if (r.status === 0) { state.down = true; notice(r.body.error, true); state.timer = setTimeout(tick, POLL_MS * 2); return; }
        if (state.down) { state.down = false; notice(''); }
        if (r.status === 401) { showLogin(r.body.error); return; }
        if (r.status >= 400) { if (failed) failed(r.status, r.body.error); else notice(r.body.error, true); return; }
        if (r.status !== 304) { state.etag = r.etag; render(r.body); }
        state.timer = setTimeout(tick, POLL_MS);
      }).catch(function () { if (state.view === token) state.timer = setTimeout(tick, POLL_MS * 2); });
    }
    tick();
  }

  // -- runs list ----------------------------------------------------------------------------------------
  function params(hash) {
    var q = {};
    var i = hash.indexOf('?');
    if (i >= 0) new URLSearchParams(hash.slice(i + 1)).forEach(function (v, k) { q[k] = v; });
    return q;
  }
  function query(q) {
    var p = new URLSearchParams();
    Object.keys(q).forEach(function (k) { if (q[k] !== '' && q[k] !== undefined && q[k] !== null) p.set(k, q[k]); });
    return p.toString();
  }
  function defaultTenant(q) {
    var id = state.session.identity;
    return q.tenant || (id && id.tenants && id.tenants.length ? id.tenants[0] : 'default');
  }

  function showRuns(q) {
    q.tenant = defaultTenant(q);
    var view = clear(document.getElementById('view'));
    view.appendChild(el('h1', { text: 'Runs' }));
    var form = el('form', { 'class': 'filters', id: 'run-filters' });
    function field(label, input) { form.appendChild(el('label', {}, label, input)); return input; }
    var id = state.session.identity;
    var tenant;
    if (id.tenants && id.tenants.length) {
      tenant = el('select', { name: 'tenant', id: 'f-tenant' });
      id.tenants.forEach(function (t) { tenant.appendChild(el('option', { value: t, text: t, selected: t === q.tenant })); });
    } else {
      tenant = el('input', { name: 'tenant', id: 'f-tenant', value: q.tenant, size: 12 });
    }
    field('tenant (project, org)', tenant);
    var dialect = el('select', { name: 'dialect', id: 'f-dialect' }, el('option', { value: '', text: 'every dialect' }));
    state.session.dialects.forEach(function (d) { dialect.appendChild(el('option', { value: d.name, text: d.title, selected: d.name === q.dialect })); });
    field('dialect', dialect);
    field('workflow', el('input', { name: 'workflow', id: 'f-workflow', value: q.workflow || '', size: 14 }));
    var status = el('select', { name: 'status', id: 'f-status' }, el('option', { value: '', text: 'any status' }));
    STATUSES.forEach(function (s) { status.appendChild(el('option', { value: s, text: s, selected: s === q.status })); });
    field('status', status);
    field('created from (UTC)', el('input', { name: 'from', id: 'f-from', type: 'datetime-local', value: q.from ? new Date(+q.from).toISOString().slice(0, 16) : '' }));
    field('created to (UTC)', el('input', { name: 'to', id: 'f-to', type: 'datetime-local', value: q.to ? new Date(+q.to).toISOString().slice(0, 16) : '' }));
    field('correlation id', el('input', { name: 'correlation', id: 'f-correlation', value: q.correlation || '', size: 14 }));
    field('text', el('input', { name: 'q', id: 'f-text', value: q.q || '', size: 14, placeholder: 'id, name, reason' }));
    form.appendChild(el('button', { type: 'submit', 'class': 'primary', id: 'f-apply', text: 'Filter' }));
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var next = {};
      new FormData(form).forEach(function (v, k) { next[k] = v; });
      ['from', 'to'].forEach(function (k) { if (next[k]) next[k] = String(Date.parse(next[k] + 'Z')); });
      if (next.to) next.to = String(+next.to + 59999);  // "to 17:30" takes in the runs of 17:30:59 too
      location.hash = '#/runs?' + query(next);
    });
    view.appendChild(form);

    var bulk = el('div', { 'class': 'bulk' });
    var selected = {};
    var count = el('span', { 'class': 'muted', text: '0 selected' });
    function bulkButton(action) {
      return el('button', { type: 'button', id: 'bulk-' + action, text: ACTION_LABELS[action] + ' selected', onclick: function () {
        var ids = Object.keys(selected).filter(function (k) { return selected[k]; });
        if (!ids.length) { notice('Select runs first', true); return; }
        confirmModal(ACTION_LABELS[action] + ' ' + ids.length + ' run(s)?', el('p', { text: ids.join(', ') }), ACTION_LABELS[action]).then(function (yes) {
          if (!yes) return;
          call('POST', '/bulk/' + action, { tenant: q.tenant, ids: ids }).then(function (r) {
            if (r.status >= 400) { notice(r.body.error, true); return; }
            var bad = r.body.results.filter(function (x) { return !x.ok; });
            notice(r.body.results.map(function (x) { return x.id + ': ' + (x.ok ? 'done' : x.refusal); }).join(' · '), bad.length > 0);
            state.etag = null;
          });
        });
      } });
    }
    bulk.appendChild(bulkButton('retry'));
    bulk.appendChild(bulkButton('restart'));
    bulk.appendChild(count);
    view.appendChild(bulk);

    var table = el('table', { id: 'runs' });
    table.appendChild(el('thead', {}, el('tr', {}, el('th', {}), el('th', { text: 'run' }), el('th', { text: 'dialect' }),
      el('th', { text: 'workflow' }), el('th', { text: 'status' }), el('th', { text: 'created (UTC)' }), el('th', { text: 'ended (UTC)' }),
      el('th', { text: 'correlation id' }))));
    var body = el('tbody');
    table.appendChild(body);
    view.appendChild(el('div', { 'class': 'scroll' }, table));
    var pager = el('div', { 'class': 'pager' });
    view.appendChild(pager);

    var apiQuery = { tenant: q.tenant, dialect: q.dialect, workflow: q.workflow, status: q.status, from: q.from, to: q.to,
      correlation: q.correlation, q: q.q, cursor: q.cursor };
    poll('/runs?' + query(apiQuery), function (doc) {
      clear(body);
      doc.runs.forEach(function (run) {
        var box = el('input', { type: 'checkbox', 'class': 'pick', 'data-run': run.id, checked: !!selected[run.id] });
        box.addEventListener('change', function () {
          selected[run.id] = box.checked;
          count.textContent = Object.keys(selected).filter(function (k) { return selected[k]; }).length + ' selected';
        });
        var link = el('a', { href: '#/run/' + encodeURIComponent(doc.tenant) + '/' + encodeURIComponent(run.id), 'class': 'mono', text: run.id });
        body.appendChild(el('tr', { 'data-run': run.id, 'data-status': run.status },
          el('td', {}, box), el('td', {}, link),
          el('td', {}, run.words.title, el('div', { 'class': 'vendor', text: run.words.id_name + ' · ' + run.words.status })),
          el('td', { text: run.words.workflow + (run.words.workflow !== run.workflow ? ' (' + run.workflow + ')' : ' v' + run.version) }), el('td', {}, badge(run.status)),
          el('td', { text: when(run.created_ms) }), el('td', { text: when(run.ended_ms) }),
          el('td', { 'class': 'mono', text: run.correlation_id || '' })));
      });
      if (!doc.runs.length) body.appendChild(el('tr', {}, el('td', { colspan: 8, 'class': 'muted', text: 'No runs match.' })));
      clear(pager);
      if (q.cursor) pager.appendChild(el('a', { href: '#/runs?' + query(Object.assign({}, q, { cursor: '' })), text: '« first page' }));
      if (doc.next) pager.appendChild(el('a', { href: '#/runs?' + query(Object.assign({}, q, { cursor: doc.next })), id: 'next-page', text: 'next page »' }));
      // "checked" read as ticked boxes beside "0 selected": say it is how many runs the text filter read
      pager.appendChild(el('span', { id: 'page-count', text: doc.runs.length + ' shown' +
        (doc.scanned > doc.runs.length ? ' of ' + doc.scanned + ' runs read for the text filter' : '') +
        (doc.next ? '; more on the next page' : '') }));
    });
  }

  // -- run detail -----------------------------------------------------------------------------------------
  var NODE_W = 170, NODE_H = 44, COL = 200, ROW = 60;
  function fit(text, max) { return text.length > max ? text.slice(0, max - 1) + '…' : text; }

  function drawDag(graph, selectedId, onPick) {
    var maxLayer = 0, maxRow = 0;
    graph.nodes.forEach(function (n) { maxLayer = Math.max(maxLayer, n.layer); maxRow = Math.max(maxRow, n.row); });
    var width = (maxLayer + 1) * COL + 20, height = (maxRow + 1) * ROW + 30;
    var root = svg('svg', { width: width, height: height, viewBox: '0 0 ' + width + ' ' + height, id: 'dag-svg' });
    var defs = svg('defs');
    var marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.appendChild(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8c959f' }));
    defs.appendChild(marker);
    root.appendChild(defs);
    var pos = {};
    graph.nodes.forEach(function (n) { pos[n.id] = { x: 16 + n.layer * COL, y: 16 + n.row * ROW }; });
    graph.edges.forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      if (!a || !b) return;
      var x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      var mid = (x1 + x2) / 2;
      root.appendChild(svg('path', { 'class': 'edge', d: 'M' + x1 + ' ' + y1 + ' C' + mid + ' ' + y1 + ' ' + mid + ' ' + y2 + ' ' + x2 + ' ' + y2 }));
      if (e.branch) {
        var t = svg('text', { x: b.x + NODE_W - 4, y: b.y - 3, 'class': 'branch', 'text-anchor': 'end' });
        t.textContent = 'branch ' + e.branch;
        root.appendChild(t);
      }
    });
    graph.nodes.forEach(function (n) {
      var p = pos[n.id];
      var attempts = n.attempts.length;
      // a task is a button: Tab reaches it, Enter or Space opens its attempts, like a click
      var g = svg('g', { 'class': 'node' + (n.id === selectedId ? ' selected' : ''), 'data-node': n.id, 'data-status': n.status,
        transform: 'translate(' + p.x + ',' + p.y + ')', tabindex: 0, role: 'button',
        'aria-label': n.id + ', ' + n.label + ', ' + n.status + (attempts > 1 ? ', ' + attempts + ' attempts' : ''),
        'aria-pressed': n.id === selectedId ? 'true' : 'false' });
      g.appendChild(svg('rect', { width: NODE_W, height: NODE_H, 'class': 'fill-' + n.status }));
      var light = ['COMPLETED', 'FAILED', 'FAILED_WITH_TERMINAL_ERROR', 'TIMED_OUT', 'IN_PROGRESS', 'CANCELED', 'SKIPPED'].indexOf(n.status) >= 0;
      var t1 = svg('text', { x: 8, y: 18, 'class': light ? 'txt-light' : 'txt-dark' });
      t1.textContent = fit(n.ref, attempts > 1 ? 18 : 22);
      var t2 = svg('text', { x: 8, y: 36, 'class': light ? 'txt-light' : 'txt-dark' });
      // the vendor's word for the task's type; the engine's kind only in the tooltip, for operators
      t2.setAttribute('class', t2.getAttribute('class') + ' task-label');
      t2.textContent = fit(n.label + ' · ' + n.status.toLowerCase(), 24);
      var title = svg('title');
      title.textContent = n.id + ': ' + n.label + ' (' + n.status + (attempts > 1 ? ', ' + attempts + ' attempts' : '') + ')' +
        (n.kind !== n.label ? '\nengine task kind: ' + n.kind : '');
      g.appendChild(title);
      g.appendChild(t1);
      g.appendChild(t2);
      if (attempts > 1) {
        var tries = svg('text', { x: NODE_W - 8, y: 18, 'text-anchor': 'end', 'class': 'tries ' + (light ? 'txt-light' : 'txt-dark') });
        tries.textContent = '×' + attempts;
        g.appendChild(tries);
      }
      g.addEventListener('click', function () { onPick(n.id); });
      g.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onPick(n.id); }
      });
      root.appendChild(g);
    });
    return root;
  }

  function attemptView(a, tenant) {
    var box = el('div', { 'class': 'attempt' + (a.visible ? '' : ' hidden-attempt'), 'data-attempt': a.id });
    box.appendChild(el('div', {}, badge(a.status), ' attempt ' + (a.attempt + 1) + (a.visible ? '' : ' (superseded)') + (a.iteration ? ' · iteration ' + a.iteration : '')));
    var kv = el('dl', { 'class': 'kv' });
    function row(k, v) { if (v !== null && v !== undefined && v !== '') { kv.appendChild(el('dt', { text: k })); kv.appendChild(el('dd', { 'class': 'mono', text: String(v) })); } }
    row('task id', a.id); row('worker', a.worker_id); row('scheduled', when(a.scheduled_ms)); row('started', when(a.started_ms));
    row('ended', when(a.ended_ms)); row('took', a.ended_ms && a.started_ms ? (a.ended_ms - a.started_ms) + ' ms' : '');
    row('retried from', a.retried_from); row('branch', a.branch); row('polls', a.poll_count || ''); row('reason', a.reason);
    box.appendChild(kv);
    if (a.subworkflow_id) box.appendChild(el('p', {}, el('a', { href: '#/run/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(a.subworkflow_id), text: 'open sub-workflow run ' + a.subworkflow_id })));
    box.appendChild(el('div', { 'class': 'muted', text: 'input' }));
    box.appendChild(el('pre', { text: json(a.input) }));
    box.appendChild(el('div', { 'class': 'muted', text: 'output' }));
    box.appendChild(el('pre', { text: json(a.output) }));
    if (a.logs && a.logs.length) {
      box.appendChild(el('div', { 'class': 'muted', text: 'logs' }));
      box.appendChild(el('pre', { text: a.logs.map(function (l) { return (l.created_ms ? when(l.created_ms) + ' ' : '') + (l.log || l.message || json(l)); }).join('\n') }));
    }
    return box;
  }

  function actionForm(action, doc) {
    var run = doc.run;
    var form = el('div', { id: 'action-form' });
    var values = {};
    var nodes = doc.graph.nodes.filter(function (n) { return n.current; });
    if (action === 'rerun') {
      var task = el('select', { id: 'a-task' }, el('option', { value: '', text: 'from the start' }));
      nodes.forEach(function (n) { task.appendChild(el('option', { value: n.current, 'data-ref': n.id, text: 'from task ' + n.id + ' (' + n.status + ')' })); });
      var wfInput = el('textarea', { id: 'a-workflow-input' });
      wfInput.value = json(run.input);
      var taskInput = el('textarea', { id: 'a-task-input', placeholder: 'task input (JSON object), empty: unchanged' });
      form.appendChild(el('label', { 'for': 'a-task', text: 'rerun' })); form.appendChild(task);
      form.appendChild(el('label', { 'for': 'a-workflow-input', text: 'workflow input' })); form.appendChild(wfInput);
      form.appendChild(el('label', { 'for': 'a-task-input', text: 'task input (rerun from a task)' })); form.appendChild(taskInput);
      values.read = function () {
        var out = { task_id: task.value || null };
        if (wfInput.value.trim() && wfInput.value.trim() !== json(run.input).trim()) out.workflow_input = JSON.parse(wfInput.value);
        if (taskInput.value.trim()) out.task_input = JSON.parse(taskInput.value);
        return out;
      };
    } else if (action === 'resume_from') {
      var node = el('select', { id: 'a-node' });
      nodes.filter(function (n) { return !n.parent; }).forEach(function (n) {
        node.appendChild(el('option', { value: n.ref, text: n.ref + ' (' + n.status + ')', selected: n.status === 'COMPLETED' }));
      });
      form.appendChild(el('label', { 'for': 'a-node', text: 'resume from the completed node' })); form.appendChild(node);
      values.read = function () { return { node: node.value }; };
    } else if (action === 'terminate') {
      var reason = el('input', { id: 'a-reason', value: 'Terminated from the console' });
      form.appendChild(el('label', { 'for': 'a-reason', text: 'reason' })); form.appendChild(reason);
      values.read = function () { return { reason: reason.value }; };
    } else {
      values.read = function () { return {}; };
    }
    return { form: form, read: values.read };
  }

  function showRun(tenant, runId) {
    var view = clear(document.getElementById('view'));
    var selectedNode = null;
    var lastDoc = null;
    var head = el('div');
    var actions = el('div', { 'class': 'actions', id: 'run-actions' });
    var dag = el('div', { 'class': 'dag', id: 'dag' });
    var panel = el('div', { 'class': 'panel', id: 'task-panel' }, el('p', { 'class': 'muted', text: 'Click a task to see its attempts.' }));
    var extra = el('div');
    view.appendChild(el('p', {}, el('a', { href: '#/runs?tenant=' + encodeURIComponent(tenant), text: '« runs' })));
    view.appendChild(head);
    view.appendChild(actions);
    view.appendChild(dag);
    view.appendChild(panel);
    view.appendChild(extra);

    function drawPanel() {
      clear(panel);
      var node = lastDoc && lastDoc.graph.nodes.filter(function (n) { return n.id === selectedNode; })[0];
      if (!node) { panel.appendChild(el('p', { 'class': 'muted', text: 'Click a task to see its attempts.' })); return; }
      panel.appendChild(el('h2', { text: node.id }));
      panel.appendChild(el('div', { 'class': 'muted', id: 'task-type', text: node.label + ' · ' + node.attempts.length + ' attempt(s)' }));
      if (node.kind !== node.label) panel.appendChild(el('div', { 'class': 'muted small', id: 'task-kind', text: 'engine task kind: ' + node.kind }));
      var list = el('div', { 'class': 'attempts' });
      node.attempts.slice().reverse().forEach(function (a) { list.appendChild(attemptView(a, tenant)); });
      panel.appendChild(list);
    }
    function drawGraph() {
      var focused = document.activeElement && dag.contains(document.activeElement) ? document.activeElement.getAttribute('data-node') : null;
      clear(dag).appendChild(drawDag(lastDoc.graph, selectedNode, function (id) { selectedNode = id; drawGraph(); drawPanel(); }));
      if (focused !== null) {
        var again = Array.prototype.filter.call(dag.querySelectorAll('g[data-node]'), function (g) { return g.getAttribute('data-node') === focused; })[0];
        if (again) again.focus();
      }
    }

    function act(action, title, label) {
      var f = actionForm(action, lastDoc);
      var word = label.replace('…', '');
      function unreadable() {
        try { f.read(); return null; } catch (err) { return 'Not JSON: ' + err.message; }
      }
      confirmModal(word + ' run ' + runId + '?', f.form, word, action === 'terminate', unreadable).then(function (yes) {
        if (!yes) return;
        var body = f.read();
        body.tenant = tenant;
        call('POST', '/runs/' + encodeURIComponent(runId) + '/actions/' + action, body).then(function (r) {
          if (r.status === 401) { showLogin(r.body.error); return; }
          if (r.body.ok) {
            notice(title + ': ' + word + ' done' + (r.body.run_id !== runId ? '; new run ' + r.body.run_id : ''), false);
            if (r.body.run_id !== runId) { state.keepNotice = true; location.hash = '#/run/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(r.body.run_id); return; }
          } else {
            notice(title + ' refused: ' + (r.body.refusal || r.body.error), true);
          }
          state.etag = null;
        });
      });
    }

    poll('/runs/' + encodeURIComponent(runId) + '?tenant=' + encodeURIComponent(tenant), function (doc) {
      lastDoc = doc;
      var run = doc.run;
      clear(head);
      head.appendChild(el('h1', {}, run.words.workflow + (run.words.workflow !== run.workflow ? ' (' + run.workflow + ')' : ' v' + run.version) + ' ', badge(run.status)));
      var names = el('div', { 'class': 'names', id: 'run-names' });
      doc.names.forEach(function (n) {
        names.appendChild(el('span', { 'class': n.own ? 'own' : '', text: n.title + ' ' + n.id_name + ': ' + n.id + ' (' + n.status + ')' }));
      });
      head.appendChild(names);
      var meta = el('dl', { 'class': 'kv', id: 'run-meta' });
      [['tenant', run.tenant], ['started through', run.words.title], ['backend', run.backend], ['created', when(run.created_ms)], ['ended', when(run.ended_ms)],
        ['correlation id', run.correlation_id], ['reason', run.reason], ['parent run', run.parent], ['made from run', run.cloned_from]]
        .forEach(function (kv) { if (kv[1]) { meta.appendChild(el('dt', { text: kv[0] })); meta.appendChild(el('dd', { text: kv[1] })); } });
      head.appendChild(meta);
      clear(actions);
      doc.actions.forEach(function (a) {
        var word = a.label || ACTION_LABELS[a.action];  // the vendor's own word when it has one (Cognite: Cancel)
        var label = word + (a.dialect !== run.dialect ? ' (' + a.title + ')' : '');
        actions.appendChild(el('button', { type: 'button', id: 'action-' + a.action, 'data-dialect': a.dialect, text: label,
          onclick: function () { act(a.action, a.title, word); } }));
      });
      drawGraph();
      drawPanel();
      clear(extra);
      extra.appendChild(el('h2', { text: 'Input and output' }));
      extra.appendChild(el('div', { 'class': 'detail' },
        el('div', {}, el('div', { 'class': 'muted', text: 'input' }), el('pre', { id: 'run-input', text: json(run.input) })),
        el('div', {}, el('div', { 'class': 'muted', text: 'output' }), el('pre', { id: 'run-output', text: json(run.output) }))));
      extra.appendChild(el('h2', { text: 'Console history' }));
      var hist = el('table', { id: 'history' }, el('thead', {}, el('tr', {}, el('th', { text: 'when' }), el('th', { text: 'who' }),
        el('th', { text: 'action' }), el('th', { text: 'through' }), el('th', { text: 'outcome' }))));
      var hb = el('tbody');
      doc.history.forEach(function (h) {
        hb.appendChild(el('tr', {}, el('td', { text: when(h.at_ms) }), el('td', { text: h.subject }), el('td', { text: h.action }),
          el('td', { text: h.dialect }), el('td', { text: h.outcome + (h.detail ? ': ' + h.detail : '') })));
      });
      if (!doc.history.length) hb.appendChild(el('tr', {}, el('td', { colspan: 5, 'class': 'muted', text: 'No console actions yet.' })));
      hist.appendChild(hb);
      extra.appendChild(el('div', { 'class': 'scroll' }, hist));
    }, function (status, message) {
      if (lastDoc) { notice(message, true); return; }  // shown before: keep it, say what went wrong now
      clear(view).appendChild(el('p', {}, el('a', { href: '#/runs?tenant=' + encodeURIComponent(tenant), text: '« runs' })));
      view.appendChild(el('h1', { id: 'run-missing', text: status === 404 ? 'Run not found' : 'This run cannot be shown' }));
      view.appendChild(el('p', { text: message }));
    });
  }

  // -- upstream runs (what the run registry knows of runs sent to vendors) --------------------------------
  function showUpstream(q) {
    var tenant = defaultTenant(q);
    var view = clear(document.getElementById('view'));
    view.appendChild(el('h1', { text: 'Upstream runs · ' + tenant }));
    view.appendChild(el('p', { 'class': 'muted', text: 'Runs the gateway routed to upstream vendors, read back through each backend.' }));
    var table = el('table', { id: 'upstream' }, el('thead', {}, el('tr', {}, el('th', { text: 'run' }), el('th', { text: 'backend' }),
      el('th', { text: 'dialect' }), el('th', { text: 'workflow' }), el('th', { text: 'status' }), el('th', { text: 'created' }))));
    var body = el('tbody');
    table.appendChild(body);
    view.appendChild(el('div', { 'class': 'scroll' }, table));
    var pager = el('div', { 'class': 'pager' });
    view.appendChild(pager);
    poll('/upstream?' + query({ tenant: tenant, cursor: q.cursor }), function (doc) {
      clear(body);
      doc.runs.forEach(function (run) {
        var link = el('a', { href: '#/run/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(run.id), 'class': 'mono', text: run.id });
        body.appendChild(el('tr', { 'data-run': run.id, 'data-status': run.status || 'UNKNOWN' }, el('td', {}, link), el('td', { text: run.backend }),
          el('td', { text: run.words ? run.words.title : run.dialect }),
          el('td', { text: run.workflow ? run.workflow + ' v' + run.version : '' }),
          el('td', {}, run.error ? el('span', { 'class': 'notice refusal', text: run.error }) : badge(run.status)),
          el('td', { text: when(run.created_ms) })));
      });
      if (!doc.runs.length) body.appendChild(el('tr', {}, el('td', { colspan: 6, 'class': 'muted', text: 'No runs on upstream vendors.' })));
      clear(pager);
      if (doc.next) pager.appendChild(el('a', { href: '#/upstream?' + query({ tenant: tenant, cursor: doc.next }), text: 'next page »' }));
    });
  }

  // -- definitions ----------------------------------------------------------------------------------------
  function showDefinitions(q) {
    var tenant = defaultTenant(q);
    var view = clear(document.getElementById('view'));
    view.appendChild(el('h1', { text: 'Definitions · ' + tenant }));
    var table = el('table', { id: 'definitions' }, el('thead', {}, el('tr', {}, el('th', { text: 'name' }), el('th', { text: 'version' }),
      el('th', { text: 'dialect' }), el('th', { text: 'tasks' }), el('th', { text: 'description' }))));
    var body = el('tbody');
    table.appendChild(body);
    view.appendChild(el('div', { 'class': 'scroll' }, table));
    get('/definitions?' + query({ tenant: tenant, cursor: q.cursor })).then(function (doc) {
      doc.definitions.forEach(function (d) {
        body.appendChild(el('tr', {}, el('td', {}, el('a', { href: '#/definition/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(d.name) + '/' + encodeURIComponent(d.version), text: d.workflow }),
          d.workflow !== d.name ? el('div', { 'class': 'vendor mono', text: d.name }) : null),
          el('td', { text: d.version }), el('td', { text: d.title }), el('td', { text: String(d.tasks) }), el('td', { text: d.description || '' })));
      });
      if (!doc.definitions.length) body.appendChild(el('tr', {}, el('td', { colspan: 5, 'class': 'muted', text: 'No definitions.' })));
      if (doc.next) view.appendChild(el('p', {}, el('a', { href: '#/definitions?' + query({ tenant: tenant, cursor: doc.next }), text: 'next page »' })));
    }).catch(function (err) { if (err.message !== 'login') notice(err.message, true); });
  }

  function showDefinition(tenant, name, version) {
    var view = clear(document.getElementById('view'));
    get('/definitions/' + encodeURIComponent(name) + '/' + encodeURIComponent(version) + '?tenant=' + encodeURIComponent(tenant)).then(function (d) {
      view.appendChild(el('p', {}, el('a', { href: '#/definitions?tenant=' + encodeURIComponent(tenant), text: '« definitions' })));
      view.appendChild(el('h1', { text: d.workflow + ' v' + d.version + ' (' + d.title + ')' }));
      if (d.description) view.appendChild(el('p', { 'class': 'muted', text: d.description }));
      view.appendChild(el('div', { 'class': 'dag' }, drawDag(d.graph, null, function () {})));
      view.appendChild(el('h2', { text: 'Start a run' }));
      var input = el('textarea', { id: 'start-input' });
      input.value = '{}';
      view.appendChild(el('label', { 'for': 'start-input', 'class': 'muted', text: 'input (JSON object)' }));
      view.appendChild(input);
      view.appendChild(el('p', {}, el('button', { type: 'button', 'class': 'primary', id: 'start-run', text: 'Start run', onclick: function () {
        var value;
        try { value = JSON.parse(input.value || '{}'); } catch (err) { notice('Not JSON: ' + err.message, true); return; }
        confirmModal('Start ' + d.name + ' v' + d.version + '?', el('pre', { text: json(value) }), 'Start').then(function (yes) {
          if (!yes) return;
          call('POST', '/start', { tenant: tenant, name: d.name, version: d.version, input: value }).then(function (r) {
            if (r.body.ok) { notice('Started run ' + r.body.run_id + ' through ' + r.body.by, false); state.keepNotice = true; location.hash = '#/run/' + encodeURIComponent(tenant) + '/' + encodeURIComponent(r.body.run_id); }
            else notice((r.body.by ? r.body.by + ' refused: ' : '') + (r.body.refusal || r.body.error), true);
          });
        });
      } })));
    }).catch(function (err) {
      if (err.message === 'login') return;
      clear(view).appendChild(el('p', {}, el('a', { href: '#/definitions?tenant=' + encodeURIComponent(tenant), text: '« definitions' })));
      view.appendChild(el('h1', { id: 'definition-missing', text: 'Definition not found' }));
      view.appendChild(el('p', { text: err.message }));
    });
  }

  // -- routing ---------------------------------------------------------------------------------------------
  function route() {
    stopPolling();
    if (!state.keepNotice) notice('');
    state.keepNotice = false;
    if (!state.session.identity) { showLogin(); return; }
    var hash = location.hash || '#/runs';
    var path = hash.split('?')[0].slice(2).split('/').map(decodeURIComponent);
    document.getElementById('nav-runs').className = path[0] === 'runs' || path[0] === 'run' ? 'active' : '';
    document.getElementById('nav-definitions').className = path[0].indexOf('definition') === 0 ? 'active' : '';
    document.getElementById('nav-upstream').className = path[0] === 'upstream' ? 'active' : '';
    if (path[0] === 'run' && path.length >= 3) showRun(path[1], path[2]);
    else if (path[0] === 'definitions') showDefinitions(params(hash));
    else if (path[0] === 'upstream') showUpstream(params(hash));
    else if (path[0] === 'definition' && path.length >= 4) showDefinition(path[1], path[2], path[3]);
    else showRuns(params(hash));
  }
  window.addEventListener('hashchange', route);
  loadSession().then(route);
})();
