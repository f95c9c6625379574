// otp-reset WhatsApp Web adapter 4: the acknowledgements of messages sent earlier.
//
// Resolves to { acks: [...] }, one per id asked (serialized keys, as send.js returned them): the
// message's `ack` — -1 or below an error, 0 pending, 1 server, 2 device, 3 read, 4 played
// (whatsapp-web.js src/util/Constants.js MessageAck; wa-js src/whatsapp/enums/ACK.ts) — or null
// when WhatsApp Web holds no such message. WhatsApp Web moves `ack` as receipts come and fires
// 'change:ack' (whatsapp-web.js src/Client.js: `Msg.on('change:ack', (msg, ack))`, its
// `message_ack` event); the sender asks for the current values instead of listening, so that
// nothing is lost when the page reloads between a change and its report.
async (ids) => {
  const self = window.__otpReset;
  const need = self.need('send');
  if (need.missing.length) return { error: 'missing', missing: need.missing };
  const Msg = need.modules.WAWebCollections.Msg;
  const found = new Map();
  const absent = [];
  for (const id of ids) {
    const entry = self.tracked.get(id);
    const model = (entry && entry.model) || Msg.get(id);
    if (model) found.set(id, model);
    else absent.push(id);
  }
  // A message this document did not send or load (sent before a reload or a relaunch): from
  // the profile's local database, as whatsapp-web.js getMessageById() and find.js do.
  if (absent.length && typeof Msg.getMessagesById === 'function') {
    const loaded = await Msg.getMessagesById(absent);
    for (const model of (loaded && loaded.messages) || []) {
      if (model && model.id) found.set(String(model.id), model);
    }
  }
  return {
    acks: ids.map((id) => {
      const model = found.get(id);
      const ack = model ? Number(model.ack) : NaN;
      return Number.isFinite(ack) ? ack : null;
    }),
  };
}
