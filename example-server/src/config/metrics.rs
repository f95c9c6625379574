//! The settings of `/metrics`: off unless `METRICS_ADDR` or `METRICS_TOKEN` is set.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use super::ConfigError;

/// The fewest characters a metrics token may have.
const MIN_TOKEN_CHARS: usize = 16;

/// Where and to whom `/metrics` is served (Prometheus' text format).
#[derive(Clone, Debug, clap::Args)]
pub struct MetricsSettings {
    /// Serve `/metrics` on a listener of its own at this address and port (such as
    /// `127.0.0.1:9464`), apart from the site. Unset, and METRICS_TOKEN unset: no metrics.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<String>,

    /// Serve `/metrics` on the site's own listener too, to `Authorization: Bearer <token>` only
    /// (at least 16 characters); with METRICS_ADDR, that listener asks for it as well.
    #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

/// What [`MetricsSettings::exposure`] read: where `/metrics` is served, if anywhere.
#[derive(Clone, Default)]
pub struct MetricsExposure {
    /// The address of the metrics' own listener.
    pub own_listener: Option<SocketAddr>,
    /// The token a scrape must bear; with it, the site's listener serves `/metrics` too.
    pub token: Option<Arc<str>>,
}

impl fmt::Debug for MetricsExposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsExposure")
            .field("own_listener", &self.own_listener)
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

impl MetricsExposure {
    /// Whether `/metrics` is served anywhere (if not, nothing is measured either).
    pub fn is_on(&self) -> bool {
        self.own_listener.is_some() || self.token.is_some()
    }
}

impl MetricsSettings {
    /// Where `/metrics` is served, or which setting is wrong and why.
    ///
    /// ```
    /// use example_server::config::MetricsSettings;
    ///
    /// let settings = MetricsSettings { metrics_addr: Some("127.0.0.1:9464".into()), metrics_token: None };
    /// assert!(settings.exposure()?.own_listener.is_some());
    /// let off = MetricsSettings { metrics_addr: None, metrics_token: None };
    /// assert!(!off.exposure()?.is_on());
    /// let bad = MetricsSettings { metrics_addr: Some("9464".into()), metrics_token: None };
    /// assert_eq!(bad.exposure().unwrap_err().setting, "METRICS_ADDR");
    /// # Ok::<(), example_server::config::ConfigError>(())
    /// ```
    pub fn exposure(&self) -> Result<MetricsExposure, ConfigError> {
        let own_listener = match self.metrics_addr.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| ConfigError {
                setting: "METRICS_ADDR",
                problem: format!(
                    "{text:?} is not an IP address and port, such as 127.0.0.1:9464 or [::1]:9464"
                ),
            })?),
        };
        let token = match self.metrics_token.as_deref() {
            None | Some("") => None,
            Some(token) if token.chars().count() < MIN_TOKEN_CHARS => {
                return Err(ConfigError {
                    setting: "METRICS_TOKEN",
                    problem: format!("use at least {MIN_TOKEN_CHARS} characters"),
                });
            }
            Some(token) if !token.chars().all(|c| c.is_ascii_graphic()) => {
                return Err(ConfigError {
                    setting: "METRICS_TOKEN",
                    problem: "use printable ASCII characters only, no spaces (it travels in an \
                              Authorization header)"
                        .into(),
                });
            }
            Some(token) => Some(Arc::from(token)),
        };
        Ok(MetricsExposure {
            own_listener,
            token,
        })
    }
}
