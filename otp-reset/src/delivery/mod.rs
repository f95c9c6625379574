//! What became of a code, as the user who asked for it may see it: an opaque request id from
//! request-otp, and the status `POST /delivery-status` answers for it.

use std::fmt;

mod tracker;

pub(crate) use tracker::{Deliveries, Tracked};

/// A code's delivery as the user sees it (`POST /delivery-status`).
///
/// A pair that matches no user reaches the same statuses with the same timing as a real one (a
/// number's presence on WhatsApp is public, the site's accounts are not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryStatus {
    /// Waiting for the sender.
    Pending,
    /// The messaging service took the message.
    Sent,
    /// The message reached the phone (or was read).
    Delivered,
    /// The number has no WhatsApp account.
    NotOnWhatsapp,
    /// The message could not be delivered.
    Failed,
}

impl DeliveryStatus {
    /// The status as the route answers it: `pending`, `sent`, `delivered`, `not_on_whatsapp`,
    /// `failed`.
    ///
    /// ```
    /// assert_eq!(otp_reset::DeliveryStatus::NotOnWhatsapp.as_str(), "not_on_whatsapp");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::NotOnWhatsapp => "not_on_whatsapp",
            Self::Failed => "failed",
        }
    }

    /// Whether the status is final: no later report changes it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::NotOnWhatsapp | Self::Failed)
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
