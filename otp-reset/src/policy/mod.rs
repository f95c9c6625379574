//! The rules of the flow: code length and lifetime, attempts, resend limits, password rules.

mod builder;
mod rules;

pub use builder::{PolicyBuilder, PolicyError};
pub use rules::OtpRules;

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
}
