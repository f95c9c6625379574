// otp-reset WhatsApp Web adapter 4: asks for fresh QR codes once WhatsApp Web stopped showing
// them (socket state UNPAIRED_IDLE), as wa-js src/conn/functions/refreshQR.ts does for a
// multi-device session: `Cmd.refreshQR()`. (whatsapp-web.js src/Client.js means to do the same
// in onAuthAppStateChangedEvent, but calls it from Node, where `window` is not defined.)
() => {
  window.require('WAWebCmd').Cmd.refreshQR();
  return true;
}
