//! The reference server for the ticketing site: the forgot-password flow of [`otp_reset`]
//! mounted at `/api/forgot-password`, users and codes in a JSON data file
//! ([`otp_reset_json`]), a login, and the site's pages.
//!
//! The binary (`src/main.rs`) reads the [`Config`], opens the data file, picks the [`stores`],
//! builds the [`app::router`] over the [`state::AppState`] and [`serve::serve`]s it over HTTP
//! or HTTPS until SIGTERM or Ctrl-C.
//!
//! Each module that answers requests has its own `router()` ([`flow`], [`login`], [`admin`],
//! [`health`], [`pages`], [`webhook`]), generic over the site's state and taking from it only its part;
//! [`app`] merges them under the site's layers.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod admin;
pub mod answer;
pub mod app;
pub mod client_limit;
pub mod config;
pub mod flow;
pub mod health;
pub mod login;
pub mod openapi;
pub mod pages;
pub mod secret;
pub mod serve;
pub mod state;
pub mod stores;
pub mod webhook;

pub use config::Config;
