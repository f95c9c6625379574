//! One messaging session for many server instances: the instances put sealed messages on a
//! Redis Stream, and one **sender worker** (the one process that holds the WhatsApp Web
//! session) takes them off and delivers each exactly once, within the limits below.
//!
//! - [`QueueSender`] is the instances' [`Sender`](otp_reset::Sender): `send` seals the
//!   message and adds it to the stream, answering once Redis has it, or
//!   [`SendError::QueueFull`](otp_reset::SendError::QueueFull) past the capacity; its status
//!   is the worker's sender's, from a heartbeat the worker publishes (no fresh heartbeat:
//!   `FAILED` with [`NO_WORKER`], so request-otp answers 503).
//! - [`SenderWorker`] reads the stream through a consumer group with any
//!   `Arc<dyn Sender>` and delivers each message through the sender's keyed sends.
//!
//! # Both sides
//!
//! ```no_run
//! use std::sync::Arc;
//! use otp_reset::{ConsoleSender, ForgotPassword, MemoryOtpStore, MemoryUserStore};
//! use otp_reset_queue::{QueueOptions, QueueSender, SenderWorker, WorkerOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = b"the server's OTP_SECRET, 32+ bytes long";
//! let options = QueueOptions::new("redis://127.0.0.1:6379", secret)?.with_prefix("shop:sender:");
//!
//! // On every instance: the service sends through the queue.
//! let sender = QueueSender::new(options.clone())?;
//! let service = ForgotPassword::builder(MemoryUserStore::new(), MemoryOtpStore::new(), sender).build()?;
//! # let _ = service;
//!
//! // In the one worker process: the real sender (WhatsApp in production) drains the queue.
//! let worker = SenderWorker::new(options, Arc::new(ConsoleSender::new()), WorkerOptions::default())?;
//! // Runs until the future given completes (at SIGTERM, say).
//! worker.run(std::future::pending()).await;
//! # Ok(())
//! # }
//! ```
//!
//! # In Redis
//!
//! Under a prefix (default `otp-reset:sender:`):
//!
//! | key | what |
//! | --- | --- |
//! | `{prefix}stream` | the stream; each entry has `v` (format), `enqueued_at`, `expires_at` (ms since the epoch) and `payload`, sealed |
//! | group `senders` | the consumer group; each worker reads as the consumer `worker-<pid>-<random>` |
//! | `{prefix}send:{entry id}` | the entry's send record: `planned:<key>`, `sending` or `created:<id>`, living three times the message's lifetime |
//! | `{prefix}worker:lease` | which worker consumes (`SET NX PX`, renewed every heartbeat) |
//! | `{prefix}worker:status` | the consuming worker's sender status (JSON), living a lease TTL |
//!
//! The payload (phone, code, lifetime, language) is sealed with XChaCha20-Poly1305 under a key
//! derived with HKDF-SHA256 from the shared secret (the server's `OTP_SECRET`), with a random
//! nonce, bound to the unsealed fields. Nothing logs a code; phones are logged masked.
//!
//! # Exactly once, and its limits
//!
//! For each entry the worker: drops it unsealed-or-expired (`now >= expires_at`); reads its
//! record; with none, asks the sender for a key ([`Sender::new_message_key`](otp_reset::Sender::new_message_key)), **records the
//! key before sending**, sends under it, records `created`, then acknowledges and deletes the
//! entry. A worker that dies anywhere in between leaves the entry pending; after the claim
//! timeout another takes it over and reads the record: `created` → acknowledged unsent; a key
//! → it asks the sender whether a message exists under it ([`Sender::find_sent`](otp_reset::Sender::find_sent)): found → not
//! sent; not found → sent under the same key.
//!
//! So a message is delivered exactly once when the sender can choose keys and look them up
//! (the WhatsApp sender can). It is delivered **at most once** otherwise: when the lookup
//! answers `Unknown`, or the sender gives no keys and the send had begun (`sending`), the
//! message may exist and is not sent again (counted in [`WorkerStats::unknown`], logged as a
//! warning); the user asks for a new code after the cooldown. A message can also be lost if
//! Redis loses an acknowledged entry (a failover to a replica that lacked it, or a restart
//! without persistence): run Redis with AOF for a stronger promise.
//!
//! A takeover never races a send in progress: the claim timeout must exceed the worker's send
//! timeout plus two Redis command timeouts (checked), and a worker resets an entry's idle
//! time, only while it still holds the entry, right before each send.
//!
//! # One worker at a time
//!
//! Each worker takes a lease (`SET NX PX`, renewed every heartbeat by its holder only). A
//! second worker stands by and takes over within a lease TTL after the first one stops or
//! dies. A graceful stop finishes the message in hand, gives the lease up and takes the
//! status down, so the instances show [`NO_WORKER`] at once.
//!
//! # Failures
//!
//! Every Redis call has a timeout ([`QueueOptions::with_command_timeout`]); connections
//! reconnect by themselves, and an outage is logged once. A sender that is not ready (or whose
//! own queue is full) gets the message again with doubling waits while the code lives; a
//! number with no account is dropped; a send that timed out or failed after it began is
//! left pending, and the record decides at the next claim.
//!
//! Caveat: the service hands messages to its sender from its own in-process queue, so a
//! [`SendError::QueueFull`](otp_reset::SendError::QueueFull) from [`QueueSender`] is reported
//! as a failed send event rather than as the request's answer.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod heartbeat;
mod keys;
mod link;
mod options;
mod seal;
mod sender;
mod worker;

pub use error::QueueError;
pub use options::{QueueOptions, WorkerOptions};
pub use sender::{NO_WORKER, QueueSender};
pub use worker::{SenderWorker, WorkerStats};
