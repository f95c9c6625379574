//! Why the sender gives up until it is restarted. Each reason is shown publicly by
//! `bot-status`, so it names the kind of failure only (no paths, addresses or secrets); the
//! README tells the operator what to do for each.

use std::fmt;

/// A failure that a relaunch would not cure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// WhatsApp Web's socket says `TOS_BLOCK`: WhatsApp banned the account.
    Banned,
    /// `SMB_TOS_BLOCK`: WhatsApp banned the business account.
    BusinessBanned,
    /// `DEPRECATED_VERSION`: WhatsApp Web refuses this client as too old.
    DeprecatedVersion,
    /// `PROXYBLOCK`: WhatsApp refuses connections from this network.
    ProxyBlocked,
    /// WhatsApp Web lacks what the adapter needs, after waiting for it.
    Incompatible {
        /// `window.Debug.VERSION`.
        version: String,
        /// Modules, members or steps that are missing.
        missing: Vec<String>,
        /// The adapter's version.
        adapter: String,
    },
    /// Nobody scanned the QR codes.
    NotScanned {
        /// How many were shown.
        shown: u32,
    },
    /// The browser is not installed.
    ChromiumMissing,
    /// The browser settings were refused by chromiumoxide.
    BrowserSettings(String),
}

impl Failure {
    /// The failure that a socket state means, if it is one.
    pub(crate) fn of_socket(state: &str) -> Option<Self> {
        match state {
            "TOS_BLOCK" => Some(Self::Banned),
            "SMB_TOS_BLOCK" => Some(Self::BusinessBanned),
            "DEPRECATED_VERSION" => Some(Self::DeprecatedVersion),
            "PROXYBLOCK" => Some(Self::ProxyBlocked),
            _ => None,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Banned => f.write_str("WhatsApp banned this account (TOS_BLOCK)"),
            Self::BusinessBanned => {
                f.write_str("WhatsApp banned this business account (SMB_TOS_BLOCK)")
            }
            Self::DeprecatedVersion => {
                f.write_str("WhatsApp Web refuses this browser as outdated (DEPRECATED_VERSION)")
            }
            Self::ProxyBlocked => {
                f.write_str("WhatsApp refuses connections from this network (PROXYBLOCK)")
            }
            Self::Incompatible {
                version,
                missing,
                adapter,
            } => write!(
                f,
                "incompatible WhatsApp Web version {version}: missing {} (adapter {adapter})",
                missing.join(", ")
            ),
            Self::NotScanned { shown } => write!(f, "no QR code was scanned ({shown} shown)"),
            Self::ChromiumMissing => {
                f.write_str("Chromium not found: install Debian's package `chromium`")
            }
            Self::BrowserSettings(error) => write!(f, "invalid browser settings: {error}"),
        }
    }
}
