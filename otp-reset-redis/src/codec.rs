//! What crosses between Rust and the scripts: keys, digests and codes as text, answers as
//! arrays.

use std::time::Duration;

use otp_reset::store::{Attempts, ClientKey, CodeRecord};
use otp_reset::{Digest, Lang, OtpId, OtpRules, Timestamp, UserId};
use redis::Value;
use serde::{Deserialize, Deserializer, Serialize};

use crate::link::CallError;

/// The longest duration passed to a script (about 34 years), so that instants stay exact in
/// Lua's doubles and in cjson's 14 digits.
const MAX_MS: u64 = 1 << 40;

pub(crate) fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .min(MAX_MS)
}

/// The rules as the scripts' ARGV[1..8].
pub(crate) fn rules_args(rules: &OtpRules) -> [u64; 8] {
    [
        ms(rules.code_ttl),
        u64::from(rules.max_attempts),
        ms(rules.resend_cooldown),
        u64::from(rules.max_sends_per_window),
        ms(rules.send_window),
        u64::from(rules.lockout_threshold),
        ms(rules.lockout_base),
        ms(rules.lockout_max),
    ]
}

pub(crate) fn key_hex(key: u64) -> String {
    format!("{key:016x}")
}

pub(crate) fn digest_hex(digest: &Digest) -> String {
    let mut hex = String::with_capacity(64);
    for byte in digest.to_bytes() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

fn digest_from_hex(hex: &str) -> Result<Digest, CallError> {
    let bad = || CallError::Corrupt("a digest is not 64 hex digits".to_owned());
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(bad());
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(Digest::from_bytes(bytes))
}

/// A code as the scripts keep it (see `lua/records.lua`).
#[derive(Serialize, Deserialize)]
struct StoredCode {
    id: String,
    d: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    u: Option<String>,
    l: String,
    i: u64,
    e: u64,
    #[serde(default, deserialize_with = "attempts_list")]
    a: Vec<(String, u32)>,
    v: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<String>,
}

/// cjson writes an empty array as `{}`: read both.
fn attempts_list<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<(String, u32)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Entries(Vec<(String, u32)>),
        Empty(serde_json::Map<String, serde_json::Value>),
    }
    match List::deserialize(de)? {
        List::Entries(entries) => Ok(entries),
        List::Empty(map) if map.is_empty() => Ok(Vec::new()),
        List::Empty(_) => Err(serde::de::Error::custom("attempts are not a list")),
    }
}

pub(crate) fn code_to_json(record: &CodeRecord) -> Result<String, CallError> {
    let stored = StoredCode {
        id: record.otp_id.as_u64().to_string(),
        d: digest_hex(&record.digest),
        u: record.user_id.as_ref().map(|id| id.0.clone()),
        l: record.lang.code().to_owned(),
        i: record.issued_at.as_millis(),
        e: record.expires_at.as_millis(),
        a: record
            .attempts
            .iter()
            .map(|(client, n)| (key_hex(client.as_u64()), n))
            .collect(),
        v: record.verified,
        t: record.reset_token.as_ref().map(digest_hex),
    };
    serde_json::to_string(&stored).map_err(|e| CallError::Corrupt(e.to_string()))
}

pub(crate) fn code_from_json(json: &[u8]) -> Result<CodeRecord, CallError> {
    let corrupt = |what: &str| CallError::Corrupt(format!("a stored code has {what}"));
    let stored: StoredCode =
        serde_json::from_slice(json).map_err(|e| CallError::Corrupt(e.to_string()))?;
    let mut attempts = Vec::with_capacity(stored.a.len());
    for (client, n) in &stored.a {
        let client = u64::from_str_radix(client, 16).map_err(|_| corrupt("a bad client key"))?;
        attempts.push((ClientKey::from_u64(client), *n));
    }
    Ok(CodeRecord {
        otp_id: OtpId::from_u64(stored.id.parse().map_err(|_| corrupt("a bad id"))?),
        digest: digest_from_hex(&stored.d)?,
        user_id: stored.u.map(UserId),
        lang: Lang::from_code(&stored.l).ok_or_else(|| corrupt("an unknown language"))?,
        issued_at: Timestamp::from_millis(stored.i),
        expires_at: Timestamp::from_millis(stored.e),
        attempts: attempts.into_iter().collect::<Attempts>(),
        verified: stored.v,
        reset_token: stored.t.as_deref().map(digest_from_hex).transpose()?,
    })
}

/// A script's answer: its tag and the rest.
pub(crate) fn answer(value: Value) -> Result<(String, Vec<Value>), CallError> {
    let Value::Array(mut parts) = value else {
        return Err(CallError::Corrupt(format!("unexpected answer {value:?}")));
    };
    if parts.is_empty() {
        return Err(CallError::Corrupt("empty answer".to_owned()));
    }
    let tag = text(&parts.remove(0))?;
    Ok((tag, parts))
}

pub(crate) fn text(value: &Value) -> Result<String, CallError> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone())
            .map_err(|_| CallError::Corrupt("an answer is not UTF-8".to_owned())),
        Value::SimpleString(text) => Ok(text.clone()),
        other => Err(CallError::Corrupt(format!("expected text, got {other:?}"))),
    }
}

pub(crate) fn int(value: Option<&Value>) -> Result<u64, CallError> {
    match value {
        Some(Value::Int(n)) => u64::try_from(*n)
            .map_err(|_| CallError::Corrupt(format!("a negative number {n} in an answer"))),
        other => Err(CallError::Corrupt(format!(
            "expected a number, got {other:?}"
        ))),
    }
}

pub(crate) fn millis(value: Option<&Value>) -> Result<Duration, CallError> {
    int(value).map(Duration::from_millis)
}

pub(crate) fn count(value: Option<&Value>) -> Result<u32, CallError> {
    Ok(u32::try_from(int(value)?).unwrap_or(u32::MAX))
}

pub(crate) fn bytes(value: Option<&Value>) -> Result<&[u8], CallError> {
    match value {
        Some(Value::BulkString(bytes)) => Ok(bytes),
        other => Err(CallError::Corrupt(format!(
            "expected a string, got {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn record() -> CodeRecord {
        CodeRecord {
            otp_id: OtpId::from_u64((1 << 53) - 1),
            digest: Digest::from_bytes([0xab; 32]),
            user_id: Some(UserId("42".into())),
            lang: Lang::En,
            issued_at: Timestamp::from_millis(1_764_536_000_123),
            expires_at: Timestamp::from_millis(1_764_536_900_123),
            attempts: [(ClientKey::from_u64(u64::MAX), 2), (ClientKey::UNKNOWN, 1)]
                .into_iter()
                .collect(),
            verified: true,
            reset_token: Some(Digest::from_bytes([7; 32])),
        }
    }

    #[test]
    fn a_code_reads_back_as_written() {
        let json = code_to_json(&record()).unwrap();
        assert_eq!(code_from_json(json.as_bytes()).unwrap(), record());
    }

    #[test]
    fn cjsons_empty_object_reads_as_no_attempts() {
        let json = r#"{"id":"5","d":"0000000000000000000000000000000000000000000000000000000000000000","l":"id","i":1,"e":2,"a":{},"v":false}"#;
        let code = code_from_json(json.as_bytes()).unwrap();
        assert_eq!(code.attempts.total(), 0);
        assert_eq!(code.user_id, None);
        assert_eq!(code.reset_token, None);
    }

    #[test]
    fn unreadable_codes_are_corrupt() {
        for json in [
            r#"{"id":"x"}"#,
            "not json",
            r#"{"id":"5","d":"zz","l":"id","i":1,"e":2,"a":[],"v":false}"#,
        ] {
            assert!(matches!(
                code_from_json(json.as_bytes()),
                Err(CallError::Corrupt(_))
            ));
        }
    }

    #[test]
    fn durations_are_capped_to_stay_exact_in_lua() {
        assert_eq!(ms(Duration::from_millis(1500)), 1500);
        assert_eq!(ms(Duration::MAX), MAX_MS);
    }
}
