//! The reference server for the ticketing site: the forgot-password flow of [`otp_reset`]
//! mounted at `/api/forgot-password`, users and codes in a JSON data file, a login, and the
//! site's pages.
//!
//! The binary (`src/main.rs`) reads the [`Config`], opens the [`JsonStore`], builds the
//! [`app::router`] and [`serve::serve`]s it over HTTP or HTTPS until SIGTERM or Ctrl-C.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod admin;
pub mod answer;
pub mod app;
pub mod client_limit;
pub mod config;
pub mod login;
pub mod openapi;
pub mod pages;
pub mod secret;
pub mod serve;

pub use config::Config;
pub use otp_reset_json::{JsonStore, OpenError, StoreOptions};
