//! Wall-clock time as stores see it, and a clock the service reads it from.

use std::fmt;
#[cfg(feature = "test-util")]
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An instant as milliseconds since the Unix epoch.
///
/// Stores receive every instant from the caller instead of reading a clock themselves, so one
/// process's clock decides expiry and cooldowns, and tests can move time without sleeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// This instant moved `by` later, saturating at the end of time.
    pub fn plus(self, by: Duration) -> Self {
        Self(self.0.saturating_add(duration_millis(by)))
    }

    /// How long after `earlier` this instant is, or zero when it is not later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// How long from this instant until `later`, or zero when it has passed.
    pub fn until(self, later: Timestamp) -> Duration {
        later.since(self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

fn duration_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Where the service reads the current time.
///
/// [`SystemClock`] in production; `ManualClock` (feature `test-util`) in tests that need codes
/// to expire or cooldowns to pass without waiting.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(duration_millis(since_epoch))
    }
}

/// A clock that moves only when told to, for tests (feature `test-util`).
///
/// ```
/// use otp_reset::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// let start = clock.now();
/// clock.advance(Duration::from_secs(61));
/// assert_eq!(clock.now().since(start), Duration::from_secs(61));
/// ```
#[cfg(feature = "test-util")]
#[derive(Debug)]
pub struct ManualClock(AtomicU64);

#[cfg(feature = "test-util")]
impl ManualClock {
    /// A clock standing at the current system time.
    pub fn new() -> Self {
        Self(AtomicU64::new(SystemClock.now().as_millis()))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(duration_millis(by), Ordering::SeqCst);
    }
}

#[cfg(feature = "test-util")]
impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "test-util")]
impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
