// otp-reset WhatsApp Web adapter v1: a sent message's acknowledgement (-1 error, 0 pending,
// 1 server, 2 delivered, 3 read), or null when WhatsApp Web no longer knows the message.
(id) => {
  const message = window.require('WAWebCollections').Msg.get(id);
  return message ? Number(message.ack) : null;
}
