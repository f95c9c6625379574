//! Building a [`ForgotPassword`] service.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use zeroize::Zeroizing;

use super::budget::Bucket;
use super::{ForgotPassword, Inner};
use crate::delivery::Deliveries;
use crate::events::Events;
use crate::sender::outbox::Outbox;
use crate::{
    Clock, CodeHasher, Error, EventSink, OtpStore, Passwords, Policy, Sender, SettingError,
    SystemClock, UserStore,
};

/// Builds a [`ForgotPassword`] service; start with [`ForgotPassword::builder`].
#[must_use]
pub struct ForgotPasswordBuilder<U, O> {
    users: U,
    otps: O,
    sender: Arc<dyn Sender>,
    policy: Policy,
    secret: Option<Zeroizing<Vec<u8>>>,
    passwords: Option<Passwords>,
    events: Option<Arc<dyn EventSink>>,
    clock: Arc<dyn Clock>,
    outbox_capacity: usize,
    max_body_bytes: usize,
    purge_interval: Option<Duration>,
}

impl<U, O> fmt::Debug for ForgotPasswordBuilder<U, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForgotPasswordBuilder")
            .field("policy", &self.policy)
            .field("sender", &self.sender)
            .field("secret", &self.secret.as_ref().map(|_| "<secret>"))
            .field("outbox_capacity", &self.outbox_capacity)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("purge_interval", &self.purge_interval)
            .finish_non_exhaustive()
    }
}

impl<U: UserStore, O: OtpStore> ForgotPasswordBuilder<U, O> {
    pub(super) fn new(users: U, otps: O, sender: Arc<dyn Sender>) -> Self {
        Self {
            users,
            otps,
            sender,
            policy: Policy::default(),
            secret: None,
            passwords: None,
            events: None,
            clock: Arc::new(SystemClock),
            outbox_capacity: 256,
            max_body_bytes: 16 * 1024,
            purge_interval: Some(Duration::from_secs(60)),
        }
    }

    /// The rules of the flow (default: [`Policy::default`]).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The server secret that keys the code digests, at least
    /// [`CodeHasher::MIN_SECRET_BYTES`] bytes. Every process sharing a store needs the same
    /// secret. Without one, a random secret lives as long as the process, which suits the
    /// in-memory store.
    pub fn with_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.secret = Some(Zeroizing::new(secret.as_ref().to_vec()));
        self
    }

    /// The password hasher (default: [`Passwords::default`]); share one with the app's login so
    /// both live under one bound.
    pub fn with_passwords(mut self, passwords: Passwords) -> Self {
        self.passwords = Some(passwords);
        self
    }

    /// Receives every [`Event`](crate::Event) besides `tracing`.
    pub fn with_events(mut self, sink: impl EventSink) -> Self {
        self.events = Some(Arc::new(sink));
        self
    }

    /// Where the service reads the time (default: the system clock).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Messages that may wait for the sender (default 256, at least 1); when full, request-otp
    /// answers 503.
    pub fn with_outbox_capacity(mut self, messages: usize) -> Self {
        self.outbox_capacity = messages;
        self
    }

    /// The largest request body accepted (default 16 KiB, at least 1 KiB); larger ones get 413.
    pub fn with_max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How often expired codes are purged in the background (default every minute, at least
    /// every second; `None` turns the background purge off).
    pub fn with_purge_interval(mut self, interval: Option<Duration>) -> Self {
        self.purge_interval = interval;
        self
    }

    /// Builds the service and starts its tasks (the sender's queue and the purge) on the
    /// current tokio runtime.
    ///
    /// Fails with [`Error::NoRuntime`] outside a tokio runtime, [`Error::Secret`] for a short
    /// secret and [`Error::Setting`] for a setting out of its range.
    ///
    /// ```
    /// use otp_reset::{ConsoleSender, Error, ForgotPassword, MemoryOtpStore, MemoryUserStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let built = ForgotPassword::builder(MemoryUserStore::new(), MemoryOtpStore::new(), ConsoleSender::new())
    ///     .with_outbox_capacity(0)
    ///     .build();
    /// assert!(matches!(built, Err(Error::Setting(e)) if e.setting() == "outbox_capacity"));
    /// # }
    /// ```
    pub fn build(self) -> Result<ForgotPassword<U, O>, Error> {
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        self.check_settings()?;
        let codes = match &self.secret {
            Some(secret) => CodeHasher::new(secret)?,
            None => CodeHasher::random(),
        };
        let events = Events::new(self.events);
        let deliveries = Deliveries::start(&*self.sender, events.clone(), self.policy.code_ttl());
        let outbox = Outbox::start(
            Arc::clone(&self.sender),
            events.clone(),
            deliveries.clone(),
            self.outbox_capacity,
        );
        let now = self.clock.now();
        let bucket = |rate: Option<crate::SiteRate>| rate.map(|rate| Bucket::new(rate, now));
        let inner = Arc::new(Inner {
            request_limit: bucket(self.policy.request_limit()),
            send_budget: bucket(self.policy.send_budget()),
            users: self.users,
            otps: self.otps,
            sender: self.sender,
            outbox,
            deliveries,
            policy: self.policy,
            codes,
            passwords: self.passwords.unwrap_or_default(),
            events,
            clock: self.clock,
            max_body_bytes: self.max_body_bytes,
        });
        if let Some(interval) = self.purge_interval {
            tokio::spawn(purge_periodically(Arc::downgrade(&inner), interval));
        }
        Ok(ForgotPassword { inner })
    }
}

impl<U, O> ForgotPasswordBuilder<U, O> {
    /// Fails naming the first setting out of its range.
    fn check_settings(&self) -> Result<(), SettingError> {
        SettingError::check("outbox_capacity", self.outbox_capacity >= 1, "at least 1")?;
        SettingError::check(
            "max_body_bytes",
            self.max_body_bytes >= 1024,
            "at least 1 KiB",
        )?;
        SettingError::check(
            "purge_interval",
            self.purge_interval
                .is_none_or(|interval| interval >= Duration::from_secs(1)),
            "at least 1 second",
        )
    }
}

/// Purges expired codes every `interval` for as long as the service lives.
async fn purge_periodically<U: UserStore, O: OtpStore>(
    inner: Weak<Inner<U, O>>,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        match inner
            .otps
            .purge_expired(inner.clock.now(), inner.policy.otp_rules())
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::debug!(target: "otp_reset", purged, "purged expired codes"),
            Err(error) => {
                tracing::warn!(target: "otp_reset", %error, "purging expired codes failed")
            }
        }
    }
}
