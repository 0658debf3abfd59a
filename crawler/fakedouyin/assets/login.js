// Login panel: polls the QR status, swaps the QR when it rotates and stores
// the login in localStorage once confirmed (the cookies come as Set-Cookie).
(function () {
  const cfg = window.__FAKE_CFG__;
  const F = window.__fake;
  const panel = document.getElementById(cfg.loginPanelId);
  const img = document.querySelector('#' + cfg.qrContainerId + ' img');
  const status = document.getElementById('qrcode-status');
  document.getElementById('login-button').addEventListener('click', function () { panel.hidden = false; });
  document.getElementById('login-close').addEventListener('click', function () { panel.hidden = true; });
  let token = cfg.qrToken;
  function poll() {
    F.getJSON(cfg.checkPath + '?session=' + encodeURIComponent(cfg.qrSession) + '&token=' + encodeURIComponent(token) +
      '&aid=6383&service=' + encodeURIComponent(location.origin)).then(function (j) {
      const d = j && j.data;
      if (!d) { setTimeout(poll, cfg.pollMs); return; }
      if (d.token && d.token !== token && d.qrcode) {
        token = d.token;
        img.src = 'data:image/png;base64,' + d.qrcode;
      }
      switch (d.status) {
        case '1': status.textContent = ''; break;
        case '2': status.textContent = '扫码成功，请在手机上确认'; break;
        case '3':
          try {
            localStorage.setItem(cfg.lsHasUserLogin, '1');
            if (d.xmst) localStorage.setItem(cfg.lsXmst, d.xmst);
          } catch (e) { /* storage disabled */ }
          status.textContent = '登录成功';
          location.href = d.redirect_url || '/';
          return;
        case '4': status.textContent = '你已取消登录'; return;
        case '5': status.textContent = '二维码已失效'; img.classList.add('expired'); return;
      }
      setTimeout(poll, cfg.pollMs);
    });
  }
  setTimeout(poll, cfg.pollMs);
})();
