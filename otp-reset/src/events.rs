//! What happened, for audit logs and metrics: typed events through `tracing` and a hook.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::store::Refusal;
use crate::{DeliveryStatus, MaskedPhone, Message, OtpId, UserId};

/// One step of the flow. Phone numbers are masked; codes, tokens and passwords never appear.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A code was issued for a phone (`known_user` false: a stand-in for an unknown pair, which
    /// is never sent). The log line leaves `known_user` out, so that a log read by more people
    /// than the operators does not enumerate the site's accounts.
    CodeRequested {
        /// The phone.
        phone: MaskedPhone,
        /// The code's id.
        otp_id: OtpId,
        /// Whether the name and phone matched a user.
        known_user: bool,
    },
    /// A phone was refused a new code.
    CodeRefused {
        /// The phone.
        phone: MaskedPhone,
        /// Why, and for how long.
        refusal: Refusal,
    },
    /// The sender delivered a message.
    Sent {
        /// The recipient.
        phone: MaskedPhone,
        /// What was sent.
        kind: MessageKind,
        /// The messaging service's id for it.
        message_id: Option<String>,
    },
    /// The sender could not deliver a message.
    SendFailed {
        /// The recipient.
        phone: MaskedPhone,
        /// What was not sent.
        kind: MessageKind,
        /// Why.
        error: String,
    },
    /// The messaging service reported what became of a code sent to a user (never reported for
    /// a pair that matches no user, whose status is only simulated).
    DeliveryChanged {
        /// The recipient.
        phone: MaskedPhone,
        /// The status the code reached.
        status: DeliveryStatus,
        /// The time from request-otp to this report.
        after: Duration,
    },
    /// A wrong code or reset proof was given.
    VerifyFailed {
        /// The phone.
        phone: MaskedPhone,
        /// Wrong guesses the code still survives.
        attempts_left: u32,
        /// Failures in a row on the phone, across codes.
        consecutive_failures: u32,
    },
    /// Failures on a phone reached the lockout threshold: it gets no new code for a while.
    Locked {
        /// The phone.
        phone: MaskedPhone,
        /// Failures in a row on the phone.
        consecutive_failures: u32,
        /// How long it is locked out, counted from this failure.
        lockout: Duration,
    },
    /// The right code was given.
    Verified {
        /// The phone.
        phone: MaskedPhone,
        /// The code's id.
        otp_id: OtpId,
    },
    /// A password was reset.
    PasswordReset {
        /// The phone.
        phone: MaskedPhone,
        /// The user whose password changed.
        user_id: UserId,
    },
}

/// Which message a send concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A one-time code.
    Code,
    /// The password-changed notice.
    PasswordChanged,
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Code => "code",
            Self::PasswordChanged => "password-changed notice",
        })
    }
}

impl MessageKind {
    pub(crate) fn of(message: &Message) -> Self {
        match message {
            Message::Code { .. } => Self::Code,
            Message::PasswordChanged { .. } => Self::PasswordChanged,
        }
    }
}

impl Event {
    /// The event's name in snake case (`code_requested`, `verify_failed`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Self::CodeRequested { .. } => "code_requested",
            Self::CodeRefused { .. } => "code_refused",
            Self::Sent { .. } => "sent",
            Self::SendFailed { .. } => "send_failed",
            Self::DeliveryChanged { .. } => "delivery_changed",
            Self::VerifyFailed { .. } => "verify_failed",
            Self::Locked { .. } => "locked",
            Self::Verified { .. } => "verified",
            Self::PasswordReset { .. } => "password_reset",
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CodeRequested {
                phone,
                otp_id,
                known_user: _,
            } => write!(f, "code {otp_id} issued for {phone}"),
            Self::CodeRefused { phone, refusal } => {
                write!(f, "code refused for {phone}: {refusal:?}")
            }
            Self::Sent {
                phone,
                kind,
                message_id,
            } => {
                write!(f, "{kind} sent to {phone} (message id {message_id:?})")
            }
            Self::SendFailed { phone, kind, error } => {
                write!(f, "{kind} to {phone} not sent: {error}")
            }
            Self::DeliveryChanged {
                phone,
                status,
                after,
            } => write!(f, "code to {phone} {status} after {after:?}"),
            Self::VerifyFailed {
                phone,
                attempts_left,
                consecutive_failures,
            } => write!(
                f,
                "wrong code for {phone}: {attempts_left} attempts left, {consecutive_failures} failures in a row"
            ),
            Self::Locked {
                phone,
                consecutive_failures,
                lockout,
            } => write!(
                f,
                "{phone} locked out for {lockout:?} after {consecutive_failures} failures in a row"
            ),
            Self::Verified { phone, otp_id } => write!(f, "code {otp_id} verified for {phone}"),
            Self::PasswordReset { phone, user_id } => {
                write!(f, "password of user {user_id} reset from {phone}")
            }
        }
    }
}

/// Receives every [`Event`], for audit logs or metrics. Called inline on the request path:
/// keep it quick and hand slow work to a task of your own.
///
/// Any `Fn(&Event)` is a sink:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use otp_reset::{Event, EventSink};
///
/// let resets = Arc::new(AtomicUsize::new(0));
/// let counter = resets.clone();
/// let sink = move |event: &Event| {
///     if matches!(event, Event::PasswordReset { .. }) {
///         counter.fetch_add(1, Ordering::Relaxed);
///     }
/// };
/// # fn takes(_: impl EventSink) {}
/// takes(sink);
/// ```
pub trait EventSink: Send + Sync + 'static {
    /// Called once per event.
    fn record(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync + 'static> EventSink for F {
    fn record(&self, event: &Event) {
        self(event);
    }
}

/// Emits events to `tracing` (target `otp_reset::event`) and to the app's sink, if any.
#[derive(Clone, Default)]
pub(crate) struct Events {
    sink: Option<Arc<dyn EventSink>>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

impl Events {
    pub(crate) fn new(sink: Option<Arc<dyn EventSink>>) -> Self {
        Self { sink }
    }

    pub(crate) fn emit(&self, event: Event) {
        match event {
            Event::SendFailed { .. } | Event::Locked { .. } => {
                tracing::warn!(target: "otp_reset::event", event = event.name(), "{event}");
            }
            _ => tracing::info!(target: "otp_reset::event", event = event.name(), "{event}"),
        }
        if let Some(sink) = &self.sink {
            sink.record(&event);
        }
    }
}
