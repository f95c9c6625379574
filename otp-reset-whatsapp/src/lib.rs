//! A WhatsApp Web sender for [`otp_reset`]: delivers the codes from the site's own WhatsApp
//! account by driving WhatsApp Web in headless Chromium through `chromiumoxide`, as
//! whatsapp-web.js does on Puppeteer.
//!
//! - **One task owns the browser**: Chromium, chromiumoxide's handler, the page and the child
//!   process belong to one actor task; [`WhatsAppSender`] talks to it through a channel and
//!   implements [`otp_reset::Sender`].
//! - **QR login once**: the first start shows a QR code carrying WhatsApp Web's whole linking
//!   code (reference, keys and platform, as whatsapp-web.js builds it) on the terminal and
//!   through [`WhatsAppSender::qr_codes`] for an admin page; after one scan the session lives in
//!   a browser profile (`.otp-reset-whatsapp/session-<id>`, mode 0700) and a restart comes up
//!   ready without a QR code. A lock keeps a second process off the profile.
//! - **A browser WhatsApp Web accepts**: the installed Chromium's own user agent as its desktop
//!   build gives it (a headless one is turned away), `navigator.webdriver` hidden.
//! - **States** (`UNINITIALIZED → INITIALIZING → WAITING_FOR_QR → AUTHENTICATING →
//!   AUTHENTICATED → READY`, and `DISCONNECTED`, `LOGGED_OUT`, `CONFLICT`, `RECONNECTING`,
//!   `FAILED`) on a watch channel ([`WhatsAppSender::states`]); each transition is logged, and
//!   [`otp_reset::Sender::status`] keeps the last problem in view until the next one.
//! - **One [`Adapter`]** holds all knowledge of WhatsApp Web's internals, in eight scripts that
//!   name the public source of every call, loadable from a folder without a rebuild. WhatsApp
//!   Web's modules are required stage by stage (login modules while unpaired, send modules once
//!   synced); only a stage that stays without them for a while is an incompatible version.
//! - **Sends** reach numbers that never chatted with the site (a chat is found or created), wait
//!   for WhatsApp's server acknowledgement, are never retried once the message may exist, and
//!   go one at a time through one page with a minimum spacing per number.
//! - **Look-ups** ([`Sender::lookup`]) ask WhatsApp Web's `queryWidExists`, as a send does
//!   before it creates a message, and send nothing; `Unknown` while not READY.
//! - **Delivery reports** ([`Sender::report_deliveries_to`]): each message sent (or found by
//!   [`Sender::find_sent`]) is reported under the id its send returned: `Sent` at WhatsApp's
//!   server acknowledgement (before the send returns), `Delivered` at ack 2 (the recipient's
//!   phone), `Read` at ack 3 or 4, `Failed` at an error ack (-1 and below). The sender keeps the
//!   list and asks the page for the current acks every second while any is followed, so a page
//!   reload or a browser relaunch loses nothing (a message sent before it is read from the
//!   profile's local database); a message is followed until read or failed, for at most
//!   10 minutes, and at most 1000 at once, the oldest dropped first
//!   ([`WhatsAppConfig::with_delivery_reports`]). A report the service cannot take at once is
//!   dropped, never waited for.
//! - **Keyed sends** for a queue worker that may die mid-send: a fresh id from WhatsApp Web's
//!   own `MsgKey.newId()` ([`Sender::new_message_key`]), a message created under it
//!   ([`Sender::send_as`]), and a look-up by it ([`Sender::find_sent`]) that finds a message
//!   created before a crash, since WhatsApp Web keeps it in the profile's local database.
//! - **Recovery**: a crashed browser or page, or a page that stops answering, is relaunched with
//!   exponential backoff and jitter; a logout from the phone clears the session and shows a new
//!   QR code; a planned relaunch after a day or many sends keeps memory bounded. A banned
//!   account (`TOS_BLOCK`, `SMB_TOS_BLOCK`), an outdated client (`DEPRECATED_VERSION`) or a
//!   blocked network (`PROXYBLOCK`) ends in `FAILED` with the reason, never in a relaunch loop.
//!
//! A queue worker's keyed send, which a worker that took the message up again after a crash
//! never delivers twice:
//!
//! ```no_run
//! use otp_reset::{Message, PhoneNumber, Sender, SentLookup};
//! use otp_reset_whatsapp::WhatsAppSender;
//!
//! # async fn work(sender: WhatsAppSender, to: PhoneNumber, message: Message) -> Result<(), otp_reset::SendError> {
//! // Before the first attempt: a key from WhatsApp Web itself, recorded with the message.
//! let Some(key) = sender.new_message_key(&to).await? else {
//!     return Ok(()); // a sender that cannot name its messages
//! };
//! // ... record `key.as_str()` in the queue, then:
//! sender.send_as(&to, &message, &key).await?;
//! // A worker that claims the message again asks first:
//! if sender.find_sent(&to, &key).await? == SentLookup::NotFound {
//!     sender.send_as(&to, &message, &key).await?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! WhatsApp does not allow unofficial clients: an account used this way can be banned. Use a
//! number dedicated to the site, send only what users asked for, and keep the volume modest.
//!
//! ```no_run
//! use otp_reset_whatsapp::{WhatsAppConfig, WhatsAppSender};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), otp_reset_whatsapp::Error> {
//! let sender = WhatsAppSender::start(WhatsAppConfig::new().with_session_id("tiket-kita"))?;
//! // mount it: ForgotPassword::builder(users, otps, sender.clone())…
//! # sender.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod actor;
pub mod adapter;
mod config;
mod failure;
mod profile;
mod qr;
mod status;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use otp_reset::{
    Delivered, DeliveryReports, Message, MessageKey, PhoneNumber, Presence, SendError, Sender,
    SenderState, SenderStatus, SentLookup,
};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use adapter::{ADAPTER_VERSION, Adapter, AdapterError};
pub use config::{ConfigError, WhatsAppConfig};
pub use qr::QrCode;

use crate::actor::{Actor, Command, is_message_id};
use crate::profile::Profile;
use crate::status::Shared;

/// Why the sender could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process uses this session's browser profile.
    #[error(
        "the WhatsApp session {0} is in use by another process; stop it first or use another session id"
    )]
    ProfileInUse(PathBuf),
    /// The profile folder could not be created or locked.
    #[error("cannot use the WhatsApp session folder {dir}: {source}")]
    Profile {
        /// The folder.
        dir: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// Chromium is not installed where the settings say.
    #[error(
        "Chromium not found at {0}: install Debian's package `chromium` (apt-get install chromium)"
    )]
    ChromiumMissing(PathBuf),
    /// A setting is out of its range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Started outside a tokio runtime.
    #[error("the WhatsApp sender must be started inside a tokio runtime")]
    NoRuntime,
}

/// Sends messages over WhatsApp Web. Cheap to clone; clones share one browser.
#[derive(Clone, Debug)]
pub struct WhatsAppSender {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    qr_codes: watch::Receiver<Option<QrCode>>,
    actor: Mutex<Option<JoinHandle<()>>>,
    template: Option<String>,
    reply_timeout: Duration,
}

impl WhatsAppSender {
    /// Locks the session's profile and starts the actor that launches Chromium and opens
    /// WhatsApp Web. Returns at once; watch [`WhatsAppSender::states`] for READY. Refuses
    /// settings out of their range ([`Error::Config`]).
    pub fn start(config: WhatsAppConfig) -> Result<Self, Error> {
        config.check()?;
        tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        if !config.chromium.exists() {
            return Err(Error::ChromiumMissing(config.chromium.clone()));
        }
        let profile = Profile::open(&config.profile_dir())?;
        let (commands, receiver) = mpsc::channel(config.queue_capacity);
        let shared = Arc::new(Shared::new(config.adapter.version().to_owned()));
        let (qr, qr_codes) = watch::channel(None);
        let reply_timeout =
            config.send_timeout + config.recipient_spacing + config.evaluate_timeout * 2;
        let template = config.template.clone();
        let actor = Actor {
            config,
            profile,
            shared: Arc::clone(&shared),
            qr,
            commands: receiver,
            last_sent: Default::default(),
            reached_ready: false,
            user_agent: None,
            relaunched_for_version: false,
            following: Default::default(),
        };
        let actor = tokio::spawn(actor.run());
        Ok(Self {
            inner: Arc::new(Inner {
                commands,
                shared,
                qr_codes,
                actor: Mutex::new(Some(actor)),
                template,
                reply_timeout,
            }),
        })
    }

    /// The state, now and as it changes.
    pub fn states(&self) -> watch::Receiver<SenderState> {
        self.inner.shared.subscribe()
    }

    /// The QR code to scan, while one is shown (a secret: show it to the operator only).
    pub fn qr_codes(&self) -> watch::Receiver<Option<QrCode>> {
        self.inner.qr_codes.clone()
    }

    /// Waits until the sender is in a state `accept` likes, or `timeout` passes.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        accept: impl Fn(&SenderState) -> bool,
    ) -> Result<SenderState, SenderState> {
        let mut states = self.states();
        let reached = tokio::time::timeout(timeout, states.wait_for(|state| accept(state))).await;
        match reached {
            Ok(Ok(state)) => Ok(state.clone()),
            _ => Err(self.inner.shared.state()),
        }
    }

    /// Closes WhatsApp Web and Chromium, kills and reaps the process, and waits for the actor.
    pub async fn shutdown(&self) {
        let (done, finished) = oneshot::channel();
        if self
            .inner
            .commands
            .send(Command::Shutdown { done })
            .await
            .is_ok()
        {
            let _ = finished.await;
        }
        let actor = self
            .inner
            .actor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(actor) = actor {
            let _ = actor.await;
        }
    }

    /// Hands `command` (made around `reply`) to the actor and waits for its answer.
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, SendError>>) -> Command,
    ) -> Result<T, SendError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .commands
            .try_send(command(reply))
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SendError::QueueFull,
                mpsc::error::TrySendError::Closed(_) => SendError::NotReady(self.state()),
            })?;
        match tokio::time::timeout(self.inner.reply_timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SendError::NotReady(self.state())),
            Err(_) => Err(SendError::Timeout(self.inner.reply_timeout)),
        }
    }

    fn render(&self, message: &Message) -> String {
        match (&self.inner.template, message) {
            (Some(template), Message::Code { code, ttl, .. }) => template
                .replace("{code}", code.expose())
                .replace("{minutes}", &ttl.as_secs().div_ceil(60).to_string()),
            _ => message.text(),
        }
    }
}

#[async_trait::async_trait]
impl Sender for WhatsAppSender {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let text = self.render(message);
        self.ask(|reply| Command::Send {
            to: *to,
            text,
            key: None,
            reply,
        })
        .await
    }

    fn state(&self) -> SenderState {
        self.inner.shared.state()
    }

    fn status(&self) -> SenderStatus {
        self.inner.shared.status()
    }

    /// A fresh id from WhatsApp Web's own `MsgKey.newId()` (such as `3EB0C5F2A1D4E6B7C8D9E0`);
    /// [`SendError::NotReady`] unless READY.
    async fn new_message_key(&self, to: &PhoneNumber) -> Result<Option<MessageKey>, SendError> {
        let _ = to;
        let id = self.ask(|reply| Command::NewKey { reply }).await?;
        Ok(Some(MessageKey::new(id)))
    }

    /// Sends as [`Sender::send`] does, the message created under `key`; a key not of WhatsApp
    /// Web's form is refused before anything is sent.
    async fn send_as(
        &self,
        to: &PhoneNumber,
        message: &Message,
        key: &MessageKey,
    ) -> Result<Delivered, SendError> {
        let key = checked(key)?;
        let text = self.render(message);
        self.ask(|reply| Command::Send {
            to: *to,
            text,
            key: Some(key),
            reply,
        })
        .await
    }

    /// Looks the message up as whatsapp-web.js's `getMessageById` does: in memory, then in the
    /// profile's local database, so a message created before a crash is found after a restart
    /// on the same session. `Found` also for a message still pending (ack 0): it exists, and
    /// WhatsApp Web may still deliver it. A message WhatsApp refused (ack -1) is an error.
    async fn find_sent(&self, to: &PhoneNumber, key: &MessageKey) -> Result<SentLookup, SendError> {
        let key = checked(key)?;
        self.ask(|reply| Command::Find {
            to: *to,
            key,
            reply,
        })
        .await
    }

    /// Asks WhatsApp Web's `queryWidExists`, as a send does before it creates a message, and
    /// sends nothing. [`Presence::Unknown`] while the sender is not READY; a look-up that fails
    /// or times out is an error.
    async fn lookup(&self, to: &PhoneNumber) -> Result<Presence, SendError> {
        if !self.state().can_send() {
            return Ok(Presence::Unknown);
        }
        match self.ask(|reply| Command::Lookup { to: *to, reply }).await {
            Err(SendError::NotReady(_)) => Ok(Presence::Unknown),
            answer => answer,
        }
    }

    /// Keeps `reports` and, from now on, follows each message sent (and each found by
    /// [`Sender::find_sent`]): `Sent` once WhatsApp's server acknowledged it (before the send
    /// returns), `Delivered` when the recipient's phone did (ack 2), `Read` when it was read
    /// (ack 3 or 4), `Failed` for an error ack (-1 and below), each under the id the send
    /// returned. See [`WhatsAppConfig::with_delivery_reports`] for the bounds.
    fn report_deliveries_to(&self, reports: DeliveryReports) {
        self.inner.shared.set_deliveries(reports);
    }

    fn name(&self) -> &str {
        "whatsapp-web"
    }
}

/// The key as an id WhatsApp Web takes, or why not.
fn checked(key: &MessageKey) -> Result<String, SendError> {
    if is_message_id(key.as_str()) {
        Ok(key.as_str().to_owned())
    } else {
        Err(SendError::Failed(
            "not a WhatsApp Web message key (8 to 64 ASCII letters and digits)".into(),
        ))
    }
}
