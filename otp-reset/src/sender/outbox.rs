//! The bounded queue between the request path and the sender.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Message, Sender};
use crate::PhoneNumber;
use crate::events::{Event, Events, MessageKind};

/// The longest the drain task waits on one send, whatever the sender's own timeouts, so that one
/// stuck send cannot stop every later message.
const SEND_DEADLINE: Duration = Duration::from_secs(120);

/// A message waiting for the sender.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) to: PhoneNumber,
    pub(crate) message: Message,
}

/// The sending half of the queue; one task drains it into the [`Sender`].
///
/// The queue also carries stand-ins (`None`) for pairs that match no user, which the drain task
/// drops: queueing one costs what queueing a message costs (including waking the drain task), and
/// they take places like messages do, so neither timing nor a full queue tells the pairs apart.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    queue: mpsc::Sender<Option<Envelope>>,
}

/// The queue was full: the sender cannot keep up.
#[derive(Debug)]
pub(crate) struct OutboxFull;

impl Outbox {
    /// Starts the drain task on the current tokio runtime. It ends when every [`Outbox`] clone
    /// is dropped and the queue is empty.
    pub(crate) fn start(sender: Arc<dyn Sender>, events: Events, capacity: usize) -> Self {
        let (queue, mut pending) = mpsc::channel::<Option<Envelope>>(capacity.max(1));
        tokio::spawn(async move {
            while let Some(item) = pending.recv().await {
                let Some(envelope) = item else { continue };
                deliver(&*sender, &events, envelope).await;
            }
        });
        Self { queue }
    }

    /// Whether the queue has room now: a cheap early refusal while the sender is backlogged.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    /// A place in the queue; the message is queued when the place is used.
    pub(crate) fn reserve(&self) -> Result<mpsc::Permit<'_, Option<Envelope>>, OutboxFull> {
        self.queue.try_reserve().map_err(|_| OutboxFull)
    }

    /// Queues a message if there is room, reporting a full queue as a failed send.
    pub(crate) fn offer(&self, envelope: Envelope, events: &Events) {
        let phone = envelope.to.masked();
        let kind = MessageKind::of(&envelope.message);
        if self.queue.try_send(Some(envelope)).is_err() {
            events.emit(Event::SendFailed {
                phone,
                kind,
                error: "outbox full".into(),
            });
        }
    }
}

async fn deliver(sender: &dyn Sender, events: &Events, envelope: Envelope) {
    let phone = envelope.to.masked();
    let kind = MessageKind::of(&envelope.message);
    let result =
        tokio::time::timeout(SEND_DEADLINE, sender.send(&envelope.to, &envelope.message)).await;
    match result {
        Ok(Ok(delivered)) => events.emit(Event::Sent {
            phone,
            kind,
            message_id: delivered.message_id,
        }),
        Ok(Err(error)) => events.emit(Event::SendFailed {
            phone,
            kind,
            error: error.to_string(),
        }),
        Err(_) => events.emit(Event::SendFailed {
            phone,
            kind,
            error: format!("no answer from the sender within {SEND_DEADLINE:?}"),
        }),
    }
}
