//! Everything this crate knows about WhatsApp Web's internals, in one place.
//!
//! The sender never reads the page's DOM. It reads WhatsApp Web's own modules through
//! `window.require(...)`, as whatsapp-web.js does, with eight small scripts beside this file:
//!
//! | script | what it does |
//! | --- | --- |
//! | `probe.js` | installed on every document: the app's version, socket and sync state, the modules each stage needs, the whole QR linking code |
//! | `send.js` | one text message: number check, chat, message key (fresh, or the caller's id), send |
//! | `new-key.js` | a fresh message id from WhatsApp Web's own `MsgKey.newId()` |
//! | `find.js` | whether WhatsApp Web holds a message to a number under an id (`Msg.get`, then `Msg.getMessagesById`) |
//! | `ack.js` | a sent message's acknowledgement, woken by `change:ack` |
//! | `acks.js` | the current acknowledgements of messages sent earlier (in memory, else from the local database) |
//! | `lookup.js` | whether a number has a WhatsApp account, sending nothing (`queryWidExists`) |
//! | `refresh-qr.js` | fresh QR codes after WhatsApp Web went idle |
//!
//! Each call into WhatsApp Web names, in a comment, the public source it follows
//! (whatsapp-web.js, wppconnect's wa-js). When WhatsApp Web renames something, these scripts are
//! the one place to change, and an operator can follow without a rebuild: [`Adapter::from_dir`]
//! (the example server's `WHATSAPP_ADAPTER_DIR`) loads replacements from a folder. Until then the
//! probe names what is missing and the sender reports an incompatible version instead of hanging.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use serde::Deserialize;
use serde_json::Value;

/// The version of the scripts compiled into this crate: bump it with any change to them.
pub const ADAPTER_VERSION: &str = "4";

/// The scripts, by the file names a folder may replace them with.
const SCRIPTS: [(&str, &str); 8] = [
    ("probe.js", include_str!("probe.js")),
    ("send.js", include_str!("send.js")),
    ("new-key.js", include_str!("new-key.js")),
    ("find.js", include_str!("find.js")),
    ("ack.js", include_str!("ack.js")),
    ("refresh-qr.js", include_str!("refresh-qr.js")),
    ("acks.js", include_str!("acks.js")),
    ("lookup.js", include_str!("lookup.js")),
];

/// The file in an adapter folder that names its version.
const VERSION_FILE: &str = "VERSION";

/// The scripts the sender runs in WhatsApp Web, and their version. Cheap to clone.
///
/// ```
/// use otp_reset_whatsapp::Adapter;
///
/// assert_eq!(Adapter::builtin().version(), otp_reset_whatsapp::ADAPTER_VERSION);
/// ```
#[derive(Clone, Debug)]
pub struct Adapter(Arc<Scripts>);

#[derive(Debug)]
struct Scripts {
    version: String,
    probe: String,
    send: String,
    new_key: String,
    find: String,
    ack: String,
    refresh_qr: String,
    acks: String,
    lookup: String,
}

/// Why an adapter folder could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The folder or one of its files could not be read.
    #[error("cannot read the WhatsApp adapter file {path}: {source}")]
    Read {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The folder holds none of the adapter's scripts.
    #[error(
        "the WhatsApp adapter folder {0} holds none of probe.js, send.js, new-key.js, find.js, ack.js, refresh-qr.js, acks.js, lookup.js"
    )]
    Empty(PathBuf),
    /// A script or the version file is empty, or the version is not one short line.
    #[error("the WhatsApp adapter file {0} is empty or malformed")]
    Malformed(PathBuf),
}

impl Adapter {
    /// The scripts compiled into this crate.
    pub fn builtin() -> Self {
        Self::with(ADAPTER_VERSION.to_owned(), |_| None)
    }

    /// The scripts in `dir` (`probe.js`, `send.js`, `new-key.js`, `find.js`, `ack.js`,
    /// `refresh-qr.js`, `acks.js`, `lookup.js`), each falling
    /// back to the compiled-in one when the folder lacks it, so a fix to one script ships as one
    /// file. The version is the folder's `VERSION` file (one short line), or the compiled-in
    /// version with `+custom`.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<Self, AdapterError> {
        let dir = dir.as_ref();
        let read = |name: &str| -> Result<Option<String>, AdapterError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) if text.trim().is_empty() => Err(AdapterError::Malformed(path)),
                Ok(text) => Ok(Some(text)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(AdapterError::Read { path, source }),
            }
        };
        if let Err(source) = std::fs::read_dir(dir) {
            return Err(AdapterError::Read {
                path: dir.to_owned(),
                source,
            });
        }
        let mut found = Vec::new();
        for (name, _) in SCRIPTS {
            if let Some(text) = read(name)? {
                found.push((name, text));
            }
        }
        if found.is_empty() {
            return Err(AdapterError::Empty(dir.to_owned()));
        }
        let version = match read(VERSION_FILE)? {
            Some(text) => {
                let version = text.trim();
                let printable = version.chars().all(|c| c.is_ascii_graphic() || c == ' ');
                if version.len() > 64 || !printable {
                    return Err(AdapterError::Malformed(dir.join(VERSION_FILE)));
                }
                version.to_owned()
            }
            None => format!("{ADAPTER_VERSION}+custom"),
        };
        Ok(Self::with(version, |wanted| {
            found
                .iter()
                .find(|(name, _)| *name == wanted)
                .map(|(_, text)| text.clone())
        }))
    }

    fn with(version: String, mut replacement: impl FnMut(&str) -> Option<String>) -> Self {
        let mut script = |name: &str| {
            replacement(name).unwrap_or_else(|| {
                SCRIPTS
                    .iter()
                    .find(|(builtin, _)| *builtin == name)
                    .map(|(_, text)| (*text).to_owned())
                    .unwrap_or_default()
            })
        };
        Self(Arc::new(Scripts {
            probe: script("probe.js"),
            send: script("send.js"),
            new_key: script("new-key.js"),
            find: script("find.js"),
            ack: script("ack.js"),
            refresh_qr: script("refresh-qr.js"),
            acks: script("acks.js"),
            lookup: script("lookup.js"),
            version,
        }))
    }

    /// The adapter's version, as `bot-status` reports it.
    pub fn version(&self) -> &str {
        &self.0.version
    }

    /// The probe, to install on every new document.
    pub(crate) fn probe_script(&self) -> &str {
        &self.0.probe
    }
}

impl Default for Adapter {
    fn default() -> Self {
        Self::builtin()
    }
}

/// What the probe saw.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Probe {
    /// The probe is not on this document (a navigation replaced it).
    pub(crate) absent: bool,
    /// The app has not defined its module system or version yet.
    pub(crate) loading: bool,
    /// WhatsApp Web's version (`WAWebUpdaterVersion`, else `window.Debug.VERSION`).
    pub(crate) version: Option<String>,
    /// Which modules the probe required: `base`, `login` (unpaired) or `send` (synced).
    pub(crate) stage: Option<String>,
    /// What that stage needs and `window.require` does not give: `Module` or `Module.member`.
    pub(crate) missing: Vec<String>,
    /// `WAWebSocketModel.Socket.state`.
    pub(crate) socket: Option<String>,
    /// `WAWebSocketModel.Socket.hasSynced`.
    pub(crate) synced: bool,
    /// The whole linking code the QR code must carry, while unpaired.
    pub(crate) link: Option<String>,
    /// Why the linking code could not be built.
    pub(crate) link_error: Option<String>,
    /// The phone logged this session out (WhatsApp Web's logout command, or its reload after
    /// one).
    pub(crate) logged_out: bool,
}

/// A script failed or did not answer in time.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScriptError {
    #[error("the page did not answer within {0:?}")]
    Timeout(Duration),
    #[error("evaluating in the page failed: {0}")]
    Evaluate(String),
    #[error("the page answered something unexpected: {0}")]
    Unexpected(String),
}

async fn evaluate(
    page: &Page,
    expression: String,
    timeout: Duration,
) -> Result<Value, ScriptError> {
    let params = EvaluateParams::builder()
        .expression(expression)
        .await_promise(true)
        .return_by_value(true)
        .build()
        .map_err(ScriptError::Evaluate)?;
    let result = tokio::time::timeout(timeout, page.evaluate(params))
        .await
        .map_err(|_| ScriptError::Timeout(timeout))?
        .map_err(|e| ScriptError::Evaluate(e.to_string()))?;
    Ok(result.value().cloned().unwrap_or(Value::Null))
}

/// Calls the script `function` (a function expression) with `arguments`.
async fn call(
    page: &Page,
    function: &str,
    arguments: impl serde::Serialize,
    timeout: Duration,
) -> Result<Value, ScriptError> {
    // A tuple serializes as an array, spread into the call; `()` serializes as `null`, which
    // cannot be spread: no arguments.
    let arguments = match serde_json::to_value(&arguments) {
        Ok(Value::Null) => "[]".to_owned(),
        Ok(value @ Value::Array(_)) => value.to_string(),
        Ok(value) => format!("[{value}]"),
        Err(error) => return Err(ScriptError::Unexpected(error.to_string())),
    };
    evaluate(
        page,
        format!("({})(...{arguments})", function.trim()),
        timeout,
    )
    .await
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, ScriptError> {
    serde_json::from_value(value).map_err(|e| ScriptError::Unexpected(e.to_string()))
}

impl Adapter {
    /// Runs the probe, installing it first if this document lacks it.
    pub(crate) async fn probe(&self, page: &Page, timeout: Duration) -> Result<Probe, ScriptError> {
        const READ: &str = "window.__otpReset && typeof window.__otpReset.probe === 'function' \
                            ? window.__otpReset.probe() : { absent: true }";
        let mut value = evaluate(page, READ.into(), timeout).await?;
        if value.get("absent").and_then(Value::as_bool) == Some(true) {
            evaluate(page, self.0.probe.clone(), timeout).await?;
            value = evaluate(page, READ.into(), timeout).await?;
        }
        parse(value)
    }

    /// Creates and sends one text message to `digits` (E.164 digits without `+`), under
    /// `message_id` when given (from [`Adapter::new_key`]) and under a fresh id otherwise.
    pub(crate) async fn send(
        &self,
        page: &Page,
        digits: &str,
        text: &str,
        message_id: Option<&str>,
        timeout: Duration,
    ) -> Result<Created, ScriptError> {
        let arguments = (digits, text, message_id);
        let answer: Answer = parse(call(page, &self.0.send, arguments, timeout).await?)?;
        match (answer.id, answer.error.as_deref()) {
            (Some(id), _) => Ok(Created::Message(id)),
            (None, Some("not_registered")) => Ok(Created::NotRegistered),
            (None, error) => Err(answer_error(error, &answer.missing)),
        }
    }

    /// A fresh message id from WhatsApp Web's own `MsgKey.newId()`.
    pub(crate) async fn new_key(
        &self,
        page: &Page,
        timeout: Duration,
    ) -> Result<String, ScriptError> {
        let answer: Answer = parse(call(page, &self.0.new_key, (), timeout).await?)?;
        match (answer.id, answer.error.as_deref()) {
            (Some(id), _) => Ok(id),
            (None, error) => Err(answer_error(error, &answer.missing)),
        }
    }

    /// Whether WhatsApp Web holds a message to `digits` created under `message_id`.
    pub(crate) async fn find(
        &self,
        page: &Page,
        digits: &str,
        message_id: &str,
        timeout: Duration,
    ) -> Result<Found, ScriptError> {
        #[derive(Deserialize)]
        struct FindAnswer {
            found: Option<bool>,
            id: Option<String>,
            ack: Option<i64>,
            error: Option<String>,
            #[serde(default)]
            missing: Vec<String>,
        }
        let answer: FindAnswer =
            parse(call(page, &self.0.find, (digits, message_id), timeout).await?)?;
        match (answer.found, answer.id, answer.error.as_deref()) {
            (Some(true), Some(id), _) => Ok(Found::Message {
                id,
                ack: answer.ack,
            }),
            (Some(false), _, _) => Ok(Found::Nothing),
            (None, _, Some("not_registered")) => Ok(Found::NotRegistered),
            (_, _, error) => Err(answer_error(error, &answer.missing)),
        }
    }

    /// The acknowledgement of message `id`, waiting up to `wait` for a pending one to move.
    pub(crate) async fn ack(
        &self,
        page: &Page,
        id: &str,
        wait: Duration,
        timeout: Duration,
    ) -> Result<Ack, ScriptError> {
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        parse(call(page, &self.0.ack, (id, wait_ms), timeout).await?)
    }

    /// Whether `digits` (E.164 digits without `+`) has a WhatsApp account, sending nothing.
    pub(crate) async fn lookup(
        &self,
        page: &Page,
        digits: &str,
        timeout: Duration,
    ) -> Result<bool, ScriptError> {
        #[derive(Deserialize)]
        struct LookupAnswer {
            registered: Option<bool>,
            error: Option<String>,
            #[serde(default)]
            missing: Vec<String>,
        }
        let answer: LookupAnswer = parse(call(page, &self.0.lookup, (digits,), timeout).await?)?;
        match answer.registered {
            Some(registered) => Ok(registered),
            None => Err(answer_error(answer.error.as_deref(), &answer.missing)),
        }
    }

    /// The current acknowledgement of each message in `ids` (serialized keys), in order:
    /// `None` for one WhatsApp Web does not hold.
    pub(crate) async fn acks(
        &self,
        page: &Page,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<Option<i64>>, ScriptError> {
        #[derive(Deserialize)]
        struct AcksAnswer {
            acks: Option<Vec<Option<i64>>>,
            error: Option<String>,
            #[serde(default)]
            missing: Vec<String>,
        }
        let answer: AcksAnswer = parse(call(page, &self.0.acks, (ids,), timeout).await?)?;
        match answer.acks {
            Some(acks) if acks.len() == ids.len() => Ok(acks),
            Some(acks) => Err(ScriptError::Unexpected(format!(
                "{} acknowledgements for {} messages",
                acks.len(),
                ids.len()
            ))),
            None => Err(answer_error(answer.error.as_deref(), &answer.missing)),
        }
    }

    /// Asks WhatsApp Web for fresh QR codes.
    pub(crate) async fn refresh_qr(
        &self,
        page: &Page,
        timeout: Duration,
    ) -> Result<(), ScriptError> {
        call(page, &self.0.refresh_qr, (), timeout).await.map(drop)
    }
}

/// What `send.js` and `new-key.js` answer.
#[derive(Deserialize)]
struct Answer {
    id: Option<String>,
    error: Option<String>,
    #[serde(default)]
    missing: Vec<String>,
}

/// A script's answer that is neither a result nor an expected refusal.
fn answer_error(error: Option<&str>, missing: &[String]) -> ScriptError {
    match error {
        Some("missing") => {
            ScriptError::Unexpected(format!("WhatsApp Web lacks {}", missing.join(", ")))
        }
        error => ScriptError::Unexpected(format!("{error:?}")),
    }
}

/// What `find.js` answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// WhatsApp Web holds the message: its serialized key and its ack (-1 to 3).
    Message { id: String, ack: Option<i64> },
    /// WhatsApp Web holds no message under that id.
    Nothing,
    /// The number has no WhatsApp account (nothing can have been sent to it).
    NotRegistered,
}

/// What `send.js` answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Created {
    /// The message exists, with this id.
    Message(String),
    /// The number has no WhatsApp account; nothing was created.
    NotRegistered,
}

/// What `ack.js` answered.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct Ack {
    /// -1 error, 0 pending, 1 server, 2 device, 3 read; `None` when unknown to the page.
    pub(crate) ack: Option<i64>,
    /// The send result (`OK`, `ERROR_…`) once known.
    pub(crate) result: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir()
            .join("otp-reset-whatsapp-adapter-tests")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_folder_replaces_only_the_scripts_it_holds() {
        let dir = folder("partial");
        std::fs::write(dir.join("send.js"), "async () => ({ id: 'x' })").unwrap();
        let adapter = Adapter::from_dir(&dir).unwrap();
        assert_eq!(adapter.0.send, "async () => ({ id: 'x' })");
        assert_eq!(adapter.0.probe, include_str!("probe.js"));
        assert_eq!(adapter.version(), format!("{ADAPTER_VERSION}+custom"));
    }

    #[test]
    fn a_folder_names_its_version() {
        let dir = folder("versioned");
        std::fs::write(dir.join("probe.js"), "(() => {})()").unwrap();
        std::fs::write(dir.join("VERSION"), "2.1-hotfix\n").unwrap();
        assert_eq!(Adapter::from_dir(&dir).unwrap().version(), "2.1-hotfix");
    }

    #[test]
    fn a_bad_folder_is_refused_with_its_reason() {
        let missing = folder("gone").join("nothing-here");
        assert!(matches!(
            Adapter::from_dir(&missing),
            Err(AdapterError::Read { .. })
        ));
        let empty = folder("empty");
        assert!(matches!(
            Adapter::from_dir(&empty),
            Err(AdapterError::Empty(_))
        ));
        std::fs::write(empty.join("ack.js"), "  \n").unwrap();
        assert!(matches!(
            Adapter::from_dir(&empty),
            Err(AdapterError::Malformed(_))
        ));
    }
}
