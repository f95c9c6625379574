// whatsapp-imitation: the page's life. A thin client: it says hello, then polls the imitation
// server every 150 ms and mirrors what it is told into the models (Socket, Conn, Cmd), emitting
// their change events the way whatsapp-web.js listens to them, and registers modules.
//
// `window.Debug` and `window.require` appear once the server answered the hello (real WhatsApp
// Web defines them once its bundles loaded), and never for a browser that is turned away.
(() => {
  'use strict';

  const ns = window.__waImitation;
  delete window.__waImitation;
  const { Emitter, Model, Wid, makeMsgKey, createModules } = ns;

  const TOKEN_KEY = 'whatsapp-imitation-pairing';
  const POLL_MS = 150;
  const RETRY_MS = 500;

  const Socket = new Model({ state: 'OPENING', hasSynced: false });
  const Conn = new Model({ ref: null, connected: false });
  const Cmd = new Emitter();
  const registered = new Map();
  let dropped = new Set();
  let page = null;
  let me = null;
  let keys = null;
  let modules = null;
  let lazyRegistered = false;
  let reloading = false;

  function readToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY);
    } catch (_) {
      return null;
    }
  }

  function writeToken(token) {
    try {
      if (token) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      // No storage: the pairing lasts as long as the page.
    }
  }

  async function api(method, path, body) {
    const init = { method, cache: 'no-store', headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.error) || 'HTTP ' + response.status);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  Socket.takeover = () => api('POST', '/api/takeover', { page }).then(() => undefined);
  Cmd.refreshQR = () => {
    api('POST', '/api/refresh', { page }).catch(() => {});
  };

  // Meta's module system answers an unknown name like this (whatsapp-web.js#3690).
  function require(name) {
    if (dropped.has(name) || !registered.has(name)) {
      throw new Error('Requiring unknown module "' + name + '"');
    }
    return registered.get(name);
  }

  function modulesMap() {
    const map = {};
    for (const [name, value] of registered) {
      if (!dropped.has(name)) map[name] = { factory: () => value };
    }
    return map;
  }

  function register(table) {
    for (const [name, value] of Object.entries(table)) registered.set(name, value);
  }

  function link() {
    if (!Conn.ref || !keys) return '';
    return [Conn.ref, keys.noise, keys.identity, keys.adv, keys.platform].join(',');
  }

  const STATUS = {
    OPENING: 'Loading…',
    UNPAIRED: 'Log into WhatsApp Web',
    UNPAIRED_IDLE: 'Click to reload QR code',
    PAIRING: 'Logging in…',
    CONNECTED: 'Connected',
    CONFLICT: 'WhatsApp is open on another computer or browser',
    TOS_BLOCK: 'This account is not allowed to use WhatsApp',
    SMB_TOS_BLOCK: 'This account is not allowed to use WhatsApp Business',
    DEPRECATED_VERSION: 'This version of WhatsApp Web is out of date',
  };

  function render() {
    const status = document.getElementById('status');
    const hint = document.getElementById('hint');
    const qr = document.getElementById('qr');
    if (!status || !hint || !qr) return;
    let text = STATUS[Socket.state] || Socket.state;
    if (Socket.state === 'CONNECTED' && !Socket.hasSynced) text = 'Loading your chats…';
    status.textContent = text;
    const unpaired = Socket.state === 'UNPAIRED';
    hint.textContent = unpaired ? 'Scan the QR code with WhatsApp on your phone.' : '';
    const shown = unpaired ? link() : '';
    qr.setAttribute('data-ref', shown);
    qr.textContent = shown;
  }

  // The page shown to a browser WhatsApp Web does not accept (wording guessed).
  function turnAway() {
    document.title = 'WhatsApp Web';
    const app = document.getElementById('app');
    if (!app) return;
    app.innerHTML =
      '<h1>WhatsApp works with Google Chrome 60+</h1>' +
      '<p>To use WhatsApp, update Chrome or use Mozilla Firefox, Safari, Microsoft Edge or Opera.</p>' +
      '<p><a href="https://www.google.com/chrome/">Update Google Chrome</a></p>';
  }

  function apply(data) {
    page = data.page;
    dropped = new Set(data.dropped || []);
    if (data.forget) writeToken(null);
    if (data.token) writeToken(data.token);
    if (data.me && !me) me = { pn: new Wid(data.me.pn), lid: new Wid(data.me.lid) };
    modules.syncChats(data.chats);
    modules.applyAcks(data.acks);
    // The send modules arrive before hasSynced turns true (or later, on a cold load).
    if (data.sendModules && !lazyRegistered) {
      lazyRegistered = true;
      register(modules.lazy);
    }
    const connected = data.state === 'CONNECTED';
    // A new ref first, so that a 'change:state' listener reads the ref it goes with.
    if (data.ref && data.ref !== Conn.ref) Conn.set('ref', data.ref);
    if (connected && me) Conn.set({ wid: me.pn, platform: 'android' });
    Conn.set('connected', connected);
    Socket.set('state', data.state);
    Socket.set('hasSynced', Boolean(data.hasSynced));
    if (data.logout) Cmd.trigger('logout');
    render();
    if (data.reload && !reloading) {
      reloading = true;
      window.location.replace(data.reload);
    }
  }

  async function hello() {
    let data;
    try {
      data = await api('POST', '/api/hello', {
        token: readToken(),
        navigatorUserAgent: navigator.userAgent,
        webdriver: navigator.webdriver,
      });
    } catch (_) {
      setTimeout(hello, RETRY_MS);
      return;
    }
    if (data.turnedAway) {
      turnAway();
      return;
    }
    if (!modules) {
      keys = data.keys;
      const MsgKey = makeMsgKey(data.keyField);
      modules = createModules({
        Socket,
        Conn,
        Cmd,
        keys,
        MsgKey,
        api,
        page: () => page,
        me: () => me,
      });
      register(modules.eager);
      register({
        // wa-js src/whatsapp/contants/SANITIZED_VERSION_STR.ts (module named in wa-js commit
        // a3ed679ebd, #3501): the version, whether or not `window.Debug` is set.
        WAWebUpdaterVersion: { SANITIZED_VERSION_STR: String(data.version) },
        // wa-js src/loader/index.ts: `require('__debug').modulesMap` lists the modules defined
        // so far, each with its `factory`.
        __debug: { get modulesMap() { return modulesMap(); } },
      });
      // wa-js src/conn/patch.ts: WhatsApp sets `window.Debug` late and behind a gatekeeper.
      if (!data.debugGated) window.Debug = { VERSION: String(data.version) };
      window.require = require;
    }
    apply(data);
    setTimeout(poll, POLL_MS);
  }

  async function poll() {
    if (reloading) return;
    try {
      apply(await api('GET', '/api/state?page=' + encodeURIComponent(page)));
    } catch (error) {
      if (error && error.status === 404) {
        // The server forgot this page: load afresh (new session, new keys).
        reloading = true;
        window.location.reload();
        return;
      }
    }
    if (!reloading) setTimeout(poll, POLL_MS);
  }

  render();
  hello();
})();
