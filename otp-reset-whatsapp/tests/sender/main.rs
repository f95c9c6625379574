//! The real sender in real headless Chromium (Debian's `chromium`) against the offline imitation
//! of WhatsApp Web (built from whatsapp-web.js and wa-js, see `whatsapp-imitation/README.md`):
//! the browser's arguments, QR linking, kept sessions, sends to new and known chats in two
//! WhatsApp Web builds, late modules, bans, failures and recovery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;
mod deliveries;
mod failures;
mod keyed;
mod linking;
mod sending;
