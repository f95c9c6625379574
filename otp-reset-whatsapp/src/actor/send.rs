//! One message, from its creation in WhatsApp Web to WhatsApp's acknowledgement.

use std::time::{Duration, Instant};

use chromiumoxide::Page;
use otp_reset::{Delivered, PhoneNumber, Presence, SendError, SentLookup};

use super::Actor;
use crate::adapter::{Ack, Created, Found, ScriptError};

/// The longest one acknowledgement check waits in the page for the ack to move.
const ACK_WAIT: Duration = Duration::from_secs(2);

impl Actor {
    /// Sends one message (under `key` when given) and waits for WhatsApp's server
    /// acknowledgement. Never retried once the message may exist, so a code is never sent twice.
    pub(super) async fn send(
        &mut self,
        page: &Page,
        to: PhoneNumber,
        text: &str,
        key: Option<&str>,
    ) -> Result<Delivered, SendError> {
        if let Some(last) = self.last_sent.get(&to) {
            let wait = self.config.recipient_spacing.saturating_sub(last.elapsed());
            tokio::time::sleep(wait).await;
        }
        let deadline = Instant::now() + self.config.send_timeout;
        let adapter = self.config.adapter.clone();
        let created = adapter
            .send(page, &to.digits(), text, key, self.config.send_timeout)
            .await;
        if self.last_sent.len() > 10_000 {
            let spacing = self.config.recipient_spacing;
            self.last_sent.retain(|_, at| at.elapsed() < spacing);
        }
        self.last_sent.insert(to, Instant::now());
        let id = match created {
            Ok(Created::Message(id)) => id,
            Ok(Created::NotRegistered) => return Err(SendError::NotRegistered),
            Err(ScriptError::Timeout(waited)) => return Err(SendError::Timeout(waited)),
            Err(error) => return Err(SendError::Failed(Box::new(error))),
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SendError::Timeout(self.config.send_timeout));
            }
            let wait = left.min(ACK_WAIT);
            let checked = adapter
                .ack(page, &id, wait, wait + self.config.evaluate_timeout)
                .await;
            match checked {
                Ok(Ack { ack: Some(ack), .. }) if ack >= 1 => {
                    self.follow(&id, ack);
                    return Ok(Delivered {
                        message_id: Some(id),
                    });
                }
                Ok(Ack { ack: Some(ack), .. }) if ack < 0 => {
                    return Err(SendError::Failed("WhatsApp refused the message".into()));
                }
                Ok(Ack {
                    result: Some(result),
                    ..
                }) if result != "OK" => {
                    return Err(SendError::Failed(
                        format!("WhatsApp did not send the message ({result})").into(),
                    ));
                }
                // Pending: the script already waited for a change.
                Ok(Ack { ack: Some(_), .. }) => {}
                // Unknown to the page, or the page did not answer: look again shortly.
                Ok(Ack { ack: None, .. }) | Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100).min(left)).await;
                }
            }
        }
    }
}

impl Actor {
    /// A fresh message id from WhatsApp Web's own `MsgKey.newId()`.
    pub(super) async fn new_key(&self, page: &Page) -> Result<String, SendError> {
        let timeout = self.config.evaluate_timeout;
        match self.config.adapter.new_key(page, timeout).await {
            Ok(id) if is_message_id(&id) => Ok(id),
            Ok(_) => Err(SendError::Failed(
                "WhatsApp Web gave a message id of an unknown form".into(),
            )),
            Err(error) => Err(script_failure(error)),
        }
    }

    /// Whether WhatsApp Web holds a message to `to` created under `key`.
    pub(super) async fn find(
        &mut self,
        page: &Page,
        to: PhoneNumber,
        key: &str,
    ) -> Result<SentLookup, SendError> {
        let timeout = self.config.send_timeout;
        match self
            .config
            .adapter
            .find(page, &to.digits(), key, timeout)
            .await
        {
            Ok(Found::Message { ack: Some(ack), .. }) if ack < 0 => Err(SendError::Failed(
                "WhatsApp Web holds the message under this key as refused (ack -1)".into(),
            )),
            Ok(Found::Message { id, ack }) => {
                // Reported from here on, as for a message sent now.
                if let Some(ack) = ack.filter(|ack| *ack >= 1) {
                    self.follow(&id, ack);
                }
                Ok(SentLookup::Found(Delivered {
                    message_id: Some(id),
                }))
            }
            Ok(Found::Nothing | Found::NotRegistered) => Ok(SentLookup::NotFound),
            Err(error) => Err(script_failure(error)),
        }
    }
}

impl Actor {
    /// Whether `to` has a WhatsApp account, asked as a send asks it, sending nothing.
    pub(super) async fn lookup(&self, page: &Page, to: PhoneNumber) -> Result<Presence, SendError> {
        let timeout = self.config.send_timeout;
        match self
            .config
            .adapter
            .lookup(page, &to.digits(), timeout)
            .await
        {
            Ok(true) => Ok(Presence::Registered),
            Ok(false) => Ok(Presence::NotRegistered),
            Err(error) => Err(script_failure(error)),
        }
    }
}

/// Whether `id` has the form of a WhatsApp Web message id: ASCII letters and digits only (the
/// serialized key joins its parts with `_`), 8 to 64 of them. `newId()` gives `3EB0` and
/// upper-case hex digits.
pub(crate) fn is_message_id(id: &str) -> bool {
    (8..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn script_failure(error: ScriptError) -> SendError {
    match error {
        ScriptError::Timeout(waited) => SendError::Timeout(waited),
        error => SendError::Failed(Box::new(error)),
    }
}
