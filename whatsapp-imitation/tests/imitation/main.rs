//! The imitation driven through a real headless Chromium (Debian's `chromium`), read only through
//! the module surface, with in-page calls written after whatsapp-web.js 1.34.6 (`Client.inject`,
//! `AuthStore.js`, `Utils.js`: `WWebJS.getChat`, `WWebJS.sendMessage`) and wa-js.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;
mod failures;
mod linking;
mod sending;
