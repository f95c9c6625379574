//! The checks [`WhatsAppSender::start`](crate::WhatsAppSender::start) runs on its settings, so a
//! bad value is refused by name instead of being clamped, or panicking deep in a task later.

use std::time::Duration;

use super::WhatsAppConfig;

/// A [`WhatsAppConfig`] setting out of its range: which one, and what it must be.
///
/// ```
/// use otp_reset_whatsapp::WhatsAppConfig;
///
/// let error = WhatsAppConfig::new().with_session_id("../elsewhere").check().unwrap_err();
/// assert_eq!(error.setting(), "session_id");
/// assert_eq!(
///     error.to_string(),
///     "WhatsApp setting `session_id` must be 1 to 64 letters, digits, `-` or `_`"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("WhatsApp setting `{setting}` must be {expected}")]
pub struct ConfigError {
    setting: &'static str,
    expected: &'static str,
}

impl ConfigError {
    /// The setting's name, as its `with_*` method names it.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// What the setting must be.
    pub fn expected(&self) -> &'static str {
        self.expected
    }
}

/// The longest session id: it names a folder.
const MAX_SESSION_ID_CHARS: usize = 64;

/// The most messages that may wait for the page: each waiting request holds a place.
const MAX_QUEUE_CAPACITY: usize = 10_000;

/// The most messages whose acknowledgements are followed at once.
const MAX_FOLLOWED: usize = 10_000;

/// The shortest planned relaunch: a shorter one would relaunch while WhatsApp Web still loads.
const MIN_PLANNED_RELAUNCH: Duration = Duration::from_secs(10 * 60);

impl WhatsAppConfig {
    /// Checks every setting, naming the first one out of its range.
    ///
    /// [`WhatsAppSender::start`](crate::WhatsAppSender::start) runs it; call it earlier to
    /// refuse bad settings when a server reads them.
    ///
    /// ```
    /// use otp_reset_whatsapp::WhatsAppConfig;
    ///
    /// assert!(WhatsAppConfig::new().check().is_ok());
    /// let error = WhatsAppConfig::new().with_queue_capacity(0).check().unwrap_err();
    /// assert_eq!(error.setting(), "queue_capacity");
    /// ```
    pub fn check(&self) -> Result<(), ConfigError> {
        let positive = |d: Duration| !d.is_zero();
        check(
            "url",
            self.url.starts_with("https://") || self.url.starts_with("http://"),
            "an http:// or https:// address",
        )?;
        // As whatsapp-web.js's LocalAuth requires of its clientId: the id names a folder, so a
        // `/` or `..` would put the session elsewhere.
        check(
            "session_id",
            (1..=MAX_SESSION_ID_CHARS).contains(&self.session_id.len())
                && self
                    .session_id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "1 to 64 letters, digits, `-` or `_`",
        )?;
        check(
            "qr_limits",
            positive(self.qr_timeout) && self.max_qr_codes >= 1,
            "a wait above zero and at least 1 code",
        )?;
        check("send_timeout", positive(self.send_timeout), "above zero")?;
        check(
            "step_timeouts",
            [
                self.launch_timeout,
                self.load_timeout,
                self.pairing_timeout,
                self.evaluate_timeout,
            ]
            .into_iter()
            .all(positive),
            "each above zero",
        )?;
        check(
            "probe_interval",
            positive(self.probe_interval),
            "above zero",
        )?;
        check(
            "delivery_reports",
            positive(self.ack_poll_interval)
                && self.ack_poll_interval <= self.ack_follow_for
                && (1..=MAX_FOLLOWED).contains(&self.ack_follow_max),
            "a poll interval above zero, followed for at least that long, 1 to 10000 messages",
        )?;
        check(
            "queue_capacity",
            (1..=MAX_QUEUE_CAPACITY).contains(&self.queue_capacity),
            "from 1 to 10000",
        )?;
        check(
            "backoff",
            positive(self.backoff_base) && self.backoff_base <= self.backoff_max,
            "a base above zero and a maximum at least the base",
        )?;
        check(
            "planned_relaunch",
            self.relaunch_after
                .is_none_or(|after| after >= MIN_PLANNED_RELAUNCH)
                && self.relaunch_after_sends.is_none_or(|sends| sends >= 1),
            "at least 10 minutes and at least 1 send, or off",
        )?;
        check(
            "template",
            self.template
                .as_ref()
                .is_none_or(|template| template.contains("{code}")),
            "a text with `{code}` in it",
        )?;
        check(
            "user_agent",
            self.user_agent.as_ref().is_none_or(|agent| {
                !agent.trim().is_empty() && agent.chars().all(|c| !c.is_control())
            }),
            "a line of text",
        )?;
        check("module_wait", positive(self.module_wait), "above zero")?;
        Ok(())
    }
}

fn check(setting: &'static str, ok: bool, expected: &'static str) -> Result<(), ConfigError> {
    if ok {
        Ok(())
    } else {
        Err(ConfigError { setting, expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting_refused(config: WhatsAppConfig) -> &'static str {
        match config.check() {
            Err(error) => error.setting(),
            Ok(()) => panic!("accepted {config:?}"),
        }
    }

    #[test]
    fn the_defaults_pass() {
        assert_eq!(WhatsAppConfig::new().check(), Ok(()));
    }

    #[test]
    fn each_bad_value_is_named() {
        let zero = Duration::ZERO;
        let second = Duration::from_secs(1);
        let new = WhatsAppConfig::new;
        let cases = [
            (new().with_url("web.whatsapp.com"), "url"),
            (new().with_session_id(""), "session_id"),
            (new().with_session_id("a/b"), "session_id"),
            (new().with_session_id(".."), "session_id"),
            (new().with_session_id("x".repeat(65)), "session_id"),
            (new().with_qr_limits(second, 0), "qr_limits"),
            (new().with_qr_limits(zero, 6), "qr_limits"),
            (new().with_send_timeout(zero), "send_timeout"),
            (
                new().with_step_timeouts(second, zero, second, second),
                "step_timeouts",
            ),
            (new().with_probe_interval(zero), "probe_interval"),
            (
                new().with_delivery_reports(zero, second, 1),
                "delivery_reports",
            ),
            (
                new().with_delivery_reports(second * 2, second, 1),
                "delivery_reports",
            ),
            (
                new().with_delivery_reports(second, second, 0),
                "delivery_reports",
            ),
            (new().with_queue_capacity(0), "queue_capacity"),
            (new().with_queue_capacity(10_001), "queue_capacity"),
            (new().with_backoff(zero, second), "backoff"),
            (new().with_backoff(second * 2, second), "backoff"),
            (
                new().with_planned_relaunch(Some(second), None),
                "planned_relaunch",
            ),
            (
                new().with_planned_relaunch(None, Some(0)),
                "planned_relaunch",
            ),
            (new().with_template("Kode Anda"), "template"),
            (new().with_user_agent("Mozilla\n"), "user_agent"),
            (new().with_user_agent(" "), "user_agent"),
            (new().with_module_wait(zero), "module_wait"),
        ];
        for (config, setting) in cases {
            assert_eq!(setting_refused(config), setting);
        }
    }

    #[test]
    fn edges_inside_the_ranges_pass() {
        let config = WhatsAppConfig::new()
            .with_session_id("tiket-kita_2")
            .with_queue_capacity(1)
            .with_backoff(Duration::from_secs(2), Duration::from_secs(2))
            .with_planned_relaunch(None, None)
            .with_template("{code}");
        assert_eq!(config.check(), Ok(()));
    }
}
