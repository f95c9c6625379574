// whatsapp-imitation: the WhatsApp Web modules `window.require(name)` returns, written from how
// whatsapp-web.js 1.34.6 and wa-js call them (see the crate's README for the source of each
// member). `createModules(ctx)` builds them for one page session:
//   eager — there from the first `window.require` on (socket, connection, login, wids);
//   lazy  — the send modules, registered only once the server says so (after hasSynced).
(() => {
  'use strict';

  const ns = window.__waImitation;
  const { Model, Collection, Wid, createWid, base64 } = ns;

  const unixTime = () => Math.floor(Date.now() / 1000);
  const randomBuffer = (n) => crypto.getRandomValues(new Uint8Array(n)).buffer;

  class ChatModel extends Model {
    constructor(id) {
      super({ id, t: 0, unreadCount: 0, archive: false, isReadOnly: false, formattedTitle: id.user });
      Object.defineProperty(this, 'msgs', { value: new Collection() });
    }
  }

  class MsgModel extends Model {}

  ns.createModules = function createModules(ctx) {
    const { Socket, Conn, Cmd, keys, MsgKey, api } = ctx;

    const Chat = new Collection();
    const Msg = new Collection();

    // Chat.find: an existing chat resolves; for any other WhatsApp Web's own collection query
    // fails inside (wa-js#1268, whatsapp-web.js#2386: "r.findImpl is not a function").
    Chat.find = function find(id) {
      const r = this;
      return (async () => {
        const existing = r.get(id);
        if (existing) return existing;
        return r.findImpl(id);
      })();
    };

    // WhatsApp Web keeps messages in the profile's IndexedDB database 'model-storage', object
    // store 'message' (wa-js src/indexdb/functions/getMessagesFromRowId.ts, #3354), so a
    // message outlives the page: whatsapp-web.js#4426 finds one sent before a restart with
    // `getMessageById` (`Msg.get`, then `Msg.getMessagesById`). Keyed by the serialized id here;
    // the real store's key path and its other fields are not public (guessed).
    const DB_NAME = 'model-storage';
    const MESSAGES = 'message';
    let opened = null;
    function database() {
      if (!opened) {
        opened = new Promise((resolve, reject) => {
          const request = indexedDB.open(DB_NAME, 1);
          request.onupgradeneeded = () => {
            request.result.createObjectStore(MESSAGES, { keyPath: 'id' });
          };
          request.onsuccess = () => resolve(request.result);
          request.onerror = () => reject(request.error);
        });
        opened.catch(() => { opened = null; });
      }
      return opened;
    }

    // Resolves once the write is committed (the transaction's 'complete').
    async function storeMessage(msg) {
      const db = await database();
      const record = {
        id: msg.id.toString(),
        ack: msg.ack,
        body: msg.body,
        from: String(msg.from),
        to: String(msg.to),
        t: msg.t,
        type: msg.type,
      };
      await new Promise((resolve, reject) => {
        const transaction = db.transaction(MESSAGES, 'readwrite');
        transaction.objectStore(MESSAGES).put(record);
        transaction.oncomplete = () => resolve();
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    }

    async function readMessage(id) {
      const db = await database();
      return new Promise((resolve, reject) => {
        const request = db.transaction(MESSAGES, 'readonly').objectStore(MESSAGES).get(String(id));
        request.onsuccess = () => resolve(request.result || null);
        request.onerror = () => reject(request.error);
      });
    }

    // The acks receipts brought, by message id: a message loaded from the database later
    // starts from the latest one (a receipt may land while the record is being read).
    const receivedAcks = new Map();

    // A stored message as a model of Msg (and of its chat, when the chat is loaded).
    function fromRecord(record) {
      const received = receivedAcks.get(record.id);
      const msg = new MsgModel({
        ...record,
        ack: received !== undefined && (received < 0 || received > record.ack) ? received : record.ack,
        id: MsgKey.fromString(record.id),
        from: new Wid(record.from),
        to: new Wid(record.to),
      });
      const added = Msg.add(msg);
      const chat = Chat.get(added.id.remote);
      if (chat) chat.msgs.add(added);
      return added;
    }

    // wwebjs Client.getMessageById: the messages WhatsApp Web holds, loaded from the local
    // database when they are not in memory.
    Msg.getMessagesById = async function getMessagesById(ids) {
      const messages = [];
      for (const id of ids || []) {
        let msg = Msg.get(id);
        if (!msg) {
          const record = await readMessage(id);
          if (record) msg = fromRecord(record);
        }
        if (msg) messages.push(msg);
      }
      return { messages };
    };

    // Every ack change is kept in the database, for the next start (loaded ones included).
    Msg.on('change:ack', (msg) => { storeMessage(msg).catch(() => {}); });

    async function updateStored(id, ack) {
      const record = await readMessage(id);
      if (!record || (ack >= 0 && record.ack >= ack) || record.ack < 0) return;
      const db = await database();
      await new Promise((resolve, reject) => {
        const transaction = db.transaction(MESSAGES, 'readwrite');
        transaction.objectStore(MESSAGES).put({ ...record, ack });
        transaction.oncomplete = () => resolve();
        transaction.onerror = () => reject(transaction.error);
        transaction.onabort = () => reject(transaction.error);
      });
    }

    // Receipts from the server (wa-js src/chat/events/registerAckMessageEvent.ts: WhatsApp Web
    // handles them in `handleChatSimpleReceipt`, and `MsgStore` emits 'change:ack'): the
    // message in memory takes the new ack, firing 'change:ack' on the model and on `Msg`
    // (whatsapp-web.js src/Client.js `Msg.on('change:ack', (msg, ack))`); one not in memory is
    // updated in the database (guessed), so that `getMessagesById` gives the current ack.
    function applyAcks(acks) {
      for (const [id, ack] of acks || []) {
        const previous = receivedAcks.get(id);
        if (previous !== undefined && previous < 0) continue;
        receivedAcks.set(id, ack);
        const msg = Msg.get(id);
        if (msg) {
          if (msg.ack >= 0 && ack < 0) msg.set('ack', ack);
          // Each receipt the server holds is its own change, in order, even when two (device,
          // then read) came between two polls: WhatsApp sends each as it happens.
          else for (let next = msg.ack + 1; msg.ack >= 0 && next <= ack; next += 1) msg.set('ack', next);
        } else {
          updateStored(id, ack).catch(() => {});
        }
      }
    }

    function chatFor(id) {
      const wid = id instanceof Wid ? id : new Wid(id);
      return Chat.get(wid) || Chat.add(new ChatModel(wid));
    }

    function me() {
      return ctx.me();
    }

    // --- the login modules (whatsapp-web.js AuthStore.js, wa-js multidevice/*) ---

    const noisePub = new Uint8Array(base64.decodeB64(keys.noise));
    const identityPub = new Uint8Array(base64.decodeB64(keys.identity));
    const noisePriv = randomBuffer(32);
    const identityPriv = randomBuffer(32);
    const registrationId = crypto.getRandomValues(new Uint16Array(1))[0] & 0x3fff;

    const waNoiseInfo = {
      async get() {
        return {
          recoveryToken: randomBuffer(24),
          staticKeyPair: { pubKey: noisePub.slice().buffer, privKey: noisePriv.slice(0) },
        };
      },
    };

    const waSignalStore = {
      async getRegistrationInfo() {
        return {
          registrationId,
          identityKeyPair: { pubKey: identityPub.slice().buffer, privKey: identityPriv.slice(0) },
        };
      },
    };

    const notImitated = (what) => async () => {
      throw new Error('whatsapp-imitation: ' + what + ' is not imitated');
    };

    // --- wids and the linked account ---

    const WidFactory = {
      createWid,
      createUserWid(user, server = 'c.us') {
        return new Wid(String(user) + '@' + server);
      },
      asUserWidOrThrow(wid) {
        const w = createWid(wid);
        if (!w.isUser()) throw new Error('asUserWidOrThrow: ' + w + ' is not a user wid');
        return w;
      },
    };

    const UserPrefsMeUser = {
      getMaybeMePnUser: () => (me() ? me().pn : null),
      getMaybeMeLidUser: () => (me() ? me().lid : null),
      getMePnUserOrThrow() {
        if (!me()) throw new Error('getMePnUserOrThrow: no account is linked');
        return me().pn;
      },
      getMeLidUserOrThrow() {
        if (!me()) throw new Error('getMeLidUserOrThrow: no account is linked');
        return me().lid;
      },
      isMeAccount: (wid) => Boolean(me() && (me().pn.equals(wid) || me().lid.equals(wid))),
    };

    // --- look-ups ---

    function requireWid(wid, where) {
      if (!(wid instanceof Wid)) {
        throw new TypeError(where + ': expected a Wid (WAWebWidFactory.createWid), got ' + typeof wid);
      }
      return wid;
    }

    async function queryWidExists(wid) {
      requireWid(wid, 'queryWidExists');
      const data = await api('POST', '/api/exists', { page: ctx.page(), wid: wid.toString() });
      return data.wid ? { wid: new Wid(data.wid), biz: false } : null;
    }

    async function queryPhoneExists(phone) {
      const digits = String(phone).replace(/[^0-9]/g, '');
      return queryWidExists(new Wid(digits + '@c.us'));
    }

    async function findOrCreateLatestChat(wid) {
      requireWid(wid, 'findOrCreateLatestChat');
      const data = await api('POST', '/api/chat', { page: ctx.page(), wid: wid.toString() });
      return { chat: chatFor(data.id), created: Boolean(data.created) };
    }

    // --- sending ---

    // What the real addAndSendMsgToChat plainly needs of a text message; null when fine.
    function problemWith(chat, msg) {
      if (!chat || !(chat.id instanceof Wid)) return 'chat must be a chat model whose id is a Wid';
      if (Chat.get(chat.id) !== chat) return 'chat is not a model of WAWebCollections.Chat';
      if (!chat.id.isUser()) return 'only chats with users (@c.us, @lid) are imitated';
      if (!msg || typeof msg !== 'object') return 'the message must be an object';
      if (!(msg.id instanceof MsgKey)) return 'id must be a WAWebMsgKey';
      if (!msg.id.fromMe) return 'the message key is not from me';
      if (!msg.id.remote.equals(chat.id)) return 'the message key is for ' + msg.id.remote + ', not ' + chat.id;
      if (msg.type !== 'chat') return 'type ' + JSON.stringify(msg.type) + " is not imitated (only 'chat')";
      if (typeof msg.body !== 'string') return 'body must be a string';
      if (!(msg.to instanceof Wid) || !msg.to.equals(chat.id)) return 'to must be the chat id ' + chat.id;
      const account = me();
      if (!account) return 'no account is linked';
      const from = chat.id.isLid() ? account.lid : account.pn;
      if (!(msg.from instanceof Wid) || !msg.from.equals(from)) {
        return 'from must be the linked account (' + from + ') for a chat with ' + chat.id;
      }
      if (Msg.get(msg.id)) return 'a message with id ' + msg.id + ' already exists';
      return null;
    }

    // Adds the message to Msg and the chat, asks the server to send it, and moves its ack.
    // The message is stored before it goes out, and its ack kept up to date: a page relaunched
    // on the same profile finds it, pending or acknowledged (devlikeapro/waha#559: a message
    // still pending when the session restarted is shown after the restart). A stored message
    // still pending at the next start is not sent again (the same report; guessed beyond it).
    function addAndSend(chat, msgData, via) {
      const msg = new MsgModel({ ack: 0, ...msgData });
      Msg.add(msg);
      chat.msgs.add(msg);
      chat.set('t', msg.t);
      const body = { page: ctx.page(), id: msg.id.toString(), to: chat.id.toString(), text: msg.body, via };
      const result = storeMessage(msg).then(() => api('POST', '/api/send', body)).then(
        (data) => {
          if (data.outcome === 'error') {
            msg.set('ack', -1);
            return { messageSendResult: 'ERROR_UNKNOWN', t: data.t, count: null };
          }
          // The acks follow as receipts, at the page's polls (applyAcks).
          return { messageSendResult: 'OK', t: data.t, count: null };
        },
        () => ({ messageSendResult: 'ERROR_NETWORK', t: unixTime(), count: null }),
      );
      return [Promise.resolve(msg), result];
    }

    function addAndSendMsgToChat(chat, msgData) {
      const problem = problemWith(chat, msgData);
      if (problem) {
        // Both promises reject (marked handled, so a caller awaiting only one is not noisy).
        const error = new Error('addAndSendMsgToChat: ' + problem);
        const refused = [Promise.reject(error), Promise.reject(error)];
        refused.forEach((p) => p.catch(() => {}));
        return refused;
      }
      return addAndSend(chat, msgData, 'addAndSendMsgToChat');
    }

    async function sendTextMsgToChat(chat, text) {
      if (!chat || !(chat.id instanceof Wid)) {
        throw new Error('sendTextMsgToChat: chat must be a chat model whose id is a Wid');
      }
      const account = me();
      if (!account) throw new Error('sendTextMsgToChat: no account is linked');
      const from = chat.id.isLid() ? account.lid : account.pn;
      const id = new MsgKey({ from, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' });
      const msgData = {
        id,
        ack: 0,
        body: text,
        from,
        to: chat.id,
        local: true,
        self: 'out',
        t: unixTime(),
        isNewMsg: true,
        type: 'chat',
      };
      const problem = problemWith(chat, msgData);
      if (problem) throw new Error('sendTextMsgToChat: ' + problem);
      const [, result] = addAndSend(chat, msgData, 'sendTextMsgToChat');
      return result;
    }

    return {
      eager: {
        WAWebSocketModel: { Socket },
        WAWebConnModel: { Conn },
        WAWebCmd: { Cmd },
        WABase64: { encodeB64: base64.encodeB64, decodeB64: base64.decodeB64 },
        WAWebCompanionRegClientUtils: { DEVICE_PLATFORM: keys.platform },
        WAWebAdvSignatureApi: {
          getADVSecretKey: async () => keys.adv,
          setADVSignedIdentity: async () => undefined,
        },
        WAWebUserPrefsInfoStore: { waNoiseInfo },
        WAWebSignalStoreApi: { waSignalStore },
        WAWebOfflineHandler: { OfflineMessageHandler: { getOfflineDeliveryProgress: () => 100 } },
        WAWebAltDeviceLinkingApi: {
          setPairingType: () => undefined,
          initializeAltDeviceLinking: notImitated('linking with a phone number code'),
          startAltLinkingFlow: notImitated('linking with a phone number code'),
        },
        WAWebWidFactory: WidFactory,
      },
      lazy: {
        WAWebCollections: { Chat, Msg },
        WAWebFindChatAction: { findOrCreateLatestChat },
        WAWebMsgKey: MsgKey,
        WAWebSendMsgChatAction: { addAndSendMsgToChat },
        WAWebSendTextMsgChatAction: { sendTextMsgToChat },
        WAWebQueryExistsJob: { queryWidExists, queryPhoneExists },
        WAWebUserPrefsMeUser: UserPrefsMeUser,
        WAWebGetEphemeralFieldsMsgActionsUtils: { getEphemeralFields: () => ({}) },
        WAWebChatGetters: {
          getIsNewsletter: (chat) => Boolean(chat && chat.id && chat.id.isNewsletter()),
          getIsBroadcast: (chat) => Boolean(chat && chat.id && chat.id.isBroadcast()),
          getIsGroup: (chat) => Boolean(chat && chat.id && chat.id.isGroup()),
        },
      },
      applyAcks,
      // The chats the account has, as the server lists them once connected.
      syncChats(ids) {
        for (const id of ids || []) chatFor(id);
      },
    };
  };
})();
