// otp-reset WhatsApp Web adapter 4: a fresh message id, for send.js to create a message under.
//
// Resolves to { id }: the id WhatsApp Web itself would give the next message (such as
// `3EB0C5F2A1D4E6B7C8D9E0`), which a queue records before the message is sent.
async () => {
  const self = window.__otpReset;
  const need = self.need('send');
  if (need.missing.length) return { error: 'missing', missing: need.missing };
  // whatsapp-web.js src/util/Injected/Utils.js WWebJS.sendMessage:
  // `await window.require('WAWebMsgKey').newId()`; wa-js src/whatsapp/misc/MsgKey.ts declares
  // `static newId(): Promise<string>` (WhatsApp Web >= 2.2208.7).
  const id = await need.modules.WAWebMsgKey.newId();
  if (typeof id !== 'string' || !id) throw new Error('WhatsApp Web gave no message id');
  return { id };
}
