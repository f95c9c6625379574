//! The policy builder and the checks it runs once at build time.

use std::time::Duration;

use super::{Policy, SiteRate, UnknownUser};

/// Builds a [`Policy`]; [`PolicyBuilder::build`] checks every setting once.
#[derive(Clone, Debug)]
#[must_use]
pub struct PolicyBuilder(pub(super) Policy);

impl PolicyBuilder {
    /// Digits in a code, 4 to 10.
    pub fn with_code_length(mut self, digits: u8) -> Self {
        self.0.code_length = digits;
        self
    }

    /// How long a code stays valid, 1 minute to 24 hours.
    pub fn with_code_ttl(mut self, ttl: Duration) -> Self {
        self.0.rules.code_ttl = ttl;
        self
    }

    /// Wrong guesses a code survives, 1 to 10.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.0.rules.max_attempts = attempts;
        self
    }

    /// Minimum wait between two codes for one phone, at most the code's lifetime.
    pub fn with_resend_cooldown(mut self, cooldown: Duration) -> Self {
        self.0.rules.resend_cooldown = cooldown;
        self
    }

    /// At most `sends` codes per phone within any `window`.
    pub fn with_send_cap(mut self, sends: u32, window: Duration) -> Self {
        self.0.rules.max_sends_per_window = sends;
        self.0.rules.send_window = window;
        self
    }

    /// After `failures` consecutive wrong guesses on one phone, refuse it new codes for `base`,
    /// doubling with each further failure up to `max`.
    pub fn with_lockout(mut self, failures: u32, base: Duration, max: Duration) -> Self {
        self.0.rules.lockout_threshold = failures;
        self.0.rules.lockout_base = base;
        self.0.rules.lockout_max = max;
        self
    }

    /// Fewest and most characters in a new password.
    pub fn with_password_length(mut self, min_chars: usize, max_chars: usize) -> Self {
        self.0.min_password_chars = min_chars;
        self.0.max_password_chars = max_chars;
        self
    }

    /// What an unknown name and phone pair is answered.
    pub fn with_unknown_user(mut self, answer: UnknownUser) -> Self {
        self.0.unknown_user = answer;
        self
    }

    /// Puts the code in request-otp answers as `testOTP`, as the seed did. Development only:
    /// a code in the answer defeats the whole check.
    pub fn with_code_exposed_for_development(mut self, expose: bool) -> Self {
        self.0.expose_code_for_development = expose;
        self
    }

    /// Whether a successful verification returns a single-use `resetToken`.
    pub fn with_reset_token(mut self, issue: bool) -> Self {
        self.0.issue_reset_token = issue;
        self
    }

    /// At most `count` request-otp calls per `per` across the whole site, known pairs or not,
    /// in bursts of up to `count`; beyond it every caller gets 503 `busy`. Bounds the work and
    /// the stand-ins a flood of made-up pairs can cause. `count` at least 1, `per` from 1
    /// second to 1 day.
    pub fn with_request_limit(mut self, count: u32, per: Duration) -> Self {
        self.0.request_limit = Some(SiteRate {
            count,
            per,
            burst: count,
        });
        self
    }

    /// At most `count` codes really sent per `per` across the whole site, in bursts of up to
    /// `burst` (1 to `count`); beyond it request-otp answers 503 `busy` to every pair alike.
    /// A WhatsApp account that messages many strangers fast is banned, and then nobody can
    /// reset: this keeps the site's sending within what its number can bear.
    pub fn with_send_budget(mut self, count: u32, per: Duration, burst: u32) -> Self {
        self.0.send_budget = Some(SiteRate { count, per, burst });
        self
    }

    /// Checks every setting and returns the policy, or the first setting out of range.
    pub fn build(self) -> Result<Policy, PolicyError> {
        let p = self.0;
        let r = &p.rules;
        let minute = Duration::from_secs(60);
        let day = Duration::from_secs(24 * 60 * 60);
        check(
            "code_length",
            (4..=10).contains(&p.code_length),
            "from 4 to 10 digits",
        )?;
        check(
            "code_ttl",
            (minute..=day).contains(&r.code_ttl),
            "from 1 minute to 24 hours",
        )?;
        check(
            "max_attempts",
            (1..=10).contains(&r.max_attempts),
            "from 1 to 10",
        )?;
        check(
            "resend_cooldown",
            r.resend_cooldown <= r.code_ttl,
            "at most the code's lifetime",
        )?;
        check(
            "max_sends_per_window",
            r.max_sends_per_window >= 1,
            "at least 1",
        )?;
        check(
            "send_window",
            (Duration::from_secs(1)..=day * 7).contains(&r.send_window),
            "from 1 second to 7 days",
        )?;
        check("lockout_threshold", r.lockout_threshold >= 1, "at least 1")?;
        check(
            "lockout_max",
            !r.lockout_base.is_zero() && r.lockout_base <= r.lockout_max,
            "base above zero and not above the maximum",
        )?;
        let rate_ok = |rate: Option<SiteRate>| {
            rate.is_none_or(|rate| {
                rate.count >= 1
                    && (1..=rate.count).contains(&rate.burst)
                    && (Duration::from_secs(1)..=day).contains(&rate.per)
            })
        };
        check(
            "request_limit",
            rate_ok(p.request_limit),
            "at least 1 per 1 second to 1 day",
        )?;
        check(
            "send_budget",
            rate_ok(p.send_budget),
            "at least 1 per 1 second to 1 day, in bursts of 1 to that many",
        )?;
        check(
            "min_password_chars",
            p.min_password_chars >= 1,
            "at least 1",
        )?;
        check(
            "max_password_chars",
            (p.min_password_chars..=4096).contains(&p.max_password_chars),
            "from the minimum to 4096",
        )?;
        Ok(p)
    }
}

fn check(setting: &'static str, ok: bool, expected: &'static str) -> Result<(), PolicyError> {
    if ok {
        Ok(())
    } else {
        Err(PolicyError { setting, expected })
    }
}

/// A [`Policy`] setting out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy setting `{setting}` must be {expected}")]
pub struct PolicyError {
    setting: &'static str,
    expected: &'static str,
}

impl PolicyError {
    /// The name of the setting, as in its `with_*` method.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_out_of_range_setting_is_named() {
        let cases = [
            (Policy::builder().with_code_length(11), "code_length"),
            (Policy::builder().with_code_ttl(Duration::ZERO), "code_ttl"),
            (Policy::builder().with_max_attempts(0), "max_attempts"),
            (
                Policy::builder().with_resend_cooldown(Duration::from_secs(3600)),
                "resend_cooldown",
            ),
            (
                Policy::builder().with_send_cap(0, Duration::from_secs(60)),
                "max_sends_per_window",
            ),
            (
                Policy::builder().with_send_cap(5, Duration::ZERO),
                "send_window",
            ),
            (
                Policy::builder().with_lockout(0, Duration::from_secs(1), Duration::from_secs(2)),
                "lockout_threshold",
            ),
            (
                Policy::builder().with_lockout(10, Duration::from_secs(9), Duration::from_secs(2)),
                "lockout_max",
            ),
            (
                Policy::builder().with_password_length(0, 10),
                "min_password_chars",
            ),
            (
                Policy::builder().with_password_length(8, 7),
                "max_password_chars",
            ),
        ];
        for (builder, setting) in cases {
            let err = builder.build().expect_err(setting);
            assert_eq!(err.setting(), setting);
            assert!(err.to_string().contains(setting));
        }
    }
}
