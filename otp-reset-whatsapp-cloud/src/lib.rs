//! A sender for [`otp_reset`] on WhatsApp's official Cloud API (the WhatsApp Business
//! Platform), the sanctioned way to message users from a business number.
//!
//! - **Codes as authentication templates** with a copy-code button: the code in the body
//!   parameter and in the button's parameter, as Meta's "Send authentication templates" guide
//!   shows; one template language per [`otp_reset::Lang`].
//! - **Errors mapped to the core's**: 131026 → not registered; rate limits (131056, 130429,
//!   80007) retried with backoff and jitter within a budget, then busy; a refused token →
//!   `FAILED`; a timed-out call never repeated.
//! - **Status webhooks** ([`StatusWebhook`]): Meta's verification challenge, the
//!   `X-Hub-Signature-256` check in constant time, and `sent`/`delivered`/`read`/`failed`
//!   statuses reported to the service's [`DeliveryReports`](otp_reset::DeliveryReports).
//! - **Every call bounded**: a connect timeout and a whole-request timeout.
//!
//! ```no_run
//! use std::sync::Arc;
//! use otp_reset::Sender;
//! use otp_reset_whatsapp_cloud::{CloudSender, CloudSettings};
//!
//! # async fn wire() -> Result<(), Box<dyn std::error::Error>> {
//! let settings = CloudSettings::builder("EAAJB...", "105954558954427")
//!     .with_code_template("reset_code")
//!     .with_password_changed_template(Some("password_changed".into()))
//!     .build()?;
//! let sender = CloudSender::new(settings)?;
//! sender.check().await;
//! let webhook = sender.webhook("app-secret", "verify-token"); // mount on GET/POST
//! let sender: Arc<dyn Sender> = Arc::new(sender);
//! # let _ = (webhook, sender);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod sender;
mod settings;
mod webhook;

pub use sender::{CloudError, CloudSender};
pub use settings::{
    CloudSettings, CloudSettingsBuilder, DEFAULT_BASE_URL, DEFAULT_VERSION, SettingsError,
};
pub use webhook::{Challenge, MAX_WEBHOOK_BODY, SIGNATURE_HEADER, StatusWebhook, WebhookError};
