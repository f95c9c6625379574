//! The reference server for the ticketing site: the forgot-password flow of [`otp_reset`]
//! mounted at `/api/forgot-password`, users and codes in a JSON data file, a login, and the
//! site's pages.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod json_store;

pub use json_store::{JsonStore, OpenError};
