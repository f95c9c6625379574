//! Delivering messages to phones: the [`Sender`] trait, its states, and the console sender.

mod chain;
mod console;
mod drain;
pub(crate) mod handoff;
pub(crate) mod outbox;
mod report;

use std::fmt;
use std::time::Duration;

pub use chain::SenderChain;
pub use console::ConsoleSender;
pub use report::{DeliveryReport, DeliveryReports, DeliveryUpdate, Presence};

use crate::{Lang, OtpCode, PhoneNumber};

/// Delivers messages to phones (over WhatsApp Web in production).
///
/// The service never waits for a delivery: it hands each message to a bounded queue that one
/// task drains by calling [`Sender::send`], one message at a time. The sender is an
/// `Arc<dyn Sender>` rather than a type parameter because a server picks it at run time (console
/// in development, WhatsApp in production) and a send costs a network round trip, beside which a
/// boxed future is free; `async-trait` makes the async method object-safe.
///
/// ```
/// use otp_reset::{Delivered, Message, PhoneNumber, SendError, Sender, SenderState};
///
/// #[derive(Debug)]
/// struct Sms;
///
/// #[otp_reset::async_trait]
/// impl Sender for Sms {
///     async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
///         // call the SMS gateway with `to.digits()` and `message.text()` here
///         Ok(Delivered { message_id: None })
///     }
///
///     fn state(&self) -> SenderState {
///         SenderState::Ready
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Sender: Send + Sync + fmt::Debug + 'static {
    /// Delivers `message` to `to`, returning once the messaging service accepted it.
    ///
    /// An implementation must not deliver one call's message twice (no retry after the
    /// message may have been created), and must return within its own timeout.
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError>;

    /// The sender's current state.
    fn state(&self) -> SenderState;

    /// What `bot-status` reports: the state, and what explains it (the last problem, the
    /// versions in play). The default knows only the state.
    fn status(&self) -> SenderStatus {
        SenderStatus::new(self.state())
    }

    /// Whether a send now could succeed. While it is `false` the service refuses new codes
    /// with 503 (unless the development switch exposes codes).
    fn can_send(&self) -> bool {
        self.state().can_send()
    }

    /// Whether [`Sender::send`] only hands the message to a durable queue that outlives this
    /// process, and returns within milliseconds (a Redis Stream that a worker drains). The
    /// service then waits for the hand-off before it answers request-otp, so that an instance
    /// killed right after answering loses no code; for a pair that matches no user it waits for
    /// [`Sender::send_decoy`] instead, so that the answer's timing tells the pairs apart no more
    /// than before. The default is `false`: the service hands messages to its own in-process
    /// queue and answers at once.
    fn hands_off_durably(&self) -> bool {
        false
    }

    /// For a sender that [hands off durably](Sender::hands_off_durably): the same work as a
    /// hand-off (a queue entry of the same size), for a message that must never be delivered;
    /// the queue's consumer drops it. The default does nothing.
    async fn send_decoy(&self) -> Result<(), SendError> {
        Ok(())
    }

    /// A new key, in the messaging service's own form, under which [`Sender::send_as`] will
    /// create a message to `to`; `Ok(None)` when the sender cannot choose its messages' ids
    /// (the default).
    ///
    /// Keyed sends are what lets a queue worker that died mid-send never deliver a message
    /// twice: it records the key before sending, and when it takes the message up again it asks
    /// [`Sender::find_sent`] whether the service already created a message under that key.
    async fn new_message_key(&self, to: &PhoneNumber) -> Result<Option<MessageKey>, SendError> {
        let _ = to;
        Ok(None)
    }

    /// Delivers `message` to `to` as [`Sender::send`] does, creating it under `key` (from
    /// [`Sender::new_message_key`]). The default ignores the key.
    async fn send_as(
        &self,
        to: &PhoneNumber,
        message: &Message,
        key: &MessageKey,
    ) -> Result<Delivered, SendError> {
        let _ = key;
        self.send(to, message).await
    }

    /// Whether the messaging service holds a message to `to` created under `key`: `Found` means
    /// sending it again would deliver it twice. The default cannot tell (`Unknown`).
    async fn find_sent(&self, to: &PhoneNumber, key: &MessageKey) -> Result<SentLookup, SendError> {
        let _ = (to, key);
        Ok(SentLookup::Unknown)
    }

    /// Whether `to` has an account on the messaging service, asked without sending anything.
    /// The service asks it for a pair that matches no user, so that the delivery status it shows
    /// for that pair is the one a real send would reach; it must cost about what the lookup
    /// inside a real send costs. The default cannot tell ([`Presence::Unknown`]).
    async fn lookup(&self, to: &PhoneNumber) -> Result<Presence, SendError> {
        let _ = to;
        Ok(Presence::Unknown)
    }

    /// Gives the sender where to report what became of the messages it sent (acknowledgements,
    /// status webhooks), by the ids its sends returned. Called once, when the service is built;
    /// the default reports nothing, and a message's status then stays `sent`.
    fn report_deliveries_to(&self, reports: DeliveryReports) {
        let _ = reports;
    }

    /// A short name for logs and metrics (`whatsapp-web`, `cloud-api`, `console`, …).
    fn name(&self) -> &str {
        "sender"
    }
}

/// The id a message is created under, chosen before it is sent (see
/// [`Sender::new_message_key`]); opaque to everyone but the sender that made it.
///
/// ```
/// use otp_reset::MessageKey;
///
/// let key = MessageKey::new("3EB0C0FFEE");
/// assert_eq!(key.as_str(), "3EB0C0FFEE");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MessageKey(String);

impl MessageKey {
    /// A key as a sender made it, or as a queue kept it.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key as text, for a queue to keep.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`Sender::find_sent`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SentLookup {
    /// The service holds a message created under the key: it must not be sent again.
    Found(Delivered),
    /// The service holds no message under the key: sending it under the same key is safe.
    NotFound,
    /// The sender cannot tell.
    Unknown,
}

/// A shared sender is a sender, so a server can pick one at run time and pass it as
/// `Arc<dyn Sender>`.
#[async_trait::async_trait]
impl<S: Sender + ?Sized> Sender for std::sync::Arc<S> {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        (**self).send(to, message).await
    }

    fn state(&self) -> SenderState {
        (**self).state()
    }

    fn status(&self) -> SenderStatus {
        (**self).status()
    }

    fn can_send(&self) -> bool {
        (**self).can_send()
    }

    fn hands_off_durably(&self) -> bool {
        (**self).hands_off_durably()
    }

    async fn send_decoy(&self) -> Result<(), SendError> {
        (**self).send_decoy().await
    }

    async fn new_message_key(&self, to: &PhoneNumber) -> Result<Option<MessageKey>, SendError> {
        (**self).new_message_key(to).await
    }

    async fn send_as(
        &self,
        to: &PhoneNumber,
        message: &Message,
        key: &MessageKey,
    ) -> Result<Delivered, SendError> {
        (**self).send_as(to, message, key).await
    }

    async fn find_sent(&self, to: &PhoneNumber, key: &MessageKey) -> Result<SentLookup, SendError> {
        (**self).find_sent(to, key).await
    }

    async fn lookup(&self, to: &PhoneNumber) -> Result<Presence, SendError> {
        (**self).lookup(to).await
    }

    fn report_deliveries_to(&self, reports: DeliveryReports) {
        (**self).report_deliveries_to(reports)
    }

    fn name(&self) -> &str {
        (**self).name()
    }
}

/// A delivered message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// The messaging service's id for the message, when it gives one.
    pub message_id: Option<String>,
}

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The sender is not logged in or not connected.
    #[error("sender not ready ({0})")]
    NotReady(SenderState),
    /// The number has no account on the messaging service.
    #[error("the number is not registered on the messaging service")]
    NotRegistered,
    /// The sender's queue of pending messages is full.
    #[error("the sender's queue is full")]
    QueueFull,
    /// The messaging service did not confirm the message in time.
    #[error("the message was not confirmed within {0:?}")]
    Timeout(Duration),
    /// Any other failure, with its cause.
    #[error("send failed: {0}")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a sender is doing: the seed's bot states and the ones real life adds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderState {
    /// Not started.
    Uninitialized,
    /// Starting (launching the browser, loading the page).
    Initializing,
    /// Showing a QR code that the operator has to scan.
    WaitingForQr,
    /// The QR code was scanned; pairing is under way.
    Authenticating,
    /// Paired; loading chats.
    Authenticated,
    /// Can send.
    Ready,
    /// The connection dropped.
    Disconnected,
    /// The phone logged this session out; a new QR scan is needed.
    LoggedOut,
    /// Another session took over the account.
    Conflict,
    /// Reconnecting after a failure.
    Reconnecting {
        /// Which attempt this is, from 1.
        attempt: u32,
    },
    /// Gave up, with the reason (such as an incompatible messaging web app version).
    Failed {
        /// What went wrong, in a few words for the operator. `bot-status` shows it publicly, so
        /// it must name the kind of failure only: no paths, addresses, ids or secrets.
        reason: String,
    },
}

impl SenderState {
    /// The state's name as `bot-status` reports it (`READY`, `WAITING_FOR_QR`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Uninitialized => "UNINITIALIZED",
            Self::Initializing => "INITIALIZING",
            Self::WaitingForQr => "WAITING_FOR_QR",
            Self::Authenticating => "AUTHENTICATING",
            Self::Authenticated => "AUTHENTICATED",
            Self::Ready => "READY",
            Self::Disconnected => "DISCONNECTED",
            Self::LoggedOut => "LOGGED_OUT",
            Self::Conflict => "CONFLICT",
            Self::Reconnecting { .. } => "RECONNECTING",
            Self::Failed { .. } => "FAILED",
        }
    }

    /// Whether a sender in this state can send.
    pub fn can_send(&self) -> bool {
        matches!(self, Self::Ready)
    }

    /// Whether this state explains a problem (a dropped connection, a logout, a takeover, a
    /// reconnection or a failure), which [`SenderStatus::last_problem`] keeps in view.
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Self::Disconnected
                | Self::LoggedOut
                | Self::Conflict
                | Self::Reconnecting { .. }
                | Self::Failed { .. }
        )
    }
}

/// A sender's state and what explains it, as `bot-status` reports it.
///
/// ```
/// use otp_reset::{SenderProblem, SenderState, SenderStatus};
/// use std::time::SystemTime;
///
/// let status = SenderStatus::new(SenderState::WaitingForQr)
///     .with_last_problem(SenderProblem { state: SenderState::LoggedOut, since: SystemTime::now() })
///     .with_adapter_version("2")
///     .with_service_version("2.3000.1043140922");
/// assert_eq!(status.last_problem.map(|p| p.state), Some(SenderState::LoggedOut));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SenderStatus {
    /// The state now.
    pub state: SenderState,
    /// The last state that explained a problem, kept until the next one: a state such as
    /// `LOGGED_OUT` may last milliseconds before a new QR code shows, and an operator polling
    /// `bot-status` must still see why.
    pub last_problem: Option<SenderProblem>,
    /// The version of the sender's own client code (for WhatsApp Web, its adapter's).
    pub adapter_version: Option<String>,
    /// The version of the messaging service's client as the sender found it (for WhatsApp Web,
    /// the version the page reports).
    pub service_version: Option<String>,
}

impl SenderStatus {
    /// A status that knows only the state.
    pub fn new(state: SenderState) -> Self {
        Self {
            state,
            last_problem: None,
            adapter_version: None,
            service_version: None,
        }
    }

    /// With the last problem.
    pub fn with_last_problem(mut self, problem: SenderProblem) -> Self {
        self.last_problem = Some(problem);
        self
    }

    /// With the sender's client version.
    pub fn with_adapter_version(mut self, version: impl Into<String>) -> Self {
        self.adapter_version = Some(version.into());
        self
    }

    /// With the messaging service's client version.
    pub fn with_service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }
}

/// A state that explained a problem, and when the sender entered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderProblem {
    /// The state ([`SenderState::is_problem`]).
    pub state: SenderState,
    /// When it began.
    pub since: std::time::SystemTime,
}

impl fmt::Display for SenderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reconnecting { attempt } => write!(f, "RECONNECTING (attempt {attempt})"),
            Self::Failed { reason } => write!(f, "FAILED ({reason})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// A message for a user's phone.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Message {
    /// A one-time code.
    Code {
        /// The code (redacted in `Debug`).
        code: OtpCode,
        /// How long it stays valid.
        ttl: Duration,
        /// The language of the request that asked for it.
        lang: Lang,
    },
    /// The password of the account on this phone was just changed.
    PasswordChanged {
        /// The language of the request that changed it.
        lang: Lang,
    },
}

impl Message {
    /// The text to deliver, in the message's language. A sender may render its own template
    /// instead (from the same fields).
    ///
    /// ```
    /// use otp_reset::{Lang, Message};
    ///
    /// let text = Message::PasswordChanged { lang: Lang::En }.text();
    /// assert!(text.contains("If this was not you"));
    /// ```
    pub fn text(&self) -> String {
        match self {
            Self::Code { code, ttl, lang } => crate::lang::code_message(*lang, code.expose(), *ttl),
            Self::PasswordChanged { lang } => crate::lang::password_changed_message(*lang),
        }
    }
}
