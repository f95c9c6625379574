//! Chromium's settings, launch and close.

use std::path::Path;
use std::time::Duration;

use chromiumoxide::error::CdpError;
use chromiumoxide::{Browser, BrowserConfig};
use futures_util::StreamExt;

use super::{Actor, SessionEnd};
use crate::failure::Failure;

/// The flags Chromium gets beside chromiumoxide's own, as `(name, value)`. chromiumoxide writes
/// the leading `--` itself: a name given with it would reach Chromium as `----name` and be
/// ignored.
fn flags(user_agent: &str) -> Vec<(&str, Option<&str>)> {
    vec![
        // whatsapp-web.js src/Client.js initialize(): WhatsApp Web turns a headless browser away,
        // so the browser announces a desktop one, and hides `navigator.webdriver`.
        ("user-agent", Some(user_agent)),
        ("disable-blink-features", Some("AutomationControlled")),
        ("disable-gpu", None),
        ("disable-quic", None),
        ("disable-component-update", None),
        ("no-default-browser-check", None),
        ("mute-audio", None),
    ]
}

/// A desktop Chrome's user agent for the Chromium whose `--version` printed `version`: the real
/// browser's major version, as Chrome's reduced user agent string gives it.
pub(crate) fn desktop_user_agent(version: &str) -> Option<String> {
    let major = version.split_whitespace().find_map(|word| {
        let (major, rest) = word.split_once('.')?;
        (major.parse::<u32>().is_ok() && !rest.is_empty()).then_some(major)
    })?;
    Some(format!(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{major}.0.0.0 Safari/537.36"
    ))
}

/// The user agent used when Chromium's version cannot be read.
const FALLBACK_USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";

/// Asks `chromium --version`, for the user agent.
async fn chromium_version(chromium: &Path) -> Option<String> {
    let chromium = chromium.to_owned();
    let run = tokio::task::spawn_blocking(move || {
        std::process::Command::new(chromium)
            .arg("--version")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
    });
    let output = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .ok()?
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

impl Actor {
    /// The user agent: the configured one, or the installed Chromium's as its desktop build
    /// would give it.
    async fn user_agent(&mut self) -> String {
        if let Some(user_agent) = self.config.user_agent.clone().or(self.user_agent.clone()) {
            return user_agent;
        }
        let found = chromium_version(&self.config.chromium)
            .await
            .as_deref()
            .and_then(desktop_user_agent);
        let user_agent = found.unwrap_or_else(|| FALLBACK_USER_AGENT.to_owned());
        self.user_agent = Some(user_agent.clone());
        user_agent
    }

    fn browser_config(&self, user_agent: &str) -> Result<BrowserConfig, String> {
        let mut builder = BrowserConfig::builder()
            .chrome_executable(&self.config.chromium)
            .user_data_dir(self.profile.dir())
            .no_sandbox()
            // whatsapp-web.js launches with `defaultViewport: null`: the window's own size.
            .viewport(None)
            .launch_timeout(self.config.launch_timeout)
            // A CDP request must outlive the longest step it serves (a send), or chromiumoxide
            // would drop it first and report a failure for a message that may still be created.
            .request_timeout(
                self.config
                    .send_timeout
                    .max(self.config.evaluate_timeout)
                    .max(self.config.load_timeout),
            );
        for (name, value) in flags(user_agent) {
            builder = match value {
                Some(value) => builder.arg((name, value)),
                None => builder.arg(name),
            };
        }
        builder = if self.config.headless {
            builder.new_headless_mode()
        } else {
            builder.with_head()
        };
        builder.build()
    }

    /// One browser session: launch Chromium, drive WhatsApp Web until the session ends, close.
    pub(super) async fn session(&mut self) -> SessionEnd {
        if !self.config.chromium.exists() {
            tracing::error!(target: "otp_reset_whatsapp", chromium = %self.config.chromium.display(), "Chromium not found");
            return SessionEnd::GiveUp(Failure::ChromiumMissing);
        }
        let user_agent = self.user_agent().await;
        let config = match self.browser_config(&user_agent) {
            Ok(config) => config,
            Err(error) => return SessionEnd::GiveUp(Failure::BrowserSettings(error)),
        };
        let launched =
            tokio::time::timeout(self.config.launch_timeout, Browser::launch(config)).await;
        let (mut browser, mut handler) = match launched {
            Ok(Ok(launched)) => launched,
            Ok(Err(error)) => {
                return SessionEnd::Crashed(format!("launching Chromium failed: {error}"));
            }
            Err(_) => return SessionEnd::Crashed("Chromium did not start in time".into()),
        };

        let end = {
            // The handler must be polled for as long as the browser lives; a broken connection
            // means Chromium is gone.
            let events = async {
                while let Some(event) = handler.next().await {
                    match event {
                        Err(CdpError::Ws(error)) => {
                            tracing::warn!(target: "otp_reset_whatsapp", %error, "the connection to Chromium broke");
                            break;
                        }
                        Err(CdpError::Io(error)) => {
                            tracing::warn!(target: "otp_reset_whatsapp", %error, "the connection to Chromium failed");
                            break;
                        }
                        Err(error) => {
                            tracing::debug!(target: "otp_reset_whatsapp", %error, "browser event error")
                        }
                        Ok(()) => {}
                    }
                }
            };
            tokio::select! {
                () = events => SessionEnd::Crashed("the connection to Chromium closed".into()),
                end = self.drive(&browser) => end,
            }
        };

        // Close politely while still polling the handler, then make sure the process is gone.
        let close = tokio::time::timeout(self.config.close_timeout, browser.close());
        tokio::select! {
            _ = close => {},
            () = async { while handler.next().await.is_some() {} } => {},
        }
        // A clean exit is what saves the session to the profile; kill only a browser that
        // does not exit by itself, and always reap it.
        if tokio::time::timeout(self.config.close_timeout, browser.wait())
            .await
            .is_err()
        {
            let _ = browser.kill().await;
            let _ = tokio::time::timeout(self.config.close_timeout, browser.wait()).await;
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_agent_is_the_installed_chromiums_as_a_desktop_chrome() {
        let debian = "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)\n";
        assert_eq!(
            desktop_user_agent(debian).as_deref(),
            Some(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
            )
        );
        assert!(
            desktop_user_agent("Google Chrome 131.0.6778.85 ")
                .is_some_and(|ua| ua.contains("Chrome/131.0.0.0"))
        );
        assert_eq!(desktop_user_agent("no version here"), None);
    }

    #[test]
    fn no_flag_is_written_with_its_dashes() {
        for (name, _) in flags("UA") {
            assert!(
                !name.starts_with('-'),
                "{name}: chromiumoxide adds the dashes"
            );
        }
    }
}
