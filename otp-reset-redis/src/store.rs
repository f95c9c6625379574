//! [`RedisOtpStore`]: each [`OtpStore`] step is one Lua script on one key per phone.

use std::sync::{Arc, LazyLock};

use otp_reset::store::{
    ClientKey, CodeRecord, ConsumeOutcome, IssueOutcome, NewCode, Proof, Refusal, StandIns,
    StoreError, VerifyOutcome,
};
use otp_reset::{Digest, OtpId, OtpRules, OtpStore, PhoneNumber, Timestamp};
use redis::{Script, Value};

use crate::codec::{
    self, answer, code_from_json, code_to_json, count, digest_hex, key_hex, millis, rules_args,
};
use crate::link::{CallError, Link, call_error};
use crate::settings::{self, ServerSettings};
use crate::{ConnectError, RedisOptions};

/// The scripts, each the shared `records.lua` (the reference semantics) and one step.
struct Scripts {
    issue: Script,
    verify: Script,
    consume: Script,
    restore: Script,
    purge: Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    issue: Script::new(concat!(
        include_str!("lua/records.lua"),
        include_str!("lua/issue.lua")
    )),
    verify: Script::new(concat!(
        include_str!("lua/records.lua"),
        include_str!("lua/verify.lua")
    )),
    consume: Script::new(concat!(
        include_str!("lua/records.lua"),
        include_str!("lua/consume.lua")
    )),
    restore: Script::new(concat!(
        include_str!("lua/records.lua"),
        include_str!("lua/restore.lua")
    )),
    purge: Script::new(concat!(
        include_str!("lua/records.lua"),
        include_str!("lua/purge.lua")
    )),
});

/// Keys [`OtpStore::purge_expired`] visits per call at most; the next call goes on from there.
const PURGE_KEYS_PER_CALL: usize = 10_000;

/// Codes and per-phone limits in Redis, shared by every server that points at it.
///
/// Each [`OtpStore`] step is one Lua script that reads and writes one key per phone
/// (`<prefix>phone:<E.164 digits>`), so it is atomic and Redis Cluster-safe; the scripts mirror
/// [`otp_reset::store::PhoneRecords`] line by line. Every key expires by itself once nothing in it
/// limits anything. Clones share one connection. See the [crate docs](crate).
#[derive(Clone, Debug)]
pub struct RedisOtpStore {
    link: Link,
    prefix: Arc<str>,
    settings: Option<ServerSettings>,
    expiry_margin_ms: u64,
    purge_cursor: Arc<std::sync::Mutex<u64>>,
}

impl RedisOtpStore {
    /// A store on the Redis of `options`.
    ///
    /// Checks Redis's eviction policy and durability when it lets `CONFIG GET` through and logs
    /// what they mean (a warning for an evicting policy: the store works, but a full Redis may
    /// forget a phone's attempts and lockout). Redis being down is no error here: the store
    /// answers [`StoreError::Unavailable`] until it is up, and reconnects by itself. Fails only
    /// on options it cannot use.
    ///
    /// ```no_run
    /// use otp_reset_redis::{RedisOptions, RedisOtpStore};
    ///
    /// # async fn run() -> Result<(), otp_reset_redis::ConnectError> {
    /// let store = RedisOtpStore::connect(RedisOptions::new("redis://127.0.0.1:6379")).await?;
    /// assert!(store.failure().is_none());
    /// # Ok(()) }
    /// ```
    pub async fn connect(options: RedisOptions) -> Result<Self, ConnectError> {
        let link = Link::open(&options)?;
        let settings = match settings::read(&link).await {
            Ok(settings) => {
                settings::report(&link, settings.as_ref());
                settings
            }
            Err(error) => {
                tracing::warn!(
                    redis = %link.url(),
                    %error,
                    "Redis cannot be reached at start; the OTP store answers unavailable until it can"
                );
                None
            }
        };
        Ok(Self {
            link,
            prefix: options.key_prefix.into(),
            settings,
            expiry_margin_ms: codec::ms(options.expiry_margin),
            purge_cursor: Arc::new(std::sync::Mutex::new(0)),
        })
    }

    /// Why the store cannot take changes now (the last call failed and none succeeded since),
    /// for a health check; `None` when it can.
    ///
    /// ```no_run
    /// # use otp_reset_redis::RedisOtpStore;
    /// fn healthy(store: &RedisOtpStore) -> Result<(), String> {
    ///     store.failure().map_or(Ok(()), Err)
    /// }
    /// ```
    pub fn failure(&self) -> Option<String> {
        self.link.failure()
    }

    /// Redis's eviction and durability settings as read at connect, if Redis let them be read.
    pub fn server_settings(&self) -> Option<&ServerSettings> {
        self.settings.as_ref()
    }

    pub(crate) fn link(&self) -> &Link {
        &self.link
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of one phone's records.
    pub fn phone_key(&self, phone: &PhoneNumber) -> String {
        format!("{}phone:{}", self.prefix, phone.digits())
    }

    async fn eval(
        &self,
        script: &'static Script,
        key: String,
        mut args: Vec<String>,
    ) -> Result<Value, CallError> {
        args.push(self.expiry_margin_ms.to_string());
        self.link
            .run(|mut conn| async move {
                let mut invocation = script.key(key);
                for arg in &args {
                    invocation.arg(arg);
                }
                invocation
                    .invoke_async::<Value>(&mut conn)
                    .await
                    .map_err(call_error)
            })
            .await
    }
}

fn store_error(error: CallError) -> StoreError {
    match error {
        CallError::Corrupt(reason) => StoreError::Corrupt(reason),
        unavailable @ CallError::Unavailable(_) => StoreError::Unavailable(Box::new(unavailable)),
    }
}

fn with_rules(rules: &OtpRules, now: Timestamp) -> Vec<String> {
    let mut args: Vec<String> = rules_args(rules).iter().map(u64::to_string).collect();
    args.push(now.as_millis().to_string());
    args
}

/// The answers `wrong_guess` in `records.lua` gives, as (attempts left, failures) or the
/// tag's meaning.
enum Guess {
    NoCode,
    Expired,
    Exhausted,
    Mismatch(u32, u32),
    LockedOut(std::time::Duration),
}

fn guess(tag: &str, rest: &[Value]) -> Result<Guess, CallError> {
    Ok(match tag {
        "nocode" => Guess::NoCode,
        "expired" => Guess::Expired,
        "exhausted" => Guess::Exhausted,
        "mismatch" => Guess::Mismatch(count(rest.first())?, count(rest.get(1))?),
        "locked" => Guess::LockedOut(millis(rest.first())?),
        other => return Err(CallError::Corrupt(format!("unknown answer {other:?}"))),
    })
}

impl OtpStore for RedisOtpStore {
    async fn issue(
        &self,
        phone: &PhoneNumber,
        code: NewCode,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<IssueOutcome, StoreError> {
        let mut args = with_rules(rules, now);
        args.push(code.otp_id.as_u64().to_string());
        args.push(digest_hex(&code.digest));
        args.push(code.user_id.map(|id| id.0).unwrap_or_default());
        args.push(key_hex(code.pair.as_u64()));
        args.push(code.lang.code().to_owned());
        args.push(StandIns::MAX_PAIRS.to_string());
        let value = self
            .eval(&SCRIPTS.issue, self.phone_key(phone), args)
            .await
            .map_err(store_error)?;
        let read = || -> Result<IssueOutcome, CallError> {
            let (tag, rest) = answer(value)?;
            let retry_after = || millis(rest.first());
            Ok(match tag.as_str() {
                "issued" => IssueOutcome::Issued,
                "cooldown" => IssueOutcome::Refused(Refusal::Cooldown {
                    retry_after: retry_after()?,
                }),
                "cap" => IssueOutcome::Refused(Refusal::SendCap {
                    retry_after: retry_after()?,
                }),
                "locked" => IssueOutcome::Refused(Refusal::LockedOut {
                    retry_after: retry_after()?,
                }),
                other => return Err(CallError::Corrupt(format!("unknown answer {other:?}"))),
            })
        };
        read().map_err(store_error)
    }

    async fn verify(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        candidate: &Digest,
        reset_token: &Digest,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<VerifyOutcome, StoreError> {
        let mut args = with_rules(rules, now);
        args.push(key_hex(client.as_u64()));
        args.push(digest_hex(candidate));
        args.push(digest_hex(reset_token));
        let value = self
            .eval(&SCRIPTS.verify, self.phone_key(phone), args)
            .await
            .map_err(store_error)?;
        let read = || -> Result<VerifyOutcome, CallError> {
            let (tag, rest) = answer(value)?;
            if tag == "verified" {
                let id = codec::text(rest.first().unwrap_or(&Value::Nil))?;
                let id = id
                    .parse()
                    .map_err(|_| CallError::Corrupt("a bad code id".to_owned()))?;
                return Ok(VerifyOutcome::Verified {
                    otp_id: OtpId::from_u64(id),
                });
            }
            Ok(match guess(&tag, &rest)? {
                Guess::NoCode => VerifyOutcome::NoCode,
                Guess::Expired => VerifyOutcome::Expired,
                Guess::Exhausted => VerifyOutcome::AttemptsExhausted,
                Guess::Mismatch(attempts_left, consecutive_failures) => VerifyOutcome::Mismatch {
                    attempts_left,
                    consecutive_failures,
                },
                Guess::LockedOut(retry_after) => VerifyOutcome::LockedOut { retry_after },
            })
        };
        read().map_err(store_error)
    }

    async fn consume(
        &self,
        phone: &PhoneNumber,
        client: ClientKey,
        proof: Proof,
        now: Timestamp,
        rules: &OtpRules,
    ) -> Result<ConsumeOutcome, StoreError> {
        let mut args = with_rules(rules, now);
        args.push(key_hex(client.as_u64()));
        let (kind, digest) = match proof {
            Proof::Code(digest) => ("code", digest),
            Proof::ResetToken(digest) => ("token", digest),
        };
        args.push(kind.to_owned());
        args.push(digest_hex(&digest));
        let value = self
            .eval(&SCRIPTS.consume, self.phone_key(phone), args)
            .await
            .map_err(store_error)?;
        let read = || -> Result<ConsumeOutcome, CallError> {
            let (tag, rest) = answer(value)?;
            match tag.as_str() {
                "consumed" => {
                    return Ok(ConsumeOutcome::Consumed(code_from_json(codec::bytes(
                        rest.first(),
                    )?)?));
                }
                "notverified" => return Ok(ConsumeOutcome::NotVerified),
                _ => {}
            }
            Ok(match guess(&tag, &rest)? {
                Guess::NoCode => ConsumeOutcome::NoCode,
                Guess::Expired => ConsumeOutcome::Expired,
                Guess::Exhausted => ConsumeOutcome::AttemptsExhausted,
                Guess::Mismatch(attempts_left, consecutive_failures) => ConsumeOutcome::Mismatch {
                    attempts_left,
                    consecutive_failures,
                },
                Guess::LockedOut(retry_after) => ConsumeOutcome::LockedOut { retry_after },
            })
        };
        read().map_err(store_error)
    }

    async fn restore(
        &self,
        phone: &PhoneNumber,
        record: CodeRecord,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let args = vec![
            now.as_millis().to_string(),
            code_to_json(&record).map_err(store_error)?,
        ];
        let value = self
            .eval(&SCRIPTS.restore, self.phone_key(phone), args)
            .await
            .map_err(store_error)?;
        Ok(codec::int(Some(&value)).map_err(store_error)? == 1)
    }

    /// Redis expires every key by itself once nothing in it limits anything; this visits the
    /// phone keys under the prefix (at most 10,000 per call, going on from there the next
    /// call) and purges each with one script, as [`otp_reset::PhoneLedger::purge`] and
    /// [`StandIns::purge`] would.
    async fn purge_expired(&self, now: Timestamp, rules: &OtpRules) -> Result<usize, StoreError> {
        let pattern = format!("{}phone:*", escape_glob(&self.prefix));
        let mut cursor = *self
            .purge_cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut visited = 0;
        let mut purged = 0;
        loop {
            let pattern = pattern.clone();
            let (next, keys): (u64, Vec<String>) = self
                .link
                .run(|mut conn| async move {
                    redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(1000)
                        .query_async(&mut conn)
                        .await
                        .map_err(call_error)
                })
                .await
                .map_err(store_error)?;
            for key in keys {
                let value = self
                    .eval(&SCRIPTS.purge, key, with_rules(rules, now))
                    .await
                    .map_err(store_error)?;
                purged += usize::try_from(codec::int(Some(&value)).map_err(store_error)?)
                    .unwrap_or(usize::MAX);
                visited += 1;
            }
            cursor = next;
            if cursor == 0 || visited >= PURGE_KEYS_PER_CALL {
                break;
            }
        }
        *self
            .purge_cursor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = cursor;
        Ok(purged)
    }
}

/// `prefix` with the glob characters of `SCAN MATCH` escaped.
fn escape_glob(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
