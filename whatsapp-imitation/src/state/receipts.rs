//! Receipts: how a message's ack moves after the server took it, and which acks each page has
//! been told.
//!
//! WhatsApp's server acknowledges a message (ack 1, one tick), the recipient's phone confirms it
//! when it is online (ack 2), and again when the message is read (ack 3). Each receipt reaches
//! every page linked to the account, which sets the message's `ack` (firing 'change:ack') and
//! keeps it in its local database. The server side here decides when each ack is due, lazily,
//! from the time that passed; a page learns the acks it was not told yet at its next poll.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::State;
use crate::{AckTimings, Recipient};

/// The most receipts kept; older messages stop moving.
const MAX_RECEIPTS: usize = 1024;

/// What the server knows of one message it took.
#[derive(Debug)]
pub(super) struct Receipt {
    pub(super) id: String,
    /// The page session that sent it.
    page: String,
    /// The recipient's digits, when the message went to a number with WhatsApp.
    recipient: Option<String>,
    /// Whether the server acknowledges it at all (`AckBehaviour::Stuck` keeps ack 0).
    acknowledged: bool,
    /// When the server's answer went to the page; `None` while held (or lost with its page).
    answered: Option<Instant>,
    /// The test released the held answer: it reaches the page at its next poll, if the page is
    /// still there.
    released: bool,
    pub(super) ack: i8,
    /// When `ack` took its value.
    at: Instant,
}

/// A number's phone, as the test set it, and since when.
#[derive(Debug, Clone, Copy)]
pub(super) struct Phone {
    recipient: Recipient,
    since: Instant,
}

/// The receipts and the recipients' phones.
#[derive(Debug, Default)]
pub(crate) struct Receipts {
    list: VecDeque<Receipt>,
    phones: HashMap<String, Phone>,
    pub(crate) timings: AckTimings,
}

impl Receipts {
    /// A message the server took from `page`; `held` when its answer waits for the test.
    pub(super) fn took(
        &mut self,
        id: String,
        page: &str,
        recipient: Option<String>,
        acknowledged: bool,
        held: bool,
        now: Instant,
    ) {
        if self.list.len() >= MAX_RECEIPTS {
            self.list.pop_front();
        }
        self.list.push_back(Receipt {
            id,
            page: page.to_owned(),
            recipient,
            acknowledged,
            answered: (!held).then_some(now),
            released: false,
            ack: 0,
            at: now,
        });
    }

    /// The test sets a number's phone.
    pub(crate) fn set_phone(&mut self, digits: String, recipient: Recipient, now: Instant) {
        self.phones.insert(
            digits,
            Phone {
                recipient,
                since: now,
            },
        );
    }

    /// Moves every ack that is due by `now`.
    pub(super) fn advance(&mut self, now: Instant) {
        let timings = self.timings;
        for receipt in &mut self.list {
            // A phone nobody set is online and does not read (before the test says so).
            let phone = receipt
                .recipient
                .as_ref()
                .map(|digits| {
                    self.phones.get(digits).copied().unwrap_or(Phone {
                        recipient: Recipient::Online,
                        since: receipt.at,
                    })
                })
                .unwrap_or(Phone {
                    recipient: Recipient::Offline,
                    since: receipt.at,
                });
            loop {
                let due = match (receipt.ack, phone.recipient) {
                    (0, _) if receipt.acknowledged => {
                        receipt.answered.map(|answered| answered + timings.server)
                    }
                    (1, Recipient::Online | Recipient::Reads) => {
                        Some(receipt.at.max(phone.since) + timings.device)
                    }
                    (2, Recipient::Reads) => Some(receipt.at.max(phone.since) + timings.read),
                    _ => None,
                };
                match due {
                    Some(due) if due <= now => {
                        receipt.ack += 1;
                        receipt.at = due;
                    }
                    _ => break,
                }
            }
        }
    }

    /// The acks `told` (one page's) has not seen yet; marks them told.
    pub(super) fn untold(&self, told: &mut HashMap<String, i8>) -> Vec<(String, i8)> {
        let mut news = Vec::new();
        for receipt in &self.list {
            if receipt.ack == 0 {
                continue;
            }
            if told.get(&receipt.id) != Some(&receipt.ack) {
                told.insert(receipt.id.clone(), receipt.ack);
                news.push((receipt.id.clone(), receipt.ack));
            }
        }
        news
    }

    /// The server's answers to held sends go out.
    pub(super) fn release(&mut self, ids: &[String]) {
        for receipt in &mut self.list {
            if receipt.answered.is_none() && ids.contains(&receipt.id) {
                receipt.released = true;
            }
        }
    }

    /// `page` polled: the released answers to its sends reach it, and those messages start
    /// moving. A page that is gone never polls again: its messages stay pending.
    pub(super) fn reached(&mut self, page: &str, now: Instant) {
        for receipt in &mut self.list {
            if receipt.released && receipt.answered.is_none() && receipt.page == page {
                receipt.answered = Some(now);
            }
        }
    }

    /// WhatsApp gives up on a message: ack -1. `false` when no such message was sent.
    pub(super) fn fail(&mut self, id: &str, now: Instant) -> bool {
        match self.list.iter_mut().find(|receipt| receipt.id == id) {
            Some(receipt) => {
                receipt.ack = -1;
                receipt.at = now;
                true
            }
            None => false,
        }
    }

    pub(super) fn ack(&self, id: &str) -> Option<i8> {
        self.list.iter().find(|r| r.id == id).map(|r| r.ack)
    }
}

impl State {
    /// The ack WhatsApp's server gives message `id` now (what the pages are told), if it took
    /// the message.
    pub(crate) fn ack_of(&mut self, id: &str, now: Instant) -> Option<i8> {
        self.receipts.advance(now);
        self.receipts.ack(id)
    }

    /// WhatsApp gives up on message `id`.
    pub(crate) fn receipts_fail(&mut self, id: &str, now: Instant) -> bool {
        self.receipts.advance(now);
        self.receipts.fail(id, now)
    }

    /// Answers every held send.
    pub(crate) fn release_sends(&mut self) {
        self.holding = false;
        let held = std::mem::take(&mut self.held);
        self.receipts.release(&held);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn took(receipts: &mut Receipts, id: &str, recipient: Option<&str>, held: bool, at: Instant) {
        let recipient = recipient.map(str::to_owned);
        receipts.took(id.into(), "page", recipient, true, held, at);
    }

    #[test]
    fn acks_follow_the_recipients_phone() {
        let t0 = Instant::now();
        let mut receipts = Receipts::default();
        took(&mut receipts, "online", Some("1"), false, t0);
        took(&mut receipts, "offline", Some("2"), false, t0);
        took(&mut receipts, "nobody", None, false, t0);
        receipts.set_phone("2".into(), Recipient::Offline, t0);
        receipts.advance(t0 + 99 * MS);
        assert_eq!(receipts.ack("online"), Some(0));
        receipts.advance(t0 + 300 * MS);
        assert_eq!(receipts.ack("online"), Some(2), "server, then device");
        assert_eq!(receipts.ack("offline"), Some(1));
        assert_eq!(
            receipts.ack("nobody"),
            Some(1),
            "not on WhatsApp: never delivered"
        );
        receipts.advance(t0 + 10_000 * MS);
        assert_eq!(receipts.ack("online"), Some(2), "online but not reading");

        let t1 = t0 + 10_000 * MS;
        receipts.set_phone("1".into(), Recipient::Reads, t1);
        receipts.set_phone("2".into(), Recipient::Reads, t1);
        receipts.advance(t1 + 200 * MS);
        assert_eq!(
            receipts.ack("offline"),
            Some(2),
            "delivered once the phone is online"
        );
        receipts.advance(t1 + 700 * MS);
        assert_eq!(receipts.ack("online"), Some(3));
        assert_eq!(receipts.ack("offline"), Some(3));

        let mut told = HashMap::new();
        let news = receipts.untold(&mut told);
        assert_eq!(news.len(), 3);
        assert!(receipts.untold(&mut told).is_empty(), "each ack told once");
        assert!(receipts.fail("offline", t1));
        assert_eq!(receipts.untold(&mut told), [("offline".to_owned(), -1)]);
    }

    #[test]
    fn a_held_answer_moves_only_once_it_reached_its_page() {
        let t0 = Instant::now();
        let mut receipts = Receipts::default();
        took(&mut receipts, "held", Some("1"), true, t0);
        receipts.advance(t0 + 1_000 * MS);
        assert_eq!(receipts.ack("held"), Some(0));
        receipts.release(&["held".to_owned()]);
        receipts.reached("another page", t0 + 1_000 * MS);
        receipts.advance(t0 + 2_000 * MS);
        assert_eq!(receipts.ack("held"), Some(0), "its page is gone");
        receipts.reached("page", t0 + 2_000 * MS);
        receipts.advance(t0 + 2_100 * MS);
        assert_eq!(receipts.ack("held"), Some(1));
    }
}
