//! The service's wire contract, typed: the `error` codes, the answer bodies, the answer
//! envelope and the body reader, for clients that read the answers and for apps whose own
//! routes answer in the same shape.
//!
//! Every answer is a JSON object with `success` and `message`; a failure ([`Failure`]) adds a
//! machine-readable `error` ([`ErrorCode`], or an app's own [`AnswerCode`]).
//!
//! ```
//! use otp_reset::{ErrorCode, Lang};
//! use otp_reset::wire::{BodyError, Failure};
//!
//! // An app's route that reads a body as the service does, and answers as it does.
//! let refused: Failure = BodyError::UnsupportedMediaType.to_failure(Lang::Id);
//! assert_eq!(refused.error, ErrorCode::UnsupportedMediaType);
//! let response = refused.into_response();
//! assert_eq!(response.status(), 415);
//! ```

mod answers;
mod code;
mod failure;
mod read;

pub use answers::{
    BotStatusAnswer, DeliveryStatusAnswer, LastProblem, RequestOtpAnswer, ResetPasswordAnswer,
    VerifiedCode, VerifyOtpAnswer,
};
pub use code::{AnswerCode, ErrorCode};
pub use failure::{Failure, json_answer};
pub use read::{BodyError, is_json, read_json_object};
