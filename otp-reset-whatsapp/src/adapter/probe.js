// otp-reset WhatsApp Web adapter v1: the probe.
//
// Installed on every new document (main frame only) and re-installed by the sender when a
// navigation lost it. It reads WhatsApp Web's own modules through `window.require`, the way
// whatsapp-web.js does, and reports one plain object; it never touches the DOM.
(() => {
  if (window.top !== window || typeof window.__otpResetProbe === 'function') return;
  const MODULES = [
    'WAWebSocketModel',
    'WAWebConnModel',
    'WAWebWidFactory',
    'WAWebQueryExistsJob',
    'WAWebCollections',
    'WAWebSendTextMsgChatAction',
  ];
  window.__otpResetProbe = () => {
    const version = window.Debug && window.Debug.VERSION;
    if (typeof window.require !== 'function' || !version) {
      return { loading: true };
    }
    const missing = [];
    const modules = {};
    for (const name of MODULES) {
      try {
        modules[name] = window.require(name);
        if (!modules[name]) missing.push(name);
      } catch (_) {
        missing.push(name);
      }
    }
    const socket = modules.WAWebSocketModel && modules.WAWebSocketModel.Socket;
    const conn = modules.WAWebConnModel && modules.WAWebConnModel.Conn;
    return {
      loading: false,
      version: String(version),
      missing,
      socket: socket ? String(socket.state) : null,
      synced: Boolean(socket && socket.hasSynced),
      qr: conn && conn.ref ? String(conn.ref) : null,
    };
  };
})();
