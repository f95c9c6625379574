//! The one task that owns Chromium: the browser, chromiumoxide's handler, the page and the
//! child process. Callers reach it through a channel.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chromiumoxide::error::CdpError;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use otp_reset::{Delivered, PhoneNumber, SendError, SenderState};
use tokio::sync::{mpsc, oneshot, watch};

use crate::adapter::{self, ADAPTER_VERSION, Created, Probe, ScriptError};
use crate::config::WhatsAppConfig;
use crate::profile::Profile;
use crate::qr::QrCode;

/// What callers ask of the actor.
#[derive(Debug)]
pub(crate) enum Command {
    Send {
        to: PhoneNumber,
        text: String,
        reply: oneshot::Sender<Result<Delivered, SendError>>,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// Why a browser session ended.
#[derive(Debug)]
enum SessionEnd {
    Shutdown(Option<oneshot::Sender<()>>),
    /// Time for the planned relaunch.
    Planned,
    /// The phone logged this session out.
    LoggedOut,
    /// Chromium, the page or the connection failed; relaunch after a backoff.
    Crashed(String),
    /// Give up until restarted: WhatsApp Web changed, or nobody scans the QR code.
    GiveUp(String),
}

pub(crate) struct Actor {
    pub(crate) config: WhatsAppConfig,
    pub(crate) profile: Profile,
    pub(crate) state: watch::Sender<SenderState>,
    pub(crate) qr: watch::Sender<Option<QrCode>>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) last_sent: HashMap<PhoneNumber, Instant>,
    /// Whether the current session reached READY: a later crash then starts the backoff over.
    pub(crate) reached_ready: bool,
}

/// What one session has seen so far.
#[derive(Debug, Default)]
struct Seen {
    version: Option<String>,
    connected: bool,
    last_qr: Option<String>,
    qr_shown_at: Option<Instant>,
    qr_codes: u32,
    pairing_since: Option<Instant>,
    disconnected_since: Option<Instant>,
    incompatible_probes: u32,
    failed_probes: u32,
    unpaired_probes: u32,
    /// Since when the page has shown no progress (loading, opening, conflict).
    stalled_since: Option<Instant>,
    send_timeouts: u32,
}

impl Actor {
    fn set(&self, state: SenderState) {
        let changed = *self.state.borrow() != state;
        if changed {
            tracing::info!(target: "otp_reset_whatsapp", state = %state, "WhatsApp sender state");
            self.state.send_replace(state);
        }
    }

    pub(crate) async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            self.set(SenderState::Initializing);
            match self.session().await {
                SessionEnd::Shutdown(done) => {
                    self.set(SenderState::Disconnected);
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                    return;
                }
                SessionEnd::Planned => failures = 0,
                SessionEnd::LoggedOut => {
                    self.set(SenderState::LoggedOut);
                    if let Err(error) = self.profile.clear() {
                        tracing::error!(target: "otp_reset_whatsapp", %error, "clearing the logged-out session failed");
                    }
                    failures = 0;
                }
                SessionEnd::Crashed(reason) => {
                    if std::mem::take(&mut self.reached_ready) {
                        failures = 0;
                    }
                    failures += 1;
                    tracing::warn!(target: "otp_reset_whatsapp", %reason, attempt = failures, "WhatsApp session failed; relaunching");
                    self.set(SenderState::Disconnected);
                    self.set(SenderState::Reconnecting { attempt: failures });
                    if let Some(done) = self.pause(self.backoff(failures)).await {
                        self.set(SenderState::Disconnected);
                        let _ = done.map(|done| done.send(()));
                        return;
                    }
                }
                SessionEnd::GiveUp(reason) => {
                    tracing::error!(target: "otp_reset_whatsapp", %reason, "WhatsApp sender stopped; restart it to try again");
                    self.set(SenderState::Failed { reason });
                    let done = self.pause(Duration::MAX).await.flatten();
                    let _ = done.map(|done| done.send(()));
                    return;
                }
            }
        }
    }

    /// The delay before relaunch `attempt`: doubling from the base, with jitter, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .config
            .backoff_base
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let capped = doubled.min(self.config.backoff_max);
        let jitter = rand::random_range(0..=capped.as_millis() as u64 / 4);
        capped + Duration::from_millis(jitter)
    }

    /// Waits `delay`, refusing sends meanwhile; `Some` when asked to shut down.
    async fn pause(&mut self, delay: Duration) -> Option<Option<oneshot::Sender<()>>> {
        let sleep = tokio::time::sleep(delay.min(Duration::from_secs(365 * 24 * 3600)));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return None,
                command = self.commands.recv() => match command {
                    None => return Some(None),
                    Some(Command::Shutdown { done }) => return Some(Some(done)),
                    Some(Command::Send { reply, .. }) => {
                        let _ = reply.send(Err(SendError::NotReady(self.state.borrow().clone())));
                    }
                },
            }
        }
    }

    async fn session(&mut self) -> SessionEnd {
        if !self.config.chromium.exists() {
            return SessionEnd::GiveUp(format!(
                "Chromium not found at {}: install Debian's package `chromium`",
                self.config.chromium.display()
            ));
        }
        let mut builder = BrowserConfig::builder()
            .chrome_executable(&self.config.chromium)
            .user_data_dir(self.profile.dir())
            .no_sandbox()
            .launch_timeout(self.config.launch_timeout)
            // A CDP request must outlive the longest step it serves (a send), or chromiumoxide
            // would drop it first and report a failure for a message that may still be created.
            .request_timeout(
                self.config
                    .send_timeout
                    .max(self.config.evaluate_timeout)
                    .max(self.config.load_timeout),
            )
            .args([
                "--disable-gpu",
                "--disable-quic",
                "--disable-component-update",
                "--disable-extensions",
                "--no-default-browser-check",
                "--mute-audio",
            ])
            // A headless browser announces itself as `HeadlessChrome`, which WhatsApp Web refuses.
            .arg(format!("--user-agent={}", self.config.user_agent));
        builder = if self.config.headless {
            builder.new_headless_mode()
        } else {
            builder.with_head()
        };
        let config = match builder.build() {
            Ok(config) => config,
            Err(error) => return SessionEnd::GiveUp(format!("invalid browser settings: {error}")),
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

    async fn drive(&mut self, browser: &Browser) -> SessionEnd {
        let opened =
            tokio::time::timeout(self.config.load_timeout, browser.new_page("about:blank")).await;
        let page = match opened {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => {
                return SessionEnd::Crashed(format!("opening a page failed: {error}"));
            }
            Err(_) => return SessionEnd::Crashed("opening a page timed out".into()),
        };
        if let Err(error) = page.evaluate_on_new_document(adapter::PROBE_SCRIPT).await {
            return SessionEnd::Crashed(format!("installing the probe failed: {error}"));
        }
        match tokio::time::timeout(
            self.config.load_timeout,
            page.goto(self.config.url.as_str()),
        )
        .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return SessionEnd::Crashed(format!("loading {} failed: {error}", self.config.url));
            }
            Err(_) => return SessionEnd::Crashed(format!("loading {} timed out", self.config.url)),
        }

        let started = Instant::now();
        let mut sends = 0u64;
        let mut seen = Seen::default();
        let mut ticks = tokio::time::interval(self.config.probe_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    None => return SessionEnd::Shutdown(None),
                    Some(Command::Shutdown { done }) => return SessionEnd::Shutdown(Some(done)),
                                        Some(Command::Send { to, text, reply }) => {
                        // A caller that gave up must not get its code delivered later.
                        if reply.is_closed() {
                            continue;
                        }
                        let state = self.state.borrow().clone();
                        let result = if state.can_send() {
                            sends += 1;
                            self.send(&page, to, &text).await
                        } else {
                            Err(SendError::NotReady(state))
                        };
                        if matches!(result, Err(SendError::Timeout(_))) {
                            seen.send_timeouts += 1;
                        } else {
                            seen.send_timeouts = 0;
                        }
                        let _ = reply.send(result);
                        if seen.send_timeouts >= 3 {
                            return SessionEnd::Crashed("three sends in a row timed out".into());
                        }
                    }
                },
                _ = ticks.tick() => {
                    let probe = adapter::probe(&page, self.config.evaluate_timeout).await;
                    if let Some(end) = self.observe(probe, &page, &mut seen, started).await {
                        return end;
                    }
                }
            }
            let due_by_age = self
                .config
                .relaunch_after
                .is_some_and(|age| started.elapsed() >= age);
            let due_by_sends = self
                .config
                .relaunch_after_sends
                .is_some_and(|limit| sends >= limit);
            if (due_by_age || due_by_sends) && self.state.borrow().can_send() {
                tracing::info!(target: "otp_reset_whatsapp", sends, "planned relaunch to keep memory bounded");
                return SessionEnd::Planned;
            }
        }
    }

    /// Turns one probe into a state, or into the end of the session.
    async fn observe(
        &mut self,
        probe: Result<Probe, ScriptError>,
        page: &Page,
        seen: &mut Seen,
        started: Instant,
    ) -> Option<SessionEnd> {
        let probe = match probe {
            Ok(probe) => {
                seen.failed_probes = 0;
                probe
            }
            // A navigation (WhatsApp Web reloads itself after pairing) briefly leaves no
            // document to probe; only a page that keeps not answering has failed.
            Err(error) => {
                seen.failed_probes += 1;
                return (seen.failed_probes >= 6)
                    .then(|| SessionEnd::Crashed(format!("the page stopped answering: {error}")));
            }
        };
        if probe.loading || probe.absent {
            let since = *seen.stalled_since.get_or_insert(Instant::now());
            let stuck = since.elapsed() > self.config.load_timeout
                || (seen.version.is_none() && started.elapsed() > self.config.load_timeout);
            return stuck.then(|| SessionEnd::Crashed("WhatsApp Web did not load".into()));
        }
        if seen.version != probe.version {
            tracing::info!(target: "otp_reset_whatsapp", version = ?probe.version, adapter = ADAPTER_VERSION, "WhatsApp Web loaded");
            seen.version.clone_from(&probe.version);
        }
        if !probe.missing.is_empty() {
            seen.incompatible_probes += 1;
            return (seen.incompatible_probes >= 4).then(|| {
                SessionEnd::GiveUp(format!(
                    "incompatible WhatsApp Web version {}: missing {} (adapter v{ADAPTER_VERSION})",
                    probe.version.as_deref().unwrap_or("?"),
                    probe.missing.join(", ")
                ))
            });
        }
        seen.incompatible_probes = 0;
        let now = Instant::now();
        if !matches!(probe.socket.as_deref(), Some("OPENING" | "CONFLICT") | None) {
            seen.stalled_since = None;
        }
        if !matches!(probe.socket.as_deref(), Some("UNPAIRED" | "UNPAIRED_IDLE")) {
            seen.unpaired_probes = 0;
        }
        match probe.socket.as_deref() {
            Some("CONNECTED") => {
                seen.connected = true;
                seen.disconnected_since = None;
                self.qr.send_replace(None);
                if probe.synced {
                    seen.pairing_since = None;
                    self.reached_ready = true;
                    self.set(SenderState::Ready);
                } else {
                    self.set(SenderState::Authenticated);
                    let since = *seen.pairing_since.get_or_insert(now);
                    if since.elapsed() > self.config.pairing_timeout {
                        return Some(SessionEnd::Crashed(
                            "WhatsApp Web did not finish syncing".into(),
                        ));
                    }
                }
            }
            Some("PAIRING") => {
                self.set(SenderState::Authenticating);
                let since = *seen.pairing_since.get_or_insert(now);
                if since.elapsed() > self.config.pairing_timeout {
                    return Some(SessionEnd::Crashed("pairing did not finish".into()));
                }
            }
            Some("UNPAIRED" | "UNPAIRED_IDLE") => {
                // One probe can catch a passing state; a logout is UNPAIRED that stays.
                if seen.connected {
                    seen.unpaired_probes += 1;
                    return (seen.unpaired_probes >= 3).then_some(SessionEnd::LoggedOut);
                }
                match probe.qr {
                    Some(reference) if seen.last_qr.as_ref() != Some(&reference) => {
                        seen.qr_codes += 1;
                        if seen.qr_codes > self.config.max_qr_codes {
                            return Some(SessionEnd::GiveUp(format!(
                                "no QR code was scanned ({} shown)",
                                self.config.max_qr_codes
                            )));
                        }
                        self.show_qr(&reference, seen.qr_codes);
                        seen.last_qr = Some(reference);
                        seen.qr_shown_at = Some(now);
                        self.set(SenderState::WaitingForQr);
                    }
                    Some(_) => {
                        // WhatsApp Web rotates its codes; one that outlives its timeout means
                        // the page is stuck, and a reload asks for a fresh one.
                        if seen
                            .qr_shown_at
                            .is_some_and(|at| at.elapsed() > self.config.qr_timeout)
                        {
                            seen.qr_shown_at = Some(now);
                            let _ =
                                tokio::time::timeout(self.config.load_timeout, page.reload()).await;
                        }
                    }
                    None => {
                        // The QR expired and WhatsApp Web waits for a click: a reload asks for
                        // fresh codes, within the same cap.
                        if seen.qr_codes >= self.config.max_qr_codes {
                            return Some(SessionEnd::GiveUp(format!(
                                "no QR code was scanned ({} shown)",
                                self.config.max_qr_codes
                            )));
                        }
                        let _ = tokio::time::timeout(self.config.load_timeout, page.reload()).await;
                    }
                }
            }
            stalled @ (Some("CONFLICT" | "OPENING") | None) => {
                if stalled == Some("CONFLICT") {
                    self.set(SenderState::Conflict);
                }
                // Another session took over, or the socket never opens: a relaunch takes the
                // session back ("use here") or starts afresh.
                let since = *seen.stalled_since.get_or_insert(now);
                if since.elapsed() > self.config.load_timeout {
                    let what = stalled.unwrap_or("without a socket");
                    return Some(SessionEnd::Crashed(format!("WhatsApp Web stayed {what}")));
                }
            }
            Some(_) => {
                self.set(SenderState::Disconnected);
                let since = *seen.disconnected_since.get_or_insert(now);
                if since.elapsed() > self.config.load_timeout {
                    return Some(SessionEnd::Crashed(
                        "WhatsApp Web stayed disconnected".into(),
                    ));
                }
            }
        }
        None
    }

    fn show_qr(&self, reference: &str, number: u32) {
        let code = QrCode::new(reference.to_owned());
        if self.config.show_qr_in_terminal && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            // The terminal, not the log: the code is a secret for the operator's eyes only.
            eprintln!(
                "\nScan this QR code with WhatsApp on the site's phone (Linked devices › Link a device), code {number} of {}:\n{}",
                self.config.max_qr_codes,
                code.to_terminal()
            );
        }
        tracing::info!(target: "otp_reset_whatsapp", number, "showing a QR code for pairing");
        self.qr.send_replace(Some(code));
    }

    /// Sends one message and waits for WhatsApp's server acknowledgement. Never retried once the
    /// message may exist, so a code is never sent twice.
    async fn send(
        &mut self,
        page: &Page,
        to: PhoneNumber,
        text: &str,
    ) -> Result<Delivered, SendError> {
        if let Some(last) = self.last_sent.get(&to) {
            let wait = self.config.recipient_spacing.saturating_sub(last.elapsed());
            tokio::time::sleep(wait).await;
        }
        let deadline = Instant::now() + self.config.send_timeout;
        let created = adapter::send(page, &to.digits(), text, self.config.send_timeout).await;
        if self.last_sent.len() > 10_000 {
            let spacing = self.config.recipient_spacing;
            self.last_sent.retain(|_, at| at.elapsed() < spacing);
        }
        self.last_sent.insert(to, Instant::now());
        let id = match created {
            Ok(Created::Message(id)) => id,
            Ok(Created::NotRegistered) => return Err(SendError::NotRegistered),
            Err(ScriptError::Timeout(waited)) => return Err(SendError::Timeout(waited)),
            Err(error) => return Err(SendError::Failed(Box::new(error))),
        };
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(SendError::Timeout(self.config.send_timeout));
            }
            match adapter::ack(page, &id, left.min(self.config.evaluate_timeout)).await {
                Ok(Some(ack)) if ack >= 1 => {
                    return Ok(Delivered {
                        message_id: Some(id),
                    });
                }
                Ok(Some(ack)) if ack < 0 => {
                    return Err(SendError::Failed("WhatsApp refused the message".into()));
                }
                _ => tokio::time::sleep(Duration::from_millis(100).min(left)).await,
            }
        }
    }
}
