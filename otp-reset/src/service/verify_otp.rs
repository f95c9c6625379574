//! `POST /verify-otp`: one atomic attempt against the phone's code.

use super::Inner;
use super::body::Fields;
use super::reply::{ApiError, Reply};
use crate::events::Event;
use crate::store::{Refusal, VerifyOutcome};
use crate::wire::VerifiedCode;
use crate::{ClientKey, OtpStore, ResetToken, UserStore};

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    pub(super) async fn verify_otp(
        &self,
        fields: &Fields,
        client: ClientKey,
    ) -> Result<Reply, ApiError> {
        let phone = self.phone(fields)?;
        let code = self.code(fields)?;
        let candidate = self.codes.code_digest(&phone, code);
        let token = ResetToken::generate();
        let token_digest = self.codes.token_digest(&phone, token.expose());
        let now = self.clock.now();
        let rules = self.policy.otp_rules();
        match self
            .otps
            .verify(&phone, client, &candidate, &token_digest, now, rules)
            .await?
        {
            VerifyOutcome::Verified { otp_id } => {
                self.events.emit(Event::Verified {
                    phone: phone.masked(),
                    otp_id,
                });
                Ok(Reply::Verified(VerifiedCode {
                    otp_id: otp_id.as_u64(),
                    reset_token: self
                        .policy
                        .issues_reset_token()
                        .then(|| token.expose().to_owned()),
                }))
            }
            VerifyOutcome::Mismatch {
                attempts_left,
                consecutive_failures,
            } => Err(self.wrong_guess(&phone, attempts_left, consecutive_failures)),
            VerifyOutcome::AttemptsExhausted => Err(Self::attempts_exhausted()),
            VerifyOutcome::Expired => Err(Self::expired()),
            VerifyOutcome::NoCode => Err(Self::no_code()),
            VerifyOutcome::LockedOut { retry_after } => {
                Err(ApiError::refused(Refusal::LockedOut { retry_after }))
            }
        }
    }
}
