//! The lease that lets one worker consume at a time, and the heartbeat that shows its
//! sender's status to every instance.
//!
//! The lease is a key set to the worker's id with a TTL when it is free (`SET … PX` in a script
//! that first reads it: `SET NX PX` in effect), and extended every heartbeat by the same script
//! only while it still holds the id. A worker counts its lease valid
//! until the renewal's start plus the TTL, by its own clock: Redis lets the key lapse no
//! sooner, so two workers never both believe they hold it.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use otp_reset::Sender;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::heartbeat;
use crate::keys::Keys;
use crate::link::Link;

/// Takes the lease if it is free, or extends it if this worker holds it.
static ACQUIRE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
",
    )
});

static RELEASE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
",
    )
});

/// Until when this worker holds the lease, if it does.
pub(super) type Held = Option<Instant>;

/// Whether the lease is held now.
pub(super) fn is_held(lease: &watch::Receiver<Held>) -> bool {
    lease.borrow().is_some_and(|until| Instant::now() < until)
}

pub(super) struct Keeper {
    pub(super) link: Link,
    pub(super) keys: Keys,
    pub(super) id: String,
    pub(super) sender: Arc<dyn Sender>,
    pub(super) heartbeat: Duration,
    pub(super) ttl: Duration,
}

impl Keeper {
    /// Takes or renews the lease and, while held, publishes the sender's status, every
    /// heartbeat until `stop` turns true.
    pub(super) async fn run(self, lease: watch::Sender<Held>, mut stop: watch::Receiver<bool>) {
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let mut standing_by = false;
        loop {
            let started = Instant::now();
            let was_held = lease.borrow().is_some_and(|until| started < until);
            let mut acquire = ACQUIRE.key(&self.keys.lease);
            acquire.arg(&self.id).arg(ttl_ms);
            let holds = self
                .link
                .script::<i64>("lease", &acquire)
                .await
                .map(|held| held == 1);
            match holds {
                Ok(true) => {
                    lease.send_replace(Some(started + self.ttl));
                    if !was_held {
                        tracing::info!(target: "otp_reset_queue", worker = %self.id, "this worker holds the lease: it consumes the sender queue");
                        standing_by = false;
                    }
                    let status = heartbeat::encode(&self.sender.status());
                    let publish = redis::cmd("SET")
                        .arg(&self.keys.status)
                        .arg(status)
                        .arg("PX")
                        .arg(ttl_ms)
                        .clone();
                    // A missed heartbeat is the next one's to make up; the link logs outages.
                    let _ = self.link.query::<()>("status publish", &publish).await;
                }
                Ok(false) => {
                    if was_held {
                        tracing::warn!(target: "otp_reset_queue", worker = %self.id, "this worker lost the lease: another consumes now");
                    }
                    lease.send_replace(None);
                    if !standing_by {
                        tracing::info!(target: "otp_reset_queue", worker = %self.id, "another worker holds the lease: standing by");
                        standing_by = true;
                    }
                }
                // Redis unreachable (logged by the link): the lease lapses by its own clock.
                Err(_) => {}
            }
            let next = started + self.heartbeat;
            tokio::select! {
                () = tokio::time::sleep_until(next) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// Gives the lease up and takes the status down, if this worker still holds it.
    pub(super) async fn release(link: &Link, keys: &Keys, id: &str) {
        let mut release = RELEASE.key(&keys.lease);
        release.key(&keys.status).arg(id);
        let _ = link.script::<i64>("lease release", &release).await;
    }
}
