//! What the handlers share, and the part of it each one takes ([`FromRef`]): the login its
//! [`Login`], the health check the [`Stores`], the operator's page the [`QrAccess`], Meta's
//! webhook the [`StatusWebhook`].

use axum::extract::FromRef;
use otp_reset_whatsapp_cloud::StatusWebhook;

use crate::admin::QrAccess;
use crate::config::Config;
use crate::flow::Flow;
use crate::login::Login;
use crate::stores::Stores;

/// The state of the whole site.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The forgot-password flow.
    pub flow: Flow,
    /// The login.
    pub login: Login,
    /// The stores the flow and the login run on.
    pub stores: Stores,
    /// The WhatsApp QR code for the operator, when the WhatsApp sender and an admin token are set.
    pub qr: Option<QrAccess>,
    /// Meta's status webhook, when the Cloud API sender and its webhook secrets are set.
    pub cloud_webhook: Option<StatusWebhook>,
}

impl AppState {
    /// The site's state: `flow` over `stores`, a login over the same users sharing the flow's
    /// password hasher, limited as `config` says.
    pub fn new(flow: Flow, stores: Stores, qr: Option<QrAccess>, config: &Config) -> Self {
        let login = Login::new(stores.users.clone(), flow.passwords().clone(), config);
        Self {
            flow,
            login,
            stores,
            qr,
            cloud_webhook: None,
        }
    }

    /// With Meta's status webhook at `/webhooks/whatsapp`.
    pub fn with_cloud_webhook(mut self, webhook: Option<StatusWebhook>) -> Self {
        self.cloud_webhook = webhook;
        self
    }
}

impl FromRef<AppState> for Login {
    fn from_ref(state: &AppState) -> Self {
        state.login.clone()
    }
}

impl FromRef<AppState> for Stores {
    fn from_ref(state: &AppState) -> Self {
        state.stores.clone()
    }
}

impl FromRef<AppState> for Option<QrAccess> {
    fn from_ref(state: &AppState) -> Self {
        state.qr.clone()
    }
}

impl FromRef<AppState> for Option<StatusWebhook> {
    fn from_ref(state: &AppState) -> Self {
        state.cloud_webhook.clone()
    }
}
