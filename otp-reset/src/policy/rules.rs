//! The limits a store enforces: code lifetime, attempts, resend cap and lockout.

use std::time::Duration;

#[cfg(doc)]
use super::Policy;

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

#[cfg(test)]
mod tests {
    use super::*;

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
