//! Sealing a message for the stream: XChaCha20-Poly1305 under a key derived from the shared
//! secret, so that Redis (its memory, its persistence files, its replicas) never holds a code
//! or a phone number in plain text.
//!
//! The sealed payload is `nonce (24 bytes) || ciphertext`; the associated data binds the
//! unsealed fields (format version, `enqueued_at`, `expires_at`), so that a client who can
//! write to Redis cannot stretch a message's life. The plain text is, in order: the kind (1
//! byte: 0 code, 1 password changed), the phone's E.164 digits (8 bytes, big-endian), the
//! language code (1 length byte + ASCII), and for a code its lifetime in ms (8 bytes) and digits
//! (1 length byte + ASCII). A decoy (kind 2) has a six-digit code's layout, with zeros, so that
//! its sealed size is a code's.

use std::fmt;
use std::time::Duration;

use chacha20poly1305::aead::AeadInOut as _;
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use otp_reset::{Lang, Message, OtpCode, PhoneNumber};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The payload format this crate writes and reads.
pub(crate) const FORMAT_VERSION: &str = "1";

const NONCE_BYTES: usize = 24;
const KIND_CODE: u8 = 0;
const KIND_PASSWORD_CHANGED: u8 = 1;
const KIND_DECOY: u8 = 2;

/// Seals and opens payloads with the key derived from the shared secret.
#[derive(Clone)]
pub(crate) struct Sealer(XChaCha20Poly1305);

/// What an entry held: a message, or a decoy that the worker drops.
#[derive(Debug)]
pub(crate) enum Opened {
    /// A message to deliver.
    Message(Unsealed),
    /// A decoy queued for a pair that matches no user.
    Decoy,
}

/// A message as the worker gets it back.
#[derive(Debug)]
pub(crate) struct Unsealed {
    pub(crate) to: PhoneNumber,
    pub(crate) message: Message,
}

/// A message kind the queue does not carry (the core's `Message` may grow).
#[derive(Debug)]
pub(crate) struct Unsupported;

impl Sealer {
    pub(crate) fn new(secret: &[u8]) -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        // A 32-byte output is always within HKDF-SHA256's limit (255 × 32 bytes).
        let _ = Hkdf::<Sha256>::new(Some(b"otp-reset-queue"), secret)
            .expand(b"sender queue payload v1", &mut key[..]);
        Self(XChaCha20Poly1305::new(&(*key).into()))
    }

    /// Seals `message` to `to`, bound to the unsealed fields.
    pub(crate) fn seal(
        &self,
        to: PhoneNumber,
        message: &Message,
        enqueued_at: u64,
        expires_at: u64,
    ) -> Result<Vec<u8>, Unsupported> {
        let mut plain = Zeroizing::new(Vec::with_capacity(48));
        let lang = match message {
            Message::Code { lang, .. } => {
                plain.push(KIND_CODE);
                *lang
            }
            Message::PasswordChanged { lang } => {
                plain.push(KIND_PASSWORD_CHANGED);
                *lang
            }
            _ => return Err(Unsupported),
        };
        plain.extend_from_slice(&to.as_u64().to_be_bytes());
        push_short(&mut plain, lang.code().as_bytes());
        if let Message::Code { code, ttl, .. } = message {
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
            plain.extend_from_slice(&ttl_ms.to_be_bytes());
            push_short(&mut plain, code.expose().as_bytes());
        }
        self.seal_plain(&plain, enqueued_at, expires_at)
    }

    fn seal_plain(
        &self,
        plain: &[u8],
        enqueued_at: u64,
        expires_at: u64,
    ) -> Result<Vec<u8>, Unsupported> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce[..]);
        let nonce = XNonce::from(nonce);
        let aad = associated_data(enqueued_at, expires_at);
        // Encrypts in place: the buffer, zeroized on drop, ends up holding the ciphertext.
        let mut buffer = Zeroizing::new(plain.to_vec());
        self.0
            .encrypt_in_place(&nonce, aad.as_bytes(), &mut *buffer)
            .map_err(|_| Unsupported)?;
        let mut sealed = Vec::with_capacity(NONCE_BYTES + buffer.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&buffer);
        Ok(sealed)
    }

    /// Seals a decoy: a six-digit code's layout with zeros, of a code's size.
    pub(crate) fn seal_decoy(
        &self,
        enqueued_at: u64,
        expires_at: u64,
    ) -> Result<Vec<u8>, Unsupported> {
        let mut plain = Zeroizing::new(Vec::with_capacity(48));
        plain.push(KIND_DECOY);
        plain.extend_from_slice(&[0; 8]);
        push_short(&mut plain, Lang::Id.code().as_bytes());
        plain.extend_from_slice(&[0; 8]);
        push_short(&mut plain, b"000000");
        self.seal_plain(&plain, enqueued_at, expires_at)
    }

    /// Opens a payload sealed under the same secret with the same unsealed fields; `None` for
    /// anything else.
    pub(crate) fn open(&self, sealed: &[u8], enqueued_at: u64, expires_at: u64) -> Option<Opened> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        let nonce = XNonce::from(<[u8; NONCE_BYTES]>::try_from(nonce).ok()?);
        let aad = associated_data(enqueued_at, expires_at);
        let mut plain = Zeroizing::new(ciphertext.to_vec());
        self.0
            .decrypt_in_place(&nonce, aad.as_bytes(), &mut *plain)
            .ok()?;
        parse(&plain)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

fn associated_data(enqueued_at: u64, expires_at: u64) -> String {
    format!("otp-reset-queue|{FORMAT_VERSION}|{enqueued_at}|{expires_at}")
}

fn push_short(buffer: &mut Vec<u8>, bytes: &[u8]) {
    // Language codes and code digits are a few bytes; the core bounds both.
    let len = u8::try_from(bytes.len()).unwrap_or(u8::MAX);
    buffer.push(len);
    buffer.extend_from_slice(&bytes[..usize::from(len)]);
}

/// Reads the plain text back; `None` if it is not in this format.
fn parse(plain: &[u8]) -> Option<Opened> {
    let mut rest = plain;
    let kind = take(&mut rest, 1)?[0];
    if kind == KIND_DECOY {
        return Some(Opened::Decoy);
    }
    let phone = u64::from_be_bytes(take(&mut rest, 8)?.try_into().ok()?);
    let to = PhoneNumber::from_u64(phone)?;
    let lang = Lang::from_code(std::str::from_utf8(take_short(&mut rest)?).ok()?)?;
    let message = match kind {
        KIND_CODE => {
            let ttl_ms = u64::from_be_bytes(take(&mut rest, 8)?.try_into().ok()?);
            let code = OtpCode::from_digits(std::str::from_utf8(take_short(&mut rest)?).ok()?)?;
            Message::Code {
                code,
                ttl: Duration::from_millis(ttl_ms),
                lang,
            }
        }
        KIND_PASSWORD_CHANGED => Message::PasswordChanged { lang },
        _ => return None,
    };
    rest.is_empty()
        .then_some(Opened::Message(Unsealed { to, message }))
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn take_short<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = usize::from(take(rest, 1)?[0]);
    take(rest, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_message() -> Message {
        Message::Code {
            code: OtpCode::from_digits("042917").unwrap(),
            ttl: Duration::from_secs(900),
            lang: Lang::En,
        }
    }

    #[test]
    fn a_sealed_code_opens_with_the_same_fields() {
        let sealer = Sealer::new(&[7; 32]);
        let to: PhoneNumber = "081234567890".parse().unwrap();
        let sealed = sealer.seal(to, &code_message(), 10, 20).unwrap();
        let Some(Opened::Message(opened)) = sealer.open(&sealed, 10, 20) else {
            panic!("not a message")
        };
        assert_eq!(opened.to, to);
        let Message::Code { code, ttl, lang } = opened.message else {
            panic!("not a code")
        };
        assert_eq!(
            (code.expose(), ttl, lang),
            ("042917", Duration::from_secs(900), Lang::En)
        );
    }

    #[test]
    fn a_payload_does_not_open_with_other_fields_or_another_secret() {
        let sealer = Sealer::new(&[7; 32]);
        let to: PhoneNumber = "081234567890".parse().unwrap();
        let sealed = sealer.seal(to, &code_message(), 10, 20).unwrap();
        assert!(sealer.open(&sealed, 10, 21).is_none());
        assert!(Sealer::new(&[8; 32]).open(&sealed, 10, 20).is_none());
    }

    #[test]
    fn a_password_changed_notice_round_trips() {
        let sealer = Sealer::new(&[7; 32]);
        let to: PhoneNumber = "081234567890".parse().unwrap();
        let notice = Message::PasswordChanged { lang: Lang::Id };
        let sealed = sealer.seal(to, &notice, 1, 2).unwrap();
        let Some(Opened::Message(opened)) = sealer.open(&sealed, 1, 2) else {
            panic!("not a message")
        };
        assert!(matches!(
            opened.message,
            Message::PasswordChanged { lang: Lang::Id }
        ));
    }

    #[test]
    fn a_decoy_opens_as_a_decoy_and_is_a_codes_size() {
        let sealer = Sealer::new(&[7; 32]);
        let to: PhoneNumber = "081234567890".parse().unwrap();
        let code = sealer.seal(to, &code_message(), 1, 2).unwrap();
        let decoy = sealer.seal_decoy(1, 2).unwrap();
        assert_eq!(code.len(), decoy.len());
        assert!(matches!(sealer.open(&decoy, 1, 2), Some(Opened::Decoy)));
    }
}
