//! A WhatsApp Web sender for [`otp_reset`]: drives WhatsApp Web in headless Chromium.
//!
//! Not written yet: the WhatsApp sender is its own issue. Until then the example server sends
//! codes with [`otp_reset::ConsoleSender`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]
