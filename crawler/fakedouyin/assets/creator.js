// Creator centre comment page: choosing a work loads its comment list.
(function () {
  const cfg = window.__FAKE_CFG__;
  const F = window.__fake;
  const base = { aid: '2906', app_name: 'aweme_creator_platform', device_platform: 'web', cookie_enabled: 'true' };
  let current = '';
  let cursor = 0;
  function load(aweme, more) {
    if (!more) { cursor = 0; document.getElementById('comment-list').innerHTML = ''; }
    current = aweme;
    document.querySelectorAll('.work-item').forEach(function (w) {
      w.classList.toggle('selected', w.dataset.awemeId === aweme);
    });
    F.getJSON(F.signed(cfg.commentPath, base, { aweme_id: aweme, cursor: String(cursor), count: '10' })).then(function (j) {
      if (!j || j.status_code !== 0 || current !== aweme) return;
      cursor = j.cursor;
      const ul = document.getElementById('comment-list');
      ul.insertAdjacentHTML('beforeend', (j.comments || []).map(function (c) {
        return '<li class="comment-item" data-cid="' + F.esc(c.cid) + '"><b>' + F.esc(c.user.nickname) + '</b>' +
          (c.label_text ? ' <span class="label">' + F.esc(c.label_text) + '</span>' : '') + '：' + F.esc(c.text) + '</li>';
      }).join(''));
      document.getElementById('comment-load-more').hidden = !j.has_more;
    });
  }
  document.querySelectorAll('.work-item').forEach(function (w) {
    w.addEventListener('click', function () { load(w.dataset.awemeId, false); });
  });
  document.getElementById('comment-load-more').addEventListener('click', function () { load(current, true); });
  const chosen = new URLSearchParams(location.search).get('aweme_id') || cfg.firstAwemeId;
  if (chosen) load(chosen, false);
})();
