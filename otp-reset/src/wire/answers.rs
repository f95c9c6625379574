//! The success answers of the five routes, field for field as the service sends them.

use serde::{Deserialize, Serialize};

/// The answer of `POST /request-otp`.
///
/// ```
/// let text = r#"{"success":true,"message":"OTP dikirim ke WhatsApp","phoneNumber":"6281234567890"}"#;
/// let answer: otp_reset::wire::RequestOtpAnswer = serde_json::from_str(text)?;
/// assert_eq!(answer.phone_number, "6281234567890");
/// assert_eq!(answer.test_otp, None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestOtpAnswer {
    /// Always `true` in a success answer.
    pub success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[cfg_attr(feature = "openapi", schema(examples("OTP dikirim ke WhatsApp")))]
    pub message: String,
    /// The phone number the code is sent to, normalised: E.164 digits without the `+`.
    #[cfg_attr(
        feature = "openapi",
        schema(examples("6281234567890"), pattern = "^[1-9][0-9]{6,14}$")
    )]
    pub phone_number: String,
    /// The code itself, only when the policy exposes codes for development (never in
    /// production), and only for a name and phone pair that matches an account.
    #[serde(rename = "testOTP", default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub test_otp: Option<String>,
    /// An opaque id to ask `POST /delivery-status` what became of the code; given for every
    /// request, whether or not the pair matches an account. Absent only from a server older
    /// than delivery statuses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, examples("q3V0ZW5hcy1yZXF1ZXN0LWlk"))
    )]
    pub request_id: Option<String>,
}

/// The answer of `POST /delivery-status`.
///
/// ```
/// let text = r#"{"success":true,"message":"OTP sudah sampai di WhatsApp Anda","status":"delivered"}"#;
/// let answer: otp_reset::wire::DeliveryStatusAnswer = serde_json::from_str(text)?;
/// assert_eq!(answer.status, "delivered");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct DeliveryStatusAnswer {
    /// Always `true` in a success answer.
    pub success: bool,
    /// The status, for a person: Indonesian, or English for `Accept-Language: en`.
    #[cfg_attr(
        feature = "openapi",
        schema(examples("OTP sudah sampai di WhatsApp Anda"))
    )]
    pub message: String,
    /// `pending`, `sent`, `delivered`, `not_on_whatsapp` or `failed`
    /// ([`DeliveryStatus`](crate::DeliveryStatus)).
    #[cfg_attr(
        feature = "openapi",
        schema(
            examples("delivered"),
            pattern = "^(pending|sent|delivered|not_on_whatsapp|failed)$"
        )
    )]
    pub status: String,
}

/// The answer of `POST /verify-otp`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct VerifyOtpAnswer {
    /// Always `true` in a success answer.
    pub success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[cfg_attr(feature = "openapi", schema(examples("OTP berhasil diverifikasi")))]
    pub message: String,
    /// The verified code's id and the reset token.
    pub data: VerifiedCode,
}

/// What verify-otp hands back for the reset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VerifiedCode {
    /// The id of the verified code: a positive integer below 2^53, safe as a JavaScript number.
    #[cfg_attr(
        feature = "openapi",
        schema(
            examples(4503599627370497_u64),
            minimum = 1,
            maximum = 9007199254740991_u64
        )
    )]
    pub otp_id: u64,
    /// A single-use token (43 characters of base64url) that proves the phone to
    /// reset-password, where it is spent; it lasts as long as the code would have. Absent when
    /// the policy issues no reset tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable = false,
            examples("q3Zr8v0N4kXyJbLmTt2WcA9sHfGpE1uDiO7nR5lVx6Y"),
            pattern = "^[A-Za-z0-9_-]{43}$"
        )
    )]
    pub reset_token: Option<String>,
}

/// The answer of `POST /reset-password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ResetPasswordAnswer {
    /// Always `true` in a success answer.
    pub success: bool,
    /// What happened, for a person: Indonesian, or English for `Accept-Language: en`.
    #[cfg_attr(
        feature = "openapi",
        schema(examples("Password berhasil diubah, silakan login"))
    )]
    pub message: String,
}

/// The answer of `GET /bot-status`: the sender's [`SenderStatus`](crate::SenderStatus).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BotStatusAnswer {
    /// Always `true`: the state is known even when the sender is not ready.
    pub success: bool,
    /// Whether the bot is ready, for a person: Indonesian, or English for
    /// `Accept-Language: en`.
    #[cfg_attr(feature = "openapi", schema(examples("Bot WhatsApp siap")))]
    pub message: String,
    /// Whether codes can be sent now (the state is `READY`).
    pub ready: bool,
    /// The sender's state, as [`SenderState::as_str`](crate::SenderState::as_str) spells it.
    #[cfg_attr(feature = "openapi", schema(examples("READY")))]
    pub status: String,
    /// With `RECONNECTING`: which reconnection attempt this is, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, minimum = 1))]
    pub attempt: Option<u32>,
    /// With `FAILED`: why the sender gave up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
    /// The last state that explained a problem, kept until the next one: a logout lasts
    /// moments before a new QR code shows, and this still says why one appeared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub last_problem: Option<LastProblem>,
    /// The version of the sender's adapter, for senders that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, examples("2")))]
    pub adapter_version: Option<String>,
    /// The version of the messaging service the sender found, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, examples("2.3000.1043140922"))
    )]
    pub service_version: Option<String>,
}

/// A state that explained a problem, and when it began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct LastProblem {
    /// The state, as `status` in [`BotStatusAnswer`].
    #[cfg_attr(feature = "openapi", schema(examples("RECONNECTING")))]
    pub status: String,
    /// With `RECONNECTING`: which attempt it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, minimum = 1))]
    pub attempt: Option<u32>,
    /// With `FAILED`: why the sender gave up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub reason: Option<String>,
    /// When the state began (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(nullable = false, examples("2026-11-30T13:45:04.123Z"))
    )]
    pub since: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }

    #[test]
    fn answers_keep_the_fields_and_order_the_service_always_sent() {
        let sent = RequestOtpAnswer {
            success: true,
            message: "m".into(),
            phone_number: "62812".into(),
            test_otp: Some("123456".into()),
            request_id: Some("r".into()),
        };
        assert_eq!(
            json(&sent),
            r#"{"success":true,"message":"m","phoneNumber":"62812","testOTP":"123456","requestId":"r"}"#
        );
        let verified = VerifyOtpAnswer {
            success: true,
            message: "m".into(),
            data: VerifiedCode {
                otp_id: 7,
                reset_token: Some("t".into()),
            },
        };
        assert_eq!(
            json(&verified),
            r#"{"success":true,"message":"m","data":{"otpId":7,"resetToken":"t"}}"#
        );
        let status = BotStatusAnswer {
            success: true,
            message: "m".into(),
            ready: false,
            status: "RECONNECTING".into(),
            attempt: Some(2),
            reason: None,
            last_problem: Some(LastProblem {
                status: "RECONNECTING".into(),
                attempt: Some(2),
                reason: None,
                since: Some("s".into()),
            }),
            adapter_version: Some("2".into()),
            service_version: None,
        };
        assert_eq!(
            json(&status),
            r#"{"success":true,"message":"m","ready":false,"status":"RECONNECTING","attempt":2,"lastProblem":{"status":"RECONNECTING","attempt":2,"since":"s"},"adapterVersion":"2"}"#
        );
    }
}
