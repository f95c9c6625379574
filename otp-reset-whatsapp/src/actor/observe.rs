//! One probe of WhatsApp Web turned into the sender's state, or into the end of the session.
//!
//! Socket states are whatsapp-web.js's `WAState` (src/util/Constants.js) and wa-js's
//! `SOCKET_STATE` (src/whatsapp/enums/SOCKET_STATE.ts).

use std::time::{Duration, Instant};

use chromiumoxide::Page;
use otp_reset::SenderState;

use super::{Actor, SessionEnd};
use crate::adapter::{Probe, ScriptError};
use crate::failure::Failure;
use crate::qr::QrCode;

/// How long a page that was connected may stay unpaired, without WhatsApp Web saying the phone
/// logged out, before it is taken for a logout.
const UNPAIRED_MEANS_LOGGED_OUT: Duration = Duration::from_secs(10);

/// What one session has seen so far.
#[derive(Debug, Default)]
pub(super) struct Seen {
    version: Option<String>,
    connected: bool,
    last_link: Option<String>,
    qr_shown_at: Option<Instant>,
    qr_codes: u32,
    qr_refreshed_at: Option<Instant>,
    pairing_since: Option<Instant>,
    syncing_since: Option<Instant>,
    disconnected_since: Option<Instant>,
    /// Since when a stage's modules have been missing.
    missing_since: Option<Instant>,
    failed_probes: u32,
    /// Since when a page that was connected has been unpaired without saying it logged out.
    unpaired_since: Option<Instant>,
    /// Since when the page has shown no progress (loading, opening, conflict).
    stalled_since: Option<Instant>,
    pub(super) send_timeouts: u32,
}

impl Actor {
    /// Turns one probe into a state, or into the end of the session.
    pub(super) async fn observe(
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
        let now = Instant::now();
        if probe.loading || probe.absent {
            let since = *seen.stalled_since.get_or_insert(now);
            let stuck = since.elapsed() > self.config.load_timeout
                || (seen.version.is_none() && started.elapsed() > self.config.load_timeout);
            return stuck.then(|| SessionEnd::Crashed("WhatsApp Web did not load".into()));
        }
        if seen.version != probe.version {
            tracing::info!(target: "otp_reset_whatsapp", version = ?probe.version, adapter = self.config.adapter.version(), "WhatsApp Web loaded");
            seen.version.clone_from(&probe.version);
            self.shared.set_web_version(probe.version.clone());
        }
        if probe.logged_out {
            return Some(SessionEnd::LoggedOut);
        }
        let socket = probe.socket.as_deref();
        if let Some(failure) = socket.and_then(Failure::of_socket) {
            // A fresh page may load a current WhatsApp Web where a cached one was refused.
            if failure == Failure::DeprecatedVersion && !self.relaunched_for_version {
                self.relaunched_for_version = true;
                return Some(SessionEnd::Crashed(
                    "WhatsApp Web said DEPRECATED_VERSION; trying a fresh page once".into(),
                ));
            }
            return Some(SessionEnd::GiveUp(failure));
        }
        if let Some(end) = self.wait_for_modules(&probe, seen, now) {
            return end;
        }
        if !matches!(socket, Some("OPENING" | "UNLAUNCHED" | "CONFLICT") | None) {
            seen.stalled_since = None;
        }
        if !matches!(socket, Some("UNPAIRED" | "UNPAIRED_IDLE")) {
            seen.unpaired_since = None;
        }
        if socket != Some("CONNECTED") {
            seen.syncing_since = None;
        }
        match socket {
            Some("CONNECTED") => {
                seen.connected = true;
                seen.disconnected_since = None;
                self.qr.send_replace(None);
                // Ready once synced, as whatsapp-web.js's 'ready' follows 'change:hasSynced',
                // and once the send modules are there (checked above).
                seen.pairing_since = None;
                if probe.synced {
                    self.reached_ready = true;
                    self.relaunched_for_version = false;
                    self.set(SenderState::Ready);
                } else {
                    self.set(SenderState::Authenticated);
                    let since = *seen.syncing_since.get_or_insert(now);
                    if since.elapsed() > self.config.pairing_timeout {
                        return Some(SessionEnd::Crashed(
                            "WhatsApp Web did not finish syncing".into(),
                        ));
                    }
                }
            }
            Some("PAIRING") => {
                self.qr.send_replace(None);
                self.set(SenderState::Authenticating);
                let since = *seen.pairing_since.get_or_insert(now);
                if since.elapsed() > self.config.pairing_timeout {
                    return Some(SessionEnd::Crashed("pairing did not finish".into()));
                }
            }
            Some(unpaired @ ("UNPAIRED" | "UNPAIRED_IDLE")) => {
                // A pairing that fell back to a QR code is over; the next scan starts afresh.
                seen.pairing_since = None;
                // WhatsApp Web says when the phone logged out (above). Without that, only a
                // connected page that stays unpaired is taken for a logout: a probe can catch a
                // passing state, and a logout forgets the session.
                if seen.connected {
                    let since = *seen.unpaired_since.get_or_insert(now);
                    return (since.elapsed() >= UNPAIRED_MEANS_LOGGED_OUT)
                        .then_some(SessionEnd::LoggedOut);
                }
                return self
                    .offer_qr(unpaired == "UNPAIRED_IDLE", probe.link, page, seen, now)
                    .await;
            }
            stalled @ (Some("CONFLICT" | "OPENING" | "UNLAUNCHED") | None) => {
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
            // TIMEOUT (the phone is unreachable) and anything new: a drop that may pass.
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

    /// WhatsApp Web registers some modules late (after login, after the first sync): a stage
    /// whose modules are missing holds the state where it is, and only one that stays without
    /// them for the module wait means an incompatible version. `None` lets the probe go on.
    fn wait_for_modules(
        &self,
        probe: &Probe,
        seen: &mut Seen,
        now: Instant,
    ) -> Option<Option<SessionEnd>> {
        let mut missing = probe.missing.clone();
        if let Some(error) = &probe.link_error {
            missing.push(format!("the QR linking code ({error})"));
        }
        if missing.is_empty() {
            seen.missing_since = None;
            return None;
        }
        let since = *seen.missing_since.get_or_insert(now);
        if since.elapsed() > self.config.module_wait {
            return Some(Some(SessionEnd::GiveUp(Failure::Incompatible {
                version: probe.version.clone().unwrap_or_else(|| "?".into()),
                missing,
                adapter: self.config.adapter.version().to_owned(),
            })));
        }
        if probe.socket.as_deref() == Some("CONNECTED") {
            // Logged in and synced, but not able to send yet.
            self.set(SenderState::Authenticated);
        }
        tracing::debug!(target: "otp_reset_whatsapp", stage = ?probe.stage, ?missing, "waiting for WhatsApp Web's modules");
        Some(None)
    }

    /// Shows the linking code of an unpaired page as a QR code, within the cap on codes.
    async fn offer_qr(
        &mut self,
        idle: bool,
        link: Option<String>,
        page: &Page,
        seen: &mut Seen,
        now: Instant,
    ) -> Option<SessionEnd> {
        let not_scanned = |shown| SessionEnd::GiveUp(Failure::NotScanned { shown });
        if idle {
            // The codes ran out and WhatsApp Web waits for a click: the code shown is dead.
            // Ask for fresh ones (whatsapp-web.js does the same), within the same cap.
            self.qr.send_replace(None);
            if seen.qr_codes >= self.config.max_qr_codes {
                return Some(not_scanned(seen.qr_codes));
            }
            let recently = seen
                .qr_refreshed_at
                .is_some_and(|at| at.elapsed() < self.config.qr_timeout);
            if !recently {
                seen.qr_refreshed_at = Some(now);
                let adapter = &self.config.adapter;
                if let Err(error) = adapter.refresh_qr(page, self.config.evaluate_timeout).await {
                    tracing::debug!(target: "otp_reset_whatsapp", %error, "refreshing the QR code failed; reloading");
                    let _ = tokio::time::timeout(self.config.load_timeout, page.reload()).await;
                }
            }
            return None;
        }
        let stale = seen
            .qr_shown_at
            .is_some_and(|at| at.elapsed() > self.config.qr_timeout);
        match link {
            Some(link) if seen.last_link.as_ref() != Some(&link) => {
                seen.qr_codes += 1;
                if seen.qr_codes > self.config.max_qr_codes {
                    return Some(not_scanned(self.config.max_qr_codes));
                }
                self.show_qr(&link, seen.qr_codes);
                seen.last_link = Some(link);
                seen.qr_shown_at = Some(now);
                self.set(SenderState::WaitingForQr);
            }
            // WhatsApp Web rotates its codes; one that outlives its timeout means the page is
            // stuck, and a reload asks for a fresh one.
            Some(_) if stale => {
                seen.qr_shown_at = Some(now);
                let _ = tokio::time::timeout(self.config.load_timeout, page.reload()).await;
            }
            // The same code, or none between two references: the next one is on its way.
            _ => {}
        }
        None
    }

    fn show_qr(&self, link: &str, number: u32) {
        let code = QrCode::new(link.to_owned());
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
}
