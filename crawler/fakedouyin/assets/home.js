// Logged-in www home page: loads the notice feed and keeps an IM store that
// looks like the real React app's, reachable through a fiber on the
// [data-e2e="im-entry"] element.
(function () {
  const cfg = window.__FAKE_CFG__;
  const F = window.__fake;
  const base = {
    device_platform: 'webapp', aid: '6383', channel: 'channel_pc_web',
    pc_client_type: '1', version_code: '170400', version_name: '17.4.0',
    cookie_enabled: 'true', screen_width: String(screen.width), screen_height: String(screen.height),
    browser_language: navigator.language, browser_platform: 'Linux x86_64', browser_name: 'Chrome',
    browser_online: 'true', engine_name: 'Blink', os_name: 'Linux', platform: 'PC',
    downlink: '10', effective_type: '4g', round_trip_time: '50', webid: cfg.webid,
    verifyFp: cfg.verifyFp, fp: cfg.verifyFp, uifid: F.rnd(64)
  };
  try {
    if (localStorage.getItem(cfg.lsHasUserLogin) !== '1') localStorage.setItem(cfg.lsHasUserLogin, '1');
  } catch (e) { /* storage disabled */ }

  // Notice feed.
  function renderNotices(list) {
    const ul = document.getElementById('notice-list');
    ul.innerHTML = list.map(function (n) {
      const c = n.comment && n.comment.comment;
      if (!c) return '<li class="notice-item" data-nid="' + F.esc(n.nid) + '">通知</li>';
      return '<li class="notice-item" data-nid="' + F.esc(n.nid) + '"><b>' + F.esc(c.user.nickname) +
        '</b> ' + (n.type === 32 ? '@了你' : n.type === 33 ? '回复了你' : '评论了你的作品') +
        '：' + F.esc(c.text) + '</li>';
    }).join('');
  }
  F.getJSON(F.signed(cfg.noticePath, base, {
    is_new_notice: '1', is_mark_read: '1', notice_group: cfg.noticeGroup,
    count: String(cfg.noticeCount), min_time: '0', max_time: '0'
  })).then(function (j) {
    if (j && j.status_code === 0) renderNotices(j.notice_list_v2 || []);
  });

  // IM store behind a React-like fiber chain.
  const imStore = {
    converSationListOrigin: [],
    msgListToPush: [],
    unreadCount: 0,
    userInfo: { uid: cfg.uid, secUid: cfg.secUid, nickname: cfg.nickname }
  };
  const el = document.querySelector(cfg.imEntrySelector);
  const suffix = Math.random().toString(36).slice(2, 13);
  const root = { tag: 3, key: null, type: null, memoizedProps: null, return: null };
  const app = { tag: 0, key: null, type: function App() {}, memoizedProps: { children: {} }, return: root };
  const provider = { tag: 10, key: null, type: { _context: {} }, memoizedProps: { value: {}, imStore: imStore, children: {} }, return: app };
  const header = { tag: 0, key: null, type: function Header() {}, memoizedProps: { className: 'header-right', children: [] }, return: provider };
  const entryComp = { tag: 0, key: null, type: function ImEntry() {}, memoizedProps: { onClick: function () {}, count: 0 }, return: header };
  const host = { tag: 5, key: null, type: 'div', stateNode: el, memoizedProps: { 'data-e2e': 'im-entry', className: 'im-entry' }, return: entryComp };
  el[cfg.fiberPrefix + suffix] = host;
  el['__reactProps$' + suffix] = host.memoizedProps;

  let cursor = 0;
  let busy = false;
  function applySync(j) {
    imStore.converSationListOrigin.splice(0, imStore.converSationListOrigin.length, ...(j.conversations || []));
    (j.messages || []).forEach(function (m) { imStore.msgListToPush.push(m); });
    if (imStore.msgListToPush.length > 500) imStore.msgListToPush.splice(0, imStore.msgListToPush.length - 500);
    cursor = j.cursor;
    imStore.unreadCount = imStore.converSationListOrigin.reduce(function (n, c) { return n + (c.unreadCount || 0); }, 0);
    document.getElementById('im-unread').textContent = imStore.unreadCount ? String(imStore.unreadCount) : '';
    const ul = document.getElementById('im-list');
    ul.innerHTML = imStore.converSationListOrigin.map(function (c) {
      let text = '';
      try { text = JSON.parse(c.lastMessage.content).text; } catch (e) { /* no message */ }
      return '<li class="conversation" data-id="' + F.esc(c.conversationId) + '"><b>' + F.esc(c.nickname) + '</b> ' + F.esc(text) + '</li>';
    }).join('');
  }
  function sync() {
    if (busy) return;
    busy = true;
    F.getJSON(F.signed(cfg.imPath, { aid: '6383', device_platform: 'web' }, { cursor: String(cursor) })).then(function (j) {
      busy = false;
      if (j && j.status_code === 0) applySync(j);
    });
  }
  sync();
  setInterval(sync, cfg.imPollMs);
})();
