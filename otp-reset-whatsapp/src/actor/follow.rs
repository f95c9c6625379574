//! What became of the messages sent: their acknowledgements, followed after the send and
//! reported to the service as delivery updates.
//!
//! The sender keeps the list of messages it follows (not the page): it asks WhatsApp Web for
//! their current acks every poll interval while any is followed, so that a page reload or a
//! relaunch of the browser loses nothing (the page finds a message sent before it in the
//! profile's local database). Acks only move forward; one that jumped (1 to 3) reports each step
//! between, in order. A message is followed until it is read or failed, for at most the
//! configured age, and at most the configured count at once (the oldest dropped first).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chromiumoxide::Page;
use otp_reset::{DeliveryReports, DeliveryUpdate};

use super::Actor;

/// One message followed.
#[derive(Debug)]
struct Followed {
    id: String,
    /// The highest ack reported so far (0: nothing yet).
    reported: i64,
    since: Instant,
}

/// The messages whose acknowledgements are followed.
#[derive(Debug, Default)]
pub(crate) struct Following {
    messages: VecDeque<Followed>,
}

impl Following {
    pub(super) fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Starts following `id` (or goes on, when it is followed already), reporting what `ack`
    /// says already.
    pub(super) fn start(&mut self, reports: &DeliveryReports, id: &str, ack: i64, max: usize) {
        if !self.messages.iter().any(|m| m.id == id) {
            while self.messages.len() >= max.max(1) {
                self.messages.pop_front();
                tracing::debug!(target: "otp_reset_whatsapp", "too many messages followed; the oldest is no longer followed");
            }
            self.messages.push_back(Followed {
                id: id.to_owned(),
                reported: 0,
                since: Instant::now(),
            });
        }
        self.update(reports, id, Some(ack));
    }

    /// Reports what moved for `id` since the last report; stops following it once it is read
    /// or failed.
    fn update(&mut self, reports: &DeliveryReports, id: &str, ack: Option<i64>) {
        let Some(index) = self.messages.iter().position(|m| m.id == id) else {
            return;
        };
        let Some(ack) = ack else {
            return;
        };
        let followed = &mut self.messages[index];
        if ack < 0 {
            reports.report(id, DeliveryUpdate::Failed(failure(ack)));
            self.messages.remove(index);
            return;
        }
        let ack = ack.min(3);
        while followed.reported < ack {
            followed.reported += 1;
            let update = match followed.reported {
                1 => DeliveryUpdate::Sent,
                2 => DeliveryUpdate::Delivered,
                _ => DeliveryUpdate::Read,
            };
            reports.report(id, update);
        }
        if followed.reported >= 3 {
            self.messages.remove(index);
        }
    }

    /// Forgets the messages followed for longer than `age`.
    fn expire(&mut self, age: Duration) {
        let before = self.messages.len();
        self.messages.retain(|m| m.since.elapsed() < age);
        let dropped = before - self.messages.len();
        if dropped > 0 {
            tracing::debug!(target: "otp_reset_whatsapp", dropped, "messages no longer followed: no read receipt within the bound");
        }
    }
}

/// What an error ack means, in a few words (wa-js src/whatsapp/enums/ACK.ts).
fn failure(ack: i64) -> String {
    let name = match ack {
        -1 => "FAILED",
        -2 => "EXPIRED",
        -3 => "CONTENT_GONE",
        -4 => "CONTENT_TOO_BIG",
        -5 => "CONTENT_UNUPLOADABLE",
        -6 => "INACTIVE",
        -7 => "MD_DOWNGRADE",
        _ => "an error",
    };
    format!("WhatsApp reported the message as {name} (ack {ack})")
}

impl Actor {
    /// Follows message `id`, sent or found with `ack`, when the service wants reports.
    pub(super) fn follow(&mut self, id: &str, ack: i64) {
        if let Some(reports) = self.shared.deliveries() {
            let max = self.config.ack_follow_max;
            self.following.start(&reports, id, ack, max);
        }
    }

    /// Asks the page for the acks of the messages followed, and reports what moved.
    pub(super) async fn poll_acks(&mut self, page: &Page) {
        self.following.expire(self.config.ack_follow_for);
        let Some(reports) = self.shared.deliveries() else {
            return;
        };
        if self.following.is_empty() || !self.shared.state().can_send() {
            return;
        }
        let ids: Vec<String> = self
            .following
            .messages
            .iter()
            .map(|m| m.id.clone())
            .collect();
        let asked: Vec<&str> = ids.iter().map(String::as_str).collect();
        let timeout = self.config.evaluate_timeout;
        match self.config.adapter.acks(page, &asked, timeout).await {
            Ok(acks) => {
                for (id, ack) in ids.iter().zip(acks) {
                    self.following.update(&reports, id, ack);
                }
            }
            // The next poll asks again; the page's own probe notices a page that is gone.
            Err(error) => {
                tracing::debug!(target: "otp_reset_whatsapp", %error, "reading acknowledgements failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use otp_reset::DeliveryReport;

    use super::*;

    fn drain(received: &mut tokio::sync::mpsc::Receiver<DeliveryReport>) -> Vec<DeliveryUpdate> {
        std::iter::from_fn(|| received.try_recv().ok())
            .map(|report| report.update)
            .collect()
    }

    #[test]
    fn each_step_is_reported_once_and_in_order() {
        let (reports, mut received) = DeliveryReports::channel(16);
        let mut following = Following::default();
        following.start(&reports, "a", 1, 10);
        following.update(&reports, "a", Some(1));
        following.update(&reports, "a", None);
        assert_eq!(drain(&mut received), [DeliveryUpdate::Sent]);
        following.update(&reports, "a", Some(4));
        assert_eq!(
            drain(&mut received),
            [DeliveryUpdate::Delivered, DeliveryUpdate::Read]
        );
        assert!(following.is_empty(), "a read message is no longer followed");
    }

    #[test]
    fn an_error_ack_fails_the_message_and_ends_following() {
        let (reports, mut received) = DeliveryReports::channel(16);
        let mut following = Following::default();
        following.start(&reports, "a", 2, 10);
        following.update(&reports, "a", Some(-1));
        let updates = drain(&mut received);
        assert_eq!(
            updates[..2],
            [DeliveryUpdate::Sent, DeliveryUpdate::Delivered]
        );
        assert!(matches!(&updates[2], DeliveryUpdate::Failed(reason) if reason.contains("FAILED")));
        assert!(following.is_empty());
    }

    #[test]
    fn the_oldest_is_dropped_beyond_the_bound_and_old_ones_expire() {
        let (reports, _received) = DeliveryReports::channel(16);
        let mut following = Following::default();
        for id in ["a", "b", "c"] {
            following.start(&reports, id, 1, 2);
        }
        let ids: Vec<&str> = following.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        following.expire(Duration::ZERO);
        assert!(following.is_empty());
    }
}
