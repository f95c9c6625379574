//! Every text the service shows a person, in Indonesian (the default) and English.

use std::time::Duration;

use http::HeaderMap;

/// The language of answers and messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    /// Indonesian, the ticketing site's language and the default.
    #[default]
    Id,
    /// English.
    En,
}

impl Lang {
    /// The language a client prefers by its `Accept-Language` header: English when English
    /// ranks above Indonesian, Indonesian otherwise.
    ///
    /// ```
    /// use otp_reset::Lang;
    ///
    /// assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
    /// assert_eq!(Lang::from_accept_language("id-ID,en;q=0.8"), Lang::Id);
    /// assert_eq!(Lang::from_accept_language("fr"), Lang::Id);
    /// ```
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Lang)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            let lang = match primary.as_str() {
                "en" => Lang::En,
                "id" | "in" => Lang::Id,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::Id, |(_, lang)| lang)
    }

    /// The language's ISO 639-1 code (`id`, `en`), for stores that persist it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// The language with this ISO 639-1 code, if it is one of ours.
    ///
    /// ```
    /// use otp_reset::Lang;
    ///
    /// assert_eq!(Lang::from_code(Lang::En.code()), Some(Lang::En));
    /// assert_eq!(Lang::from_code("fr"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "id" | "in" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        headers
            .get(http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map_or(Lang::Id, Self::from_accept_language)
    }
}

/// The WhatsApp message that carries a code.
pub(crate) fn code_message(lang: Lang, code: &str, ttl: Duration) -> String {
    let minutes = whole_minutes(ttl);
    match lang {
        Lang::Id => format!(
            "Kode OTP reset password Anda: *{code}*\n\nBerlaku {minutes} menit. Jangan berikan kode ini kepada siapa pun, termasuk petugas kami."
        ),
        Lang::En => format!(
            "Your password reset code: *{code}*\n\nValid for {minutes} minutes. Never share this code with anyone, including our staff."
        ),
    }
}

/// The WhatsApp message that tells the owner of a phone their password changed.
pub(crate) fn password_changed_message(lang: Lang) -> String {
    match lang {
        Lang::Id => "Password akun Anda baru saja diubah. Jika ini bukan Anda, segera hubungi kami dan minta reset password baru.".into(),
        Lang::En => "The password of your account was just changed. If this was not you, contact us at once and request a new password reset.".into(),
    }
}

fn whole_minutes(d: Duration) -> u64 {
    whole_seconds(d).div_ceil(60)
}

/// Seconds in `d`, rounded up, at least 1: a client told to wait this long never comes early.
pub(crate) fn whole_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

/// A text of an answer, with what it needs to say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Msg {
    NameRequired,
    PhoneRequired,
    OtpRequired,
    NewPasswordRequired,
    ConfirmPasswordRequired,
    NotText(&'static str),
    TooLong(&'static str, usize),
    PhoneInvalid,
    PhoneNotMobile,
    OtpFormat(u8),
    UserNotFound,
    CodeSent,
    Cooldown(Duration),
    SendCap(Duration),
    LockedOut(Duration),
    SenderUnavailable,
    Busy,
    ServerTrouble,
    Verified,
    WrongCode(u32),
    AttemptsExhausted,
    Expired,
    NoCode,
    NotVerified,
    PasswordMismatch,
    PasswordTooShort(usize),
    PasswordTooLong(usize),
    PasswordReset,
    BotStatus { ready: bool },
    RequestIdRequired,
    RequestNotFound,
    Delivery(crate::DeliveryStatus),
    NotFound,
    MethodNotAllowed,
    UnsupportedMediaType,
    PayloadTooLarge(usize),
    MalformedJson,
    BodyUnreadable,
}

use crate::DeliveryStatus;

impl Msg {
    pub(crate) fn render(self, lang: Lang) -> String {
        match lang {
            Lang::Id => self.indonesian(),
            Lang::En => self.english(),
        }
    }

    fn indonesian(self) -> String {
        match self {
            Msg::NameRequired => "Nama harus diisi".into(),
            Msg::PhoneRequired => "NoHp harus diisi".into(),
            Msg::OtpRequired => "OTP harus diisi".into(),
            Msg::NewPasswordRequired => "Password baru harus diisi".into(),
            Msg::ConfirmPasswordRequired => "Konfirmasi password harus diisi".into(),
            Msg::NotText(field) => format!("{field} harus berupa teks"),
            Msg::TooLong(field, max) => {
                format!("{field} terlalu panjang (maksimal {max} karakter)")
            }
            Msg::PhoneInvalid => "Nomor HP tidak valid. Contoh: 081234567890".into(),
            Msg::PhoneNotMobile => "Nomor HP harus nomor seluler yang terhubung ke WhatsApp".into(),
            Msg::OtpFormat(digits) => format!("OTP harus {digits} digit angka"),
            Msg::UserNotFound => "User tidak ditemukan".into(),
            Msg::CodeSent => "OTP dikirim ke WhatsApp".into(),
            Msg::Cooldown(wait) => format!(
                "Sudah ada OTP aktif. Tunggu {} detik sebelum meminta OTP baru.",
                whole_seconds(wait)
            ),
            Msg::SendCap(wait) => format!(
                "Terlalu banyak permintaan OTP untuk nomor ini. Coba lagi dalam {} menit.",
                whole_minutes(wait)
            ),
            Msg::LockedOut(wait) => format!(
                "Terlalu banyak percobaan OTP yang salah. Coba lagi dalam {} menit.",
                whole_minutes(wait)
            ),
            Msg::SenderUnavailable => {
                "Layanan WhatsApp sedang tidak tersedia. Silakan coba lagi beberapa saat lagi."
                    .into()
            }
            Msg::Busy => "Server sedang sibuk. Silakan coba lagi sebentar lagi.".into(),
            Msg::ServerTrouble => "Terjadi gangguan pada server. Silakan coba lagi nanti.".into(),
            Msg::Verified => "OTP berhasil diverifikasi".into(),
            Msg::WrongCode(left) => format!("OTP salah. Sisa percobaan: {left}"),
            Msg::AttemptsExhausted => "Percobaan OTP sudah habis. Silakan minta OTP baru.".into(),
            Msg::Expired => "OTP sudah kedaluwarsa. Silakan minta OTP baru.".into(),
            Msg::NoCode => "OTP tidak ditemukan. Silakan minta OTP baru.".into(),
            Msg::NotVerified => "OTP belum diverifikasi".into(),
            Msg::PasswordMismatch => "Password dan konfirmasi password tidak sama".into(),
            Msg::PasswordTooShort(min) => format!("Password minimal {min} karakter"),
            Msg::PasswordTooLong(max) => format!("Password maksimal {max} karakter"),
            Msg::PasswordReset => "Password berhasil diubah, silakan login".into(),
            Msg::BotStatus { ready: true } => "Bot WhatsApp siap".into(),
            Msg::BotStatus { ready: false } => "Bot WhatsApp belum siap".into(),
            Msg::RequestIdRequired => "requestId harus diisi".into(),
            Msg::RequestNotFound => {
                "Permintaan OTP tidak ditemukan atau sudah kedaluwarsa. Silakan minta OTP baru."
                    .into()
            }
            Msg::Delivery(status) => match status {
                DeliveryStatus::Pending => "OTP sedang dikirim ke WhatsApp",
                DeliveryStatus::Sent => "OTP terkirim, menunggu sampai di WhatsApp Anda",
                DeliveryStatus::Delivered => "OTP sudah sampai di WhatsApp Anda",
                DeliveryStatus::NotOnWhatsapp => {
                    "Nomor ini tidak terdaftar di WhatsApp. Periksa kembali nomor Anda."
                }
                DeliveryStatus::Failed => "OTP gagal dikirim. Silakan coba lagi sebentar lagi.",
            }
            .into(),
            Msg::NotFound => "Endpoint tidak ditemukan".into(),
            Msg::MethodNotAllowed => "Metode HTTP tidak diizinkan untuk endpoint ini".into(),
            Msg::UnsupportedMediaType => "Content-Type harus application/json".into(),
            Msg::PayloadTooLarge(max) => format!("Body terlalu besar (maksimal {max} byte)"),
            Msg::MalformedJson => "Body harus berupa objek JSON yang valid".into(),
            Msg::BodyUnreadable => "Body permintaan tidak dapat dibaca".into(),
        }
    }

    fn english(self) -> String {
        match self {
            Msg::NameRequired => "Name is required".into(),
            Msg::PhoneRequired => "Phone number is required".into(),
            Msg::OtpRequired => "OTP is required".into(),
            Msg::NewPasswordRequired => "New password is required".into(),
            Msg::ConfirmPasswordRequired => "Password confirmation is required".into(),
            Msg::NotText(field) => format!("{field} must be a string"),
            Msg::TooLong(field, max) => format!("{field} is too long (at most {max} characters)"),
            Msg::PhoneInvalid => "Invalid phone number. Example: 081234567890".into(),
            Msg::PhoneNotMobile => "The phone number must be a mobile number on WhatsApp".into(),
            Msg::OtpFormat(digits) => format!("The OTP must be {digits} digits"),
            Msg::UserNotFound => "User not found".into(),
            Msg::CodeSent => "OTP sent to WhatsApp".into(),
            Msg::Cooldown(wait) => format!(
                "An OTP is already active. Wait {} seconds before requesting a new one.",
                whole_seconds(wait)
            ),
            Msg::SendCap(wait) => format!(
                "Too many OTP requests for this number. Try again in {} minutes.",
                whole_minutes(wait)
            ),
            Msg::LockedOut(wait) => format!(
                "Too many wrong OTP attempts. Try again in {} minutes.",
                whole_minutes(wait)
            ),
            Msg::SenderUnavailable => {
                "The WhatsApp service is unavailable. Please try again shortly.".into()
            }
            Msg::Busy => "The server is busy. Please try again shortly.".into(),
            Msg::ServerTrouble => "The server is having trouble. Please try again later.".into(),
            Msg::Verified => "OTP verified".into(),
            Msg::WrongCode(left) => format!("Wrong OTP. Attempts left: {left}"),
            Msg::AttemptsExhausted => "No OTP attempts left. Please request a new OTP.".into(),
            Msg::Expired => "The OTP has expired. Please request a new OTP.".into(),
            Msg::NoCode => "No OTP found. Please request a new OTP.".into(),
            Msg::NotVerified => "The OTP has not been verified".into(),
            Msg::PasswordMismatch => "The password and its confirmation differ".into(),
            Msg::PasswordTooShort(min) => {
                format!("The password must have at least {min} characters")
            }
            Msg::PasswordTooLong(max) => format!("The password must have at most {max} characters"),
            Msg::PasswordReset => "Password updated, please login".into(),
            Msg::BotStatus { ready: true } => "WhatsApp bot is ready".into(),
            Msg::BotStatus { ready: false } => "WhatsApp bot is not ready".into(),
            Msg::RequestIdRequired => "requestId is required".into(),
            Msg::RequestNotFound => {
                "No such OTP request, or it has expired. Please request a new OTP.".into()
            }
            Msg::Delivery(status) => match status {
                DeliveryStatus::Pending => "Sending the OTP to WhatsApp",
                DeliveryStatus::Sent => "OTP sent, waiting for it to reach your WhatsApp",
                DeliveryStatus::Delivered => "The OTP reached your WhatsApp",
                DeliveryStatus::NotOnWhatsapp => {
                    "This number is not on WhatsApp. Please check the number."
                }
                DeliveryStatus::Failed => "The OTP could not be sent. Please try again shortly.",
            }
            .into(),
            Msg::NotFound => "Not found".into(),
            Msg::MethodNotAllowed => "Method not allowed for this endpoint".into(),
            Msg::UnsupportedMediaType => "Content-Type must be application/json".into(),
            Msg::PayloadTooLarge(max) => format!("Body too large (at most {max} bytes)"),
            Msg::MalformedJson => "The body must be a valid JSON object".into(),
            Msg::BodyUnreadable => "The request body could not be read".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_ranks_by_quality() {
        assert_eq!(Lang::from_accept_language("en"), Lang::En);
        assert_eq!(Lang::from_accept_language("EN-gb"), Lang::En);
        assert_eq!(Lang::from_accept_language("id;q=0.5, en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("en;q=0.5, id"), Lang::Id);
        assert_eq!(Lang::from_accept_language("de, fr;q=0.9"), Lang::Id);
        assert_eq!(Lang::from_accept_language("en;q=0"), Lang::Id);
        assert_eq!(Lang::from_accept_language(""), Lang::Id);
        assert_eq!(Lang::from_accept_language(";;,;q=x"), Lang::Id);
    }

    #[test]
    fn code_messages_carry_the_code_and_lifetime() {
        let text = code_message(Lang::Id, "012345", Duration::from_secs(900));
        assert!(text.contains("012345") && text.contains("15 menit"));
    }
}
