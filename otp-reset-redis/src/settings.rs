//! What the store checks of its Redis at connect: eviction and durability.

use redis::Value;

use crate::link::{CallError, Link, call_error};

/// How Redis keeps what the store wrote, as `CONFIG GET` reported it at connect.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerSettings {
    /// `maxmemory-policy`: anything but `noeviction` may drop a phone's attempts and lockout.
    pub maxmemory_policy: Option<String>,
    /// `appendonly`: `yes` keeps an append-only file.
    pub appendonly: Option<String>,
    /// `appendfsync`: `always` syncs every write before answering, `everysec` once a second.
    pub appendfsync: Option<String>,
}

impl ServerSettings {
    /// Whether Redis may evict the store's keys when it runs out of memory.
    pub fn evicts(&self) -> bool {
        self.maxmemory_policy
            .as_deref()
            .is_some_and(|policy| policy != "noeviction")
    }

    /// What a Redis crash loses of what the store acknowledged, in words.
    pub fn durability(&self) -> &'static str {
        match (self.appendonly.as_deref(), self.appendfsync.as_deref()) {
            (Some("yes"), Some("always")) => {
                "AOF with appendfsync always: an acknowledged change survives a Redis crash"
            }
            (Some("yes"), Some("everysec")) => {
                "AOF with appendfsync everysec: a Redis or machine crash may lose the last second of changes (attempts, sends, lockouts)"
            }
            (Some("yes"), _) => {
                "AOF without regular syncs: a machine crash may lose up to ~30 s of changes"
            }
            _ => {
                "no AOF: a Redis restart loses every change since the last RDB snapshot (attempts, sends, lockouts)"
            }
        }
    }
}

/// Reads the settings; `None` when Redis refuses `CONFIG` (managed services often do).
pub(crate) async fn read(link: &Link) -> Result<Option<ServerSettings>, CallError> {
    let answer = link
        .run(|mut conn| async move {
            redis::cmd("CONFIG")
                .arg("GET")
                .arg("maxmemory-policy")
                .arg("appendonly")
                .arg("appendfsync")
                .query_async::<Value>(&mut conn)
                .await
                .map(Some)
                .or_else(|e| match e.kind() {
                    // A refused command (unknown, renamed away, no permission) is an answer.
                    redis::ErrorKind::Server(_) | redis::ErrorKind::Extension => Ok(None),
                    _ => Err(call_error(e)),
                })
        })
        .await?;
    let Some(answer) = answer else {
        return Ok(None);
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    match &answer {
        Value::Array(items) => {
            for pair in items.chunks(2) {
                if let [name, value] = pair
                    && let (Some(name), Some(value)) = (text(name), text(value))
                {
                    pairs.push((name, value));
                }
            }
        }
        Value::Map(items) => {
            for (name, value) in items {
                if let (Some(name), Some(value)) = (text(name), text(value)) {
                    pairs.push((name, value));
                }
            }
        }
        _ => return Ok(None),
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    Ok(Some(ServerSettings {
        maxmemory_policy: get("maxmemory-policy"),
        appendonly: get("appendonly"),
        appendfsync: get("appendfsync"),
    }))
}

/// Logs what the settings mean for the store.
pub(crate) fn report(link: &Link, settings: Option<&ServerSettings>) {
    let Some(settings) = settings else {
        tracing::info!(
            redis = %link.url(),
            "Redis refused CONFIG GET: cannot check its eviction policy and durability; make sure maxmemory-policy is noeviction"
        );
        return;
    };
    if settings.evicts() {
        tracing::warn!(
            redis = %link.url(),
            policy = settings.maxmemory_policy.as_deref().unwrap_or(""),
            "Redis may evict keys when full, which silently forgets a phone's attempts and lockout: set `maxmemory-policy noeviction` (CONFIG SET maxmemory-policy noeviction, and in redis.conf)"
        );
    }
    tracing::info!(redis = %link.url(), durability = settings.durability(), "Redis durability");
}
