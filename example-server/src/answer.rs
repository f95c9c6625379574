//! JSON answers of the server's own routes and layers, in the core's shape
//! (`{success, message, error}`) and languages.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use otp_reset::Lang;
use serde_json::{Map, Value, json};

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
    /// The body is not a JSON object.
    MalformedJson,
    /// The body is not declared as JSON.
    UnsupportedMediaType,
    /// The body is too large.
    PayloadTooLarge,
    /// A good login.
    LoggedIn,
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
    fn render(self, lang: Lang) -> String {
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
            Text::MalformedJson if english => "The body must be a valid JSON object".into(),
            Text::MalformedJson => "Body harus berupa objek JSON yang valid".into(),
            Text::UnsupportedMediaType => "Content-Type harus application/json".into(),
            Text::PayloadTooLarge if english => "Body too large".into(),
            Text::PayloadTooLarge => "Body terlalu besar".into(),
            Text::LoggedIn if english => "Logged in".into(),
            Text::LoggedIn => "Login berhasil".into(),
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

fn lang(headers: &HeaderMap) -> Lang {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map_or(Lang::Id, Lang::from_accept_language)
}

/// A failed answer under construction (boxed: it travels in `Err`s).
#[derive(Debug)]
pub struct Failure(Box<Parts>);

#[derive(Debug)]
struct Parts {
    status: StatusCode,
    body: Map<String, Value>,
    retry_after: Option<u64>,
}

/// `{success: false, message, error: code}` in the client's language.
pub fn failure(headers: &HeaderMap, status: StatusCode, code: &'static str, text: Text) -> Failure {
    let mut body = Map::new();
    body.insert("success".into(), false.into());
    body.insert("message".into(), text.render(lang(headers)).into());
    body.insert("error".into(), code.into());
    Failure(Box::new(Parts {
        status,
        body,
        retry_after: None,
    }))
}

impl Failure {
    /// Adds `retryAfter` and the `Retry-After` header.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.body.insert("retryAfter".into(), seconds.into());
        self.0.retry_after = Some(seconds);
        self
    }

    /// Adds the name of the field at fault.
    pub fn field(mut self, name: &'static str) -> Self {
        self.0.body.insert("field".into(), name.into());
        self
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let parts = *self.0;
        let mut response = (parts.status, axum::Json(Value::Object(parts.body))).into_response();
        if let Some(seconds) = parts.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `{success: true, message, data}` in the client's language.
pub fn success(headers: &HeaderMap, text: Text, data: Value) -> Response {
    axum::Json(json!({ "success": true, "message": text.render(lang(headers)), "data": data }))
        .into_response()
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
