// Tidewatch appliance setup page: "test connection" and the live status page.
// Served from the appliance itself; no third-party code.
(() => {
  'use strict';

  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';

  // postForm sends fields as a form with the CSRF header and returns the JSON answer.
  async function postForm(url, fields) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) body.append(k, v);
    const resp = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body,
    });
    let answer;
    try {
      answer = await resp.json();
    } catch (e) {
      answer = { ok: false, message: 'Unexpected answer from the appliance (HTTP ' + resp.status + ').' };
    }
    return answer;
  }

  function setupConnectionTest() {
    const button = document.getElementById('test-connection');
    const out = document.getElementById('test-result');
    if (!button || !out) return;
    button.addEventListener('click', async () => {
      const form = button.form;
      const value = (name) => (form.elements[name] ? form.elements[name].value : '');
      button.disabled = true;
      out.className = 'test-result pending';
      out.textContent = 'Testing the connection…';
      out.dataset.outcome = '';
      try {
        const a = await postForm(button.dataset.testUrl, { master_url: value('master_url'), token: value('token') });
        out.className = 'test-result ' + (a.ok ? 'ok' : 'bad');
        out.textContent = a.message || (a.ok ? 'Connected.' : 'The test failed.');
        out.dataset.outcome = a.outcome || 'error';
      } catch (e) {
        out.className = 'test-result bad';
        out.textContent = 'The appliance did not answer: ' + e.message;
        out.dataset.outcome = 'error';
      } finally {
        button.disabled = false;
      }
    });
  }

  // cell builds one accounts table cell; text only, never HTML.
  function cell(label, text, cls) {
    const td = document.createElement('td');
    td.dataset.label = label;
    if (cls) td.className = cls;
    if (text instanceof Node) td.appendChild(text); else td.textContent = text;
    return td;
  }

  function renderAccounts(accounts) {
    const tbody = document.querySelector('#accounts tbody');
    if (!tbody) return;
    const rows = [];
    for (const a of accounts) {
      const tr = document.createElement('tr');
      tr.dataset.account = a.account_id;
      const code = document.createElement('code');
      code.textContent = a.account_id;
      const badge = document.createElement('span');
      badge.className = 'badge ' + a.state_class;
      badge.textContent = a.state;
      const time = document.createElement('time');
      time.dateTime = a.last_poll_at;
      time.textContent = a.last_poll;
      tr.append(
        cell('Account', code), cell('Platform', a.platform), cell('State', badge),
        cell('Last poll', time), cell('Last result', a.last_result), cell('Last error', a.last_error, 'error-text'));
      rows.push(tr);
    }
    if (rows.length === 0) {
      const tr = document.createElement('tr');
      tr.className = 'empty';
      const td = document.createElement('td');
      td.colSpan = 6;
      td.textContent = 'No accounts yet. The master assigns accounts once this appliance is online.';
      tr.appendChild(td);
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    const count = document.getElementById('account-count');
    if (count) count.textContent = String(accounts.length);
  }

  function renderStatus(st) {
    for (const el of document.querySelectorAll('[data-field]')) {
      const v = st[el.dataset.field];
      if (v === undefined) continue;
      el.textContent = (v === null || v === '') ? (el.dataset.empty || '') : String(v);
    }
    for (const m of document.querySelectorAll('meter[data-meter]')) {
      const v = st[m.dataset.meter];
      if (typeof v === 'number') m.value = v;
    }
    const badge = document.getElementById('connection');
    if (badge) badge.className = 'badge state-' + st.connection;
    renderAccounts(st.accounts || []);
    const log = document.getElementById('log');
    if (log) {
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent = (st.log_lines || []).join('\n');
      if (atEnd) log.scrollTop = log.scrollHeight;
    }
  }

  function setupStatus() {
    const root = document.getElementById('status');
    if (!root) return;
    const url = root.dataset.statusUrl;
    const every = parseInt(root.dataset.refresh, 10) || 3000;
    const live = document.getElementById('live');
    const log = document.getElementById('log');
    if (log) log.scrollTop = log.scrollHeight;

    const tick = async () => {
      try {
        const resp = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { 'Accept': 'application/json' } });
        if (resp.status === 401) {
          window.location.assign('/login');
          return;
        }
        if (!resp.ok) throw new Error('HTTP ' + resp.status);
        renderStatus(await resp.json());
        if (live) { live.classList.remove('stale'); live.textContent = 'live'; }
      } catch (e) {
        if (live) { live.classList.add('stale'); live.textContent = 'no answer'; }
      }
      window.setTimeout(tick, every);
    };
    window.setTimeout(tick, every);
  }

  document.addEventListener('DOMContentLoaded', () => {
    setupConnectionTest();
    setupStatus();
  });
})();
