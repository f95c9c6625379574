// otp-reset WhatsApp Web adapter 2: asks for fresh QR codes once WhatsApp Web stopped showing
// them (socket state UNPAIRED_IDLE), as whatsapp-web.js src/Client.js does in
// onAuthAppStateChangedEvent: `window.require('WAWebCmd').Cmd.refreshQR()`.
() => {
  window.require('WAWebCmd').Cmd.refreshQR();
  return true;
}
