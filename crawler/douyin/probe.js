// Installed in every new document of an account's tab before the page's
// own scripts. It restores the account's localStorage keys, then waits for
// the page's IM store and hands each message it has not handed over yet to
// Go through the page binding. Ids become strings here: 64-bit ids do not
// survive JavaScript numbers on their way through JSON.
(function () {
  const C = __CONFIG__;
  if (window.top !== window || location.origin !== C.origin) return;
  try {
    Object.keys(C.localStorage).forEach(function (k) {
      if (localStorage.getItem(k) === null) localStorage.setItem(k, C.localStorage[k]);
    });
  } catch (e) { /* storage disabled */ }

  const sent = new Set();
  function str(v) { return v === undefined || v === null ? '' : String(v); }
  function findStore() {
    const el = document.querySelector(C.entry);
    if (!el) return null;
    const key = Object.keys(el).find(function (k) { return k.startsWith(C.fiberPrefix); });
    let f = key ? el[key] : null;
    for (let depth = 0; f && depth < 500; depth++, f = f.return) {
      const p = f.memoizedProps;
      if (p && p[C.storeProp]) return p[C.storeProp];
    }
    return null;
  }
  function nickname(conv, sender) {
    if (!conv) return '';
    const ps = conv[C.conv.participants] || [];
    for (let i = 0; i < ps.length; i++) {
      if (str(ps[i][C.conv.participantUid]) === sender && ps[i][C.conv.participantNickname]) {
        return str(ps[i][C.conv.participantNickname]);
      }
    }
    return str(conv[C.conv.nickname]);
  }
  function tick() {
    const send = window[C.binding];
    if (typeof send !== 'function') return;
    let store;
    try { store = findStore(); } catch (e) { return; }
    if (!store) return;
    const convs = {};
    (store[C.convList] || []).forEach(function (c) { convs[str(c[C.conv.id])] = c; });
    const out = [];
    (store[C.pushList] || []).forEach(function (m) {
      const id = str(m[C.msg.serverId]);
      if (!id || sent.has(id)) return;
      const conv = str(m[C.msg.conversationId]);
      const sender = str(m[C.msg.sender]);
      let content = m[C.msg.content];
      if (typeof content !== 'string') content = JSON.stringify(content === undefined ? null : content);
      sent.add(id);
      out.push({
        id: id, conversationId: conv, sender: sender, type: Number(m[C.msg.type]) || 0,
        content: content, createdAt: Number(m[C.msg.createdAt]) || 0,
        isFromMe: !!m[C.msg.isFromMe], nickname: nickname(convs[conv], sender)
      });
    });
    if (out.length === 0) return;
    Promise.resolve(send({ messages: out })).catch(function () {
      out.forEach(function (m) { sent.delete(m.id); });
    });
  }
  setInterval(tick, C.intervalMs);
})();
