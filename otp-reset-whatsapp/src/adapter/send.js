// otp-reset WhatsApp Web adapter v1: one send. Resolves to {id} once WhatsApp Web created the
// message, or to {error} before anything was created.
async (digits, text) => {
  const require = window.require;
  const wid = require('WAWebWidFactory').createWid(digits + '@c.us');
  const exists = await require('WAWebQueryExistsJob').queryWidExists(wid);
  if (!exists) return { error: 'not_registered' };
  const chat = await require('WAWebCollections').Chat.find(exists.wid || wid);
  const message = await require('WAWebSendTextMsgChatAction').sendTextMsgToChat(chat, text);
  return { id: message.id._serialized };
}
