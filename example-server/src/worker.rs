//! `--sender-worker`: the process serves no site; it takes the messages the instances queue
//! (`OTP_SENDER=queue`) and sends them, holding the one WhatsApp Web session.

use std::sync::Arc;

use example_server::Config;
use example_server::config::WorkerSenderKind;
use otp_reset::{ConsoleSender, Sender};
use otp_reset_queue::SenderWorker;
use otp_reset_whatsapp::WhatsAppSender;

/// Runs the sender worker until SIGTERM or Ctrl-C, then finishes the message in hand.
pub(crate) async fn run(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    // The settings check made sure OTP_SECRET is set in this mode.
    let secret = config.otp_secret.as_deref().unwrap_or_default();
    let options = config.queue.options(secret.as_bytes())?;
    let (sender, whatsapp): (Arc<dyn Sender>, Option<WhatsAppSender>) =
        match config.queue.worker_sender {
            WorkerSenderKind::Console => (Arc::new(ConsoleSender::new()), None),
            WorkerSenderKind::Whatsapp => {
                // Shows the QR code on this terminal, as the server does with OTP_SENDER=whatsapp.
                let whatsapp = WhatsAppSender::start(crate::whatsapp_config(config)?)
                    .map_err(|e| format!("invalid setting WORKER_SENDER=whatsapp: {e}"))?;
                (Arc::new(whatsapp.clone()), Some(whatsapp))
            }
        };
    let worker = SenderWorker::new(options, sender, config.queue.worker_options())?;
    tracing::info!(
        worker = worker.id(),
        prefix = %config.queue.sender_queue_prefix,
        "sender worker started: it sends the queued messages while it holds the lease"
    );
    worker.run(crate::shutdown_signal()).await;
    if let Some(whatsapp) = whatsapp {
        tracing::info!("closing WhatsApp Web");
        whatsapp.shutdown().await;
    }
    Ok(())
}
