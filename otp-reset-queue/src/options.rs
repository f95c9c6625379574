//! The settings of both sides: [`QueueOptions`] (shared) and [`WorkerOptions`] (the worker's).

use std::fmt;
use std::time::Duration;

use crate::QueueError;
use crate::keys::Keys;
use crate::seal::Sealer;

/// What every instance and the worker share: the Redis server, the key prefix, the secret that
/// seals the messages, and the queue's capacity.
///
/// ```
/// use otp_reset_queue::QueueOptions;
/// use std::time::Duration;
///
/// let options = QueueOptions::new("redis://127.0.0.1:6379", b"the server's OTP_SECRET, 32+ bytes long")?
///     .with_prefix("shop:otp-sender:")
///     .with_capacity(500)
///     .with_command_timeout(Duration::from_secs(1));
/// # Ok::<(), otp_reset_queue::QueueError>(())
/// ```
#[derive(Clone)]
pub struct QueueOptions {
    pub(crate) client: redis::Client,
    pub(crate) sealer: Sealer,
    pub(crate) prefix: String,
    pub(crate) capacity: usize,
    pub(crate) command_timeout: Duration,
    pub(crate) notice_lifetime: Duration,
    pub(crate) decoy_lifetime: Duration,
    pub(crate) status_refresh: Duration,
}

/// The shortest secret: as long as the core's code-digest secret.
const MIN_SECRET_BYTES: usize = 32;

impl QueueOptions {
    /// The queue on the Redis server at `url` (`redis://` or `rediss://`), sealing messages
    /// with a key derived from `secret` (at least 32 bytes; every instance and the worker must
    /// share it: the server's `OTP_SECRET`). Opens no connection.
    pub fn new(url: &str, secret: &[u8]) -> Result<Self, QueueError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(QueueError::Setting {
                setting: "secret",
                reason: "must be at least 32 bytes",
            });
        }
        let client = redis::Client::open(url).map_err(QueueError::InvalidUrl)?;
        Ok(Self {
            client,
            sealer: Sealer::new(secret),
            prefix: "otp-reset:sender:".into(),
            capacity: 1000,
            command_timeout: Duration::from_secs(2),
            notice_lifetime: Duration::from_secs(3600),
            decoy_lifetime: Duration::from_secs(900),
            status_refresh: Duration::from_secs(1),
        })
    }

    /// The prefix of every key (default `otp-reset:sender:`), so that several sites or tests
    /// share one Redis.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most messages the stream holds, waiting or in hand (default 1000); beyond it a send
    /// fails with [`SendError::QueueFull`](otp_reset::SendError::QueueFull).
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The longest one Redis command may take (default 2 s; 50 ms to 60 s).
    pub fn with_command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long a message that is not a code (a password-changed notice) may wait in the queue
    /// before it is dropped unsent (default an hour); a code waits as long as it is valid.
    pub fn with_notice_lifetime(mut self, lifetime: Duration) -> Self {
        self.notice_lifetime = lifetime;
        self
    }

    /// The lifetime a decoy (see [`Sender::send_decoy`](otp_reset::Sender::send_decoy)) carries
    /// in the stream, which should be the codes' (default 15 minutes, the core's default), so that
    /// an entry's unsealed fields do not tell a decoy from a code either.
    pub fn with_decoy_lifetime(mut self, lifetime: Duration) -> Self {
        self.decoy_lifetime = lifetime;
        self
    }

    /// How often a [`QueueSender`](crate::QueueSender) reads the worker's status (default 1 s).
    pub fn with_status_refresh(mut self, every: Duration) -> Self {
        self.status_refresh = every;
        self
    }

    pub(crate) fn keys(&self) -> Keys {
        Keys::new(&self.prefix)
    }

    pub(crate) fn check(&self) -> Result<(), QueueError> {
        let setting = |setting, reason| Err(QueueError::Setting { setting, reason });
        if !(1..=1_000_000).contains(&self.capacity) {
            return setting("capacity", "must be 1 to 1000000");
        }
        if !(Duration::from_millis(50)..=Duration::from_secs(60)).contains(&self.command_timeout) {
            return setting("command_timeout", "must be 50 ms to 60 s");
        }
        if self.notice_lifetime < Duration::from_secs(1) {
            return setting("notice_lifetime", "must be at least a second");
        }
        if !(Duration::from_millis(50)..=Duration::from_secs(60)).contains(&self.status_refresh) {
            return setting("status_refresh", "must be 50 ms to 60 s");
        }
        if self.prefix.len() > 200 {
            return setting("prefix", "must be at most 200 bytes");
        }
        Ok(())
    }
}

impl fmt::Debug for QueueOptions {
    // The URL may hold a password and the sealer a key: neither is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueOptions")
            .field("prefix", &self.prefix)
            .field("capacity", &self.capacity)
            .field("command_timeout", &self.command_timeout)
            .field("notice_lifetime", &self.notice_lifetime)
            .field("decoy_lifetime", &self.decoy_lifetime)
            .field("status_refresh", &self.status_refresh)
            .finish_non_exhaustive()
    }
}

/// The worker's settings.
///
/// ```
/// use otp_reset_queue::WorkerOptions;
/// use std::time::Duration;
///
/// let options = WorkerOptions::default()
///     .with_send_timeout(Duration::from_secs(60))
///     .with_claim_timeout(Duration::from_secs(90));
/// ```
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    pub(crate) send_timeout: Duration,
    pub(crate) claim_timeout: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) read_block: Duration,
    pub(crate) batch: usize,
    pub(crate) retry_min: Duration,
    pub(crate) retry_max: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            send_timeout: Duration::from_secs(60),
            claim_timeout: Duration::from_secs(120),
            heartbeat: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(5),
            read_block: Duration::from_secs(1),
            batch: 16,
            retry_min: Duration::from_millis(250),
            retry_max: Duration::from_secs(10),
        }
    }
}

impl WorkerOptions {
    /// The longest the worker waits on one call of its sender (default 60 s); it must be at
    /// least the sender's own send timeout (the WhatsApp sender's is 55 s by default), so that
    /// a send the worker gave up on has ended.
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// How long an entry must have sat unacknowledged with another consumer before this worker
    /// takes it over (default 120 s); must exceed the send timeout plus two Redis command
    /// timeouts, so that a message is never taken over while its send may still be running.
    pub fn with_claim_timeout(mut self, timeout: Duration) -> Self {
        self.claim_timeout = timeout;
        self
    }

    /// How often the worker renews its lease and publishes its sender's status (default 1 s).
    pub fn with_heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// How long the lease and the published status live unrenewed (default 5 s): a worker that
    /// died is replaced by a standby, and shown as gone, this long after.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// How long one read waits for new entries (default 1 s); a graceful stop waits at most
    /// this long for a read in progress.
    pub fn with_read_block(mut self, block: Duration) -> Self {
        self.read_block = block;
        self
    }

    /// The shortest and longest waits between retries of a message the sender could not take
    /// yet (defaults 250 ms and 10 s, doubling between).
    pub fn with_retry_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.retry_min = min;
        self.retry_max = max;
        self
    }

    pub(crate) fn check(&self, queue: &QueueOptions) -> Result<(), QueueError> {
        let setting = |setting, reason| Err(QueueError::Setting { setting, reason });
        if self.send_timeout < Duration::from_millis(100) {
            return setting("send_timeout", "must be at least 100 ms");
        }
        if self.claim_timeout <= self.send_timeout + queue.command_timeout * 2 {
            return setting(
                "claim_timeout",
                "must exceed the send timeout plus two Redis command timeouts",
            );
        }
        if !(Duration::from_millis(50)..=Duration::from_secs(60)).contains(&self.heartbeat) {
            return setting("heartbeat", "must be 50 ms to 60 s");
        }
        if self.lease_ttl < self.heartbeat * 2 + queue.command_timeout {
            return setting(
                "lease_ttl",
                "must be at least two heartbeats plus a Redis command timeout",
            );
        }
        if !(Duration::from_millis(10)..=Duration::from_secs(30)).contains(&self.read_block) {
            return setting("read_block", "must be 10 ms to 30 s");
        }
        if self.retry_min.is_zero() || self.retry_max < self.retry_min {
            return setting("retry_backoff", "min must be above zero and at most max");
        }
        Ok(())
    }
}
