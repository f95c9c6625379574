//! The sender worker's side: [`SenderWorker`] takes messages off the stream and delivers each
//! through its sender exactly once (within the limits in the crate docs).

mod entry;
mod lease;
mod stats;

use std::pin::pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use otp_reset::Sender;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamReadReply};
use tokio::sync::watch;

pub use stats::WorkerStats;

use crate::keys::Keys;
use crate::link::{DisplayChain, Link};
use crate::{QueueError, QueueOptions, WorkerOptions};
use lease::{Held, Keeper};

/// Acknowledges an entry and deletes it, in one step, so the stream holds only what is waiting
/// or in hand (what the capacity counts).
static ACK: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
",
    )
});

/// Resets an entry's idle time, only while this consumer still holds it: before each call of
/// the sender, so that no other worker takes the entry over while the call may run.
static TOUCH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local held = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1, ARGV[3])
if #held == 0 then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
",
    )
});

/// The one process that holds the messaging session: reads the stream through a consumer
/// group and delivers each message with its [`Sender`].
///
/// Only one worker consumes at a time: each takes a lease in Redis (renewed every heartbeat);
/// a second worker stands by and takes over when the first one's lease lapses. While it holds
/// the lease, the worker publishes its sender's status for the instances' `bot-status`.
///
/// ```no_run
/// use std::sync::Arc;
/// use otp_reset::ConsoleSender;
/// use otp_reset_queue::{QueueOptions, SenderWorker, WorkerOptions};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let options = QueueOptions::new("redis://127.0.0.1:6379", b"the server's OTP_SECRET, 32+ bytes long")?;
/// let worker = SenderWorker::new(options, Arc::new(ConsoleSender::new()), WorkerOptions::default())?;
/// // Runs until the future given completes (at SIGTERM, say).
/// worker.run(std::future::pending()).await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SenderWorker {
    control: Link,
    reader: Link,
    keys: Keys,
    id: String,
    sender: Arc<dyn Sender>,
    queue: QueueOptions,
    options: WorkerOptions,
    stats: WorkerStats,
}

impl SenderWorker {
    /// A worker that delivers the queue's messages with `sender`. Opens no connection yet;
    /// must be called inside a tokio runtime. Refuses options out of range, naming the setting
    /// (the claim timeout must exceed the send timeout plus two Redis command timeouts).
    pub fn new(
        queue: QueueOptions,
        sender: Arc<dyn Sender>,
        options: WorkerOptions,
    ) -> Result<Self, QueueError> {
        queue.check()?;
        options.check(&queue)?;
        tokio::runtime::Handle::try_current().map_err(|_| QueueError::NoRuntime)?;
        let control = Link::new(&queue.client, queue.command_timeout)?;
        let reader = Link::new(&queue.client, options.read_block + queue.command_timeout)?;
        let mut suffix = [0u8; 6];
        rand::fill(&mut suffix[..]);
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            control,
            reader,
            keys: queue.keys(),
            id: format!("worker-{}-{suffix}", std::process::id()),
            sender,
            queue,
            options,
            stats: WorkerStats::default(),
        })
    }

    /// This worker's consumer name and lease value (`worker-<pid>-<random>`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What this worker did so far; the handle keeps counting while the worker runs.
    pub fn stats(&self) -> WorkerStats {
        self.stats.clone()
    }

    /// Consumes the queue until `shutdown` completes: then finishes the message in hand,
    /// gives the lease up and returns. Rides out Redis outages (reconnecting with backoff,
    /// logging once per outage) and never returns on its own.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop) = watch::channel(false);
        let (lease_tx, lease) = watch::channel::<Held>(None);
        let (keeper_stop_tx, keeper_stop) = watch::channel(false);
        let keeper = Keeper {
            link: self.control.clone(),
            keys: self.keys.clone(),
            id: self.id.clone(),
            sender: Arc::clone(&self.sender),
            heartbeat: self.options.heartbeat,
            ttl: self.options.lease_ttl,
        };
        // Aborted if `run` itself is dropped: a worker whose run ended must not keep the lease.
        let mut keeper = AbortOnDrop(tokio::spawn(keeper.run(lease_tx, keeper_stop)));
        {
            let mut work = pin!(self.consume(stop, lease));
            tokio::select! {
                () = &mut work => {}
                () = shutdown => {
                    stop_tx.send_replace(true);
                    work.await;
                }
            }
        }
        keeper_stop_tx.send_replace(true);
        let _ = (&mut keeper.0).await;
        self.forget_consumer().await;
        Keeper::release(&self.control, &self.keys, &self.id).await;
        tracing::info!(target: "otp_reset_queue", worker = %self.id, "sender worker stopped");
    }

    async fn consume(&self, mut stop: watch::Receiver<bool>, mut lease: watch::Receiver<Held>) {
        let mut group_ready = false;
        let mut claim_cursor = String::from("0-0");
        let mut backoff = entry::Backoff::new(self.options.retry_min, self.options.retry_max);
        loop {
            if *stop.borrow() {
                return;
            }
            if !lease::is_held(&lease) {
                tokio::select! {
                    _ = lease.changed() => {}
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(self.options.heartbeat) => {}
                }
                continue;
            }
            if !group_ready {
                match self.ensure_group().await {
                    Ok(()) => group_ready = true,
                    Err(_) => {
                        entry::pause(backoff.next(), &mut stop).await;
                        continue;
                    }
                }
            }
            let entries = match self.next_entries(&mut claim_cursor).await {
                Ok(entries) => entries,
                Err(error) => {
                    if no_group(&error) {
                        group_ready = false;
                    }
                    entry::pause(backoff.next(), &mut stop).await;
                    continue;
                }
            };
            backoff.reset();
            for taken in entries {
                if *stop.borrow() || !lease::is_held(&lease) {
                    // Left pending: a later read claims it after the claim timeout.
                    break;
                }
                self.process(taken, &mut stop, &lease).await;
            }
        }
    }

    /// Creates the consumer group from the stream's start (so entries added before any worker
    /// ran are read), and the stream with it; an existing group is fine.
    async fn ensure_group(&self) -> Result<(), QueueError> {
        let cmd = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(&self.keys.stream)
            .arg(self.keys.group)
            .arg("0")
            .arg("MKSTREAM")
            .clone();
        match self.control.query::<()>("group creation", &cmd).await {
            Ok(()) => Ok(()),
            Err(QueueError::Redis { source, .. }) if source.code() == Some("BUSYGROUP") => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// Entries left pending past the claim timeout by any consumer first, then new ones
    /// (waiting up to the read block for them).
    async fn next_entries(&self, claim_cursor: &mut String) -> Result<Vec<StreamId>, QueueError> {
        let claim_ms = u64::try_from(self.options.claim_timeout.as_millis()).unwrap_or(u64::MAX);
        let claim = redis::cmd("XAUTOCLAIM")
            .arg(&self.keys.stream)
            .arg(self.keys.group)
            .arg(&self.id)
            .arg(claim_ms)
            .arg(&*claim_cursor)
            .arg("COUNT")
            .arg(self.options.batch)
            .clone();
        let claimed: StreamAutoClaimReply = self.control.query("claim", &claim).await?;
        *claim_cursor = claimed.next_stream_id;
        if !claimed.claimed.is_empty() {
            return Ok(claimed.claimed);
        }
        let block_ms = u64::try_from(self.options.read_block.as_millis()).unwrap_or(u64::MAX);
        let read = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(self.keys.group)
            .arg(&self.id)
            .arg("COUNT")
            .arg(self.options.batch)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&self.keys.stream)
            .arg(">")
            .clone();
        let read: Option<StreamReadReply> = self.reader.query("read", &read).await?;
        Ok(read
            .map(|reply| reply.keys.into_iter().flat_map(|key| key.ids).collect())
            .unwrap_or_default())
    }

    /// Removes this worker's consumer from the group at a graceful stop, if it holds nothing.
    async fn forget_consumer(&self) {
        let pending = redis::cmd("XPENDING")
            .arg(&self.keys.stream)
            .arg(self.keys.group)
            .arg("-")
            .arg("+")
            .arg(1)
            .arg(&self.id)
            .clone();
        let held: Result<Vec<redis::Value>, _> = self.control.query("pending", &pending).await;
        if held.is_ok_and(|held| held.is_empty()) {
            let forget = redis::cmd("XGROUP")
                .arg("DELCONSUMER")
                .arg(&self.keys.stream)
                .arg(self.keys.group)
                .arg(&self.id)
                .clone();
            let _ = self.control.query::<i64>("consumer removal", &forget).await;
        }
    }

    async fn ack(&self, entry_id: &str) -> Result<(), QueueError> {
        let mut ack = ACK.key(&self.keys.stream);
        ack.arg(self.keys.group).arg(entry_id);
        self.control.script::<i64>("ack", &ack).await.map(|_| ())
    }

    /// Whether this worker still holds `entry_id`, resetting its idle time if so.
    async fn touch(&self, entry_id: &str) -> Result<bool, QueueError> {
        let mut touch = TOUCH.key(&self.keys.stream);
        touch.arg(self.keys.group).arg(entry_id).arg(&self.id);
        self.control
            .script::<i64>("touch", &touch)
            .await
            .map(|held| held == 1)
    }
}

/// A task that ends with its owner.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn no_group(error: &QueueError) -> bool {
    matches!(error, QueueError::Redis { source, .. } if source.code() == Some("NOGROUP"))
}

/// How long the worker waits on one call of its sender.
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, otp_reset::SendError>>,
) -> Result<T, otp_reset::SendError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or(Err(otp_reset::SendError::Timeout(timeout)))
}

fn log_redis_error(what: &str, error: &QueueError) {
    if !crate::link::is_outage(error) {
        tracing::warn!(target: "otp_reset_queue", error = %DisplayChain(error), "{what}");
    }
}
