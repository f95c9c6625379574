//! The rules of the flow: code length and lifetime, attempts, resend limits, password rules.

use std::time::Duration;

/// What the service answers when a name and phone pair matches no user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum UnknownUser {
    /// The same status, body and timing as for a known user; the code is simply never sent.
    /// The secure default (OWASP: account enumeration).
    #[default]
    Conceal,
    /// 404 "User tidak ditemukan", as the seed answered.
    Reveal,
}

/// The rules of the flow, validated once when built.
///
/// Defaults follow the seed (6-digit code, valid 15 minutes, 3 attempts, passwords of at least
/// 6 characters) plus the limits it lacked: a 60-second resend cooldown, 5 codes per phone per
/// hour, and a lockout that grows after 50 failed guesses in a row on one phone.
///
/// ```
/// use otp_reset::{Policy, UnknownUser};
/// use std::time::Duration;
///
/// let policy = Policy::builder()
///     .with_code_ttl(Duration::from_secs(10 * 60))
///     .with_unknown_user(UnknownUser::Reveal)
///     .build()?;
/// assert_eq!(policy.code_length(), 6);
/// assert_eq!(policy.code_ttl(), Duration::from_secs(600));
///
/// let too_short = Policy::builder().with_code_length(2).build();
/// assert_eq!(too_short.unwrap_err().setting(), "code_length");
/// # Ok::<(), otp_reset::PolicyError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    code_length: u8,
    rules: OtpRules,
    min_password_chars: usize,
    max_password_chars: usize,
    unknown_user: UnknownUser,
    expose_code_for_development: bool,
    issue_reset_token: bool,
    request_limit: Option<SiteRate>,
    send_budget: Option<SiteRate>,
}

/// A site-wide rate: at most `count` per `per` on average, in bursts of at most `burst` (a
/// token bucket that holds `burst` tokens and gains `count` every `per`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SiteRate {
    /// How many per `per`.
    pub count: u32,
    /// The period `count` is spread over.
    pub per: Duration,
    /// The most at once, after a quiet spell.
    pub burst: u32,
}

/// The subset of the [`Policy`] that an [`OtpStore`](crate::OtpStore) enforces.
///
/// Stores receive these with every call rather than at construction, so one store serves any
/// policy and the conformance suite can test any limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OtpRules {
    /// How long a code stays valid after it is issued.
    pub code_ttl: Duration,
    /// Wrong guesses a code survives; the next guess after these finds it used up.
    pub max_attempts: u32,
    /// How long after one code a phone must wait for the next.
    pub resend_cooldown: Duration,
    /// Codes one phone may receive within [`OtpRules::send_window`].
    pub max_sends_per_window: u32,
    /// The sliding window [`OtpRules::max_sends_per_window`] counts over.
    pub send_window: Duration,
    /// Failed guesses in a row on one phone, across codes and clients, after which the phone
    /// takes no guess and gets no new code for [`OtpRules::lockout_base`], doubling with every
    /// further failure; only a reset token already handed out is still taken.
    pub lockout_threshold: u32,
    /// The first lockout's length.
    pub lockout_base: Duration,
    /// The longest lockout; failures older than this are forgotten.
    pub lockout_max: Duration,
}

impl OtpRules {
    /// The seed's rules and our defaults for the limits it lacked.
    pub const DEFAULT: OtpRules = OtpRules {
        code_ttl: Duration::from_secs(15 * 60),
        max_attempts: 3,
        resend_cooldown: Duration::from_secs(60),
        max_sends_per_window: 5,
        send_window: Duration::from_secs(60 * 60),
        // Each client has only `max_attempts` guesses at a code, so the phone's lockout, which
        // also locks the user out, comes only when many clients guessed: at 50, well within
        // NIST SP 800-63B's 100, a 6-digit code has a 1 in 20,000 chance of being guessed.
        lockout_threshold: 50,
        lockout_base: Duration::from_secs(15 * 60),
        lockout_max: Duration::from_secs(24 * 60 * 60),
    };

    /// How long a phone with `consecutive_failures` is refused new codes after its last failure,
    /// or `None` below the threshold: [`OtpRules::lockout_base`] at the threshold, doubling with
    /// each failure after it, never longer than [`OtpRules::lockout_max`].
    pub fn lockout_after(&self, consecutive_failures: u32) -> Option<Duration> {
        let beyond = consecutive_failures.checked_sub(self.lockout_threshold)?;
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        Some(
            self.lockout_base
                .checked_mul(factor)
                .map_or(self.lockout_max, |d| d.min(self.lockout_max)),
        )
    }
}

impl Default for OtpRules {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            code_length: 6,
            rules: OtpRules::DEFAULT,
            min_password_chars: 6,
            max_password_chars: 256,
            unknown_user: UnknownUser::Conceal,
            expose_code_for_development: false,
            issue_reset_token: true,
            request_limit: None,
            send_budget: None,
        }
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder(Policy::default())
    }

    /// Digits in a code (default 6).
    pub fn code_length(&self) -> u8 {
        self.code_length
    }

    /// How long a code stays valid (default 15 minutes).
    pub fn code_ttl(&self) -> Duration {
        self.rules.code_ttl
    }

    /// Wrong guesses a code survives (default 3).
    pub fn max_attempts(&self) -> u32 {
        self.rules.max_attempts
    }

    /// Minimum wait between two codes for one phone (default 60 seconds).
    pub fn resend_cooldown(&self) -> Duration {
        self.rules.resend_cooldown
    }

    /// The rules a store enforces.
    pub fn otp_rules(&self) -> &OtpRules {
        &self.rules
    }

    /// Fewest characters in a new password (default 6, as the seed).
    pub fn min_password_chars(&self) -> usize {
        self.min_password_chars
    }

    /// Most characters in a new password (default 256), so hashing cost stays bounded.
    pub fn max_password_chars(&self) -> usize {
        self.max_password_chars
    }

    /// What an unknown name and phone pair is answered (default [`UnknownUser::Conceal`]).
    pub fn unknown_user(&self) -> UnknownUser {
        self.unknown_user
    }

    /// Whether request-otp answers carry the code as `testOTP` (default off; development only).
    pub fn exposes_code_for_development(&self) -> bool {
        self.expose_code_for_development
    }

    /// Whether a successful verification returns a single-use `resetToken` (default on).
    pub fn issues_reset_token(&self) -> bool {
        self.issue_reset_token
    }

    /// The site-wide limit on request-otp calls, known pairs or not (default none).
    pub fn request_limit(&self) -> Option<SiteRate> {
        self.request_limit
    }

    /// The site-wide budget of codes really sent (default none).
    pub fn send_budget(&self) -> Option<SiteRate> {
        self.send_budget
    }
}

/// Builds a [`Policy`]; [`PolicyBuilder::build`] checks every setting once.
#[derive(Clone, Debug)]
#[must_use]
pub struct PolicyBuilder(Policy);

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
    fn defaults_are_the_seeds() {
        let p = Policy::default();
        assert_eq!(p.code_length(), 6);
        assert_eq!(p.code_ttl(), Duration::from_secs(900));
        assert_eq!(p.max_attempts(), 3);
        assert_eq!(p.min_password_chars(), 6);
        assert_eq!(p.resend_cooldown(), Duration::from_secs(60));
        assert_eq!(p.unknown_user(), UnknownUser::Conceal);
        assert!(!p.exposes_code_for_development());
        assert_eq!(Policy::builder().build(), Ok(p));
    }

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

    #[test]
    fn lockout_starts_at_the_threshold_and_doubles_up_to_the_maximum() {
        let rules = OtpRules::DEFAULT;
        let base = rules.lockout_base;
        assert_eq!(rules.lockout_after(49), None);
        assert_eq!(rules.lockout_after(50), Some(base));
        assert_eq!(rules.lockout_after(51), Some(base * 2));
        assert_eq!(rules.lockout_after(52), Some(base * 4));
        assert_eq!(rules.lockout_after(80), Some(rules.lockout_max));
        assert_eq!(rules.lockout_after(u32::MAX), Some(rules.lockout_max));
    }
}
