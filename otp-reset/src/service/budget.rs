//! Site-wide token buckets: the request-otp limit and the budget of codes really sent.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::{SiteRate, Timestamp};

/// A token bucket on the service's clock.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: SiteRate,
    state: Mutex<Level>,
}

#[derive(Debug)]
struct Level {
    tokens: f64,
    at: Timestamp,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: SiteRate, now: Timestamp) -> Self {
        Self {
            rate,
            state: Mutex::new(Level {
                tokens: f64::from(rate.burst),
                at: now,
            }),
        }
    }

    /// Takes a token, or says how long until one is there.
    pub(crate) fn take(&self, now: Timestamp) -> Result<Token<'_>, Duration> {
        let mut level = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let per_second = f64::from(self.rate.count) / self.rate.per.as_secs_f64();
        if now > level.at {
            let gained = level.at.until(now).as_secs_f64() * per_second;
            level.tokens = (level.tokens + gained).min(f64::from(self.rate.burst));
            level.at = now;
        }
        if level.tokens >= 1.0 {
            level.tokens -= 1.0;
            Ok(Token(Some(self)))
        } else {
            Err(Duration::from_secs_f64((1.0 - level.tokens) / per_second))
        }
    }

    fn give_back(&self) {
        let mut level = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        level.tokens = (level.tokens + 1.0).min(f64::from(self.rate.burst));
    }
}

/// A token taken from a [`Bucket`]: given back when dropped, unless spent.
#[derive(Debug)]
pub(crate) struct Token<'a>(Option<&'a Bucket>);

impl Token<'_> {
    /// Keeps the token taken.
    pub(crate) fn spend(mut self) {
        self.0 = None;
    }
}

impl Drop for Token<'_> {
    fn drop(&mut self) {
        if let Some(bucket) = self.0 {
            bucket.give_back();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(count: u32, seconds: u64, burst: u32) -> SiteRate {
        SiteRate {
            count,
            per: Duration::from_secs(seconds),
            burst,
        }
    }

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Timestamp::from_millis(1_000_000);
        let bucket = Bucket::new(rate(60, 3600, 2), t0);
        bucket.take(t0).unwrap().spend();
        bucket.take(t0).unwrap().spend();
        let wait = bucket.take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60), "one send a minute");
        assert!(bucket.take(t0.plus(Duration::from_secs(59))).is_err());
        bucket
            .take(t0.plus(Duration::from_secs(60)))
            .unwrap()
            .spend();
    }

    #[test]
    fn a_token_not_spent_goes_back() {
        let t0 = Timestamp::from_millis(1_000_000);
        let bucket = Bucket::new(rate(1, 3600, 1), t0);
        drop(bucket.take(t0).unwrap());
        bucket.take(t0).unwrap().spend();
        assert!(bucket.take(t0).is_err());
    }
}
