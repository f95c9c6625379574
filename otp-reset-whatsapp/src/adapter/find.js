// otp-reset WhatsApp Web adapter 4: whether WhatsApp Web holds a message sent under an id.
//
// Resolves to { found: true, id, ack } (the serialized key and the message's acknowledgement)
// when WhatsApp Web holds a message to the number created under `messageId` (by send.js), to
// { found: false, id } when it holds none, or to { error: 'not_registered' } for a number with no
// account (nothing can have been sent to it). A pending message (ack 0) counts as found: it was
// created, and sending it again could deliver it twice.
async (digits, messageId) => {
  const self = window.__otpReset;
  const need = self.need('send');
  if (need.missing.length) return { error: 'missing', missing: need.missing };
  const m = need.modules;

  // The chat, resolved as send.js resolves it, so that the key names the same chat and sender.
  // whatsapp-web.js src/Client.js getNumberId(): `createWid`, then `queryWidExists`.
  const wid = m.WAWebWidFactory.createWid(digits + '@c.us');
  const exists = await m.WAWebQueryExistsJob.queryWidExists(wid);
  if (!exists || exists.wid === undefined) return { error: 'not_registered' };
  // wa-js src/chat/functions/find.ts: `findOrCreateLatestChat`, then the collection's model.
  const Chat = m.WAWebCollections.Chat;
  const latest = await m.WAWebFindChatAction.findOrCreateLatestChat(exists.wid, 'createChat');
  const chat = latest && latest.chat && latest.chat.id ? Chat.get(latest.chat.id) : undefined;
  if (!chat) throw new Error('WhatsApp Web gave no chat for the number');

  // whatsapp-web.js src/util/Injected/Utils.js WWebJS.sendMessage: the key of our own message,
  // from the account's LID for a LID chat and from its phone number otherwise; wa-js
  // src/whatsapp/misc/MsgKey.ts: `toString()` gives the serialized form in every build.
  const me = m.WAWebUserPrefsMeUser;
  const byLid = chat.id.isLid();
  const from = byLid ? me.getMaybeMeLidUser() : me.getMaybeMePnUser();
  if (!from) throw new Error('WhatsApp Web does not know the account' + (byLid ? "'s LID" : ''));
  const key = new m.WAWebMsgKey({ from, to: chat.id, id: messageId, selfDir: 'out' });
  const id = key.toString();

  // whatsapp-web.js src/Client.js getMessageById(): `Msg.get(id)` for a message in memory, then
  // `Msg.getMessagesById([id])`, which loads it from the profile's local database (a message
  // sent before a restart is found: whatsapp-web.js#4426); wa-js
  // src/chat/functions/getMessageById.ts looks in `MsgStore` first as well.
  const Msg = m.WAWebCollections.Msg;
  let msg = Msg.get(id);
  if (!msg) {
    if (typeof Msg.getMessagesById !== 'function') {
      return { error: 'missing', missing: ['WAWebCollections.Msg.getMessagesById'] };
    }
    const loaded = await Msg.getMessagesById([id]);
    msg = loaded && loaded.messages && loaded.messages.length ? loaded.messages[0] : undefined;
  }
  if (!msg) return { found: false, id };
  return { found: true, id, ack: Number(msg.ack) };
}
