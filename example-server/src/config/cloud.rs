//! The settings of the WhatsApp Cloud API sender (`OTP_SENDER=cloud`, alone or in a chain).

use std::time::Duration;

use otp_reset::Lang;
use otp_reset_whatsapp_cloud::{CloudSettings, DEFAULT_BASE_URL, DEFAULT_VERSION};

use super::ConfigError;

/// Settings of the Cloud API sender and of its status webhook (`/webhooks/whatsapp`).
#[derive(Clone, Debug, clap::Args)]
pub struct CloudApiSettings {
    /// The Cloud API access token (a system user's token), for OTP_SENDER=cloud.
    #[arg(long, env = "CLOUD_API_TOKEN", hide_env_values = true)]
    pub cloud_api_token: Option<String>,

    /// The business phone number's id (not the number itself), for OTP_SENDER=cloud.
    #[arg(long, env = "CLOUD_API_PHONE_NUMBER_ID")]
    pub cloud_api_phone_number_id: Option<String>,

    /// The Graph API version called.
    #[arg(long, env = "CLOUD_API_VERSION", default_value = DEFAULT_VERSION)]
    pub cloud_api_version: String,

    /// Where the Graph API is (another address only for a test imitation).
    #[arg(long, env = "CLOUD_API_BASE_URL", default_value = DEFAULT_BASE_URL)]
    pub cloud_api_base_url: String,

    /// The approved authentication template (copy-code button) that carries the code.
    #[arg(long, env = "CLOUD_API_TEMPLATE", default_value = "otp_reset_code")]
    pub cloud_api_template: String,

    /// The template language used for Indonesian requests.
    #[arg(long, env = "CLOUD_API_TEMPLATE_LANG_ID", default_value = "id")]
    pub cloud_api_template_lang_id: String,

    /// The template language used for English requests.
    #[arg(long, env = "CLOUD_API_TEMPLATE_LANG_EN", default_value = "en")]
    pub cloud_api_template_lang_en: String,

    /// An approved utility template without parameters for the "password changed" notice;
    /// without it, that notice is not sent over the Cloud API.
    #[arg(long, env = "CLOUD_API_PASSWORD_CHANGED_TEMPLATE")]
    pub cloud_api_password_changed_template: Option<String>,

    /// The Meta app's secret, which signs status webhooks (X-Hub-Signature-256); with
    /// CLOUD_API_VERIFY_TOKEN, serves /webhooks/whatsapp.
    #[arg(long, env = "CLOUD_API_APP_SECRET", hide_env_values = true)]
    pub cloud_api_app_secret: Option<String>,

    /// The verify token set in the App Dashboard's webhook settings.
    #[arg(long, env = "CLOUD_API_VERIFY_TOKEN", hide_env_values = true)]
    pub cloud_api_verify_token: Option<String>,

    /// Longest time one Cloud API call may take, in seconds (1 to 120).
    #[arg(long, env = "CLOUD_API_TIMEOUT_SECS", default_value_t = 15)]
    pub cloud_api_timeout_secs: u64,

    /// How long a send keeps retrying while the Cloud API is rate-limited, in seconds (1 to
    /// less than OTP_TTL_SECS).
    #[arg(long, env = "CLOUD_API_BUSY_BUDGET_SECS", default_value_t = 60)]
    pub cloud_api_busy_budget_secs: u64,
}

/// The webhook's two secrets.
#[derive(Clone, Debug)]
pub struct CloudWebhookSecrets {
    /// CLOUD_API_APP_SECRET.
    pub app_secret: String,
    /// CLOUD_API_VERIFY_TOKEN.
    pub verify_token: String,
}

impl CloudApiSettings {
    /// The sender's settings, checked; `code_ttl` bounds the busy budget.
    pub fn settings(&self, code_ttl: Duration) -> Result<CloudSettings, ConfigError> {
        let problem = |setting, problem: String| ConfigError { setting, problem };
        let token = self
            .cloud_api_token
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                problem(
                    "CLOUD_API_TOKEN",
                    "OTP_SENDER=cloud needs the access token".into(),
                )
            })?;
        let phone = self
            .cloud_api_phone_number_id
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                problem(
                    "CLOUD_API_PHONE_NUMBER_ID",
                    "OTP_SENDER=cloud needs the business phone number's id".into(),
                )
            })?;
        if !(1..=120).contains(&self.cloud_api_timeout_secs) {
            return Err(problem("CLOUD_API_TIMEOUT_SECS", "must be 1 to 120".into()));
        }
        let budget = Duration::from_secs(self.cloud_api_busy_budget_secs);
        if budget.is_zero() || budget >= code_ttl {
            return Err(problem(
                "CLOUD_API_BUSY_BUDGET_SECS",
                "must be at least 1 and less than OTP_TTL_SECS".into(),
            ));
        }
        self.webhook_secrets()?;
        CloudSettings::builder(token.trim(), phone.trim())
            .with_base_url(self.cloud_api_base_url.clone())
            .with_version(self.cloud_api_version.clone())
            .with_code_template(self.cloud_api_template.clone())
            .with_template_language(Lang::Id, self.cloud_api_template_lang_id.clone())
            .with_template_language(Lang::En, self.cloud_api_template_lang_en.clone())
            .with_password_changed_template(self.cloud_api_password_changed_template.clone())
            .with_request_timeout(Duration::from_secs(self.cloud_api_timeout_secs))
            .with_busy_budget(budget)
            .build()
            .map_err(|e| {
                problem(
                    match e.setting {
                        "token" => "CLOUD_API_TOKEN",
                        "phone_number_id" => "CLOUD_API_PHONE_NUMBER_ID",
                        "version" => "CLOUD_API_VERSION",
                        "base_url" => "CLOUD_API_BASE_URL",
                        "template" => "CLOUD_API_TEMPLATE",
                        "password_changed_template" => "CLOUD_API_PASSWORD_CHANGED_TEMPLATE",
                        "template_language" => "CLOUD_API_TEMPLATE_LANG_ID/EN",
                        _ => "CLOUD_API_*",
                    },
                    e.problem.into(),
                )
            })
    }

    /// The webhook's secrets: both set, or neither (no webhook route; statuses stay `sent`).
    pub fn webhook_secrets(&self) -> Result<Option<CloudWebhookSecrets>, ConfigError> {
        let set = |v: &Option<String>| {
            v.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned)
        };
        match (
            set(&self.cloud_api_app_secret),
            set(&self.cloud_api_verify_token),
        ) {
            (Some(app_secret), Some(verify_token)) => Ok(Some(CloudWebhookSecrets {
                app_secret,
                verify_token,
            })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(ConfigError {
                setting: "CLOUD_API_VERIFY_TOKEN",
                problem: "the status webhook needs it with CLOUD_API_APP_SECRET".into(),
            }),
            (None, Some(_)) => Err(ConfigError {
                setting: "CLOUD_API_APP_SECRET",
                problem: "the status webhook needs it with CLOUD_API_VERIFY_TOKEN".into(),
            }),
        }
    }
}
