// whatsapp-imitation: an offline imitation of WhatsApp Web's module surface (adapter v1
// contract), for tests. A thin client: every moving part lives on the imitation server, which
// this page polls every 150 ms.
//
// `window.Debug` and `window.require` appear once the server answered the page's hello (like
// real WhatsApp Web, whose `require` exists only once its bundles loaded).
(() => {
  'use strict';

  const TOKEN_KEY = 'whatsapp-imitation-pairing';
  const POLL_MS = 150;
  const RETRY_MS = 500;

  const Socket = { state: 'OPENING', hasSynced: false };
  const Conn = { ref: null };
  const messages = new Map();
  let page = null;
  let dropped = new Set();
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

  function createWid(id) {
    const serialized = String(id);
    const at = serialized.indexOf('@');
    return {
      _serialized: serialized,
      user: at >= 0 ? serialized.slice(0, at) : serialized,
      server: 'c.us',
    };
  }

  function asWid(wid) {
    if (wid && typeof wid === 'object' && typeof wid._serialized === 'string') return wid;
    return createWid(wid);
  }

  async function queryWidExists(wid) {
    const w = asWid(wid);
    const data = await api('POST', '/api/exists', { page, user: w.user });
    return data.exists ? { wid: w } : null;
  }

  async function findChat(wid) {
    return { id: asWid(wid) };
  }

  function getMsg(id) {
    const key = id && typeof id === 'object' ? id._serialized : String(id);
    return messages.get(key);
  }

  async function sendTextMsgToChat(chat, text) {
    const to = asWid(chat && chat.id)._serialized;
    const body = String(text);
    const data = await api('POST', '/api/send', { page, to, text: body });
    const message = { id: { _serialized: data.id }, to, body, ack: 0 };
    messages.set(data.id, message);
    if (data.ack === 'delivered') {
      setTimeout(() => { if (message.ack < 1) message.ack = 1; }, 100);
      setTimeout(() => { if (message.ack < 2) message.ack = 2; }, 300);
    }
    return message;
  }

  const modules = {
    WAWebSocketModel: { Socket },
    WAWebConnModel: { Conn },
    WAWebWidFactory: { createWid },
    WAWebQueryExistsJob: { queryWidExists },
    WAWebCollections: { Chat: { find: findChat }, Msg: { get: getMsg } },
    WAWebSendTextMsgChatAction: { sendTextMsgToChat },
  };

  function require(name) {
    if (!Object.prototype.hasOwnProperty.call(modules, name) || dropped.has(name)) {
      throw new Error('Requiring unknown module "' + name + '"');
    }
    return modules[name];
  }

  const STATUS = {
    OPENING: 'Loading chats…',
    UNPAIRED: 'Log into WhatsApp Web',
    UNPAIRED_IDLE: 'Click to reload QR code',
    PAIRING: 'Logging in…',
    CONNECTED: 'Connected',
    CONFLICT: 'WhatsApp is open on another computer or browser',
    TIMEOUT: 'Trying to reach phone',
  };

  function render() {
    const status = document.getElementById('status');
    const hint = document.getElementById('hint');
    const qr = document.getElementById('qr');
    if (!status || !hint || !qr) return;
    let text = STATUS[Socket.state] || Socket.state;
    if (Socket.state === 'CONNECTED' && !Socket.hasSynced) text = 'Connected (syncing…)';
    status.textContent = text;
    hint.textContent = Socket.state === 'UNPAIRED' ? 'Scan this code with your phone.' : '';
    qr.textContent = Conn.ref || '';
  }

  function apply(data) {
    page = data.page;
    dropped = new Set(data.dropped || []);
    Socket.state = data.state;
    Socket.hasSynced = Boolean(data.hasSynced);
    Conn.ref = data.ref || null;
    if (data.forget) writeToken(null);
    if (data.token) writeToken(data.token);
    render();
    if (data.reload && !reloading) {
      reloading = true;
      window.location.reload();
    }
  }

  async function hello() {
    try {
      const data = await api('POST', '/api/hello', { token: readToken() });
      window.Debug = { VERSION: String(data.version) };
      window.require = require;
      apply(data);
      setTimeout(poll, POLL_MS);
    } catch (_) {
      setTimeout(hello, RETRY_MS);
    }
  }

  async function poll() {
    if (reloading) return;
    try {
      apply(await api('GET', '/api/state?page=' + encodeURIComponent(page)));
    } catch (error) {
      if (error && error.status === 404) {
        hello();
        return;
      }
    }
    if (!reloading) setTimeout(poll, POLL_MS);
  }

  render();
  hello();
})();
