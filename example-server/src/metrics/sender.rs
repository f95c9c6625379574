//! A sender whose sends are counted by outcome.

use std::sync::Arc;

use otp_reset::{
    Delivered, DeliveryReports, Message, MessageKey, PhoneNumber, Presence, SendError, Sender,
    SenderState, SenderStatus, SentLookup,
};

use super::Metrics;

/// Forwards every [`Sender`] method to the sender it wraps, and counts each send
/// ([`Sender::send`], [`Sender::send_as`]) in `otp_reset_sends_total` under the sender's name
/// and the outcome. Decoys, lookups and the rest are not sends and are not counted. Made by
/// [`Metrics::meter`].
#[derive(Debug)]
pub struct MeteredSender {
    sender: Arc<dyn Sender>,
    name: String,
    metrics: Metrics,
}

impl MeteredSender {
    /// `sender`, its sends counted in `metrics`.
    pub fn new(sender: Arc<dyn Sender>, metrics: Metrics) -> Self {
        let name = sender.name().to_owned();
        Self {
            sender,
            name,
            metrics,
        }
    }

    fn count(&self, result: &Result<Delivered, SendError>) {
        self.metrics.sent(&self.name, outcome(result));
    }
}

/// The `outcome` label of a send.
fn outcome(result: &Result<Delivered, SendError>) -> &'static str {
    match result {
        Ok(_) => "sent",
        Err(SendError::NotRegistered) => "not_registered",
        Err(SendError::QueueFull) => "busy",
        Err(SendError::Timeout(_)) => "timeout",
        Err(SendError::NotReady(_)) => "not_ready",
        Err(_) => "failed",
    }
}

#[otp_reset::async_trait]
impl Sender for MeteredSender {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let result = self.sender.send(to, message).await;
        self.count(&result);
        result
    }

    fn state(&self) -> SenderState {
        self.sender.state()
    }

    fn status(&self) -> SenderStatus {
        self.sender.status()
    }

    fn can_send(&self) -> bool {
        self.sender.can_send()
    }

    fn hands_off_durably(&self) -> bool {
        self.sender.hands_off_durably()
    }

    async fn send_decoy(&self) -> Result<(), SendError> {
        self.sender.send_decoy().await
    }

    async fn new_message_key(&self, to: &PhoneNumber) -> Result<Option<MessageKey>, SendError> {
        self.sender.new_message_key(to).await
    }

    async fn send_as(
        &self,
        to: &PhoneNumber,
        message: &Message,
        key: &MessageKey,
    ) -> Result<Delivered, SendError> {
        let result = self.sender.send_as(to, message, key).await;
        self.count(&result);
        result
    }

    async fn find_sent(&self, to: &PhoneNumber, key: &MessageKey) -> Result<SentLookup, SendError> {
        self.sender.find_sent(to, key).await
    }

    async fn lookup(&self, to: &PhoneNumber) -> Result<Presence, SendError> {
        self.sender.lookup(to).await
    }

    fn report_deliveries_to(&self, reports: DeliveryReports) {
        self.sender.report_deliveries_to(reports);
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otp_reset::ConsoleSender;

    #[derive(Debug)]
    struct Refusing;

    #[otp_reset::async_trait]
    impl Sender for Refusing {
        async fn send(&self, _: &PhoneNumber, _: &Message) -> Result<Delivered, SendError> {
            Err(SendError::NotRegistered)
        }

        fn state(&self) -> SenderState {
            SenderState::Ready
        }

        fn name(&self) -> &str {
            "refusing"
        }
    }

    #[tokio::test]
    async fn each_send_is_counted_by_sender_and_outcome() {
        let metrics = Metrics::new();
        let refusing = metrics.meter(Arc::new(Refusing));
        let console = metrics.meter(Arc::new(ConsoleSender::new()));
        let phone = PhoneNumber::parse("081234567890").unwrap();
        let message = Message::PasswordChanged {
            lang: otp_reset::Lang::En,
        };
        assert!(refusing.send(&phone, &message).await.is_err());
        assert!(console.send(&phone, &message).await.is_ok());
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(r#"otp_reset_sends_total{sender="refusing",outcome="not_registered"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"otp_reset_sends_total{sender="console",outcome="sent"} 1"#));
        assert!(text.contains(r#"otp_reset_sends_total{sender="console",outcome="failed"} 0"#));
        assert!(!text.contains("81234567890"));
    }
}
