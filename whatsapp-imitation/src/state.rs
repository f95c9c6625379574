//! The moving state of the imitation, kept on the server side: the pages that loaded, their
//! socket life cycle, the pairing tokens, the QR refs, the numbers and the messages.
//!
//! The life cycle moves lazily: a page's poll (or hello) advances its session by the time that
//! passed, so everything the test observes is exactly what the server handed to a page.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

use rand::RngExt;
use serde::Serialize;

use crate::{AckBehaviour, SentMessage};

/// The version string the page puts in `window.Debug.VERSION`.
pub(crate) const VERSION: &str = "2.3000.1017054665";
/// How long a freshly loaded page stays `OPENING`.
pub(crate) const OPENING: Duration = Duration::from_millis(300);
/// How long `PAIRING` lasts after a scan, before the page is told to reload.
pub(crate) const PAIRING: Duration = Duration::from_millis(500);
/// How long `CONNECTED` reports `hasSynced: false`.
pub(crate) const SYNCING: Duration = Duration::from_millis(500);
/// The QR rotation interval before the test sets one.
pub(crate) const DEFAULT_QR_INTERVAL: Duration = Duration::from_secs(2);
/// How many refs one round shows before `UNPAIRED_IDLE`, before the test sets it.
pub(crate) const DEFAULT_MAX_QR_REFS: usize = 6;
/// How many page sessions are remembered (older ones are forgotten; their pages re-hello).
const MAX_PAGES: usize = 64;

/// Where one page's socket is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Opening,
    Unpaired,
    UnpairedIdle,
    Pairing,
    /// Told to reload after pairing: the page is gone, its reloaded self is a new session.
    Reloading,
    Connected,
    Conflict,
}

impl Phase {
    fn socket_state(self) -> &'static str {
        match self {
            Phase::Opening => "OPENING",
            Phase::Unpaired => "UNPAIRED",
            Phase::UnpairedIdle => "UNPAIRED_IDLE",
            Phase::Pairing | Phase::Reloading => "PAIRING",
            Phase::Connected => "CONNECTED",
            Phase::Conflict => "CONFLICT",
        }
    }
}

/// One loaded page (a document that ran the imitation script and said hello).
#[derive(Debug)]
struct PageSession {
    id: String,
    /// The pairing token this page holds: presented at load (and valid then) or issued at pairing.
    token: Option<String>,
    phase: Phase,
    since: Instant,
    qr: Option<String>,
    qr_since: Instant,
    refs_this_round: usize,
    scanned: bool,
    /// The page must clear its stored token (it presented an unknown one, or was logged out).
    forget: bool,
}

/// What a page is told at each poll.
#[derive(Debug, Serialize)]
pub(crate) struct PageReply {
    /// The page session's id, to quote in later requests.
    page: String,
    /// `window.Debug.VERSION`.
    version: &'static str,
    /// `Socket.state`.
    state: &'static str,
    /// `Socket.hasSynced`.
    #[serde(rename = "hasSynced")]
    has_synced: bool,
    /// `Conn.ref`.
    #[serde(rename = "ref")]
    qr: Option<String>,
    /// Modules `window.require` must refuse.
    dropped: Vec<String>,
    /// Clear the stored pairing token.
    forget: bool,
    /// Store this pairing token.
    token: Option<String>,
    /// Reload the page now (after storing `token`).
    reload: bool,
}

/// Why a page's request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The page id is not (or no longer) known.
    UnknownPage,
    /// The page's socket is not `CONNECTED`.
    NotConnected,
    /// The ack behaviour is [`AckBehaviour::Error`].
    SendFailed,
}

/// A message accepted for a page: its id and how the page must move its ack.
#[derive(Debug, Serialize)]
pub(crate) struct Accepted {
    id: String,
    ack: &'static str,
}

/// Everything the server keeps.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) qr_interval: Duration,
    pub(crate) max_qr_refs: usize,
    pub(crate) registered: HashSet<String>,
    pub(crate) ack: AckBehaviour,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) tokens: HashSet<String>,
    pub(crate) dropped: BTreeSet<String>,
    pub(crate) page_loads: usize,
    pub(crate) qr_refs_shown: usize,
    pages: Vec<PageSession>,
}

impl Default for State {
    fn default() -> Self {
        State {
            qr_interval: DEFAULT_QR_INTERVAL,
            max_qr_refs: DEFAULT_MAX_QR_REFS,
            registered: HashSet::new(),
            ack: AckBehaviour::default(),
            sent: Vec::new(),
            tokens: HashSet::new(),
            dropped: BTreeSet::new(),
            page_loads: 0,
            qr_refs_shown: 0,
            pages: Vec::new(),
        }
    }
}

/// `len` random characters from `alphabet`.
fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())]))
        .collect()
}

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789ABCDEF";

/// A QR ref shaped like WhatsApp Web's (`2@` and base64).
fn new_ref() -> String {
    format!("2@{}==", random_string(BASE64, 86))
}

impl State {
    /// A page loaded and presents the token it found in localStorage, if any.
    pub(crate) fn hello(&mut self, token: Option<String>, now: Instant) -> PageReply {
        self.page_loads += 1;
        let token = token.filter(|t| !t.is_empty());
        let valid = token.as_ref().is_some_and(|t| self.tokens.contains(t));
        let session = PageSession {
            id: random_string(HEX, 24),
            forget: token.is_some() && !valid,
            token: token.filter(|_| valid),
            phase: Phase::Opening,
            since: now,
            qr: None,
            qr_since: now,
            refs_this_round: 0,
            scanned: false,
        };
        let id = session.id.clone();
        self.pages.push(session);
        if self.pages.len() > MAX_PAGES {
            let excess = self.pages.len() - MAX_PAGES;
            self.pages.drain(..excess);
        }
        // The session was just pushed, so the poll finds it.
        self.poll(&id, now)
            .unwrap_or_else(|_| self.reply_unknown(id))
    }

    fn reply_unknown(&self, page: String) -> PageReply {
        PageReply {
            page,
            version: VERSION,
            state: Phase::Opening.socket_state(),
            has_synced: false,
            qr: None,
            dropped: self.dropped.iter().cloned().collect(),
            forget: false,
            token: None,
            reload: false,
        }
    }

    /// A page asks what it should show now.
    pub(crate) fn poll(&mut self, page: &str, now: Instant) -> Result<PageReply, Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        let dropped = self.dropped.iter().cloned().collect();
        let session = &mut self.pages[index];
        let reload = session.phase == Phase::Reloading;
        let reply = PageReply {
            page: session.id.clone(),
            version: VERSION,
            state: session.phase.socket_state(),
            has_synced: session.phase == Phase::Connected
                && now.duration_since(session.since) >= SYNCING,
            qr: match session.phase {
                Phase::Unpaired => session.qr.clone(),
                _ => None,
            },
            dropped,
            forget: std::mem::take(&mut session.forget),
            token: if reload { session.token.clone() } else { None },
            reload,
        };
        Ok(reply)
    }

    fn index(&self, page: &str) -> Result<usize, Refusal> {
        self.pages
            .iter()
            .position(|s| s.id == page)
            .ok_or(Refusal::UnknownPage)
    }

    /// Moves one session along by the time that passed.
    fn advance(&mut self, index: usize, now: Instant) {
        let tokens = &mut self.tokens;
        let session = &mut self.pages[index];

        // Logged out (the token was forgotten by the server): back to a fresh QR round.
        if let Some(token) = &session.token
            && !tokens.contains(token)
        {
            session.token = None;
            session.forget = true;
            if session.phase != Phase::Reloading {
                enter_unpaired(session, now);
            }
        }

        if session.phase == Phase::Opening && now.duration_since(session.since) >= OPENING {
            if session.token.is_some() {
                session.phase = Phase::Connected;
                session.since = now;
            } else {
                enter_unpaired(session, now);
            }
        }

        if session.phase == Phase::Unpaired {
            if session.scanned {
                let token = random_string(BASE64, 44);
                tokens.insert(token.clone());
                session.token = Some(token);
                session.phase = Phase::Pairing;
                session.since = now;
                session.qr = None;
                session.scanned = false;
            } else if session.qr.is_none()
                || now.duration_since(session.qr_since) >= self.qr_interval
            {
                if session.refs_this_round >= self.max_qr_refs {
                    session.phase = Phase::UnpairedIdle;
                    session.since = now;
                    session.qr = None;
                } else {
                    session.qr = Some(new_ref());
                    session.qr_since = now;
                    session.refs_this_round += 1;
                    self.qr_refs_shown += 1;
                }
            }
        }

        if session.phase == Phase::Pairing && now.duration_since(session.since) >= PAIRING {
            session.phase = Phase::Reloading;
            session.since = now;
        }
    }

    /// The latest page session, the one the test's phone looks at.
    fn latest(&mut self) -> Option<&mut PageSession> {
        self.pages.last_mut()
    }

    /// The QR ref the latest page was handed and still shows.
    pub(crate) fn current_qr(&mut self) -> Option<String> {
        self.latest()
            .filter(|s| s.phase == Phase::Unpaired)
            .and_then(|s| s.qr.clone())
    }

    /// The phone scans the QR the latest page shows.
    pub(crate) fn scan(&mut self) -> bool {
        match self.latest() {
            Some(session) if session.phase == Phase::Unpaired && session.qr.is_some() => {
                session.scanned = true;
                true
            }
            _ => false,
        }
    }

    /// The phone logs every session out.
    pub(crate) fn log_out(&mut self) {
        self.tokens.clear();
    }

    /// Another session takes over: every paired page goes `CONFLICT`.
    pub(crate) fn conflict(&mut self) {
        for session in &mut self.pages {
            let paired_opening = session.phase == Phase::Opening && session.token.is_some();
            if session.phase == Phase::Connected || paired_opening {
                session.phase = Phase::Conflict;
            }
        }
    }

    /// Whether a page may use the network now (its socket is `CONNECTED` with a valid token).
    fn connected(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        // Only the logout check matters here; advancing fully is harmless.
        self.advance(index, now);
        if self.pages[index].phase == Phase::Connected {
            Ok(())
        } else {
            Err(Refusal::NotConnected)
        }
    }

    /// `queryWidExists` for the number `user` (digits).
    pub(crate) fn exists(&mut self, page: &str, user: &str, now: Instant) -> Result<bool, Refusal> {
        self.connected(page, now)?;
        Ok(self.registered.contains(user.trim_start_matches('+')))
    }

    /// `sendTextMsgToChat`: records the message (or refuses it).
    pub(crate) fn send(
        &mut self,
        page: &str,
        to: String,
        text: String,
        now: Instant,
    ) -> Result<Accepted, Refusal> {
        self.connected(page, now)?;
        let ack = match self.ack {
            AckBehaviour::Delivered => "delivered",
            AckBehaviour::Stuck => "stuck",
            AckBehaviour::Error => return Err(Refusal::SendFailed),
        };
        let id = format!("true_{to}_3EB0{}", random_string(HEX, 16));
        self.sent.push(SentMessage {
            id: id.clone(),
            to,
            text,
        });
        Ok(Accepted { id, ack })
    }
}

fn enter_unpaired(session: &mut PageSession, now: Instant) {
    session.phase = Phase::Unpaired;
    session.since = now;
    session.qr = None;
    session.refs_this_round = 0;
    session.scanned = false;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn unpaired_rotates_then_idles() {
        let mut state = State {
            qr_interval: ms(100),
            max_qr_refs: 2,
            ..State::default()
        };
        let t0 = Instant::now();
        let page = state.hello(None, t0).page;
        assert_eq!(state.poll(&page, t0 + ms(100)).unwrap().state, "OPENING");
        let first = state.poll(&page, t0 + ms(300)).unwrap();
        assert_eq!(first.state, "UNPAIRED");
        assert!(first.qr.is_some());
        assert_eq!(state.current_qr(), first.qr);
        let second = state.poll(&page, t0 + ms(400)).unwrap();
        assert_ne!(second.qr, first.qr);
        assert_eq!(state.qr_refs_shown, 2);
        let idle = state.poll(&page, t0 + ms(500)).unwrap();
        assert_eq!(idle.state, "UNPAIRED_IDLE");
        assert_eq!(idle.qr, None);
        assert!(!state.scan());
    }

    #[test]
    fn scan_pairs_reloads_and_keeps_the_session() {
        let mut state = State::default();
        let t0 = Instant::now();
        let page = state.hello(None, t0).page;
        state.poll(&page, t0 + ms(300)).unwrap();
        assert!(state.scan());
        assert_eq!(state.poll(&page, t0 + ms(400)).unwrap().state, "PAIRING");
        let reload = state.poll(&page, t0 + ms(900)).unwrap();
        assert!(reload.reload);
        let token = reload.token.unwrap();
        let again = state.hello(Some(token.clone()), t0 + ms(1000));
        assert_eq!(state.page_loads, 2);
        assert_eq!(
            state.poll(&again.page, t0 + ms(1300)).unwrap().state,
            "CONNECTED"
        );
        assert!(state.poll(&again.page, t0 + ms(1800)).unwrap().has_synced);
        assert!(
            state
                .send(&again.page, "1@c.us".into(), "hi".into(), t0 + ms(1800))
                .is_ok()
        );

        state.log_out();
        let out = state.poll(&again.page, t0 + ms(1900)).unwrap();
        assert_eq!(out.state, "UNPAIRED");
        assert!(out.forget);
        assert!(out.qr.is_some());
        assert_eq!(
            state
                .send(&again.page, "1@c.us".into(), "hi".into(), t0 + ms(1900))
                .err(),
            Some(Refusal::NotConnected)
        );
        let stale = state.hello(Some(token), t0 + ms(2000));
        assert!(stale.forget);
    }
}
