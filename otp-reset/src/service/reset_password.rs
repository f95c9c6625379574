//! `POST /reset-password`: consume the verified code once, then store the new password's hash.

use super::Inner;
use super::body::Fields;
use super::reply::{ApiError, Reply};
use crate::events::Event;
use crate::lang::{Lang, Msg};
use crate::sender::outbox::Envelope;
use crate::store::{ConsumeOutcome, Proof};
use crate::{Message, OtpStore, PhoneNumber, UserId, UserStore};

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    /// The code is consumed first, atomically, so of any number of racing resets exactly one
    /// goes on to change the password; if a later step fails, the code is put back so the user
    /// can try again, and the password is unchanged.
    pub(super) async fn reset_password(
        &self,
        fields: &Fields,
        lang: Lang,
    ) -> Result<Reply, ApiError> {
        let phone = self.phone(fields)?;
        let token = fields.optional("resetToken", 128)?;
        let code = match token {
            Some(_) => None,
            None => Some(self.code(fields)?),
        };
        let password = self.new_password(fields)?;
        let proof = match (token, code) {
            (Some(token), _) => Proof::ResetToken(self.codes.token_digest(&phone, token)),
            (None, Some(code)) => Proof::Code(self.codes.code_digest(&phone, code)),
            (None, None) => return Err(ApiError::bad_request("otp_required", Msg::OtpRequired)),
        };

        let now = self.clock.now();
        let record = match self
            .otps
            .consume(&phone, proof, now, self.policy.otp_rules())
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
                return Err(ApiError::bad_request("otp_not_verified", Msg::NotVerified));
            }
            ConsumeOutcome::AttemptsExhausted => return Err(Self::attempts_exhausted()),
            ConsumeOutcome::Expired => return Err(Self::expired()),
            ConsumeOutcome::NoCode => return Err(Self::no_code()),
        };

        let user_id = match self.replace_password(&phone, password).await {
            Ok(user_id) => user_id,
            Err(error) => {
                match self.otps.restore(&phone, record, now).await {
                    Ok(_) => {}
                    Err(restore_error) => {
                        tracing::warn!(target: "otp_reset", error = %restore_error, "could not restore a code after a failed reset");
                    }
                }
                return Err(error);
            }
        };
        self.events.emit(Event::PasswordReset {
            phone: phone.masked(),
            user_id,
        });
        self.outbox.offer(
            Envelope {
                to: phone,
                message: Message::PasswordChanged { lang },
            },
            &self.events,
        );
        Ok(Reply::ok(Msg::PasswordReset))
    }

    /// The new password, checked against its confirmation and the policy's length rules.
    fn new_password<'f>(&self, fields: &'f Fields) -> Result<&'f str, ApiError> {
        let password = fields.password("newPassword", Msg::NewPasswordRequired)?;
        let confirmation = fields.password("confirmPassword", Msg::ConfirmPasswordRequired)?;
        if password != confirmation {
            return Err(ApiError::bad_request(
                "password_mismatch",
                Msg::PasswordMismatch,
            ));
        }
        let chars = password.chars().count();
        let (min, max) = (
            self.policy.min_password_chars(),
            self.policy.max_password_chars(),
        );
        if chars < min {
            return Err(ApiError::bad_request(
                "password_too_short",
                Msg::PasswordTooShort(min),
            ));
        }
        if chars > max {
            return Err(ApiError::bad_request(
                "password_too_long",
                Msg::PasswordTooLong(max),
            ));
        }
        Ok(password)
    }

    async fn replace_password(
        &self,
        phone: &PhoneNumber,
        password: &str,
    ) -> Result<UserId, ApiError> {
        let user = self
            .users
            .find_by_phone(phone)
            .await?
            .ok_or_else(Self::user_not_found)?;
        let phc = self
            .passwords
            .hash(password)
            .await
            .map_err(ApiError::password)?;
        if !self.users.set_password_hash(&user.id, &phc).await? {
            return Err(Self::user_not_found());
        }
        Ok(user.id)
    }
}
