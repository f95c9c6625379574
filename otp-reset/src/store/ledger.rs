//! The reference semantics of an OTP store, for one phone.

use smallvec::SmallVec;

use super::{CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, Proof, Refusal, VerifyOutcome};
use crate::{Digest, OtpRules, Timestamp};

/// Everything an [`OtpStore`](super::OtpStore) keeps about one phone, and the rules applied to it.
///
/// Each method is one step of the store contract. An in-process store keeps one ledger per phone
/// behind a lock, which makes every step atomic per phone; a database store implements the same
/// steps in its own transaction or script. The conformance suite pins these semantics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhoneLedger {
    /// The active code, if any.
    pub code: Option<CodeRecord>,
    /// When the codes within the current send window were issued, oldest first. Most phones
    /// have one or two, kept inline.
    pub recent_sends: SmallVec<[Timestamp; 2]>,
    /// Failed guesses in a row on this phone, across codes.
    pub consecutive_failures: u32,
    /// When the last of those failures happened.
    pub last_failure_at: Option<Timestamp>,
}

impl PhoneLedger {
    /// [`OtpStore::issue`](super::OtpStore::issue) for this phone.
    pub fn issue(&mut self, code: NewCode, now: Timestamp, rules: &OtpRules) -> IssueOutcome {
        self.forget_stale(now, rules);
        if let Some(refusal) = self.refusal(now, rules) {
            return IssueOutcome::Refused(refusal);
        }
        self.recent_sends.push(now);
        self.code = Some(CodeRecord {
            otp_id: code.otp_id,
            digest: code.digest,
            user_id: code.user_id,
            lang: code.lang,
            issued_at: now,
            expires_at: now.plus(rules.code_ttl),
            attempts: 0,
            verified: false,
            reset_token: None,
        });
        IssueOutcome::Issued
    }

    fn refusal(&self, now: Timestamp, rules: &OtpRules) -> Option<Refusal> {
        if let (Some(lockout), Some(last_failure)) = (
            rules.lockout_after(self.consecutive_failures),
            self.last_failure_at,
        ) {
            let until = last_failure.plus(lockout);
            if now < until {
                return Some(Refusal::LockedOut {
                    retry_after: now.until(until),
                });
            }
        }
        let cap = usize::try_from(rules.max_sends_per_window).unwrap_or(usize::MAX);
        if self.recent_sends.len() >= cap {
            let oldest = self.recent_sends[self.recent_sends.len() - cap];
            return Some(Refusal::SendCap {
                retry_after: now.until(oldest.plus(rules.send_window)),
            });
        }
        if let Some(&last) = self.recent_sends.last() {
            let until = last.plus(rules.resend_cooldown);
            if now < until {
                return Some(Refusal::Cooldown {
                    retry_after: now.until(until),
                });
            }
        }
        None
    }

    /// [`OtpStore::verify`](super::OtpStore::verify) for this phone.
    pub fn verify(
        &mut self,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> VerifyOutcome {
        let Some(code) = self.code.as_mut() else {
            return VerifyOutcome::NoCode;
        };
        if now >= code.expires_at {
            return VerifyOutcome::Expired;
        }
        if code.attempts >= rules.max_attempts {
            return VerifyOutcome::AttemptsExhausted;
        }
        if code.digest == *candidate {
            code.verified = true;
            code.reset_token = Some(*reset_token);
            let otp_id = code.otp_id;
            self.consecutive_failures = 0;
            self.last_failure_at = None;
            return VerifyOutcome::Verified { otp_id };
        }
        let (attempts_left, consecutive_failures) = self.count_failure(now, rules);
        VerifyOutcome::Mismatch {
            attempts_left,
            consecutive_failures,
        }
    }

    /// [`OtpStore::consume`](super::OtpStore::consume) for this phone.
    pub fn consume(&mut self, proof: Proof, now: Timestamp, rules: &OtpRules) -> ConsumeOutcome {
        let Some(code) = self.code.as_ref() else {
            return ConsumeOutcome::NoCode;
        };
        if now >= code.expires_at {
            return ConsumeOutcome::Expired;
        }
        if code.attempts >= rules.max_attempts {
            return ConsumeOutcome::AttemptsExhausted;
        }
        let proven = match proof {
            Proof::Code(digest) => code.digest == digest,
            Proof::ResetToken(digest) => code.reset_token.is_some_and(|token| token == digest),
        };
        if !proven {
            let (attempts_left, consecutive_failures) = self.count_failure(now, rules);
            return ConsumeOutcome::Mismatch {
                attempts_left,
                consecutive_failures,
            };
        }
        if !code.verified {
            return ConsumeOutcome::NotVerified;
        }
        self.code
            .take()
            .map_or(ConsumeOutcome::NoCode, ConsumeOutcome::Consumed)
    }

    /// [`OtpStore::restore`](super::OtpStore::restore) for this phone.
    pub fn restore(&mut self, record: CodeRecord, now: Timestamp) -> bool {
        let has_live_code = self.code.as_ref().is_some_and(|code| now < code.expires_at);
        if has_live_code || now >= record.expires_at {
            return false;
        }
        self.code = Some(record);
        true
    }

    /// Drops an expired code and counters that no longer limit anything, as
    /// [`OtpStore::purge_expired`](super::OtpStore::purge_expired) does for every phone.
    /// Returns whether a code was dropped.
    pub fn purge(&mut self, now: Timestamp, rules: &OtpRules) -> bool {
        self.forget_stale(now, rules);
        let expired = self
            .code
            .as_ref()
            .is_some_and(|code| now >= code.expires_at);
        if expired {
            self.code = None;
        }
        expired
    }

    /// Whether the ledger holds nothing that still limits the phone, so a store may drop it;
    /// meaningful right after [`PhoneLedger::purge`].
    pub fn is_empty(&self) -> bool {
        self.code.is_none() && self.recent_sends.is_empty() && self.consecutive_failures == 0
    }

    fn count_failure(&mut self, now: Timestamp, rules: &OtpRules) -> (u32, u32) {
        let attempts_left = match self.code.as_mut() {
            Some(code) => {
                code.attempts += 1;
                rules.max_attempts.saturating_sub(code.attempts)
            }
            None => 0,
        };
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        self.last_failure_at = Some(now);
        (attempts_left, self.consecutive_failures)
    }

    fn forget_stale(&mut self, now: Timestamp, rules: &OtpRules) {
        let stale = self.recent_sends.iter().take_while(|&&sent| {
            now >= sent
                .plus(rules.send_window)
                .max(sent.plus(rules.resend_cooldown))
        });
        let stale = stale.count();
        if stale > 0 {
            self.recent_sends.drain(..stale);
        }
        if self
            .last_failure_at
            .is_some_and(|at| now >= at.plus(rules.lockout_max))
        {
            self.consecutive_failures = 0;
            self.last_failure_at = None;
        }
    }
}
