//! The checks of the settings, and the policy and limits read from them.

use std::time::Duration;

use otp_reset::{OtpRules, Policy, UnknownUser};

use super::Config;

/// A setting that the server cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {setting}: {problem}")]
pub struct ConfigError {
    /// The environment variable (and flag) concerned.
    pub setting: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl Config {
    /// The flow's policy from these settings.
    pub fn policy(&self) -> Result<Policy, ConfigError> {
        let mut policy = Policy::builder();
        if self.otp_site_sends_per_hour > 0 {
            policy = policy.with_send_budget(
                self.otp_site_sends_per_hour,
                Duration::from_secs(3600),
                self.otp_site_sends_burst,
            );
        }
        if self.otp_site_requests_per_min > 0 {
            policy =
                policy.with_request_limit(self.otp_site_requests_per_min, Duration::from_secs(60));
        }
        policy
            .with_code_ttl(Duration::from_secs(self.otp_ttl_secs))
            .with_max_attempts(self.otp_max_attempts)
            .with_resend_cooldown(Duration::from_secs(self.otp_resend_cooldown_secs))
            .with_send_cap(self.otp_max_sends_per_hour, Duration::from_secs(3600))
            .with_lockout(
                self.otp_lockout_failures,
                OtpRules::DEFAULT.lockout_base,
                OtpRules::DEFAULT.lockout_max,
            )
            .with_code_exposed_for_development(self.dev_expose_otp)
            .with_unknown_user(if self.reveal_unknown_user {
                UnknownUser::Reveal
            } else {
                UnknownUser::Conceal
            })
            .build()
            .map_err(|error| ConfigError {
                setting: match error.setting() {
                    "code_ttl" => "OTP_TTL_SECS",
                    "max_attempts" => "OTP_MAX_ATTEMPTS",
                    "resend_cooldown" => "OTP_RESEND_COOLDOWN_SECS",
                    "max_sends_per_window" => "OTP_MAX_SENDS_PER_HOUR",
                    "lockout_threshold" => "OTP_LOCKOUT_FAILURES",
                    "send_budget" => "OTP_SITE_SENDS_BURST",
                    "request_limit" => "OTP_SITE_REQUESTS_PER_MIN",
                    _ => "policy",
                },
                problem: error.to_string(),
            })
    }

    /// How long after a change a small data file is rewritten with it.
    pub fn data_file_fold_delay(&self) -> Duration {
        Duration::from_secs(self.data_file_fold_secs)
    }

    /// Checks the settings that the policy does not cover.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.queue
            .check(&self.otp_sender, self.otp_secret.as_deref())?;
        if self.otp_sender.contains(&super::SenderKind::Cloud) {
            self.cloud
                .settings(Duration::from_secs(self.otp_ttl_secs))?;
        }
        let users = self.user_store()?;
        if self.import_users.is_some() && matches!(users, super::UserStoreKind::DataFile) {
            return Err(ConfigError {
                setting: "USER_STORE",
                problem: "--import-users needs USER_STORE=postgres://… to import into".into(),
            });
        }
        if self
            .admin_token
            .as_ref()
            .is_some_and(|token| token.len() < 16)
        {
            return Err(ConfigError {
                setting: "ADMIN_TOKEN",
                problem: "use at least 16 characters".into(),
            });
        }
        let min = otp_reset::CodeHasher::MIN_SECRET_BYTES;
        if let Some(secret) = self.otp_secret.as_ref().filter(|s| s.len() < min) {
            return Err(ConfigError {
                setting: "OTP_SECRET",
                problem: format!(
                    "it has {} characters; at least {min} are needed",
                    secret.len()
                ),
            });
        }
        if matches!(self.otp_store.kind()?, super::OtpStoreKind::Redis(_)) {
            if self.otp_secret.is_none() {
                return Err(ConfigError {
                    setting: "OTP_SECRET",
                    problem: "required when OTP_STORE is a Redis URL: every instance must key \
                              code digests with the same secret (the secret kept beside the \
                              data file is this machine's only)"
                        .into(),
                });
            }
            if self.redis_key_prefix.is_empty() {
                return Err(ConfigError {
                    setting: "REDIS_KEY_PREFIX",
                    problem: "must not be empty".into(),
                });
            }
        }
        for origin in &self.cors_origins {
            let valid = origin == "*"
                || http::HeaderValue::from_str(origin).is_ok()
                    && (origin.starts_with("http://") || origin.starts_with("https://"));
            if !valid {
                return Err(ConfigError {
                    setting: "CORS_ORIGINS",
                    problem: format!("{origin:?} is not an origin such as https://tiket.example"),
                });
            }
        }
        if !(1..=3600).contains(&self.data_file_fold_secs) {
            return Err(ConfigError {
                setting: "DATA_FILE_FOLD_SECS",
                problem: format!("{} is not between 1 and 3600", self.data_file_fold_secs),
            });
        }
        if self.shutdown_drain_secs > 3600 {
            return Err(ConfigError {
                setting: "SHUTDOWN_DRAIN_SECS",
                problem: format!("{} is more than 3600", self.shutdown_drain_secs),
            });
        }
        if self.request_timeout_secs == 0 {
            return Err(ConfigError {
                setting: "REQUEST_TIMEOUT_SECS",
                problem: "must be at least 1".into(),
            });
        }
        if self.otp_stand_in_capacity == 0 {
            return Err(ConfigError {
                setting: "OTP_STAND_IN_CAPACITY",
                problem: "must be at least 1".into(),
            });
        }
        self.check_login()?;
        let ranges: [(&'static str, u64, u64, u64); 7] = [
            (
                "HEADER_READ_TIMEOUT_SECS",
                self.header_read_timeout_secs,
                1,
                300,
            ),
            ("IDLE_TIMEOUT_SECS", self.idle_timeout_secs, 1, 3600),
            (
                "TLS_HANDSHAKE_TIMEOUT_SECS",
                self.tls_handshake_timeout_secs,
                1,
                300,
            ),
            (
                "MAX_HEADER_BYTES",
                self.max_header_bytes as u64,
                1024,
                1 << 20,
            ),
            ("MAX_CONNECTIONS", self.max_connections as u64, 1, u64::MAX),
            (
                "MAX_CONNECTIONS_PER_CLIENT",
                self.max_connections_per_client as u64,
                1,
                u64::MAX,
            ),
            (
                "FILE_HANDLE_RESERVE",
                self.file_handle_reserve as u64,
                16,
                u64::MAX,
            ),
        ];
        for (setting, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(ConfigError {
                    setting,
                    problem: if max == u64::MAX {
                        format!("{value} is below {min}")
                    } else {
                        format!("{value} is not within {min} to {max}")
                    },
                });
            }
        }
        self.policy().map(|_| ())
    }

    /// Checks the login's limits.
    fn check_login(&self) -> Result<(), ConfigError> {
        let problem = |setting, problem: String| Err(ConfigError { setting, problem });
        if self.login_client_free_failures == 0 {
            return problem("LOGIN_CLIENT_FREE_FAILURES", "must be at least 1".into());
        }
        if self.login_account_free_failures < self.login_client_free_failures {
            return problem(
                "LOGIN_ACCOUNT_FREE_FAILURES",
                format!(
                    "must be at least LOGIN_CLIENT_FREE_FAILURES ({}): the account's count \
                     holds off clients together, each client's holds it off alone",
                    self.login_client_free_failures
                ),
            );
        }
        if !(1..=86_400).contains(&self.login_backoff_max_secs) {
            return problem("LOGIN_BACKOFF_MAX_SECS", "must be from 1 to 86400".into());
        }
        if self.login_backoff_base_ms == 0
            || self.login_backoff_base_ms > self.login_backoff_max_secs * 1000
        {
            return problem(
                "LOGIN_BACKOFF_BASE_MS",
                format!(
                    "must be from 1 to LOGIN_BACKOFF_MAX_SECS in milliseconds ({})",
                    self.login_backoff_max_secs * 1000
                ),
            );
        }
        if !(1_000..=100_000_000).contains(&self.login_backoff_entries) {
            return problem(
                "LOGIN_BACKOFF_ENTRIES",
                "must be from 1000 to 100000000".into(),
            );
        }
        if self.login_hashes_per_client == 0 {
            return problem("LOGIN_HASHES_PER_CLIENT", "must be at least 1".into());
        }
        Ok(())
    }
}
