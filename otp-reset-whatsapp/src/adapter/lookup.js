// otp-reset WhatsApp Web adapter 4: whether a number has a WhatsApp account, sending nothing.
//
// Resolves to { registered: true | false }: the same question send.js asks before it creates a
// message, so that a look-up costs what the look-up inside a send costs.
async (digits) => {
  const self = window.__otpReset;
  const need = self.need('send');
  if (need.missing.length) return { error: 'missing', missing: need.missing };
  const m = need.modules;
  // whatsapp-web.js src/Client.js getNumberId(): `createWid(number + '@c.us')`, then
  // `queryWidExists(wid)`; no account when the result or its `wid` is missing.
  const wid = m.WAWebWidFactory.createWid(digits + '@c.us');
  const found = await m.WAWebQueryExistsJob.queryWidExists(wid);
  return { registered: Boolean(found && found.wid !== undefined) };
}
