//! The forgot-password flow of [`otp_reset`], over the stores the server picked.

use axum::Router;

use crate::stores::{Otps, Users};

/// The flow's service.
pub type Flow = otp_reset::ForgotPassword<Users, Otps>;

/// Where the flow is mounted.
pub const MOUNT: &str = "/api/forgot-password";

/// The flow's delivery-status route, which a page polls while the user waits: a lookup in
/// memory that sends nothing and hashes nothing, so the per-client limit leaves it alone.
pub const DELIVERY_STATUS: &str = "/api/forgot-password/delivery-status";

/// The flow's routes, under [`MOUNT`] (`/api/forgot-password/request-otp`, …).
pub fn router<S>(flow: Flow) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().nest_service(MOUNT, flow)
}
