//! One-time codes, reset tokens and their keyed digests.
//!
//! A code is kept in a store only as an HMAC-SHA256 digest keyed with a server secret, bound to
//! the phone it was sent to. A leaked store therefore does not leak codes, and the six digits
//! cannot be brute-forced offline without the secret. Digests compare in constant time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::PhoneNumber;

/// A one-time code as sent to the user. A secret: its `Debug` is redacted, its memory wiped on
/// drop, and it is never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(Zeroizing<String>);

impl OtpCode {
    /// A fresh code of `digits` decimal digits (leading zeros kept) from the thread's
    /// cryptographically secure generator.
    pub fn generate(digits: u8) -> Self {
        let text: String = (0..digits)
            .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
            .collect();
        Self(Zeroizing::new(text))
    }

    /// A code from its digits, as a queue that carried it sealed gives it back; `None` unless
    /// `digits` is 1 to 12 ASCII digits.
    ///
    /// ```
    /// use otp_reset::OtpCode;
    ///
    /// assert_eq!(OtpCode::from_digits("012345").map(|c| c.expose().to_owned()), Some("012345".into()));
    /// assert!(OtpCode::from_digits("12a4").is_none());
    /// ```
    pub fn from_digits(digits: &str) -> Option<Self> {
        let valid = (1..=12).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| Self(Zeroizing::new(digits.to_owned())))
    }

    /// The digits, to put into a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(<redacted>)")
    }
}

/// A single-use token a successful verification returns, which the reset accepts instead of the
/// code: 256 random bits, URL-safe base64. A secret, like [`OtpCode`].
#[derive(Clone, PartialEq, Eq)]
pub struct ResetToken(Zeroizing<String>);

impl ResetToken {
    /// A fresh token from the thread's cryptographically secure generator.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::fill(&mut bytes[..]);
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes[..])))
    }

    /// The token as the client sends it back.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ResetToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResetToken(<redacted>)")
    }
}

/// The keyed digest of a code or token, as stores keep it. Compares in constant time.
#[derive(Clone, Copy, Eq)]
pub struct Digest([u8; 32]);

impl Digest {
    /// A digest from bytes a store kept ([`Digest::to_bytes`]).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes, for a store to keep.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// A digest no code or token can have: what is stored for a pair that matches no user, so
    /// that the record behaves like a real one but can never be verified.
    pub fn unmatchable() -> Self {
        let mut bytes = [0u8; 32];
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }
}

impl Digest {
    /// The first eight bytes, as a key.
    fn prefix(&self) -> u64 {
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(prefix)
    }
}

impl PartialEq for Digest {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest(..)")
    }
}

/// Computes keyed digests of codes and tokens with a server secret.
///
/// Every process that shares a store must share the secret; a secret made with
/// [`CodeHasher::random`] lives as long as the process, so codes do not survive a restart.
///
/// ```
/// use otp_reset::{CodeHasher, PhoneNumber};
///
/// let hasher = CodeHasher::new(b"a server secret of at least 32 bytes!!")?;
/// let phone: PhoneNumber = "081234567890".parse()?;
/// let other: PhoneNumber = "081298765432".parse()?;
/// assert_eq!(hasher.code_digest(&phone, "123456"), hasher.code_digest(&phone, "123456"));
/// assert_ne!(hasher.code_digest(&phone, "123456"), hasher.code_digest(&other, "123456"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CodeHasher(Hmac<Sha256>);

/// A server secret too short to key the code digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the server secret has {len} bytes; at least {} are needed",
    CodeHasher::MIN_SECRET_BYTES
)]
pub struct SecretTooShort {
    len: usize,
}

impl CodeHasher {
    /// Fewest bytes in a server secret.
    pub const MIN_SECRET_BYTES: usize = 32;

    /// A hasher keyed with `secret`, of at least [`CodeHasher::MIN_SECRET_BYTES`] bytes.
    pub fn new(secret: &[u8]) -> Result<Self, SecretTooShort> {
        if secret.len() < Self::MIN_SECRET_BYTES {
            return Err(SecretTooShort { len: secret.len() });
        }
        Hmac::new_from_slice(secret)
            .map(Self)
            .map_err(|_| SecretTooShort { len: secret.len() })
    }

    /// A hasher keyed with a fresh random secret that lives as long as this process.
    pub fn random() -> Self {
        let mut secret = Zeroizing::new([0u8; 32]);
        rand::fill(&mut secret[..]);
        // HMAC takes keys of any length, so a 32-byte key is never refused.
        Self(Hmac::new_from_slice(&secret[..]).unwrap_or_else(|_| unreachable!()))
    }

    /// The digest of `code` as sent to `phone`.
    pub fn code_digest(&self, phone: &PhoneNumber, code: &str) -> Digest {
        self.digest(b"otp-reset/code", phone, code.as_bytes())
    }

    /// The digest of a reset token issued to `phone`.
    pub fn token_digest(&self, phone: &PhoneNumber, token: &str) -> Digest {
        self.digest(b"otp-reset/token", phone, token.as_bytes())
    }

    /// The key of a name and phone pair, for a stand-in: the name as
    /// [`names_match`](crate::names_match) compares it (words without case or extra spaces).
    pub fn pair_key(&self, phone: &PhoneNumber, name: &str) -> crate::store::PairKey {
        let folded = crate::store::folded_name(name);
        let digest = self.digest(b"otp-reset/pair", phone, folded.as_bytes());
        crate::store::PairKey::from_u64(digest.prefix())
    }

    /// The key a client's wrong guesses are counted under: a digest of its network, so no
    /// store keeps addresses.
    pub fn client_key(&self, client: crate::store::ClientAddress) -> crate::store::ClientKey {
        let network = match client.network() {
            std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(v6) => v6.octets(),
        };
        let mac = self
            .0
            .clone()
            .chain_update(b"otp-reset/client")
            .chain_update(network)
            .finalize()
            .into_bytes();
        let mut prefix = [0u8; 8];
        prefix.copy_from_slice(&mac[..8]);
        // Zero is the key of requests without an address.
        crate::store::ClientKey::from_u64(u64::from_be_bytes(prefix).max(1))
    }

    fn digest(&self, domain: &[u8], phone: &PhoneNumber, secret: &[u8]) -> Digest {
        let mac = self
            .0
            .clone()
            .chain_update(domain)
            .chain_update(phone.as_u64().to_be_bytes())
            .chain_update(secret)
            .finalize()
            .into_bytes();
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&mac);
        Digest(bytes)
    }
}

impl fmt::Debug for CodeHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeHasher(<secret>)")
    }
}

/// The id of an issued code, as the seed's `data.otpId`: a random integer below 2^53, so that
/// JavaScript clients read it exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OtpId(u64);

impl OtpId {
    const JS_SAFE: u64 = 1 << 53;

    /// A fresh random id.
    pub fn generate() -> Self {
        Self(rand::random_range(1..Self::JS_SAFE))
    }

    /// The id a store kept.
    pub const fn from_u64(id: u64) -> Self {
        Self(id)
    }

    /// The id as an integer.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for OtpId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_asked_length_and_only_digits() {
        for digits in [4u8, 6, 10] {
            let code = OtpCode::generate(digits);
            assert_eq!(code.expose().len(), usize::from(digits));
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn codes_cover_every_digit_in_every_position() {
        let mut seen = [[false; 10]; 6];
        for _ in 0..2_000 {
            for (position, b) in OtpCode::generate(6).expose().bytes().enumerate() {
                seen[position][usize::from(b - b'0')] = true;
            }
        }
        assert!(seen.iter().flatten().all(|&s| s));
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let code = OtpCode::generate(6);
        assert!(!format!("{code:?}").contains(code.expose()));
        let token = ResetToken::generate();
        assert!(!format!("{token:?}").contains(token.expose()));
        assert_eq!(token.expose().len(), 43);
    }

    #[test]
    fn digests_depend_on_secret_domain_and_phone() {
        let phone = PhoneNumber::parse("081234567890").unwrap();
        let a = CodeHasher::new(&[1; 32]).unwrap();
        let b = CodeHasher::new(&[2; 32]).unwrap();
        assert_eq!(
            a.code_digest(&phone, "123456"),
            a.code_digest(&phone, "123456")
        );
        assert_ne!(
            a.code_digest(&phone, "123456"),
            b.code_digest(&phone, "123456")
        );
        assert_ne!(
            a.code_digest(&phone, "123456"),
            a.token_digest(&phone, "123456")
        );
        assert_ne!(
            a.code_digest(&phone, "123456"),
            a.code_digest(&phone, "123457")
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            CodeHasher::new(&[0; 31]).unwrap_err(),
            SecretTooShort { len: 31 }
        );
    }

    #[test]
    fn otp_ids_are_safe_for_javascript() {
        for _ in 0..1_000 {
            let id = OtpId::generate().as_u64();
            assert!(id > 0 && id < 1 << 53);
        }
    }
}
