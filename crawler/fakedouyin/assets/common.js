// Helpers shared by the fake's pages. Real Douyin pages sign their API calls
// with msToken (from the cookie) and a_bogus (computed by an obfuscated VM);
// the fake only imitates the shape of those parameters.
window.__fake = (function () {
  function cookie(name) {
    const m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : '';
  }
  function rnd(n) {
    const a = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=';
    let s = '';
    for (let i = 0; i < n; i++) s += a[Math.floor(Math.random() * a.length)];
    return s;
  }
  function signed(path, base, params) {
    const q = new URLSearchParams(Object.assign({}, base, params));
    q.set('msToken', cookie('msToken'));
    q.set('a_bogus', rnd(160 + Math.floor(Math.random() * 30)));
    return path + '?' + q.toString();
  }
  function getJSON(url) {
    return new Promise(function (resolve) {
      const x = new XMLHttpRequest();
      x.open('GET', url);
      x.withCredentials = true;
      x.onload = function () {
        try { resolve(JSON.parse(x.responseText)); } catch (e) { resolve(null); }
      };
      x.onerror = function () { resolve(null); };
      x.send();
    });
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  return { cookie: cookie, rnd: rnd, signed: signed, getJSON: getJSON, esc: esc };
})();
