// otp-reset WhatsApp Web adapter 4: the probe.
//
// Installed on every new document (main frame only), and again by the sender when a navigation
// lost it. It reads WhatsApp Web's own modules through `window.require`, as whatsapp-web.js and
// wa-js do, and never touches the DOM. WhatsApp Web registers its modules in stages, so each stage's
// modules are required only once the page is there: the socket and connection models from the
// start, the login modules while unpaired, the send modules once the first sync is done.
// `window.__otpReset.probe()` answers one plain object; `send.js` and `ack.js` use the rest.
(() => {
  if (window.top !== window || window.__otpReset) return;

  // What each stage needs: module → members that must be defined.
  const NEEDS = {
    // whatsapp-web.js src/Client.js, inject(): `WAWebSocketModel.Socket` (state, hasSynced and
    // their 'change:*' events) and `WAWebConnModel.Conn` (ref, 'change:ref') are read as soon as
    // the app booted.
    base: {
      WAWebSocketModel: ['Socket'],
      WAWebConnModel: ['Conn'],
    },
    // whatsapp-web.js src/util/Injected/AuthStore/AuthStore.js (ExposeAuthStore) and the QR
    // handler in src/Client.js inject(); wa-js src/conn/functions/getAuthCode.ts. `WAWebCmd.Cmd`
    // refreshes an idle QR code (wa-js src/conn/functions/refreshQR.ts).
    login: {
      WAWebUserPrefsInfoStore: ['waNoiseInfo'],
      WAWebSignalStoreApi: ['waSignalStore'],
      WAWebAdvSignatureApi: ['getADVSecretKey'],
      WAWebCompanionRegClientUtils: ['DEVICE_PLATFORM'],
      WABase64: ['encodeB64'],
      WAWebCmd: ['Cmd'],
    },
    // whatsapp-web.js src/util/Injected/Utils.js (WWebJS.getChat, WWebJS.sendMessage) and
    // src/Client.js (getNumberId; the 'change:ack' listener), loaded once 'change:hasSynced'
    // fired; wa-js src/chat/functions/find.ts and sendRawMessage.ts.
    send: {
      WAWebCollections: ['Chat', 'Msg'],
      WAWebWidFactory: ['createWid'],
      WAWebQueryExistsJob: ['queryWidExists'],
      WAWebFindChatAction: ['findOrCreateLatestChat'],
      WAWebMsgKey: ['newId'],
      WAWebSendMsgChatAction: ['addAndSendMsgToChat'],
      WAWebUserPrefsMeUser: ['getMaybeMePnUser', 'getMaybeMeLidUser'],
      WAWebGetEphemeralFieldsMsgActionsUtils: ['getEphemeralFields'],
    },
  };
  // The most messages whose acknowledgement is followed at once; older ones are forgotten.
  const MAX_TRACKED = 256;

  const self = {
    // The linking code for one QR reference: { ref, text } or { ref, error }.
    link: null,
    linking: null,
    // Our messages by serialized key: { model, ack, result }.
    tracked: new Map(),
    // Callbacks waiting for an acknowledgement to change (ack.js).
    waiters: new Set(),
    listening: { ref: false, ack: false, logout: false },
    // The phone logged this session out (seen on this document).
    loggedOut: false,
    // `require('__debug')` failed once: do not ask again on this document.
    noModulesMap: false,
  };
  window.__otpReset = self;

  // wa-js src/loader/index.ts: `require('__debug').modulesMap` lists the modules defined so far.
  // Asking it first spares requiring a module that is not (yet) there, which WhatsApp Web's
  // module system reports as an error every time.
  function modulesMap() {
    if (self.noModulesMap) return null;
    try {
      const map = window.require('__debug').modulesMap;
      if (map && typeof map === 'object') return map;
    } catch (_) {
      // An older module system: `require` alone tells.
    }
    self.noModulesMap = true;
    return null;
  }

  function requireIfDefined(name, map) {
    if (map && !Object.prototype.hasOwnProperty.call(map, name)) return undefined;
    try {
      return window.require(name);
    } catch (_) {
      return undefined;
    }
  }

  // Requires a stage's modules; names what is missing, module or `module.member`.
  self.need = (stage) => {
    const map = modulesMap();
    const modules = {};
    const missing = [];
    for (const [name, members] of Object.entries(NEEDS[stage])) {
      const module = requireIfDefined(name, map);
      if (module === undefined || module === null) {
        missing.push(name);
        continue;
      }
      for (const member of members) {
        if (module[member] === undefined) missing.push(name + '.' + member);
      }
      modules[name] = module;
    }
    return { modules, missing };
  };

  // wa-js commit a3ed679ebd (#3501) and src/conn/patch.ts: WhatsApp Web sets `window.Debug`
  // late and behind a gatekeeper; `WAWebUpdaterVersion.SANITIZED_VERSION_STR` has the version
  // from the start. whatsapp-web.js src/Client.js reads `window.Debug.VERSION`.
  function version(map) {
    const updater = requireIfDefined('WAWebUpdaterVersion', map);
    if (updater && updater.SANITIZED_VERSION_STR) return String(updater.SANITIZED_VERSION_STR);
    return window.Debug && window.Debug.VERSION ? String(window.Debug.VERSION) : null;
  }

  // whatsapp-web.js src/Client.js: the phone's logout shows as `Cmd` 'logout' (or
  // 'logout_from_bridge'), then a reload to `?post_logout=1` (initialize(), framenavigated);
  // wa-js src/conn/events/registerLogoutEvent.ts listens to the same event.
  function watchLogout(map) {
    if (window.location.search.includes('post_logout=1')) self.loggedOut = true;
    if (self.listening.logout) return;
    const cmd = requireIfDefined('WAWebCmd', map);
    if (!cmd || !cmd.Cmd || typeof cmd.Cmd.on !== 'function') return;
    self.listening.logout = true;
    cmd.Cmd.on('logout', () => { self.loggedOut = true; });
    cmd.Cmd.on('logout_from_bridge', () => { self.loggedOut = true; });
  }

  self.wake = () => {
    for (const waiter of [...self.waiters]) waiter();
  };

  self.track = (id) => {
    if (self.tracked.size >= MAX_TRACKED) {
      self.tracked.delete(self.tracked.keys().next().value);
    }
    const entry = { model: null, ack: 0, result: null };
    self.tracked.set(id, entry);
    return entry;
  };

  // whatsapp-web.js src/Client.js inject(): the QR code encodes
  // `ref,staticKeyB64,identityKeyB64,advSecretKey,platform`, the keys from the login modules
  // (compare wa-js src/conn/functions/getAuthCode.ts). A phone links only with the whole string.
  async function linkingCode(login, ref) {
    const registration = await login.WAWebSignalStoreApi.waSignalStore.getRegistrationInfo();
    const noise = await login.WAWebUserPrefsInfoStore.waNoiseInfo.get();
    const base64 = login.WABase64;
    const staticKey = base64.encodeB64(noise.staticKeyPair.pubKey);
    const identityKey = base64.encodeB64(registration.identityKeyPair.pubKey);
    const advSecret = await login.WAWebAdvSignatureApi.getADVSecretKey();
    const platform = login.WAWebCompanionRegClientUtils.DEVICE_PLATFORM;
    return [ref, staticKey, identityKey, advSecret, platform].join(',');
  }

  function relink(login, ref) {
    if (!ref) {
      self.link = null;
      return null;
    }
    if (self.link && self.link.ref === ref) return Promise.resolve();
    if (self.linking && self.linking.ref === ref) return self.linking.done;
    const done = linkingCode(login, ref).then(
      (text) => { self.link = { ref, text }; },
      (error) => { self.link = { ref, error: String((error && error.message) || error) }; },
    );
    self.linking = { ref, done };
    return done;
  }

  function listenForAcks(send) {
    if (self.listening.ack) return;
    self.listening.ack = true;
    // whatsapp-web.js src/Client.js attachEventListeners(): `Msg.on('change:ack', (msg, ack))`.
    send.WAWebCollections.Msg.on('change:ack', (msg, ack) => {
      const entry = msg && msg.id ? self.tracked.get(String(msg.id)) : undefined;
      if (!entry) return;
      entry.ack = Number(ack);
      self.wake();
    });
  }

  self.probe = async () => {
    if (typeof window.require !== 'function') return { loading: true };
    const map = modulesMap();
    const answer = { loading: false, version: version(map), socket: null, synced: false };
    const base = self.need('base');
    if (base.missing.length) {
      // Without a version either, the app has not booted yet.
      if (!answer.version) return { loading: true };
      return { ...answer, stage: 'base', missing: base.missing };
    }
    watchLogout(map);
    answer.loggedOut = self.loggedOut;
    const socket = base.modules.WAWebSocketModel.Socket;
    const conn = base.modules.WAWebConnModel.Conn;
    answer.socket = String(socket.state);
    answer.synced = Boolean(socket.hasSynced);

    if (answer.socket === 'UNPAIRED' || answer.socket === 'UNPAIRED_IDLE') {
      const login = self.need('login');
      if (login.missing.length) return { ...answer, stage: 'login', missing: login.missing };
      if (!self.listening.ref) {
        self.listening.ref = true;
        // whatsapp-web.js src/Client.js inject(): the code is rebuilt on `change:ref`.
        conn.on('change:ref', (_conn, ref) => { relink(login.modules, ref); });
      }
      await relink(login.modules, conn.ref);
      const link = self.link && self.link.ref === conn.ref ? self.link : null;
      return { ...answer, stage: 'login', missing: [], link: link && link.text, linkError: link && link.error };
    }

    if (answer.socket === 'CONNECTED' && answer.synced) {
      const send = self.need('send');
      if (send.missing.length) return { ...answer, stage: 'send', missing: send.missing };
      listenForAcks(send.modules);
      return { ...answer, stage: 'send', missing: [] };
    }
    return { ...answer, stage: 'base', missing: [] };
  };
})();
