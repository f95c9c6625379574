//! JSON answers of the server's own routes and layers, in the core's envelope
//! ([`otp_reset::wire::Failure`]) and languages.

mod code;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use otp_reset::wire::{self, BodyError};
use otp_reset::{ErrorCode, Lang};
use serde::Serialize;

pub use code::ServerCode;

/// A text a person reads.
#[derive(Clone, Copy, Debug)]
pub enum Text {
    /// Too many requests from one client.
    RateLimited(u64),
    /// `noHp` missing.
    PhoneRequired,
    /// `password` missing.
    PasswordRequired,
    /// A field is not a string.
    NotText(&'static str),
    /// The number is not a phone number.
    InvalidPhone,
    /// A bad phone or password.
    InvalidCredentials,
    /// Hashing is saturated.
    Busy,
    /// A store failed.
    ServerTrouble,
    /// The request took too long.
    Timeout,
    /// No such route.
    NotFound,
    /// A missing or wrong admin token.
    Unauthorized,
    /// No QR code is shown now.
    NoQrCode,
    /// Too many failed logins: wait this many seconds.
    LoginThrottled(u64),
    /// The client already has as many logins under way as it may.
    LoginBusy,
}

impl Text {
    /// The code of the answers that say this.
    pub fn code(self) -> ServerCode {
        match self {
            Text::RateLimited(_) => ServerCode::RateLimited,
            Text::PhoneRequired => ErrorCode::PhoneRequired.into(),
            Text::PasswordRequired => ServerCode::PasswordRequired,
            Text::NotText(_) => ErrorCode::InvalidType.into(),
            Text::InvalidPhone => ErrorCode::InvalidPhone.into(),
            Text::InvalidCredentials => ServerCode::InvalidCredentials,
            Text::Busy => ErrorCode::Busy.into(),
            Text::ServerTrouble => ErrorCode::ServerError.into(),
            Text::Timeout => ServerCode::Timeout,
            Text::NotFound => ErrorCode::NotFound.into(),
            Text::Unauthorized => ServerCode::Unauthorized,
            Text::NoQrCode => ServerCode::NoQrCode,
            Text::LoginThrottled(_) => ServerCode::LoginThrottled,
            Text::LoginBusy => ServerCode::LoginBusy,
        }
    }

    /// The text in `lang`.
    pub fn render(self, lang: Lang) -> String {
        let english = lang == Lang::En;
        match self {
            Text::RateLimited(s) if english => {
                format!("Too many requests. Try again in {s} seconds.")
            }
            Text::RateLimited(s) => {
                format!("Terlalu banyak permintaan. Coba lagi dalam {s} detik.")
            }
            Text::PhoneRequired if english => "Phone number is required".into(),
            Text::PhoneRequired => "NoHp harus diisi".into(),
            Text::PasswordRequired if english => "Password is required".into(),
            Text::PasswordRequired => "Password harus diisi".into(),
            Text::NotText(field) if english => format!("{field} must be a string"),
            Text::NotText(field) => format!("{field} harus berupa teks"),
            Text::InvalidPhone if english => "Invalid phone number. Example: 081234567890".into(),
            Text::InvalidPhone => "Nomor HP tidak valid. Contoh: 081234567890".into(),
            Text::InvalidCredentials if english => "Wrong phone number or password".into(),
            Text::InvalidCredentials => "NoHp atau password salah".into(),
            Text::Busy if english => "The server is busy. Please try again shortly.".into(),
            Text::Busy => "Server sedang sibuk. Silakan coba lagi sebentar lagi.".into(),
            Text::ServerTrouble if english => {
                "The server is having trouble. Please try again later.".into()
            }
            Text::ServerTrouble => "Terjadi gangguan pada server. Silakan coba lagi nanti.".into(),
            Text::Timeout if english => "The request took too long. Please try again.".into(),
            Text::Timeout => "Permintaan terlalu lama diproses. Silakan coba lagi.".into(),
            Text::NotFound if english => "Not found".into(),
            Text::NotFound => "Halaman atau endpoint tidak ditemukan".into(),
            Text::Unauthorized if english => "A valid admin token is required".into(),
            Text::Unauthorized => "Token admin tidak valid".into(),
            Text::NoQrCode if english => {
                "No QR code now: WhatsApp is linked or still starting".into()
            }
            Text::NoQrCode => {
                "Tidak ada kode QR saat ini: WhatsApp sudah tertaut atau masih dimulai".into()
            }
            Text::LoginThrottled(s) if english => {
                format!("Too many failed logins. Try again in {}.", wait(s, lang))
            }
            Text::LoginThrottled(s) => format!(
                "Terlalu banyak percobaan login yang gagal. Coba lagi dalam {}.",
                wait(s, lang)
            ),
            Text::LoginBusy if english => {
                "Another login from your address is still being checked. Try again in a moment."
                    .into()
            }
            Text::LoginBusy => {
                "Login lain dari alamat Anda masih diperiksa. Coba lagi sebentar lagi.".into()
            }
        }
    }
}

/// A wait for a person: seconds up to two minutes, then whole minutes (rounded up).
fn wait(seconds: u64, lang: Lang) -> String {
    let english = lang == Lang::En;
    match seconds {
        1 if english => "1 second".into(),
        s if s < 120 && english => format!("{s} seconds"),
        s if s < 120 => format!("{s} detik"),
        s if english => format!("{} minutes", s.div_ceil(60)),
        s => format!("{} menit", s.div_ceil(60)),
    }
}

/// The language the client asks for.
pub fn lang(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::Id, Lang::from_accept_language)
}

/// A failed answer under construction (boxed: it travels in `Err`s).
#[derive(Debug)]
pub struct Failure(Box<wire::Failure<ServerCode>>);

/// `{success: false, message, error}` saying `text` in the client's language, with the code
/// and status that go with it.
pub fn failure(headers: &HeaderMap, text: Text) -> Failure {
    Failure(Box::new(wire::Failure::new(
        text.code(),
        text.render(lang(headers)),
    )))
}

/// The flow's answer to a body it could not read, in the client's language.
pub fn body_failure(headers: &HeaderMap, error: BodyError) -> Failure {
    Failure(Box::new(
        error.to_failure(lang(headers)).map_code(ServerCode::Flow),
    ))
}

impl Failure {
    /// Adds `retryAfter` and the `Retry-After` header.
    pub fn retry_after(self, seconds: u64) -> Self {
        Self(Box::new(self.0.with_retry_after(seconds)))
    }

    /// Adds the name of the field at fault.
    pub fn field(self, name: &'static str) -> Self {
        Self(Box::new(self.0.with_field(name)))
    }

    /// The body, for the document's examples.
    pub fn body(&self) -> &wire::Failure<ServerCode> {
        &self.0
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        self.0.into_response().map(axum::body::Body::new)
    }
}

/// The login's answer: `{success: true, message, data: {nama}}`.
#[derive(Debug, Serialize)]
pub struct SignedIn {
    /// Always `true`.
    pub success: bool,
    /// What happened, for a person.
    pub message: String,
    /// The account signed in to.
    pub data: Account,
}

/// The account a login signed in to.
#[derive(Debug, Serialize)]
pub struct Account {
    /// The account holder's name.
    pub nama: String,
}

impl SignedIn {
    /// The answer for the account holder `name`, in `lang`.
    pub fn new(name: String, lang: Lang) -> Self {
        let message = match lang {
            Lang::En => "Logged in",
            _ => "Login berhasil",
        };
        Self {
            success: true,
            message: message.into(),
            data: Account { nama: name },
        }
    }
}

impl IntoResponse for SignedIn {
    fn into_response(self) -> Response {
        wire::json_answer(StatusCode::OK, &self).map(axum::body::Body::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_in_seconds_then_in_whole_minutes() {
        let id = |s| Text::LoginThrottled(s).render(Lang::Id);
        let en = |s| Text::LoginThrottled(s).render(Lang::En);
        assert!(id(1).ends_with("dalam 1 detik."));
        assert!(en(1).ends_with("in 1 second."));
        assert!(en(119).ends_with("in 119 seconds."));
        assert!(id(120).ends_with("dalam 2 menit."));
        assert!(en(840).ends_with("in 14 minutes."));
        assert!(en(841).ends_with("in 15 minutes."), "rounded up");
    }
}
