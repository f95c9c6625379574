//! An entry of `otps[]` (and a journal line's code): the fields the store reads, each kept as
//! the JSON value it was, in a struct rather than a map.
//!
//! A data file holds one per user; a map of ten string keys each (hashed, allocated) made them
//! the largest cost of a start. Read as a map would: a repeated key keeps its last value,
//! unknown keys are skipped (the store never wrote them back), `null` is a value.

use std::fmt;

use otp_reset::Timestamp;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

use super::format::{time_from_millis, time_from_text};

/// The fields of a code entry, each `None` when absent.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct CodeEntry {
    pub(crate) id: Option<Scalar>,
    pub(crate) phone_number: Option<Scalar>,
    pub(crate) otp: Option<Scalar>,
    pub(crate) created_at: Option<Scalar>,
    pub(crate) expires_at: Option<Scalar>,
    pub(crate) attempts: Option<Scalar>,
    /// Wrong guesses per client, as `key:count` pairs (hex keys) separated by commas.
    pub(crate) attempts_by_client: Option<Scalar>,
    pub(crate) verified: Option<Scalar>,
    pub(crate) user_id: Option<Scalar>,
    pub(crate) lang: Option<Scalar>,
    pub(crate) reset_token: Option<Scalar>,
}

/// A field's JSON value, a third of a [`Value`]'s size: no field of a code is an array or an
/// object, so those are only `Other` (and written as `null`, which the store never does).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Other,
}

impl Scalar {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A timestamp, as [`super::format::time_from_json`] reads one.
    pub(crate) fn time(&self) -> Option<Timestamp> {
        match self {
            Self::Number(n) => time_from_millis(n),
            Self::String(text) => time_from_text(text),
            _ => None,
        }
    }
}

impl From<Value> for Scalar {
    fn from(value: Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(b),
            Value::Number(n) => Self::Number(n),
            Value::String(text) => Self::String(text),
            Value::Array(_) | Value::Object(_) => Self::Other,
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null | Self::Other => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Number(n) => n.serialize(serializer),
            Self::String(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(n.into()))
            }
            // As `Value` reads one: a float JSON cannot hold is null.
            fn visit_f64<E>(self, f: f64) -> Result<Scalar, E> {
                Ok(Number::from_f64(f).map_or(Scalar::Null, Scalar::Number))
            }
            fn visit_str<E>(self, text: &str) -> Result<Scalar, E> {
                Ok(Scalar::String(text.to_owned()))
            }
            fn visit_string<E>(self, text: String) -> Result<Scalar, E> {
                Ok(Scalar::String(text))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// The keys, in the order they are written.
const KEYS: [&str; 11] = [
    "id",
    "phoneNumber",
    "otp",
    "createdAt",
    "expiresAt",
    "attempts",
    "attemptsByClient",
    "verified",
    "userId",
    "lang",
    "resetToken",
];

impl CodeEntry {
    fn fields(&self) -> [&Option<Scalar>; 11] {
        [
            &self.id,
            &self.phone_number,
            &self.otp,
            &self.created_at,
            &self.expires_at,
            &self.attempts,
            &self.attempts_by_client,
            &self.verified,
            &self.user_id,
            &self.lang,
            &self.reset_token,
        ]
    }

    fn field_mut(&mut self, index: usize) -> Option<&mut Option<Scalar>> {
        Some(match index {
            0 => &mut self.id,
            1 => &mut self.phone_number,
            2 => &mut self.otp,
            3 => &mut self.created_at,
            4 => &mut self.expires_at,
            5 => &mut self.attempts,
            6 => &mut self.attempts_by_client,
            7 => &mut self.verified,
            8 => &mut self.user_id,
            9 => &mut self.lang,
            10 => &mut self.reset_token,
            _ => return None,
        })
    }
}

impl Serialize for CodeEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.fields();
        let present = fields.iter().filter(|field| field.is_some()).count();
        let mut map = serializer.serialize_map(Some(present))?;
        for (key, field) in KEYS.iter().zip(fields) {
            if let Some(value) = field {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// A key of the entry: the index of a known one, or `None`.
struct Key(Option<usize>);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(Key(KEYS.iter().position(|known| *known == key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for CodeEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = CodeEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a code entry (an object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CodeEntry, A::Error> {
                let mut entry = CodeEntry::default();
                while let Some(Key(index)) = map.next_key()? {
                    match index.and_then(|index| entry.field_mut(index)) {
                        Some(field) => *field = Some(map.next_value()?),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(entry)
            }
        }
        deserializer.deserialize_map(EntryVisitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Map, json};

    use super::*;

    #[test]
    fn reads_what_a_map_reads_and_writes_in_a_fixed_order() {
        let text = r#"{"otp":"1","id":1,"extra":[1,{"a":2}],"userId":null,"id":"2","lang":"en",
            "attempts":-3,"createdAt":1.5,"verified":true,"resetToken":{"a":[1]},"expiresAt":[2]}"#;
        let entry: CodeEntry = serde_json::from_str(text).unwrap();
        let map: Map<String, Value> = serde_json::from_str(text).unwrap();
        let fields = entry.fields();
        for (key, field) in KEYS.iter().zip(fields) {
            assert_eq!(field, &map.get(*key).cloned().map(Scalar::from), "{key}");
        }
        let entry = CodeEntry {
            id: Some(Value::from("2").into()),
            otp: Some(Value::from("1").into()),
            user_id: Some(Value::Null.into()),
            lang: Some(Value::from("en").into()),
            ..CodeEntry::default()
        };
        assert_eq!(
            serde_json::to_value(&entry).unwrap(),
            json!({ "id": "2", "otp": "1", "userId": null, "lang": "en" })
        );
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"id":"2","otp":"1","userId":null,"lang":"en"}"#
        );
        assert!(serde_json::from_str::<CodeEntry>("[1]").is_err());
        assert!(serde_json::from_str::<CodeEntry>(r#"{"id":1,}"#).is_err());
    }
}
