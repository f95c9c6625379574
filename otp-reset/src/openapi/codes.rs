//! What the document says about each [`ErrorCode`]: which routes answer it, what it means
//! under the policy in force, and an example answer built as the service builds it.

use std::time::Duration;

use super::{Contract, Route, per, span};
use crate::lang::{Lang, Msg};
use crate::service::{
    ApiError, MAX_CODE_CHARS, MAX_NAME_CHARS, MAX_PHONE_CHARS, MAX_REQUEST_ID_CHARS,
    MAX_TOKEN_CHARS,
};
use crate::store::Refusal;
use crate::wire::{ErrorCode, Failure};
use crate::{PhoneError, UnknownUser};

use Route::{DeliveryStatus, RequestOtp, ResetPassword, VerifyOtp};

/// The routes that can answer `code` (none for the codes any path or method can get).
pub(super) fn routes(code: ErrorCode, contract: &Contract<'_>) -> &'static [Route] {
    use ErrorCode::*;
    match code {
        NameRequired | Cooldown | SendCap | SenderUnavailable => &[RequestOtp],
        UserNotFound if contract.policy.unknown_user() == UnknownUser::Reveal => {
            &[RequestOtp, ResetPassword]
        }
        NewPasswordRequired
        | ConfirmPasswordRequired
        | OtpNotVerified
        | PasswordMismatch
        | PasswordTooShort
        | PasswordTooLong
        | UserNotFound => &[ResetPassword],
        OtpRequired | InvalidOtpFormat | WrongOtp | OtpAttemptsExhausted | OtpExpired
        | OtpNotFound => &[VerifyOtp, ResetPassword],
        Busy => &[RequestOtp, ResetPassword],
        PhoneRequired | InvalidPhone | PhoneNotMobile | LockedOut | ServerError => {
            &[RequestOtp, VerifyOtp, ResetPassword]
        }
        InvalidType | TooLong | MalformedJson | BodyUnreadable | PayloadTooLarge
        | UnsupportedMediaType => &[RequestOtp, VerifyOtp, ResetPassword, DeliveryStatus],
        RequestIdRequired | RequestNotFound => &[DeliveryStatus],
        NotFound | MethodNotAllowed => &[],
    }
}

/// What `code` means, with the policy's values.
pub(super) fn meaning(code: ErrorCode, contract: &Contract<'_>) -> String {
    use ErrorCode::*;
    let policy = contract.policy;
    let rules = policy.otp_rules();
    match code {
        NameRequired => "`nama` is missing, null or blank.".into(),
        PhoneRequired => "`noHp` is missing, null or blank.".into(),
        RequestIdRequired => "`requestId` is missing, null or blank.".into(),
        RequestNotFound => format!(
            "`requestId` names no recent request: statuses are kept as long as a code lives              ({}), then forgotten.",
            span(policy.code_ttl())
        ),
        OtpRequired => {
            "`otp` is missing, null or blank (and, in reset-password, no `resetToken` was sent)."
                .into()
        }
        NewPasswordRequired => "`newPassword` is missing, null or empty.".into(),
        ConfirmPasswordRequired => "`confirmPassword` is missing, null or empty.".into(),
        InvalidType => "A field is not a string; `field` names it.".into(),
        TooLong => format!(
            "A field is longer than allowed (`nama` {MAX_NAME_CHARS} characters, `noHp` \
             {MAX_PHONE_CHARS}, `otp` {MAX_CODE_CHARS}, `resetToken` {MAX_TOKEN_CHARS}, \
             `requestId` {MAX_REQUEST_ID_CHARS}); \
             `field` names it."
        ),
        InvalidPhone => "`noHp` is not a phone number.".into(),
        PhoneNotMobile => {
            "`noHp` is a phone number, but not a mobile one (codes go to mobile numbers).".into()
        }
        InvalidOtpFormat => format!(
            "`otp` is not {} digits (a typo is not counted as a guess).",
            policy.code_length()
        ),
        WrongOtp => format!(
            "The code (or reset token) is wrong; `attemptsLeft` says how many of the {} \
             guesses per client the code still allows.",
            policy.max_attempts()
        ),
        OtpAttemptsExhausted => {
            "The code has no guesses left (`attemptsLeft` is 0); request a new one.".into()
        }
        OtpExpired => format!(
            "The code has expired (codes last {}); request a new one.",
            span(policy.code_ttl())
        ),
        OtpNotFound => {
            "The phone has no live code (none was requested, or it was spent); request a new one."
                .into()
        }
        OtpNotVerified => "The code was sent without being verified with verify-otp first.".into(),
        PasswordMismatch => "`newPassword` and `confirmPassword` differ.".into(),
        PasswordTooShort => format!(
            "`newPassword` has fewer than {} characters.",
            policy.min_password_chars()
        ),
        PasswordTooLong => format!(
            "`newPassword` has more than {} characters.",
            policy.max_password_chars()
        ),
        MalformedJson => "The body is not a JSON object.".into(),
        BodyUnreadable => "The body could not be read (the connection failed mid-body).".into(),
        UserNotFound => match policy.unknown_user() {
            UnknownUser::Reveal => "No account matches the name and phone pair (request-otp), \
                 or the account went away before its password could be changed (reset-password)."
                .into(),
            UnknownUser::Conceal => "The account went away before its password could be \
                 changed (an unknown name and phone pair gets the same answers as a known one)."
                .into(),
        },
        NotFound => "No route has this path.".into(),
        MethodNotAllowed => {
            "The route does not take this HTTP method; the `Allow` header names the one it takes."
                .into()
        }
        PayloadTooLarge => format!(
            "The body is larger than the service reads ({} bytes).",
            contract.max_body_bytes
        ),
        UnsupportedMediaType => {
            "The `Content-Type` is not `application/json` (or another `+json` type).".into()
        }
        Cooldown => format!(
            "The phone got a code moments ago and must wait {} before the next.",
            span(rules.resend_cooldown)
        ),
        SendCap => format!(
            "The phone was sent {} codes within {}, as many as allowed.",
            rules.max_sends_per_window,
            span(rules.send_window)
        ),
        LockedOut => format!(
            "The phone is locked out after {} wrong guesses in a row from any clients: no guess \
             and no new code for {}, doubling with each further failure up to {}; a reset \
             token already handed out is still taken.",
            rules.lockout_threshold,
            span(rules.lockout_base),
            span(rules.lockout_max)
        ),
        SenderUnavailable => {
            "The sender is not ready (see bot-status), so no code can be sent.".into()
        }
        Busy => busy_meaning(contract),
        ServerError => "The server failed (its store did not answer); try again later.".into(),
    }
}

fn busy_meaning(contract: &Contract<'_>) -> String {
    let mut text =
        String::from("The server is at capacity: the send queue or password hashing is full");
    let policy = contract.policy;
    if let Some(rate) = policy.request_limit() {
        text.push_str(&format!(
            ", or the site-wide limit of {} code requests per {} is reached",
            rate.count,
            per(rate.per)
        ));
    }
    if let Some(rate) = policy.send_budget() {
        text.push_str(&format!(
            ", or the site-wide budget of {} codes sent per {} is spent",
            rate.count,
            per(rate.per)
        ));
    }
    text.push_str(". Every name and phone pair gets this alike.");
    text
}

/// An example answer carrying `code`, in Indonesian, as the service builds it.
pub(super) fn example(code: ErrorCode, contract: &Contract<'_>) -> Failure {
    use ErrorCode::*;
    let policy = contract.policy;
    let rules = policy.otp_rules();
    let plain = |msg: Msg| ApiError::new(code, msg);
    let error = match code {
        NameRequired => plain(Msg::NameRequired),
        PhoneRequired => plain(Msg::PhoneRequired),
        RequestIdRequired => plain(Msg::RequestIdRequired),
        RequestNotFound => plain(Msg::RequestNotFound),
        OtpRequired => plain(Msg::OtpRequired),
        NewPasswordRequired => plain(Msg::NewPasswordRequired),
        ConfirmPasswordRequired => plain(Msg::ConfirmPasswordRequired),
        InvalidType => plain(Msg::NotText("noHp")).with_field("noHp"),
        TooLong => plain(Msg::TooLong("nama", MAX_NAME_CHARS)).with_field("nama"),
        InvalidPhone => ApiError::phone(PhoneError::Invalid),
        PhoneNotMobile => ApiError::phone(PhoneError::NotMobile),
        InvalidOtpFormat => plain(Msg::OtpFormat(policy.code_length())),
        WrongOtp => {
            let left = policy.max_attempts().saturating_sub(1).max(1);
            plain(Msg::WrongCode(left)).with_attempts_left(left)
        }
        OtpAttemptsExhausted => plain(Msg::AttemptsExhausted).with_attempts_left(0),
        OtpExpired => plain(Msg::Expired),
        OtpNotFound => plain(Msg::NoCode),
        OtpNotVerified => plain(Msg::NotVerified),
        PasswordMismatch => plain(Msg::PasswordMismatch),
        PasswordTooShort => plain(Msg::PasswordTooShort(policy.min_password_chars())),
        PasswordTooLong => plain(Msg::PasswordTooLong(policy.max_password_chars())),
        MalformedJson => plain(Msg::MalformedJson),
        BodyUnreadable => plain(Msg::BodyUnreadable),
        UserNotFound => plain(Msg::UserNotFound),
        NotFound => ApiError::not_found(),
        MethodNotAllowed => ApiError::method_not_allowed(http::Method::POST),
        PayloadTooLarge => plain(Msg::PayloadTooLarge(contract.max_body_bytes)),
        UnsupportedMediaType => plain(Msg::UnsupportedMediaType),
        Cooldown => ApiError::refused(Refusal::Cooldown {
            retry_after: rules.resend_cooldown,
        }),
        SendCap => ApiError::refused(Refusal::SendCap {
            retry_after: rules.send_window,
        }),
        LockedOut => ApiError::refused(Refusal::LockedOut {
            retry_after: rules.lockout_base,
        }),
        SenderUnavailable => ApiError::sender_unavailable(),
        Busy => ApiError::busy_for(Duration::from_secs(5)),
        ServerError => ApiError::server_trouble(),
    };
    error.into_failure(Lang::Id).0
}
