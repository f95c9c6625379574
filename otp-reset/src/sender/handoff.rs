//! Handing a code to a durable queue before request-otp answers (see
//! [`Sender::hands_off_durably`]).

use std::time::Duration;

use super::outbox::Envelope;
use super::{SendError, Sender};
use crate::events::{Event, Events, MessageKind};

/// The longest request-otp waits on a hand-off, whatever the sender's own timeouts.
const HAND_OFF_DEADLINE: Duration = Duration::from_secs(5);

/// Why a hand-off failed, as request-otp answers it.
#[derive(Debug)]
pub(crate) enum HandOffFailed {
    /// The queue is full: 503 `busy`.
    Full,
    /// The queue could not be reached or refused: 503 `sender_unavailable`.
    Unavailable,
}

/// Hands `envelope` to the sender, or a decoy for a pair that matches no user (`None`), and
/// waits until the sender took it; reports a real message's outcome as the drain task does.
pub(crate) async fn hand_off(
    sender: &dyn Sender,
    events: &Events,
    envelope: Option<Envelope>,
) -> Result<(), HandOffFailed> {
    let Some(Envelope { to, message, .. }) = envelope else {
        return match tokio::time::timeout(HAND_OFF_DEADLINE, sender.send_decoy()).await {
            Ok(result) => result.map_err(failed),
            Err(_) => Err(HandOffFailed::Unavailable),
        };
    };
    let phone = to.masked();
    let kind = MessageKind::of(&message);
    let result = tokio::time::timeout(HAND_OFF_DEADLINE, sender.send(&to, &message)).await;
    let (event, outcome) = match result {
        Ok(Ok(delivered)) => (
            Event::Sent {
                phone,
                kind,
                message_id: delivered.message_id,
            },
            Ok(()),
        ),
        Ok(Err(error)) => (
            Event::SendFailed {
                phone,
                kind,
                error: error.to_string(),
            },
            Err(failed(error)),
        ),
        Err(_) => (
            Event::SendFailed {
                phone,
                kind,
                error: format!("the queue took no message within {HAND_OFF_DEADLINE:?}"),
            },
            Err(HandOffFailed::Unavailable),
        ),
    };
    events.emit(event);
    outcome
}

fn failed(error: SendError) -> HandOffFailed {
    match error {
        SendError::QueueFull => HandOffFailed::Full,
        _ => HandOffFailed::Unavailable,
    }
}
