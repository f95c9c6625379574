// otp-reset WhatsApp Web adapter 4: a sent message's acknowledgement.
//
// Resolves to { ack, result }: `ack` is -1 (error), 0 (pending), 1 (server), 2 (device), 3 (read)
// as in whatsapp-web.js src/util/Constants.js MessageAck, or null when WhatsApp Web does not know
// the message; `result` is the send result's `messageSendResult` once known. A pending message
// is waited on for up to `waitMs`, woken by its 'change:ack' (see probe.js).
async (id, waitMs) => {
  const self = window.__otpReset;
  const entry = self && self.tracked.get(id);
  const current = () => {
    if (entry) {
      return { ack: entry.model ? Number(entry.model.ack) : entry.ack, result: entry.result };
    }
    // A message this document did not send (the page reloaded since): WhatsApp Web's own
    // collection, looked up by serialized key as whatsapp-web.js WWebJS.sendMessage does.
    try {
      const model = window.require('WAWebCollections').Msg.get(id);
      return { ack: model ? Number(model.ack) : null, result: null };
    } catch (_) {
      return { ack: null, result: null };
    }
  };
  const settled = (s) =>
    s.ack === null || s.ack >= 1 || s.ack < 0 || (s.result !== null && s.result !== 'OK');
  let state = current();
  if (entry && !settled(state)) {
    await new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        self.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      self.waiters.add(done);
    });
    state = current();
  }
  if (entry && settled(state)) self.tracked.delete(id);
  return state;
}
