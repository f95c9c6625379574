//! The instances' side: [`QueueSender`] puts sealed messages on the stream and shows the
//! worker's status.

use std::sync::{Arc, LazyLock};
use std::time::{Duration, SystemTime};

use otp_reset::{
    Delivered, Message, PhoneNumber, SendError, Sender, SenderProblem, SenderState, SenderStatus,
};
use tokio::sync::watch;

use crate::heartbeat::{self, millis_since_epoch};
use crate::keys::Keys;
use crate::link::Link;
use crate::seal::{FORMAT_VERSION, Sealer};
use crate::{QueueError, QueueOptions};

/// The state shown while no worker has published a status lately.
pub const NO_WORKER: &str = "no sender worker is running";

/// Adds an entry unless the stream already holds `capacity` (waiting or in a worker's hands:
/// the worker deletes an entry when it acknowledges it), in one step.
static ENQUEUE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'v', ARGV[2], 'enqueued_at', ARGV[3],
    'expires_at', ARGV[4], 'payload', ARGV[5])
",
    )
});

/// A [`Sender`] for server instances that share one sender worker: `send` seals the message
/// and adds it to a Redis Stream, returning once Redis has it (`message_id` is the entry's id);
/// [`Sender::status`] is the worker's sender's status, as the worker last published it.
///
/// ```no_run
/// use otp_reset_queue::{QueueOptions, QueueSender};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let options = QueueOptions::new("redis://127.0.0.1:6379", b"the server's OTP_SECRET, 32+ bytes long")?;
/// let sender = QueueSender::new(options)?;
/// // pass it to `ForgotPassword::builder(users, otps, sender)`
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct QueueSender {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    link: Link,
    keys: Keys,
    sealer: Sealer,
    capacity: usize,
    notice_lifetime: Duration,
    decoy_lifetime: Duration,
    status: watch::Receiver<SenderStatus>,
}

impl QueueSender {
    /// A sender over the queue in `options`. Opens no connection: Redis may be down now and
    /// come up later. Starts a task that reads the worker's status every
    /// [`QueueOptions::with_status_refresh`], until the last clone is dropped; must be called
    /// inside a tokio runtime.
    pub fn new(options: QueueOptions) -> Result<Self, QueueError> {
        options.check()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| QueueError::NoRuntime)?;
        let link = Link::new(&options.client, options.command_timeout)?;
        let keys = options.keys();
        let (publish, status) = watch::channel(SenderStatus::new(SenderState::Initializing));
        runtime.spawn(refresh_status(
            link.clone(),
            keys.status.clone(),
            options.status_refresh,
            publish,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                link,
                keys,
                sealer: options.sealer,
                capacity: options.capacity,
                notice_lifetime: options.notice_lifetime,
                decoy_lifetime: options.decoy_lifetime,
                status,
            }),
        })
    }
}

impl QueueSender {
    /// Adds a sealed payload to the stream, within the capacity; the entry's id.
    async fn enqueue(
        &self,
        enqueued_at: u64,
        expires_at: u64,
        payload: Vec<u8>,
    ) -> Result<String, SendError> {
        let inner = &*self.inner;
        let mut invocation = ENQUEUE.key(&inner.keys.stream);
        invocation
            .arg(inner.capacity)
            .arg(FORMAT_VERSION)
            .arg(enqueued_at)
            .arg(expires_at)
            .arg(payload);
        let added: Option<String> =
            inner
                .link
                .script("enqueue", &invocation)
                .await
                .map_err(|error| match error {
                    QueueError::Timeout { timeout, .. } => SendError::Timeout(timeout),
                    other => SendError::Failed(Box::new(other)),
                })?;
        added.ok_or(SendError::QueueFull)
    }
}

#[otp_reset::async_trait]
impl Sender for QueueSender {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let inner = &*self.inner;
        let lifetime = match message {
            Message::Code { ttl, .. } => *ttl,
            _ => inner.notice_lifetime,
        };
        let enqueued_at = millis_since_epoch(SystemTime::now());
        let lifetime_ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        let expires_at = enqueued_at.saturating_add(lifetime_ms);
        let payload = inner
            .sealer
            .seal(*to, message, enqueued_at, expires_at)
            .map_err(|_| SendError::Failed("the queue cannot carry this kind of message".into()))?;
        let entry_id = self.enqueue(enqueued_at, expires_at, payload).await?;
        Ok(Delivered {
            message_id: Some(entry_id),
        })
    }

    /// The queue is durable: request-otp waits for the entry before it answers.
    fn hands_off_durably(&self) -> bool {
        true
    }

    fn name(&self) -> &str {
        "queue"
    }

    /// Queues a sealed decoy, of a code's size and lifetime, which the worker drops.
    async fn send_decoy(&self) -> Result<(), SendError> {
        let inner = &*self.inner;
        let enqueued_at = millis_since_epoch(SystemTime::now());
        let lifetime_ms = u64::try_from(inner.decoy_lifetime.as_millis()).unwrap_or(u64::MAX);
        let expires_at = enqueued_at.saturating_add(lifetime_ms);
        let payload = inner
            .sealer
            .seal_decoy(enqueued_at, expires_at)
            .map_err(|_| SendError::Failed("the queue cannot seal a decoy".into()))?;
        self.enqueue(enqueued_at, expires_at, payload)
            .await
            .map(drop)
    }

    fn state(&self) -> SenderState {
        self.inner.status.borrow().state.clone()
    }

    fn status(&self) -> SenderStatus {
        self.inner.status.borrow().clone()
    }
}

/// Reads the worker's heartbeat every `every` until every [`QueueSender`] clone is gone. No
/// heartbeat: [`NO_WORKER`]; Redis unreachable: `DISCONNECTED`.
async fn refresh_status(
    link: Link,
    key: String,
    every: Duration,
    publish: watch::Sender<SenderStatus>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut local_problem: Option<SenderProblem> = None;
    loop {
        tokio::select! {
            () = publish.closed() => return,
            _ = ticks.tick() => {}
        }
        let read: Result<Option<String>, QueueError> =
            link.query("status read", redis::cmd("GET").arg(&key)).await;
        let published = match read {
            Ok(Some(text)) => heartbeat::decode(&text).ok_or(SenderState::Failed {
                reason: "the sender worker's status is unreadable".into(),
            }),
            Ok(None) => Err(SenderState::Failed {
                reason: NO_WORKER.into(),
            }),
            Err(_) => Err(SenderState::Disconnected),
        };
        let status = match published {
            Ok(status) => {
                local_problem = None;
                status
            }
            Err(state) => {
                let problem = match local_problem.take() {
                    Some(problem) if problem.state == state => problem,
                    _ => SenderProblem {
                        state: state.clone(),
                        since: SystemTime::now(),
                    },
                };
                local_problem = Some(problem.clone());
                SenderStatus::new(state).with_last_problem(problem)
            }
        };
        publish.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }
}
