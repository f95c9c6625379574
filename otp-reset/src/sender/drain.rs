//! The task that drains the outbox into the sender, and drains it within a deadline at shutdown.

use std::pin::pin;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::outbox::{Envelope, Queued};
use super::{SendError, Sender};
use crate::ShutdownReport;
use crate::delivery::{Deliveries, DeliveryStatus};
use crate::events::{Event, Events, MessageKind};

/// The longest the drain task waits on one send, whatever the sender's own timeouts, so that one
/// stuck send cannot stop every later message.
const SEND_DEADLINE: Duration = Duration::from_secs(120);

/// Why a message was not sent when the service shut down before the sender took it.
pub(super) const SHUT_DOWN: &str = "shut down before the message was sent";

/// The deadline of the shutdown asked for, if any.
pub(super) type Stop = Option<Instant>;

/// Hands every queued message to the sender, one at a time, until every sending half is gone
/// and the queue is empty, or until a shutdown's deadline; returns what the shutdown did.
pub(super) async fn run(
    mut pending: mpsc::Receiver<Queued>,
    sender: &dyn Sender,
    events: &Events,
    deliveries: &Deliveries,
    mut stop: watch::Receiver<Stop>,
) -> ShutdownReport {
    let mut report = ShutdownReport::default();
    let mut deadline = None;
    loop {
        // Biased: a shutdown asked for is seen before anything else that is ready.
        let item = tokio::select! {
            biased;
            at = requested(&mut stop), if deadline.is_none() => {
                deadline = Some(at);
                pending.close();
                continue;
            }
            item = pending.recv() => item,
        };
        // Closed and empty: every message was handed over.
        let Some(item) = item else { return report };
        let envelope = match item {
            Queued::Message(envelope) => envelope,
            // A stand-in for a pair that matched no user: nothing to send, but its number is
            // looked up as a send would (not once shutting down: nothing is sent then either).
            Queued::StandIn { to, tracked } => {
                if deadline.is_none() {
                    deliveries.stand_in(tracked, sender, &to).await;
                }
                continue;
            }
        };
        let phone = envelope.to.masked();
        let kind = MessageKind::of(&envelope.message);
        let mut delivery = pin!(deliver(sender, events, deliveries, envelope));
        let outcome = match deadline {
            Some(at) => tokio::time::timeout_at(at, delivery).await.ok(),
            None => tokio::select! {
                biased;
                at = requested(&mut stop) => {
                    deadline = Some(at);
                    pending.close();
                    tokio::time::timeout_at(at, delivery).await.ok()
                }
                sent = &mut delivery => Some(sent),
            },
        };
        // Before a shutdown, each outcome is only an event; after, the report counts it.
        let Some(at) = deadline else { continue };
        match outcome {
            Some(true) => report.sent += 1,
            Some(false) => report.failed += 1,
            None => {
                abandon(events, phone, kind, &mut report);
                break;
            }
        }
        if Instant::now() >= at {
            break;
        }
    }
    // The deadline passed: what is still queued is reported failed. The queue is closed, so
    // this ends once the places taken before it closed are used.
    while let Some(item) = pending.recv().await {
        if let Queued::Message(envelope) = item {
            let kind = MessageKind::of(&envelope.message);
            abandon(events, envelope.to.masked(), kind, &mut report);
        }
    }
    report
}

/// Waits until a shutdown is asked for; never, once no one can ask any more.
async fn requested(stop: &mut watch::Receiver<Stop>) -> Instant {
    let deadline = stop
        .wait_for(Option::is_some)
        .await
        .ok()
        .and_then(|deadline| *deadline);
    match deadline {
        Some(deadline) => deadline,
        None => std::future::pending().await,
    }
}

fn abandon(
    events: &Events,
    phone: crate::MaskedPhone,
    kind: MessageKind,
    report: &mut ShutdownReport,
) {
    events.emit(Event::SendFailed {
        phone,
        kind,
        error: SHUT_DOWN.into(),
    });
    report.abandoned += 1;
}

/// Hands one message to the sender and reports the outcome; whether it was sent.
async fn deliver(
    sender: &dyn Sender,
    events: &Events,
    deliveries: &Deliveries,
    envelope: Envelope,
) -> bool {
    let Envelope {
        to,
        message,
        tracked,
    } = envelope;
    let phone = to.masked();
    let kind = MessageKind::of(&message);
    let result = tokio::time::timeout(SEND_DEADLINE, sender.send(&to, &message)).await;
    let (status, message_id) = match &result {
        Ok(Ok(delivered)) => (DeliveryStatus::Sent, delivered.message_id.clone()),
        Ok(Err(SendError::NotRegistered)) => (DeliveryStatus::NotOnWhatsapp, None),
        Ok(Err(_)) | Err(_) => (DeliveryStatus::Failed, None),
    };
    let (event, sent) = match result {
        Ok(Ok(delivered)) => (
            Event::Sent {
                phone,
                kind,
                message_id: delivered.message_id,
            },
            true,
        ),
        Ok(Err(error)) => (
            Event::SendFailed {
                phone,
                kind,
                error: error.to_string(),
            },
            false,
        ),
        Err(_) => (
            Event::SendFailed {
                phone,
                kind,
                error: format!("no answer from the sender within {SEND_DEADLINE:?}"),
            },
            false,
        ),
    };
    events.emit(event);
    if let Some(tracked) = &tracked {
        deliveries.sent(tracked, status, message_id.as_deref());
    }
    sent
}
