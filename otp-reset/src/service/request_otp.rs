//! `POST /request-otp`: issue a code and queue it for the sender.

use super::Inner;
use super::body::Fields;
use super::reply::{ApiError, Reply};
use crate::events::Event;
use crate::lang::{Lang, Msg};
use crate::sender::outbox::Envelope;
use crate::store::{IssueOutcome, NewCode};
use crate::{Digest, Message, OtpCode, OtpId, OtpStore, UnknownUser, UserStore};

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    /// A known and an unknown pair take the same steps (lookup, code, keyed digest, issue
    /// against the per-phone limits), so neither the answer nor its timing tells them apart;
    /// only the known one's code is queued for the sender, and queueing does not wait.
    pub(super) async fn request_otp(&self, fields: &Fields, lang: Lang) -> Result<Reply, ApiError> {
        let name = fields.required("nama", Msg::NameRequired, 100)?;
        let phone = self.phone(fields)?;
        let development = self.policy.exposes_code_for_development();
        let sender_ready = self.sender.can_send();
        if !sender_ready && !development {
            return Err(ApiError::sender_unavailable());
        }
        // Hold a place in the queue before changing anything: a full queue refuses every phone
        // alike and leaves no code behind that nobody will receive.
        let place = if sender_ready {
            Some(self.outbox.reserve().map_err(|_| ApiError::busy())?)
        } else {
            None
        };

        let user = self.users.find_by_name_and_phone(name, &phone).await?;
        if user.is_none() && self.policy.unknown_user() == UnknownUser::Reveal {
            return Err(Self::user_not_found());
        }
        let known_user = user.is_some();
        let code = OtpCode::generate(self.policy.code_length());
        let real_digest = self.codes.code_digest(&phone, code.expose());
        let digest = if known_user {
            real_digest
        } else {
            Digest::unmatchable()
        };
        let new_code = NewCode {
            otp_id: OtpId::generate(),
            digest,
            deliverable: known_user,
        };

        let now = self.clock.now();
        match self
            .otps
            .issue(&phone, new_code, now, self.policy.otp_rules())
            .await?
        {
            IssueOutcome::Issued => {}
            IssueOutcome::Refused(refusal) => {
                self.events.emit(Event::CodeRefused {
                    phone: phone.masked(),
                    refusal,
                });
                return Err(ApiError::refused(refusal));
            }
        }
        self.events.emit(Event::CodeRequested {
            phone: phone.masked(),
            otp_id: new_code.otp_id,
            known_user,
        });

        let mut reply = Reply::ok(Msg::CodeSent).with("phoneNumber", phone.digits());
        if development && known_user {
            reply = reply.with("testOTP", code.expose());
        }
        if let (true, Some(place)) = (known_user, place) {
            let message = Message::Code {
                code,
                ttl: self.policy.code_ttl(),
                lang,
            };
            place.send(Envelope { to: phone, message });
        }
        Ok(reply)
    }
}
