//! Sending and acks: a page's send is recorded (or refused) and told how it fares.

use std::time::Instant;

use serde::Serialize;

use super::State;
use super::page::Refusal;
use crate::{AckBehaviour, SendPath, SentMessage};

/// How a recorded message fares, told to the page that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Outcome {
    /// Acks move as the recipient's phone allows (see `receipts`).
    Delivered,
    /// Ack stays 0.
    Stuck,
    /// Ack -1 and a non-OK send result.
    Error,
    /// The number has no WhatsApp: ack 1 (the server took it) and never 2.
    Unreachable,
}

/// A send accepted by the server.
#[derive(Debug, Serialize)]
pub(crate) struct Accepted {
    pub(super) outcome: Outcome,
    /// Server time of the send, unix seconds (the send result's `t`).
    pub(super) t: u64,
    /// The test holds the answer (see [`State::holding`]).
    #[serde(skip)]
    pub(crate) held: bool,
}

impl State {
    /// A page sends a text message: records it (or refuses it).
    pub(crate) fn send(
        &mut self,
        page: &str,
        message: SentMessage,
        now: Instant,
    ) -> Result<Accepted, Refusal> {
        self.connected(page, now)?;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let outcome = if !self.registered(&message.to) {
            Outcome::Unreachable
        } else {
            match self.ack {
                AckBehaviour::Delivered => Outcome::Delivered,
                AckBehaviour::Stuck => Outcome::Stuck,
                AckBehaviour::Error => Outcome::Error,
            }
        };
        let held = self.holding;
        if held {
            self.held.push(message.id.clone());
        }
        if outcome != Outcome::Error {
            let recipient = self.digits_of(&message.to);
            self.receipts.took(
                message.id.clone(),
                page,
                recipient,
                outcome != Outcome::Stuck,
                held,
                now,
            );
        }
        if matches!(outcome, Outcome::Delivered | Outcome::Stuck) {
            self.chats.insert(message.to.clone());
            self.sent.push(message);
        }
        Ok(Accepted { outcome, t, held })
    }
}

impl SendPath {
    /// The name the page uses for this path.
    pub(crate) fn from_name(name: &str) -> Option<SendPath> {
        match name {
            "addAndSendMsgToChat" => Some(SendPath::AddAndSendMsgToChat),
            "sendTextMsgToChat" => Some(SendPath::SendTextMsgToChat),
            _ => None,
        }
    }
}
