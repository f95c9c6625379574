//! `POST /reset-password`: consume the verified code once, then store the new password's hash.

use std::sync::Arc;

use zeroize::Zeroizing;

use super::Inner;
use super::body::Fields;
use super::reply::{ApiError, Reply};
use crate::events::Event;
use crate::lang::Msg;
use crate::sender::outbox::Envelope;
use crate::store::{ConsumeOutcome, Proof, Refusal};
use crate::wire::ErrorCode;
use crate::{ClientKey, Message, OtpStore, PhoneNumber, UserStore};

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    /// The code is consumed first, atomically, so of any number of racing resets exactly one
    /// goes on to change the password.
    ///
    /// From the consumption on, the work runs in its own task: a client that goes away
    /// mid-reset (and so drops this future) neither loses the code nor leaves a password
    /// changed without its event and notice.
    pub(super) async fn reset_password(
        self: &Arc<Self>,
        fields: &Fields,
        client: ClientKey,
    ) -> Result<Reply, ApiError> {
        let phone = self.phone(fields)?;
        let token = fields.optional("resetToken", super::MAX_TOKEN_CHARS)?;
        let proof = match token {
            Some(token) => Proof::ResetToken(self.codes.token_digest(&phone, token)),
            None => Proof::Code(self.codes.code_digest(&phone, self.code(fields)?)),
        };
        let password = Zeroizing::new(self.new_password(fields)?.to_owned());

        let inner = Arc::clone(self);
        tokio::spawn(async move {
            inner
                .consume_and_replace(phone, client, proof, password)
                .await
        })
        .await
        .unwrap_or_else(|failure| {
            tracing::error!(target: "otp_reset", error = %failure, "reset task failed");
            Err(ApiError::server_trouble())
        })
    }

    async fn consume_and_replace(
        &self,
        phone: PhoneNumber,
        client: ClientKey,
        proof: Proof,
        password: Zeroizing<String>,
    ) -> Result<Reply, ApiError> {
        let now = self.clock.now();
        let record = match self
            .otps
            .consume(&phone, client, proof, now, self.policy.otp_rules())
            .await?
        {
            ConsumeOutcome::Consumed(record) => record,
            ConsumeOutcome::Mismatch {
                attempts_left,
                consecutive_failures,
            } => {
                return Err(self.wrong_guess(&phone, attempts_left, consecutive_failures));
            }
            ConsumeOutcome::NotVerified => {
                return Err(ApiError::new(ErrorCode::OtpNotVerified, Msg::NotVerified));
            }
            ConsumeOutcome::AttemptsExhausted => return Err(Self::attempts_exhausted()),
            ConsumeOutcome::Expired => return Err(Self::expired()),
            ConsumeOutcome::NoCode => return Err(Self::no_code()),
            ConsumeOutcome::LockedOut { retry_after } => {
                return Err(ApiError::refused(Refusal::LockedOut { retry_after }));
            }
        };
        // A stand-in's digest matches no code, so a consumed record always names its user.
        let Some(user_id) = record.user_id.clone() else {
            return Err(Self::no_code());
        };
        let lang = record.lang;

        let phc = match self.passwords.hash(&password).await {
            Ok(phc) => phc,
            Err(error) => {
                // Nothing was written: give the code back so the user can simply retry.
                if let Err(restore) = self.otps.restore(&phone, record, now).await {
                    tracing::warn!(target: "otp_reset", error = %restore, "could not restore a code after a failed reset");
                }
                return Err(ApiError::password(error));
            }
        };
        // A failed write may still have landed, so the code stays consumed: giving it back
        // could let it reset the password a second time.
        if !self.users.set_password_hash(&user_id, &phc).await? {
            return Err(Self::user_not_found());
        }

        self.events.emit(Event::PasswordReset {
            phone: phone.masked(),
            user_id,
        });
        let notice = Envelope {
            to: phone,
            message: Message::PasswordChanged { lang },
            tracked: None,
        };
        self.outbox.offer(notice, &self.events);
        Ok(Reply::PasswordReset)
    }

    /// The new password, checked against its confirmation and the policy's length rules.
    fn new_password<'f>(&self, fields: &'f Fields) -> Result<&'f str, ApiError> {
        let password = fields.password(
            "newPassword",
            (ErrorCode::NewPasswordRequired, Msg::NewPasswordRequired),
        )?;
        let confirmation = fields.password(
            "confirmPassword",
            (
                ErrorCode::ConfirmPasswordRequired,
                Msg::ConfirmPasswordRequired,
            ),
        )?;
        if password != confirmation {
            return Err(ApiError::new(
                ErrorCode::PasswordMismatch,
                Msg::PasswordMismatch,
            ));
        }
        let chars = password.chars().count();
        let (min, max) = (
            self.policy.min_password_chars(),
            self.policy.max_password_chars(),
        );
        if chars < min {
            return Err(ApiError::new(
                ErrorCode::PasswordTooShort,
                Msg::PasswordTooShort(min),
            ));
        }
        if chars > max {
            return Err(ApiError::new(
                ErrorCode::PasswordTooLong,
                Msg::PasswordTooLong(max),
            ));
        }
        Ok(password)
    }
}
