//! The bounded queue between the request path and the sender.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::drain::{self, Stop};
use super::{Message, Sender};
use crate::PhoneNumber;
use crate::ShutdownReport;
use crate::delivery::{Deliveries, Tracked};
use crate::events::{Event, Events, MessageKind};

/// A message waiting for the sender.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) to: PhoneNumber,
    pub(crate) message: Message,
    /// The request whose status the send's outcome moves, if any.
    pub(crate) tracked: Option<Tracked>,
}

/// What the queue carries.
#[derive(Debug)]
pub(crate) enum Queued {
    /// A message to deliver.
    Message(Envelope),
    /// A stand-in for a pair that matches no user: nothing is sent, but the number is looked
    /// up, so that its status follows a real code's.
    StandIn {
        /// The number the pair named.
        to: PhoneNumber,
        /// Its request.
        tracked: Tracked,
    },
}

/// The sending half of the queue; one task drains it into the [`Sender`].
///
/// The queue also carries stand-ins for pairs that match no user, for which the drain task only
/// looks the number up: queueing one costs what queueing a message costs (including waking the
/// drain task), and they take places like messages do, so neither timing nor a full queue tells
/// the pairs apart.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    queue: mpsc::Sender<Queued>,
    /// The deadline of a shutdown, once one is asked for.
    stop: Arc<watch::Sender<Stop>>,
    /// The drain task's report, once it has shut down.
    report: watch::Receiver<Option<ShutdownReport>>,
}

/// The queue was full: the sender cannot keep up.
#[derive(Debug)]
pub(crate) struct OutboxFull;

impl Outbox {
    /// Starts the drain task on the current tokio runtime. It ends when every [`Outbox`] clone
    /// is dropped and the queue is empty, or after [`Outbox::shutdown`].
    pub(crate) fn start(
        sender: Arc<dyn Sender>,
        events: Events,
        deliveries: Deliveries,
        capacity: usize,
    ) -> Self {
        let (queue, pending) = mpsc::channel::<Queued>(capacity);
        let (stop, stop_requested) = watch::channel(None);
        let (report_to, report) = watch::channel(None);
        tokio::spawn(async move {
            let report = drain::run(pending, &*sender, &events, &deliveries, stop_requested).await;
            report_to.send_replace(Some(report));
        });
        Self {
            queue,
            stop: Arc::new(stop),
            report,
        }
    }

    /// Whether the outbox takes no more messages: it is shutting down or shut down.
    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed() || self.stop.borrow().is_some()
    }

    /// Whether the queue has room now: a cheap early refusal while the sender is backlogged.
    pub(crate) fn has_room(&self) -> bool {
        self.queue.capacity() > 0
    }

    /// How many messages (and stand-ins) wait for the sender.
    pub(crate) fn depth(&self) -> usize {
        self.queue.max_capacity() - self.queue.capacity()
    }

    /// A place in the queue; the message is queued when the place is used.
    pub(crate) fn reserve(&self) -> Result<mpsc::Permit<'_, Queued>, OutboxFull> {
        self.queue.try_reserve().map_err(|_| OutboxFull)
    }

    /// Queues a message if there is room, reporting a full or closed queue as a failed send.
    pub(crate) fn offer(&self, envelope: Envelope, events: &Events) {
        let phone = envelope.to.masked();
        let kind = MessageKind::of(&envelope.message);
        if let Err(refused) = self.queue.try_send(Queued::Message(envelope)) {
            let error = match refused {
                mpsc::error::TrySendError::Full(_) => "outbox full",
                mpsc::error::TrySendError::Closed(_) => drain::SHUT_DOWN,
            };
            events.emit(Event::SendFailed {
                phone,
                kind,
                error: error.into(),
            });
        }
    }

    /// Stops taking messages now, and returns a future that waits until every queued one was
    /// handed to the sender and its outcome reported, or `deadline` passes; see
    /// [`ForgotPassword::shutdown`](crate::ForgotPassword::shutdown). A later call keeps the
    /// first one's deadline and gets the same report.
    pub(crate) fn shutdown(
        &self,
        deadline: Instant,
    ) -> impl Future<Output = ShutdownReport> + Send + 'static + use<> {
        self.stop.send_if_modified(|stop| {
            let first = stop.is_none();
            if first {
                *stop = Some(deadline);
            }
            first
        });
        let mut report = self.report.clone();
        async move {
            let finished = report.wait_for(Option::is_some).await;
            finished.ok().and_then(|report| *report).unwrap_or_default()
        }
    }
}
