//! `POST /request-otp`: issue a code and queue it for the sender.

use super::Inner;
use super::body::Fields;
use super::reply::{ApiError, Reply};
use crate::events::Event;
use crate::lang::{Lang, Msg};
use crate::sender::handoff::{HandOffFailed, hand_off};
use crate::sender::outbox::{Envelope, Queued};
use crate::store::{IssueOutcome, NewCode};
use crate::wire::ErrorCode;
use crate::{Digest, Message, OtpCode, OtpId, OtpStore, UnknownUser, UserStore};

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    /// A known and an unknown pair take the same steps (site limits, lookup, code, keyed digest,
    /// issue against the user's or the pair's limits, a place in the queue), and leave the same
    /// kind of record behind (a stand-in, apart from the user's code), so neither the answer,
    /// nor its timing, nor any later answer tells them apart; only the known pair's code is
    /// handed to the sender, and that does not wait (unless the sender hands off to a durable
    /// queue: then both pairs wait for the queue, the stand-in for a decoy).
    pub(super) async fn request_otp(&self, fields: &Fields, lang: Lang) -> Result<Reply, ApiError> {
        let name = fields.required(
            "nama",
            (ErrorCode::NameRequired, Msg::NameRequired),
            super::MAX_NAME_CHARS,
        )?;
        let phone = self.phone(fields)?;
        let development = self.policy.exposes_code_for_development();
        // Once the service is shutting down, the sender takes no more codes.
        let sender_ready = self.sender.can_send() && !self.outbox.is_closed();
        if !sender_ready && !development {
            return Err(ApiError::sender_unavailable());
        }
        if sender_ready && !self.outbox.has_room() {
            return Err(ApiError::busy());
        }
        // The site-wide limits answer every pair alike. A send token is taken for a stand-in
        // too and given back when it is not sent, so made-up pairs never use up the budget.
        let now = self.clock.now();
        if let Some(limit) = &self.request_limit {
            limit.take(now).map_err(ApiError::busy_for)?.spend();
        }
        let send_token = match &self.send_budget {
            Some(budget) if sender_ready => Some(budget.take(now).map_err(ApiError::busy_for)?),
            _ => None,
        };

        let user = self.users.find_by_name_and_phone(name, &phone).await?;
        let code = OtpCode::generate(self.policy.code_length());
        let digest = self.codes.code_digest(&phone, code.expose());
        let known_user = user.is_some();
        let new_code = NewCode {
            otp_id: OtpId::generate(),
            // A stand-in keeps a digest no code has, so it can never be verified.
            digest: if known_user {
                digest
            } else {
                Digest::unmatchable()
            },
            user_id: user.map(|user| user.id),
            pair: self.codes.pair_key(&phone, name),
            lang,
        };
        let otp_id = new_code.otp_id;

        // Every request counts: a user's against the user, a made-up pair's against the pair.
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
        if !known_user && self.policy.unknown_user() == UnknownUser::Reveal {
            return Err(Self::user_not_found());
        }
        self.events.emit(Event::CodeRequested {
            phone: phone.masked(),
            otp_id,
            known_user,
        });

        // Both kinds of pair get a request id and a record of the same kind and lifetime.
        let (request_id, tracked) = if known_user {
            self.deliveries.track_real(phone.masked())
        } else {
            self.deliveries.track_stand_in()
        };
        let reply = Reply::CodeSent {
            phone_number: phone.digits().to_owned(),
            test_otp: (development && known_user).then(|| code.expose().to_owned()),
            request_id: Some(request_id.as_str().to_owned()),
        };
        if sender_ready && self.sender.hands_off_durably() {
            // A queue that outlives this process takes the code before the answer, a decoy for
            // a stand-in, so an instance killed after answering loses nothing it answered. Its
            // worker, in another process, reports nothing back: both statuses stay `pending`.
            let envelope = known_user.then(|| Envelope {
                to: phone,
                message: Message::Code {
                    code,
                    ttl: self.policy.code_ttl(),
                    lang,
                },
                tracked: None,
            });
            hand_off(&*self.sender, &self.events, envelope)
                .await
                .map_err(|failed| match failed {
                    HandOffFailed::Full => ApiError::busy(),
                    HandOffFailed::Unavailable => ApiError::sender_unavailable(),
                })?;
            if known_user && let Some(token) = send_token {
                token.spend();
            }
            return Ok(reply);
        }

        // Taken only now, so a slow store never holds places in the queue; taken for a
        // stand-in too, so a full queue answers every pair alike.
        let place = if sender_ready {
            Some(self.outbox.reserve().map_err(|_| ApiError::busy())?)
        } else {
            None
        };
        match place {
            Some(place) => {
                // A stand-in goes through the queue too, where its number is looked up.
                place.send(if known_user {
                    let message = Message::Code {
                        code,
                        ttl: self.policy.code_ttl(),
                        lang,
                    };
                    Queued::Message(Envelope {
                        to: phone,
                        message,
                        tracked: Some(tracked),
                    })
                } else {
                    Queued::StandIn { to: phone, tracked }
                });
                if known_user && let Some(token) = send_token {
                    token.spend();
                }
            }
            // Development without a sender: nothing is sent, for either pair.
            None => self.deliveries.not_sent(&tracked),
        }
        Ok(reply)
    }
}
