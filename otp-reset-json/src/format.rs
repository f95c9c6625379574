//! The data file's format: the seed's `users[]` and `otps[]`, read as old files wrote them and
//! written back in the same shape, plus `otpLimits[]` for the per-phone counters.
//!
//! Old files hold plain-text passwords and codes, numbers as typed, numeric or string ids and
//! timestamps as ISO-8601 strings or epoch milliseconds; all of that is read. What we write:
//! normalised numbers, codes as keyed digests (`hmac-sha256:…`), ISO-8601 timestamps, and every
//! field we do not know, untouched.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use otp_reset::store::Attempts;
use otp_reset::{
    ClientKey, CodeHasher, CodeRecord, Digest, Lang, OtpId, PhoneLedger, PhoneNumber, Timestamp,
    UserId,
};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

pub(crate) use super::code_entry::{CodeEntry, Scalar};

/// The whole data file.
#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct DataFile {
    #[serde(default)]
    pub(crate) users: Vec<Map<String, Value>>,
    #[serde(default)]
    pub(crate) otps: Vec<CodeEntry>,
    #[serde(default, rename = "otpLimits", skip_serializing_if = "Vec::is_empty")]
    pub(crate) limits: Vec<LimitEntry>,
    /// Top-level fields other tools of the site keep in the file.
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}

/// The counters that limit one phone, when it has any.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LimitEntry {
    pub(crate) phone_number: String,
    #[serde(default)]
    pub(crate) recent_sends: Vec<Value>,
    #[serde(default)]
    pub(crate) consecutive_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_failure_at: Option<Value>,
}

/// One line of the journal: the new state of one phone or one user's password. Entries are
/// absolute (they say what is, not what changed), so replaying one twice changes nothing.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase")]
pub(crate) enum Entry {
    /// The phone's code and counters; both `None` when it has neither any more.
    Phone {
        phone_number: String,
        otp: Option<Box<CodeEntry>>,
        limits: Option<LimitEntry>,
    },
    /// A user's new password hash.
    Password { user_id: String, password: String },
    /// Nothing: written, and synced, for a step on a stand-in, so that a made-up pair's answer
    /// waits for the disk exactly as a real pair's does. Skipped on replay.
    Pad { pad: String },
}

impl Entry {
    /// About the length of a phone's line with a code, so a pad costs the disk the same.
    const PAD_CHARS: usize = 400;

    /// A pad line.
    pub(crate) fn pad() -> Self {
        Self::Pad {
            pad: " ".repeat(Self::PAD_CHARS),
        }
    }
}

/// A user as read from the file: the fields the flow needs, and the object as it was.
#[derive(Clone, Debug)]
pub(crate) struct StoredUser {
    pub(crate) id: UserId,
    pub(crate) name: String,
    pub(crate) phone: Option<PhoneNumber>,
    pub(crate) password: String,
    pub(crate) raw: Map<String, Value>,
}

impl StoredUser {
    /// Reads a user object, its number with `parse`; gives the object back when it lacks an id
    /// (it is kept as it is, but unreachable).
    pub(crate) fn read(
        raw: Map<String, Value>,
        parse: impl FnOnce(&str) -> Option<PhoneNumber>,
    ) -> Result<Self, Map<String, Value>> {
        // One pass over the few keys rather than a hashed look-up for each.
        let (mut id, mut name, mut number, mut password) = (None, None, None, None);
        for (key, value) in &raw {
            match key.as_str() {
                "id" => id = Some(value),
                "nama" => name = Some(value),
                "noHp" => number = Some(value),
                "password" => password = Some(value),
                _ => {}
            }
        }
        let id = match id {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => return Err(raw),
        };
        let text = |value: Option<&Value>| {
            value
                .and_then(Value::as_str)
                .map_or_else(String::new, str::to_owned)
        };
        let (name, password) = (text(name), text(password));
        let phone = number.and_then(Value::as_str).and_then(parse);
        Ok(Self {
            id: UserId(id),
            name,
            phone,
            password,
            raw,
        })
    }

    /// Whether the object written is the object read (as long as the password is unchanged):
    /// its number normalised, its password text.
    pub(crate) fn as_written(&self) -> bool {
        let number = self.raw.get("noHp").and_then(Value::as_str);
        self.phone
            .is_none_or(|phone| number.is_some_and(|text| written_as(text, phone)))
            && self.raw.get("password").is_some_and(Value::is_string)
    }

    pub(crate) fn to_user(&self, phone: PhoneNumber) -> otp_reset::User {
        otp_reset::User {
            id: self.id.clone(),
            name: self.name.clone(),
            phone,
            password: self.password.clone(),
        }
    }
}

/// The object to write: as read, with the number normalised and the current password (written
/// from the object read, not a copy of it).
impl Serialize for StoredUser {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let has_password = self.raw.contains_key("password");
        let len = self.raw.len() + usize::from(!has_password);
        let mut map = serializer.serialize_map(Some(len))?;
        for (key, value) in &self.raw {
            match (key.as_str(), self.phone) {
                ("noHp", Some(phone)) => map.serialize_entry(key, &stored_number(phone))?,
                ("password", _) => map.serialize_entry(key, &self.password)?,
                _ => map.serialize_entry(key, value)?,
            }
        }
        if !has_password {
            map.serialize_entry("password", &self.password)?;
        }
        map.end()
    }
}

const DIGEST_PREFIX: &str = "hmac-sha256:";

/// A number as the file keeps it: its E.164 digits, as the seed wrote them (`6281234567890`),
/// with a `+` in front when it is not Indonesian, because bare digits read back with Indonesia
/// as the region would be taken for an Indonesian national number (`447911123456`).
pub(crate) fn stored_number(phone: PhoneNumber) -> String {
    if is_indonesian(phone) {
        phone.digits()
    } else {
        format!("+{}", phone.digits())
    }
}

/// Whether the number's country code is Indonesia's (62): no E.164 country code is a longer
/// number starting with 62, so its first two digits tell.
fn is_indonesian(phone: PhoneNumber) -> bool {
    let mut leading = phone.as_u64();
    while leading >= 100 {
        leading /= 10;
    }
    leading == 62
}

/// Whether `text` is `phone` as the store writes it ([`stored_number`]).
pub(crate) fn written_as(text: &str, phone: PhoneNumber) -> bool {
    let indonesian = is_indonesian(phone);
    let digits = match text.strip_prefix('+') {
        Some(digits) if !indonesian => digits,
        None if indonesian => text,
        _ => return false,
    };
    !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse() == Ok(phone.as_u64())
}

fn digest_to_json(digest: &Digest) -> Value {
    format!(
        "{DIGEST_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(digest.to_bytes())
    )
    .into()
}

fn digest_from_json(text: &str) -> Option<Digest> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.strip_prefix(DIGEST_PREFIX)?)
        .ok()?;
    Some(Digest::from_bytes(bytes.try_into().ok()?))
}

/// A timestamp as written: ISO-8601 with milliseconds, as JavaScript's `toISOString()`.
pub(crate) fn time_to_json(at: Timestamp) -> Value {
    let millis = i64::try_from(at.as_millis()).unwrap_or(i64::MAX);
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string().into(),
        Err(_) => Value::from(at.as_millis()),
    }
}

/// A timestamp as old files wrote it: ISO-8601 text or epoch milliseconds.
pub(crate) fn time_from_json(value: &Value) -> Option<Timestamp> {
    match value {
        Value::Number(n) => time_from_millis(n),
        Value::String(s) => time_from_text(s),
        _ => None,
    }
}

pub(crate) fn time_from_millis(n: &serde_json::Number) -> Option<Timestamp> {
    let millis = n.as_u64().or_else(|| n.as_f64().map(|f| f as u64))?;
    Some(Timestamp::from_millis(millis))
}

pub(crate) fn time_from_text(text: &str) -> Option<Timestamp> {
    let millis = u64::try_from(text.parse::<jiff::Timestamp>().ok()?.as_millisecond()).ok()?;
    Some(Timestamp::from_millis(millis))
}

/// Writes a phone's ledger as its `otps[]` entry and its `otpLimits[]` entry (each only when
/// there is something to say).
pub(crate) fn ledger_to_json(
    phone: PhoneNumber,
    ledger: &PhoneLedger,
) -> (Option<CodeEntry>, Option<LimitEntry>) {
    let otp = ledger.code().map(|code| CodeEntry {
        id: Some(Scalar::Number(code.otp_id.as_u64().into())),
        phone_number: Some(Scalar::String(stored_number(phone))),
        otp: Some(digest_to_json(&code.digest).into()),
        created_at: Some(time_to_json(code.issued_at).into()),
        expires_at: Some(time_to_json(code.expires_at).into()),
        attempts: Some(Scalar::Number(code.attempts.total().into())),
        attempts_by_client: attempts_by_client_to_json(&code.attempts),
        verified: Some(Scalar::Bool(code.verified)),
        user_id: Some(
            code.user_id
                .as_ref()
                .map_or(Scalar::Null, |id| Scalar::String(id.0.clone())),
        ),
        lang: Some(Scalar::String(code.lang.code().into())),
        reset_token: code
            .reset_token
            .as_ref()
            .map(|token| digest_to_json(token).into()),
    });
    let has_limits = !ledger.recent_sends().is_empty() || ledger.consecutive_failures() > 0;
    let limits = has_limits.then(|| LimitEntry {
        phone_number: stored_number(phone),
        recent_sends: ledger
            .recent_sends()
            .iter()
            .map(|&at| time_to_json(at))
            .collect(),
        consecutive_failures: ledger.consecutive_failures(),
        last_failure_at: ledger.last_failure_at().map(time_to_json),
    });
    (otp, limits)
}

/// Reads a code entry: ours, or the seed's with a plain-text code, which is hashed here.
/// `None` for an entry too damaged to use (a code is short-lived; the caller logs it).
pub(crate) fn code_from_json(
    entry: &CodeEntry,
    phone: PhoneNumber,
    codes: &CodeHasher,
    user_for_phone: impl Fn(PhoneNumber) -> Option<UserId>,
) -> Option<CodeRecord> {
    let otp_id = match &entry.id {
        Some(Scalar::Number(n)) => n.as_u64()?,
        Some(Scalar::String(s)) => s.parse().ok()?,
        _ => return None,
    };
    let code = entry.otp.as_ref()?.as_str()?;
    let digest = if code.bytes().all(|b| b.is_ascii_digit()) && !code.is_empty() {
        codes.code_digest(&phone, code)
    } else {
        digest_from_json(code)?
    };
    let user_id = match &entry.user_id {
        Some(Scalar::String(id)) => Some(UserId(id.clone())),
        Some(Scalar::Number(id)) => Some(UserId(id.to_string())),
        Some(Scalar::Null) => None,
        _ => user_for_phone(phone),
    };
    let lang = entry
        .lang
        .as_ref()
        .and_then(Scalar::as_str)
        .and_then(Lang::from_code)
        .unwrap_or_default();
    Some(CodeRecord {
        otp_id: OtpId::from_u64(otp_id),
        digest,
        user_id,
        lang,
        issued_at: entry.created_at.as_ref()?.time()?,
        expires_at: entry.expires_at.as_ref()?.time()?,
        attempts: attempts_from_json(entry),
        verified: entry
            .verified
            .as_ref()
            .and_then(Scalar::as_bool)
            .unwrap_or(false),
        reset_token: entry
            .reset_token
            .as_ref()
            .and_then(Scalar::as_str)
            .and_then(digest_from_json),
    })
}

/// Wrong guesses per client as `key:count` pairs, hex keys, or `None` when there are none.
fn attempts_by_client_to_json(attempts: &Attempts) -> Option<Scalar> {
    let pairs: Vec<String> = attempts
        .iter()
        .map(|(client, count)| format!("{:x}:{count}", client.as_u64()))
        .collect();
    (!pairs.is_empty()).then(|| Scalar::String(pairs.join(",")))
}

/// A code's wrong guesses: per client as written, or, in a file written before they were
/// counted per client, all of them as one unknown client's.
fn attempts_from_json(entry: &CodeEntry) -> Attempts {
    if let Some(pairs) = entry.attempts_by_client.as_ref().and_then(Scalar::as_str) {
        return pairs
            .split(',')
            .filter_map(|pair| {
                let (client, count) = pair.split_once(':')?;
                let client = u64::from_str_radix(client, 16).ok()?;
                Some((ClientKey::from_u64(client), count.parse().ok()?))
            })
            .collect();
    }
    let total = entry
        .attempts
        .as_ref()
        .and_then(Scalar::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    [(ClientKey::UNKNOWN, total)].into_iter().collect()
}

/// Whether a code entry that [`code_from_json`] read is in the form [`ledger_to_json`] writes,
/// as far as it matters: the number normalised, the code a digest, and nothing to fill in.
pub(crate) fn code_as_written(entry: &CodeEntry, phone: PhoneNumber) -> bool {
    fn text(field: &Option<Scalar>) -> Option<&str> {
        field.as_ref().and_then(Scalar::as_str)
    }
    text(&entry.phone_number).is_some_and(|text| written_as(text, phone))
        && text(&entry.otp).is_some_and(|code| code.starts_with(DIGEST_PREFIX))
        && matches!(entry.id, Some(Scalar::Number(_)))
        && entry.user_id.is_some()
        && text(&entry.created_at).is_some()
        && text(&entry.expires_at).is_some()
}

/// Reads a phone's counters into `ledger`.
pub(crate) fn limits_from_json(limits: &LimitEntry, ledger: &mut PhoneLedger) {
    ledger.set_recent_sends(limits.recent_sends.iter().filter_map(time_from_json));
    ledger.set_failures(
        limits.consecutive_failures,
        limits.last_failure_at.as_ref().and_then(time_from_json),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_old_forms_are_read() {
        let at = Timestamp::from_millis(1_704_067_200_123);
        assert_eq!(time_to_json(at), Value::from("2024-01-01T00:00:00.123Z"));
        assert_eq!(time_from_json(&time_to_json(at)), Some(at));
        assert_eq!(time_from_json(&Value::from(1_704_067_200_123u64)), Some(at));
        assert_eq!(
            time_from_json(&Value::from("2024-01-01T00:00:00.123Z")),
            Some(at)
        );
        assert_eq!(time_from_json(&Value::from("yesterday")), None);
    }

    #[test]
    fn digests_round_trip() {
        let digest = Digest::from_bytes([9; 32]);
        let text = digest_to_json(&digest);
        assert_eq!(digest_from_json(text.as_str().unwrap()), Some(digest));
        assert_eq!(digest_from_json("482913"), None);
    }
}
