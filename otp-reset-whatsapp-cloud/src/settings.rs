//! The sender's settings, built once and checked at build time.

use std::fmt;
use std::time::Duration;

use otp_reset::Lang;
use zeroize::Zeroizing;

/// The Graph API host.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph API version the sender calls by default (the one Meta's authentication-template
/// pages use in their samples).
pub const DEFAULT_VERSION: &str = "v25.0";

/// A setting the sender cannot work with, named as the builder names it.
#[derive(Debug, thiserror::Error)]
#[error("invalid Cloud API setting {setting}: {problem}")]
pub struct SettingsError {
    /// The setting (`token`, `phone_number_id`, `version`, `base_url`, `template`, …).
    pub setting: &'static str,
    /// What is wrong with it.
    pub problem: &'static str,
}

/// The Cloud API sender's settings; made by [`CloudSettings::builder`].
///
/// ```
/// use std::time::Duration;
/// use otp_reset::Lang;
/// use otp_reset_whatsapp_cloud::CloudSettings;
///
/// let settings = CloudSettings::builder("EAAJB...", "105954558954427")
///     .with_code_template("reset_code")
///     .with_template_language(Lang::En, "en_US")
///     .with_busy_budget(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// assert_eq!(settings.template_language(Lang::Id), "id");
/// assert_eq!(settings.template_language(Lang::En), "en_US");
/// ```
#[derive(Clone)]
pub struct CloudSettings {
    pub(crate) token: Zeroizing<String>,
    pub(crate) phone_number_id: String,
    pub(crate) base_url: String,
    pub(crate) version: String,
    pub(crate) code_template: String,
    pub(crate) password_changed_template: Option<String>,
    pub(crate) language_id: String,
    pub(crate) language_en: String,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) busy_budget: Duration,
    pub(crate) backoff_base: Duration,
}

impl CloudSettings {
    /// Settings for the business phone number `phone_number_id`, called with the access token
    /// `token` (a system user's token in production).
    pub fn builder(
        token: impl Into<String>,
        phone_number_id: impl Into<String>,
    ) -> CloudSettingsBuilder {
        CloudSettingsBuilder {
            settings: CloudSettings {
                token: Zeroizing::new(token.into()),
                phone_number_id: phone_number_id.into(),
                base_url: DEFAULT_BASE_URL.into(),
                version: DEFAULT_VERSION.into(),
                code_template: "otp_reset_code".into(),
                password_changed_template: None,
                language_id: "id".into(),
                language_en: "en".into(),
                connect_timeout: Duration::from_secs(5),
                request_timeout: Duration::from_secs(15),
                busy_budget: Duration::from_secs(60),
                backoff_base: Duration::from_millis(500),
            },
        }
    }

    /// The template language code used for messages in `lang`.
    pub fn template_language(&self, lang: Lang) -> &str {
        match lang {
            Lang::Id => &self.language_id,
            Lang::En => &self.language_en,
        }
    }

    /// The longest a single call may take, from connecting to the last byte of the answer.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// `{base_url}/{version}/{phone_number_id}`.
    pub(crate) fn phone_url(&self) -> String {
        format!(
            "{}/{}/{}",
            self.base_url.trim_end_matches('/'),
            self.version,
            self.phone_number_id
        )
    }
}

impl fmt::Debug for CloudSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudSettings")
            .field("token", &"<redacted>")
            .field("phone_number_id", &self.phone_number_id)
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .field("code_template", &self.code_template)
            .field("password_changed_template", &self.password_changed_template)
            .field("language_id", &self.language_id)
            .field("language_en", &self.language_en)
            .field("request_timeout", &self.request_timeout)
            .field("busy_budget", &self.busy_budget)
            .finish_non_exhaustive()
    }
}

/// Builds [`CloudSettings`]; every `with_*` has a sensible default.
#[derive(Debug)]
pub struct CloudSettingsBuilder {
    settings: CloudSettings,
}

impl CloudSettingsBuilder {
    /// Where the Graph API is (default [`DEFAULT_BASE_URL`]; a local imitation in tests).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.settings.base_url = url.into();
        self
    }

    /// The Graph API version, `vNN.N` (default [`DEFAULT_VERSION`]).
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.settings.version = version.into();
        self
    }

    /// The approved authentication template (copy-code button) that carries the code
    /// (default `otp_reset_code`).
    pub fn with_code_template(mut self, name: impl Into<String>) -> Self {
        self.settings.code_template = name.into();
        self
    }

    /// An approved utility template without parameters that tells the owner of a phone that
    /// its account's password changed. Without it that notice is not sent (the send fails
    /// with [`CloudError::NoTemplate`](crate::CloudError::NoTemplate)): the Cloud API sends no
    /// free text to a user who has not written first.
    pub fn with_password_changed_template(mut self, name: Option<String>) -> Self {
        self.settings.password_changed_template = name;
        self
    }

    /// The template language code for messages in `lang` (defaults: `id`, `en`).
    pub fn with_template_language(mut self, lang: Lang, code: impl Into<String>) -> Self {
        match lang {
            Lang::Id => self.settings.language_id = code.into(),
            Lang::En => self.settings.language_en = code.into(),
        }
        self
    }

    /// The longest a connection may take to open (default 5 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.settings.connect_timeout = timeout;
        self
    }

    /// The longest one call may take, whole (default 15 s). A send that times out is never
    /// repeated: the message may exist.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.settings.request_timeout = timeout;
        self
    }

    /// How long a send keeps retrying while the API says it is busy (rate limits 131056,
    /// 130429, 80007), from its first try (default 60 s, well under a code's lifetime).
    pub fn with_busy_budget(mut self, budget: Duration) -> Self {
        self.settings.busy_budget = budget;
        self
    }

    /// The first wait after a busy answer (default 500 ms); each further one doubles it, with
    /// jitter.
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.settings.backoff_base = base;
        self
    }

    /// The settings, checked.
    pub fn build(self) -> Result<CloudSettings, SettingsError> {
        let s = self.settings;
        let fail = |setting, problem| Err(SettingsError { setting, problem });
        if s.token.trim().is_empty() || s.token.chars().any(|c| c.is_whitespace()) {
            return fail("token", "must be a non-empty token without spaces");
        }
        if s.phone_number_id.is_empty() || !s.phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
            return fail(
                "phone_number_id",
                "must be the numeric id of the business phone number",
            );
        }
        if !valid_version(&s.version) {
            return fail("version", "must look like v25.0");
        }
        if !(s.base_url.starts_with("https://") || s.base_url.starts_with("http://"))
            || reqwest::Url::parse(&s.base_url).is_err()
        {
            return fail("base_url", "must be an http:// or https:// URL");
        }
        for (setting, name) in [
            ("template", Some(&s.code_template)),
            (
                "password_changed_template",
                s.password_changed_template.as_ref(),
            ),
        ] {
            if let Some(name) = name
                && !valid_template_name(name)
            {
                return fail(
                    setting,
                    "must be a template name: lowercase letters, digits and _",
                );
            }
        }
        for lang in [&s.language_id, &s.language_en] {
            if lang.is_empty()
                || lang.len() > 12
                || !lang.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
            {
                return fail(
                    "template_language",
                    "must be a language code such as id or en_US",
                );
            }
        }
        if s.connect_timeout.is_zero() || s.request_timeout.is_zero() {
            return fail("timeout", "must be more than zero");
        }
        if s.backoff_base.is_zero() || s.backoff_base > s.busy_budget {
            return fail(
                "backoff_base",
                "must be more than zero and at most the busy budget",
            );
        }
        Ok(s)
    }
}

fn valid_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let digits =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

fn valid_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_setting_is_named() {
        let error = CloudSettings::builder("t", "12x").build().unwrap_err();
        assert_eq!(error.setting, "phone_number_id");
        let error = CloudSettings::builder("t", "12")
            .with_version("25")
            .build()
            .unwrap_err();
        assert_eq!(error.setting, "version");
        let error = CloudSettings::builder("t", "12")
            .with_code_template("Has Spaces")
            .build()
            .unwrap_err();
        assert_eq!(error.setting, "template");
        let error = CloudSettings::builder("", "12").build().unwrap_err();
        assert_eq!(error.setting, "token");
    }

    #[test]
    fn debug_hides_the_token() {
        let settings = CloudSettings::builder("EAAsecret", "12").build().unwrap();
        assert!(!format!("{settings:?}").contains("EAAsecret"));
    }
}
