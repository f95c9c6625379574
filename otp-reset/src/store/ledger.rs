//! The reference semantics of an OTP store, for one phone: each step on its records.

use std::time::Duration;

use smallvec::SmallVec;

use super::stand_in::StandIns;
use super::{
    ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, PhoneLedger, Proof, Refusal,
    VerifyOutcome,
};
use crate::{Digest, OtpRules, Timestamp};

/// One phone's records as a store step sees them: the real user's [`PhoneLedger`] and the
/// [`StandIns`] of pairs that matched no user.
///
/// The steps keep two promises at once. A stranger cannot spoil the user's reset: a stand-in
/// never replaces, expires or limits the user's code, the user's right code verifies whatever
/// was asked for since, a stranger's guesses use up only the stranger's attempts, and no guess
/// revokes a reset token already handed out. And a stranger cannot tell a real pair from a
/// wrong one: a stand-in is issued, limited, guessed at, expired and purged exactly like a real
/// code, and a wrong guess is always answered by the phone's newest code, real or not.
#[derive(Debug)]
pub struct PhoneRecords<'a> {
    /// The real user's code and limits.
    pub ledger: &'a mut PhoneLedger,
    /// The stand-ins of pairs that matched no user.
    pub stand_ins: &'a mut StandIns,
}

impl PhoneRecords<'_> {
    /// [`OtpStore::restore`](super::OtpStore::restore) for this phone.
    pub fn restore(&mut self, record: CodeRecord, now: Timestamp) -> bool {
        self.ledger.restore(record, now)
    }

    /// [`OtpStore::issue`](super::OtpStore::issue) for this phone.
    pub fn issue(&mut self, code: NewCode, now: Timestamp, rules: &OtpRules) -> IssueOutcome {
        self.ledger.forget_stale(now, rules);
        self.stand_ins.forget_stale(now, rules);
        if let Some(retry_after) = self.locked_for(now, rules) {
            return IssueOutcome::Refused(Refusal::LockedOut { retry_after });
        }
        let record = CodeRecord {
            otp_id: code.otp_id,
            digest: code.digest,
            user_id: code.user_id,
            lang: code.lang,
            issued_at: now,
            expires_at: now.plus(rules.code_ttl),
            attempts: super::Attempts::default(),
            verified: false,
            reset_token: None,
        };
        if record.user_id.is_none() {
            return self.stand_ins.issue(code.pair, record, now, rules);
        }
        if let Some(refusal) = send_refusal(&self.ledger.recent_sends, now, rules) {
            return IssueOutcome::Refused(refusal);
        }
        self.ledger.recent_sends.push(now);
        self.ledger.code = Some(record);
        IssueOutcome::Issued
    }

    /// [`OtpStore::verify`](super::OtpStore::verify) for this phone.
    pub fn verify(
        &mut self,
        client: ClientKey,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> VerifyOutcome {
        if let Some(retry_after) = self.locked_for(now, rules) {
            return VerifyOutcome::LockedOut { retry_after };
        }
        let mut compared = false;
        if let Some(code) = self.guessable_code(client, now, rules) {
            if code.digest == *candidate {
                code.verified = true;
                code.reset_token = Some(*reset_token);
                let otp_id = code.otp_id;
                self.forget_failures();
                return VerifyOutcome::Verified { otp_id };
            }
            compared = true;
        }
        match self.wrong_guess(client, compared, now, rules) {
            Guess::NoCode => VerifyOutcome::NoCode,
            Guess::Expired => VerifyOutcome::Expired,
            Guess::Exhausted => VerifyOutcome::AttemptsExhausted,
            Guess::Counted {
                attempts_left,
                consecutive_failures,
            } => VerifyOutcome::Mismatch {
                attempts_left,
                consecutive_failures,
            },
        }
    }

    /// [`OtpStore::consume`](super::OtpStore::consume) for this phone.
    pub fn consume(
        &mut self,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> ConsumeOutcome {
        // A reset token is proof enough whatever happened since it was handed out: no
        // stranger's guesses or lockout revoke it, and it is too long to be guessed.
        if let Proof::ResetToken(token) = proof
            && let Some(code) = self.ledger.code.as_ref()
            && now < code.expires_at
            && code.verified
            && code.reset_token == Some(token)
        {
            return self
                .ledger
                .code
                .take()
                .map_or(ConsumeOutcome::NoCode, ConsumeOutcome::Consumed);
        }
        if let Some(retry_after) = self.locked_for(now, rules) {
            return ConsumeOutcome::LockedOut { retry_after };
        }
        let mut compared = false;
        if let Proof::Code(digest) = proof
            && let Some(code) = self.guessable_code(client, now, rules)
        {
            if code.digest == digest {
                if !code.verified {
                    return ConsumeOutcome::NotVerified;
                }
                return self
                    .ledger
                    .code
                    .take()
                    .map_or(ConsumeOutcome::NoCode, ConsumeOutcome::Consumed);
            }
            compared = true;
        }
        match self.wrong_guess(client, compared, now, rules) {
            Guess::NoCode => ConsumeOutcome::NoCode,
            Guess::Expired => ConsumeOutcome::Expired,
            Guess::Exhausted => ConsumeOutcome::AttemptsExhausted,
            Guess::Counted {
                attempts_left,
                consecutive_failures,
            } => ConsumeOutcome::Mismatch {
                attempts_left,
                consecutive_failures,
            },
        }
    }

    /// The real code, if it is live and `client` has attempts left on it.
    fn guessable_code(
        &mut self,
        client: ClientKey,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Option<&mut CodeRecord> {
        self.ledger
            .code
            .as_mut()
            .filter(|code| now < code.expires_at && code.attempts.by(client) < rules.max_attempts)
    }

    /// Answers a guess that proved nothing by the phone's newest code, real or stand-in, and
    /// counts it there: on a stand-in, a stranger's guess costs the user's code nothing.
    ///
    /// `compared` says the guess was compared with the real code: then it also counts on that
    /// code, so each client gets [`OtpRules::max_attempts`] guesses at it whatever code answers.
    /// Every guess that finds a live code counts one failure on the phone, also once the code's
    /// attempts are used up, so the lockout comes at the same count for every pair.
    fn wrong_guess(
        &mut self,
        client: ClientKey,
        compared: bool,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Guess {
        let real_issued = self.ledger.code.as_ref().map(|code| code.issued_at);
        let on_real = match (real_issued, self.stand_ins.newest_issued()) {
            (None, None) => return Guess::NoCode,
            (Some(real), Some(stand_in)) => real >= stand_in,
            (real, _) => real.is_some(),
        };
        if compared
            && !on_real
            && let Some(code) = self.ledger.code.as_mut()
        {
            code.attempts.count(client);
        }
        let code = if on_real {
            self.ledger.code.as_mut()
        } else {
            self.stand_ins.newest_code()
        };
        let Some(code) = code else {
            return Guess::NoCode;
        };
        if now >= code.expires_at {
            return Guess::Expired;
        }
        let attempts_left = if code.attempts.by(client) >= rules.max_attempts {
            None
        } else {
            Some(
                rules
                    .max_attempts
                    .saturating_sub(code.attempts.count(client)),
            )
        };
        let (failures, at) = if on_real || compared {
            (
                &mut self.ledger.consecutive_failures,
                &mut self.ledger.last_failure_at,
            )
        } else {
            self.stand_ins.failures_mut()
        };
        *failures = failures.saturating_add(1);
        *at = Some(now);
        match attempts_left {
            None => Guess::Exhausted,
            Some(attempts_left) => Guess::Counted {
                attempts_left,
                consecutive_failures: self.failures(),
            },
        }
    }

    /// Failed guesses in a row on the phone, on its real code and its stand-ins together.
    fn failures(&self) -> u32 {
        self.ledger
            .consecutive_failures
            .saturating_add(self.stand_ins.failures())
    }

    fn forget_failures(&mut self) {
        self.ledger.consecutive_failures = 0;
        self.ledger.last_failure_at = None;
        let (failures, at) = self.stand_ins.failures_mut();
        *failures = 0;
        *at = None;
    }

    /// How long the phone stays locked out, if it is: the lockout is the phone's, whichever
    /// code the failures were counted on, so it looks the same for every pair.
    fn locked_for(&self, now: Timestamp, rules: &OtpRules) -> Option<Duration> {
        let lockout = rules.lockout_after(self.failures())?;
        let last = self
            .ledger
            .last_failure_at
            .max(self.stand_ins.last_failure_at())?;
        let until = last.plus(lockout);
        (now < until).then(|| now.until(until))
    }
}

/// What a guess that proved nothing found.
enum Guess {
    NoCode,
    Expired,
    Exhausted,
    Counted {
        attempts_left: u32,
        consecutive_failures: u32,
    },
}

/// Why the sends so far refuse one more: the cap within the window, then the cooldown.
pub(super) fn send_refusal(
    recent_sends: &[Timestamp],
    now: Timestamp,
    rules: &OtpRules,
) -> Option<Refusal> {
    let cap = usize::try_from(rules.max_sends_per_window).unwrap_or(usize::MAX);
    if recent_sends.len() >= cap {
        let oldest = recent_sends[recent_sends.len() - cap];
        return Some(Refusal::SendCap {
            retry_after: now.until(oldest.plus(rules.send_window)),
        });
    }
    if let Some(&last) = recent_sends.last() {
        let until = last.plus(rules.resend_cooldown);
        if now < until {
            return Some(Refusal::Cooldown {
                retry_after: now.until(until),
            });
        }
    }
    None
}

/// Drops the sends that no longer count against the window or the cooldown.
pub(super) fn forget_stale_sends(
    recent_sends: &mut SmallVec<[Timestamp; 2]>,
    now: Timestamp,
    rules: &OtpRules,
) {
    let stale = recent_sends
        .iter()
        .take_while(|&&sent| {
            now >= sent
                .plus(rules.send_window)
                .max(sent.plus(rules.resend_cooldown))
        })
        .count();
    if stale > 0 {
        recent_sends.drain(..stale);
    }
}
