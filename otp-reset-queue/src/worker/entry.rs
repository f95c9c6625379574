//! What the worker does with one entry: the steps that deliver it at most once, and exactly
//! once whenever the sender can say whether a message exists.

use std::time::{Duration, SystemTime};

use otp_reset::{Delivered, MessageKey, SendError, SentLookup};
use redis::streams::StreamId;
use tokio::sync::watch;

use super::lease::{self, Held};
use super::stats::Outcome;
use super::{SenderWorker, bounded, log_redis_error};
use crate::heartbeat::millis_since_epoch;
use crate::seal::{FORMAT_VERSION, Unsealed};

/// What an entry's send record says (`{prefix}send:{entry id}`).
enum Record {
    /// A key was chosen and recorded; the message may or may not exist under it.
    Planned(MessageKey),
    /// A send without a key began: whether it created the message cannot be known.
    Sending,
    /// The message was created.
    Created,
}

impl Record {
    fn parse(text: &str) -> Option<Self> {
        if text == "sending" {
            return Some(Self::Sending);
        }
        if text == "created" || text.starts_with("created:") {
            return Some(Self::Created);
        }
        text.strip_prefix("planned:")
            .map(|key| Self::Planned(MessageKey::new(key)))
    }
}

/// What one attempt at an entry came to.
enum Step {
    /// Finished: acknowledge the entry.
    Done(Outcome),
    /// Nothing was sent and nothing may have been: try again after a wait while the code lives.
    Retry,
    /// The message may exist and the record says how to find out: leave the entry pending for
    /// a later claim.
    Leave,
}

/// What an entry held, once opened.
enum Opened<T> {
    Message(T),
    Decoy,
}

/// One entry, read from the stream.
struct Taken {
    id: String,
    unsealed: Unsealed,
    expires_at: u64,
    record_ttl_ms: u64,
}

impl SenderWorker {
    /// Delivers one entry, retrying while its code lives, unless a stop or a lost lease comes
    /// first (then it stays pending).
    pub(super) async fn process(
        &self,
        entry: StreamId,
        stop: &mut watch::Receiver<bool>,
        lease: &watch::Receiver<Held>,
    ) {
        let taken = match self.unseal(&entry) {
            Some(Opened::Message(taken)) => taken,
            Some(Opened::Decoy) => {
                self.finish(&entry.id, Outcome::Decoy).await;
                return;
            }
            None => {
                tracing::warn!(target: "otp_reset_queue", entry = %entry.id, "an entry that does not unseal (another secret or format): dropped");
                self.finish(&entry.id, Outcome::Unreadable).await;
                return;
            }
        };
        let phone = taken.unsealed.to.masked();
        let mut backoff = Backoff::new(self.options.retry_min, self.options.retry_max);
        loop {
            if now_ms() >= taken.expires_at {
                tracing::info!(target: "otp_reset_queue", entry = %taken.id, %phone, "the message expired before it was sent: dropped");
                self.finish(&taken.id, Outcome::Expired).await;
                return;
            }
            match self.attempt(&taken).await {
                Step::Done(outcome) => {
                    self.finish(&taken.id, outcome).await;
                    return;
                }
                Step::Leave => return,
                Step::Retry => {}
            }
            if *stop.borrow() || !lease::is_held(lease) {
                return;
            }
            pause(backoff.next(), stop).await;
        }
    }

    /// The entry's message, or that it is a decoy; `None` when it does not unseal.
    fn unseal(&self, entry: &StreamId) -> Option<Opened<Taken>> {
        let version: String = entry.get("v")?;
        if version != FORMAT_VERSION {
            return None;
        }
        let enqueued_at: u64 = entry.get("enqueued_at")?;
        let expires_at: u64 = entry.get("expires_at")?;
        let payload: Vec<u8> = entry.get("payload")?;
        let unsealed = match self.queue.sealer.open(&payload, enqueued_at, expires_at)? {
            crate::seal::Opened::Message(unsealed) => unsealed,
            crate::seal::Opened::Decoy => return Some(Opened::Decoy),
        };
        // Records outlive any claim of the entry: a few times the message's lifetime.
        let lifetime = expires_at.saturating_sub(enqueued_at);
        let record_ttl_ms = lifetime.saturating_mul(3).max(60_000);
        Some(Opened::Message(Taken {
            id: entry.id.clone(),
            unsealed,
            expires_at,
            record_ttl_ms,
        }))
    }

    /// Acknowledges a finished entry and counts it; an entry whose ack fails stays pending
    /// and its record decides it at the next claim.
    async fn finish(&self, entry_id: &str, outcome: Outcome) {
        self.stats.count(outcome);
        if let Err(error) = self.ack(entry_id).await {
            log_redis_error("could not acknowledge an entry", &error);
        }
    }

    async fn attempt(&self, taken: &Taken) -> Step {
        let record_key = self.keys.send_record(&taken.id);
        let record: Option<String> = match self
            .control
            .query("record read", redis::cmd("GET").arg(&record_key))
            .await
        {
            Ok(record) => record,
            Err(error) => {
                log_redis_error("could not read a send record", &error);
                return Step::Retry;
            }
        };
        let to = &taken.unsealed.to;
        let phone = to.masked();
        match record.as_deref().map(Record::parse) {
            Some(Some(Record::Created)) => Step::Done(Outcome::AlreadySent),
            Some(Some(Record::Sending)) => {
                tracing::warn!(target: "otp_reset_queue", entry = %taken.id, %phone, "taken over a message whose send began without a key: it may have been delivered, so it is not sent again");
                Step::Done(Outcome::Unknown)
            }
            Some(None) => {
                tracing::warn!(target: "otp_reset_queue", entry = %taken.id, "an unreadable send record: the message is not sent again");
                Step::Done(Outcome::Unknown)
            }
            Some(Some(Record::Planned(key))) => {
                let lookup =
                    bounded(self.options.send_timeout, self.sender.find_sent(to, &key)).await;
                match lookup {
                    Ok(SentLookup::Found(delivered)) => {
                        tracing::info!(target: "otp_reset_queue", entry = %taken.id, %phone, "taken over a message the messaging service already holds: not sent again");
                        self.record_created(&record_key, taken, &delivered).await;
                        Step::Done(Outcome::AlreadySent)
                    }
                    Ok(SentLookup::NotFound) => self.send_keyed(taken, &key).await,
                    Ok(SentLookup::Unknown) => {
                        tracing::warn!(target: "otp_reset_queue", entry = %taken.id, %phone, "the sender cannot tell whether a taken-over message exists: it is not sent again");
                        Step::Done(Outcome::Unknown)
                    }
                    Err(error) => {
                        tracing::debug!(target: "otp_reset_queue", entry = %taken.id, %error, "could not look the message up; retrying");
                        Step::Retry
                    }
                }
            }
            None => {
                let key = bounded(self.options.send_timeout, self.sender.new_message_key(to)).await;
                match key {
                    Ok(Some(key)) => {
                        let planned = format!("planned:{key}");
                        if !self.record(&record_key, &planned, taken).await {
                            return Step::Retry;
                        }
                        self.send_keyed(taken, &key).await
                    }
                    Ok(None) => {
                        if !self.record(&record_key, "sending", taken).await {
                            return Step::Retry;
                        }
                        self.send_unkeyed(taken, &record_key).await
                    }
                    Err(error) => {
                        tracing::debug!(target: "otp_reset_queue", entry = %taken.id, %error, "no message key yet; retrying");
                        Step::Retry
                    }
                }
            }
        }
    }

    async fn send_keyed(&self, taken: &Taken, key: &MessageKey) -> Step {
        if let Some(step) = self.hold(taken).await {
            return step;
        }
        let Unsealed { to, message } = &taken.unsealed;
        let sent = bounded(
            self.options.send_timeout,
            self.sender.send_as(to, message, key),
        )
        .await;
        match sent {
            Ok(delivered) => {
                let record_key = self.keys.send_record(&taken.id);
                self.record_created(&record_key, taken, &delivered).await;
                Step::Done(Outcome::Sent)
            }
            // The key stays recorded: the next attempt looks it up before sending under it.
            Err(error) => self.failed(taken, error),
        }
    }

    async fn send_unkeyed(&self, taken: &Taken, record_key: &str) -> Step {
        if let Some(step) = self.hold(taken).await {
            return step;
        }
        let Unsealed { to, message } = &taken.unsealed;
        let sent = bounded(self.options.send_timeout, self.sender.send(to, message)).await;
        match sent {
            Ok(delivered) => {
                self.record_created(record_key, taken, &delivered).await;
                Step::Done(Outcome::Sent)
            }
            Err(error) => match self.failed(taken, error) {
                // Nothing was sent: clear the `sending` mark so that the retry may send. If it
                // cannot be cleared, the message is given up rather than risked twice.
                Step::Retry => {
                    let cleared: Result<i64, _> = self
                        .control
                        .query("record clear", redis::cmd("DEL").arg(record_key))
                        .await;
                    if cleared.is_ok() {
                        Step::Retry
                    } else {
                        Step::Leave
                    }
                }
                other => other,
            },
        }
    }

    /// Makes sure this worker still holds the entry right before a send (resetting its idle
    /// time, so no other worker takes it over while the send may run); the step to take
    /// instead if not.
    async fn hold(&self, taken: &Taken) -> Option<Step> {
        match self.touch(&taken.id).await {
            Ok(true) => None,
            Ok(false) => {
                tracing::info!(target: "otp_reset_queue", entry = %taken.id, "another worker took the entry over: left to it");
                Some(Step::Leave)
            }
            Err(error) => {
                log_redis_error("could not hold an entry before sending", &error);
                Some(Step::Retry)
            }
        }
    }

    fn failed(&self, taken: &Taken, error: SendError) -> Step {
        let phone = taken.unsealed.to.masked();
        match error {
            SendError::NotRegistered => {
                tracing::info!(target: "otp_reset_queue", entry = %taken.id, %phone, "the number has no account on the messaging service: dropped");
                Step::Done(Outcome::NotRegistered)
            }
            SendError::NotReady(_) | SendError::QueueFull => Step::Retry,
            error => {
                tracing::warn!(target: "otp_reset_queue", entry = %taken.id, %phone, %error, "the send failed after it began; the message is checked again at the next claim");
                Step::Leave
            }
        }
    }

    async fn record(&self, record_key: &str, value: &str, taken: &Taken) -> bool {
        let cmd = redis::cmd("SET")
            .arg(record_key)
            .arg(value)
            .arg("PX")
            .arg(taken.record_ttl_ms)
            .clone();
        match self.control.query::<()>("record write", &cmd).await {
            Ok(()) => true,
            Err(error) => {
                log_redis_error("could not write a send record", &error);
                false
            }
        }
    }

    async fn record_created(&self, record_key: &str, taken: &Taken, delivered: &Delivered) {
        let value = match &delivered.message_id {
            Some(id) => format!("created:{id}"),
            None => "created".to_owned(),
        };
        // If this fails, the ack most likely fails too and the entry's planned key (or its
        // `sending` mark) keeps it from being sent again.
        let _ = self.record(record_key, &value, taken).await;
    }
}

fn now_ms() -> u64 {
    millis_since_epoch(SystemTime::now())
}

/// Doubling waits between `min` and `max`.
#[derive(Debug)]
pub(super) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(super) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            next: min,
        }
    }

    pub(super) fn next(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    pub(super) fn reset(&mut self) {
        self.next = self.min;
    }
}

/// Waits `wait`, or until a stop is asked for.
pub(super) async fn pause(wait: Duration, stop: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        _ = stop.wait_for(|stop| *stop) => {}
    }
}
