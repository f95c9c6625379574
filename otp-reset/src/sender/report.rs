//! What a sender learns after a send: whether a number is on the messaging service, and what
//! became of a message (its acknowledgements, or a status webhook).

use std::fmt;

use tokio::sync::mpsc;

/// Whether a number has an account on the messaging service (see [`Sender::lookup`]).
///
/// A number's presence on WhatsApp is public (anyone can look it up), unlike the site's
/// accounts: the service looks numbers up for pairs that match no user too, so that the status it
/// shows for them is the one a real send would reach.
///
/// [`Sender::lookup`]: crate::Sender::lookup
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// The number has an account.
    Registered,
    /// The number has no account: a message to it cannot be delivered.
    NotRegistered,
    /// The sender cannot tell without sending (the default).
    Unknown,
}

/// What became of a sent message, as the messaging service reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryUpdate {
    /// The service accepted the message (WhatsApp: one tick).
    Sent,
    /// The message reached the recipient's phone (two ticks).
    Delivered,
    /// The recipient read it (blue ticks).
    Read,
    /// The number has no account on the service (Cloud API error 131026).
    NotRegistered,
    /// The service gave up on the message, with its reason in a few words (no number, no code).
    Failed(String),
}

/// One [`DeliveryUpdate`] about the message the service knows as `message_id` (the id a send
/// returned in [`Delivered::message_id`](crate::Delivered::message_id)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    /// The messaging service's id for the message.
    pub message_id: String,
    /// What happened to it.
    pub update: DeliveryUpdate,
}

/// Where a sender reports what became of its messages; given to it once by
/// [`Sender::report_deliveries_to`](crate::Sender::report_deliveries_to). Cheap to clone.
///
/// Bounded: when the service cannot keep up, reports are dropped (a status then stays where it
/// was) rather than held without limit.
///
/// ```
/// use otp_reset::{DeliveryReport, DeliveryReports, DeliveryUpdate};
///
/// let (reports, mut received) = DeliveryReports::channel(8);
/// reports.report("wamid.1", DeliveryUpdate::Delivered);
/// assert_eq!(
///     received.try_recv().ok(),
///     Some(DeliveryReport { message_id: "wamid.1".into(), update: DeliveryUpdate::Delivered }),
/// );
/// ```
#[derive(Clone)]
pub struct DeliveryReports {
    to: mpsc::Sender<DeliveryReport>,
}

impl DeliveryReports {
    /// A pair of ends holding up to `capacity` reports not yet read: what the service makes,
    /// and what a sender's own tests can use.
    pub fn channel(capacity: usize) -> (Self, mpsc::Receiver<DeliveryReport>) {
        let (to, from) = mpsc::channel(capacity.max(1));
        (Self { to }, from)
    }

    /// Reports `update` about the message `message_id`, without waiting; dropped if the
    /// service is not keeping up or is gone.
    pub fn report(&self, message_id: impl Into<String>, update: DeliveryUpdate) {
        let report = DeliveryReport {
            message_id: message_id.into(),
            update,
        };
        if self.to.try_send(report).is_err() {
            tracing::debug!("a delivery report was dropped: the service is not keeping up");
        }
    }
}

impl fmt::Debug for DeliveryReports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryReports")
            .field("room", &self.to.capacity())
            .finish()
    }
}
