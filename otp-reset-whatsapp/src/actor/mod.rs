//! The one task that owns Chromium: the browser, chromiumoxide's handler, the page and the
//! child process. Callers reach it through a channel.
//!
//! - this file: the life cycle (launch, run, relaunch with backoff, give up, shut down);
//! - `launch`: the browser's settings, its launch and its close;
//! - `observe`: a probe of the page turned into a state;
//! - `send`: one message, to WhatsApp's acknowledgement;
//! - `follow`: the acknowledgements after that, reported to the service.

mod follow;
mod launch;
mod observe;
mod send;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chromiumoxide::{Browser, Page};
use otp_reset::{Delivered, PhoneNumber, Presence, SendError, SenderState, SentLookup};
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::WhatsAppConfig;
use crate::failure::Failure;
use crate::profile::Profile;
use crate::qr::QrCode;
use crate::status::Shared;

pub(crate) use self::follow::Following;
use self::observe::Seen;
pub(crate) use self::send::is_message_id;

/// What callers ask of the actor.
#[derive(Debug)]
pub(crate) enum Command {
    Send {
        to: PhoneNumber,
        text: String,
        /// The id to create the message under (from `NewKey`); a fresh one when `None`.
        key: Option<String>,
        reply: oneshot::Sender<Result<Delivered, SendError>>,
    },
    /// A fresh message id from WhatsApp Web.
    NewKey {
        reply: oneshot::Sender<Result<String, SendError>>,
    },
    /// Whether WhatsApp Web holds a message to `to` under the id `key`.
    Find {
        to: PhoneNumber,
        key: String,
        reply: oneshot::Sender<Result<SentLookup, SendError>>,
    },
    /// Whether `to` has a WhatsApp account, sending nothing.
    Lookup {
        to: PhoneNumber,
        reply: oneshot::Sender<Result<Presence, SendError>>,
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
    /// Give up until restarted.
    GiveUp(Failure),
}

pub(crate) struct Actor {
    pub(crate) config: WhatsAppConfig,
    pub(crate) profile: Profile,
    pub(crate) shared: Arc<Shared>,
    pub(crate) qr: watch::Sender<Option<QrCode>>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) last_sent: HashMap<PhoneNumber, Instant>,
    /// Whether the current session reached READY: a later crash then starts the backoff over.
    pub(crate) reached_ready: bool,
    /// The user agent the browser announces, settled at the first launch.
    pub(crate) user_agent: Option<String>,
    /// Whether a relaunch was already tried against `DEPRECATED_VERSION` since the last READY.
    pub(crate) relaunched_for_version: bool,
    /// The messages whose acknowledgements are followed (kept across relaunches).
    pub(crate) following: Following,
}

impl Actor {
    fn set(&self, state: SenderState) {
        self.shared.set(state);
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
                    self.set(SenderState::Reconnecting { attempt: failures });
                    if let Some(done) = self.pause(self.backoff(failures)).await {
                        self.set(SenderState::Disconnected);
                        let _ = done.map(|done| done.send(()));
                        return;
                    }
                }
                SessionEnd::GiveUp(failure) => {
                    let reason = failure.to_string();
                    tracing::error!(target: "otp_reset_whatsapp", %reason, "WhatsApp sender stopped; restart it to try again");
                    self.qr.send_replace(None);
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
                    Some(command) => self.refuse(command),
                },
            }
        }
    }

    /// Answers a command that came while no page can serve it.
    fn refuse(&self, command: Command) {
        let not_ready = || SendError::NotReady(self.shared.state());
        match command {
            Command::Send { reply, .. } => drop(reply.send(Err(not_ready()))),
            Command::NewKey { reply } => drop(reply.send(Err(not_ready()))),
            Command::Find { reply, .. } => drop(reply.send(Err(not_ready()))),
            Command::Lookup { reply, .. } => drop(reply.send(Err(not_ready()))),
            Command::Shutdown { .. } => {}
        }
    }

    /// Opens WhatsApp Web in `browser` and serves commands until the session ends.
    async fn drive(&mut self, browser: &Browser) -> SessionEnd {
        let page = match self.open(browser).await {
            Ok(page) => page,
            Err(end) => return end,
        };
        let started = Instant::now();
        let mut sends = 0u64;
        let mut seen = Seen::default();
        let mut ticks = tokio::time::interval(self.config.probe_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ack_ticks = tokio::time::interval(self.config.ack_poll_interval);
        ack_ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    None => return SessionEnd::Shutdown(None),
                    Some(Command::Shutdown { done }) => return SessionEnd::Shutdown(Some(done)),
                    Some(Command::Send { to, text, key, reply }) => {
                        // A caller that gave up must not get its code delivered later.
                        if reply.is_closed() {
                            continue;
                        }
                        let state = self.shared.state();
                        let result = if state.can_send() {
                            sends += 1;
                            self.send(&page, to, &text, key.as_deref()).await
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
                    Some(Command::NewKey { reply }) => {
                        let result = match self.shared.state() {
                            state if state.can_send() => self.new_key(&page).await,
                            state => Err(SendError::NotReady(state)),
                        };
                        let _ = reply.send(result);
                    }
                    Some(Command::Find { to, key, reply }) => {
                        let result = match self.shared.state() {
                            state if state.can_send() => self.find(&page, to, &key).await,
                            state => Err(SendError::NotReady(state)),
                        };
                        let _ = reply.send(result);
                    }
                    Some(Command::Lookup { to, reply }) => {
                        let result = match self.shared.state() {
                            state if state.can_send() => self.lookup(&page, to).await,
                            state => Err(SendError::NotReady(state)),
                        };
                        let _ = reply.send(result);
                    }
                },
                _ = ack_ticks.tick(), if !self.following.is_empty() => {
                    self.poll_acks(&page).await;
                }
                _ = ticks.tick() => {
                    let probe = self.config.adapter.probe(&page, self.config.evaluate_timeout).await;
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
            if (due_by_age || due_by_sends) && self.shared.state().can_send() {
                tracing::info!(target: "otp_reset_whatsapp", sends, "planned relaunch to keep memory bounded");
                return SessionEnd::Planned;
            }
        }
    }

    /// A new page with the probe installed on every document, at WhatsApp Web.
    async fn open(&self, browser: &Browser) -> Result<Page, SessionEnd> {
        let opened =
            tokio::time::timeout(self.config.load_timeout, browser.new_page("about:blank")).await;
        let page = match opened {
            Ok(Ok(page)) => page,
            Ok(Err(error)) => {
                return Err(SessionEnd::Crashed(format!(
                    "opening a page failed: {error}"
                )));
            }
            Err(_) => return Err(SessionEnd::Crashed("opening a page timed out".into())),
        };
        if let Err(error) = page
            .evaluate_on_new_document(self.config.adapter.probe_script())
            .await
        {
            return Err(SessionEnd::Crashed(format!(
                "installing the probe failed: {error}"
            )));
        }
        let url = self.config.url.as_str();
        match tokio::time::timeout(self.config.load_timeout, page.goto(url)).await {
            Ok(Ok(_)) => Ok(page),
            Ok(Err(error)) => Err(SessionEnd::Crashed(format!(
                "loading WhatsApp Web failed: {error}"
            ))),
            Err(_) => Err(SessionEnd::Crashed("loading WhatsApp Web timed out".into())),
        }
    }
}
