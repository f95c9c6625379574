//! Senders tried in turn: the next one when one cannot deliver.

use std::sync::Arc;

use super::{
    Delivered, DeliveryReports, Message, Presence, SendError, Sender, SenderState, SenderStatus,
};
use crate::PhoneNumber;

/// Senders tried in order (`OTP_SENDER=whatsapp,cloud`): a message goes to the first that can
/// send, and to the next when that one cannot deliver it (not ready, its queue full, or failed
/// before the message existed).
///
/// It does not move on when the number has no account ([`SendError::NotRegistered`]: every
/// WhatsApp sender reaches the same network, so the next would say the same) nor after a
/// [`SendError::Timeout`] (the message may exist, and a code is never delivered twice).
///
/// ```
/// use std::sync::Arc;
/// use otp_reset::{ConsoleSender, Sender, SenderChain};
///
/// let chain = SenderChain::new(vec![Arc::new(ConsoleSender::new()), Arc::new(ConsoleSender::new())]);
/// assert!(chain.can_send());
/// assert_eq!(chain.name(), "console,console");
/// ```
#[derive(Debug)]
pub struct SenderChain {
    senders: Vec<Arc<dyn Sender>>,
    name: String,
}

impl SenderChain {
    /// A chain of `senders`, tried in this order. An empty chain never sends.
    pub fn new(senders: Vec<Arc<dyn Sender>>) -> Self {
        let name = senders
            .iter()
            .map(|sender| sender.name())
            .collect::<Vec<_>>()
            .join(",");
        Self { senders, name }
    }

    /// The senders, in the order they are tried.
    pub fn senders(&self) -> &[Arc<dyn Sender>] {
        &self.senders
    }

    /// The first sender that can send now, else the first.
    fn leading(&self) -> Option<&Arc<dyn Sender>> {
        self.senders
            .iter()
            .find(|sender| sender.can_send())
            .or_else(|| self.senders.first())
    }
}

#[async_trait::async_trait]
impl Sender for SenderChain {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let mut last = SendError::NotReady(SenderState::Uninitialized);
        for sender in &self.senders {
            if !sender.can_send() {
                last = SendError::NotReady(sender.state());
                continue;
            }
            match sender.send(to, message).await {
                Ok(delivered) => return Ok(delivered),
                Err(final_error @ (SendError::NotRegistered | SendError::Timeout(_))) => {
                    return Err(final_error);
                }
                Err(error) => {
                    tracing::warn!(
                        target: "otp_reset",
                        sender = sender.name(),
                        "{error}; trying the next sender"
                    );
                    last = error;
                }
            }
        }
        Err(last)
    }

    fn state(&self) -> SenderState {
        self.leading()
            .map_or(SenderState::Uninitialized, |sender| sender.state())
    }

    fn status(&self) -> SenderStatus {
        self.leading()
            .map_or(SenderStatus::new(SenderState::Uninitialized), |sender| {
                sender.status()
            })
    }

    fn can_send(&self) -> bool {
        self.senders.iter().any(|sender| sender.can_send())
    }

    /// The first answer a sender can give.
    async fn lookup(&self, to: &PhoneNumber) -> Result<Presence, SendError> {
        for sender in self.senders.iter().filter(|sender| sender.can_send()) {
            match sender.lookup(to).await {
                Ok(Presence::Unknown) | Err(_) => {}
                Ok(known) => return Ok(known),
            }
        }
        Ok(Presence::Unknown)
    }

    fn report_deliveries_to(&self, reports: DeliveryReports) {
        for sender in &self.senders {
            sender.report_deliveries_to(reports.clone());
        }
    }

    fn name(&self) -> &str {
        &self.name
    }
}
