// otp-reset WhatsApp Web adapter 4: one text message.
//
// Resolves to { id } (the message key, serialized) once WhatsApp Web created the message, or to
// { error: 'not_registered' } before anything was created. Never retried by the sender: once
// this script ran past `addAndSendMsgToChat`, the message may exist. With `messageId` (from
// new-key.js) the message is created under that id instead of a fresh one, so that find.js can
// tell later whether it exists.
async (digits, text, messageId) => {
  const self = window.__otpReset;
  const need = self.need('send');
  if (need.missing.length) return { error: 'missing', missing: need.missing };
  const m = need.modules;

  // whatsapp-web.js src/Client.js getNumberId(): `createWid(number + '@c.us')`, then
  // `queryWidExists(wid)`; no account when the result or its `wid` is missing.
  const wid = m.WAWebWidFactory.createWid(digits + '@c.us');
  const found = await m.WAWebQueryExistsJob.queryWidExists(wid);
  if (!found || found.wid === undefined) return { error: 'not_registered' };

  // wa-js src/chat/functions/find.ts (always `findOrCreateLatestChat` since wa-js #3203, so that
  // WhatsApp Web picks the chat for the number itself, by LID on a migrated account), then the
  // collection's model for the chat it names: `result.chat` may be a plain object, and sending
  // needs the model. whatsapp-web.js src/util/Injected/Utils.js WWebJS.getChat (PR #3703) calls
  // it when `Chat.get` finds nothing; `Chat.find` rejects for a number with no chat (wa-js issue
  // #1268). 'createChat' may create a LID chat (wa-js src/whatsapp/functions/
  // findOrCreateLatestChat.ts).
  const Chat = m.WAWebCollections.Chat;
  const latest = await m.WAWebFindChatAction.findOrCreateLatestChat(found.wid, 'createChat');
  const chat = latest && latest.chat && latest.chat.id ? Chat.get(latest.chat.id) : undefined;
  if (!chat) throw new Error('WhatsApp Web gave no chat for the number');

  // whatsapp-web.js src/util/Injected/Utils.js WWebJS.sendMessage: the sender is the account's
  // LID for a LID chat and its phone number otherwise; a new `WAWebMsgKey` with `newId()`.
  const me = m.WAWebUserPrefsMeUser;
  const byLid = chat.id.isLid();
  const from = byLid ? me.getMaybeMeLidUser() : me.getMaybeMePnUser();
  if (!from) throw new Error('WhatsApp Web does not know the account' + (byLid ? "'s LID" : ''));
  const MsgKey = m.WAWebMsgKey;
  // The caller's id when it gave one: whatsapp-web.js passes the id it got from `newId()` the
  // same way, so WhatsApp Web takes any id of that form.
  const chosen = typeof messageId === 'string' && messageId ? messageId : await MsgKey.newId();
  const key = new MsgKey({ from, to: chat.id, id: chosen, selfDir: 'out' });
  // wa-js src/whatsapp/misc/MsgKey.ts: from WhatsApp Web 2.3000.1042401057 the key keeps its
  // serialized form in a minified field instead of `_serialized`; `toString()` gives it in
  // every build.
  const id = key.toString();
  const message = {
    id: key,
    ack: 0,
    body: text,
    from,
    to: chat.id,
    local: true,
    self: 'out',
    t: Math.floor(Date.now() / 1000),
    isNewMsg: true,
    type: 'chat',
    // What whatsapp-web.js's Client.sendMessage hands on for a text without mentions.
    mentionedJidList: [],
    ...m.WAWebGetEphemeralFieldsMsgActionsUtils.getEphemeralFields(chat),
  };

  // Followed before it is sent, so that no 'change:ack' is missed.
  const entry = self.track(id);
  // whatsapp-web.js WWebJS.sendMessage destructures the pair at once; wa-js
  // src/chat/functions/sendRawMessage.ts awaits it first: awaiting serves both.
  const [created, result] = await m.WAWebSendMsgChatAction.addAndSendMsgToChat(chat, message);
  Promise.resolve(result).then(
    // wa-js src/whatsapp/types.ts SendMsgResultObject; enums/SendMsgResult.ts ('OK', 'ERROR_…').
    (outcome) => { entry.result = outcome && outcome.messageSendResult ? String(outcome.messageSendResult) : null; self.wake(); },
    (error) => { entry.result = 'ERROR: ' + String((error && error.message) || error); self.wake(); },
  );
  entry.model = (await created) || null;
  return { id };
}
