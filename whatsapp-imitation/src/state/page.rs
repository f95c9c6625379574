//! Pages and their socket life cycle: the hello, each poll's reply, and how a session moves along.

use std::collections::HashMap;
use std::time::Instant;

use serde::Serialize;

use super::linking::{LinkKeys, new_ref};
use super::{
    ACCOUNT_LID, ACCOUNT_PN, HEX, MAX_PAGES, OPENING, PAIRING, SYNCING, State, random_string,
};
use crate::{BlockState, BrowserSeen};

/// Where one page's socket is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Opening,
    Unpaired,
    UnpairedIdle,
    Pairing,
    /// Told to reload after pairing: the page is gone, its reloaded self is a new session.
    Reloading,
    Connected,
    Conflict,
    /// The phone logged the session out: the page is told to forget its token and reload.
    LoggedOut,
}

impl Phase {
    fn socket_state(self) -> &'static str {
        match self {
            Phase::Opening => "OPENING",
            Phase::Unpaired | Phase::LoggedOut => "UNPAIRED",
            Phase::UnpairedIdle => "UNPAIRED_IDLE",
            Phase::Pairing | Phase::Reloading => "PAIRING",
            Phase::Connected => "CONNECTED",
            Phase::Conflict => "CONFLICT",
        }
    }
}

impl BlockState {
    fn socket_state(self) -> &'static str {
        match self {
            BlockState::TosBlock => "TOS_BLOCK",
            BlockState::SmbTosBlock => "SMB_TOS_BLOCK",
            BlockState::DeprecatedVersion => "DEPRECATED_VERSION",
        }
    }
}

/// One loaded page (a document that ran the imitation script and said hello).
#[derive(Debug)]
pub(super) struct PageSession {
    pub(super) id: String,
    /// The pairing token this page holds: presented at load (and valid then) or issued at pairing.
    pub(super) token: Option<String>,
    pub(super) phase: Phase,
    pub(super) since: Instant,
    pub(super) keys: LinkKeys,
    /// `Conn.ref`: the last ref handed to the page (kept after its round ends, like a stale QR).
    pub(super) qr: Option<String>,
    pub(super) qr_since: Instant,
    /// The ref shown before `qr` and when it was replaced.
    pub(super) previous_qr: Option<(String, Instant)>,
    pub(super) refs_this_round: usize,
    pub(super) scanned: bool,
    /// The page must clear its stored token (it presented an unknown one, or was logged out).
    pub(super) forget: bool,
    /// `hasSynced` was reported true (kept while blocked or in conflict).
    pub(super) synced: bool,
    /// The send modules were handed over (they stay registered).
    pub(super) send_modules: bool,
    /// The acks this page was told, by message id.
    pub(super) told: HashMap<String, i8>,
}

/// The linked account's wids, as `WAWebUserPrefsMeUser` returns them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Me {
    pub(super) pn: String,
    pub(super) lid: String,
}

/// What a page is told at each poll.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageReply {
    /// The page session's id, to quote in later requests.
    pub(super) page: String,
    /// `Socket.state`.
    pub(super) state: &'static str,
    /// `Socket.hasSynced`.
    pub(super) has_synced: bool,
    /// `Conn.ref`.
    #[serde(rename = "ref")]
    pub(super) qr: Option<String>,
    /// Register the lazily loaded send modules now.
    pub(super) send_modules: bool,
    /// Modules `window.require` must refuse.
    pub(super) dropped: Vec<String>,
    /// Clear the stored pairing token.
    pub(super) forget: bool,
    /// Store this pairing token.
    pub(super) token: Option<String>,
    /// Emit `Cmd` 'logout' (the phone logged this session out).
    pub(super) logout: bool,
    /// Navigate to this address now (after storing `token`).
    pub(super) reload: Option<&'static str>,
    /// The chats the account has (ids), once connected.
    pub(super) chats: Vec<String>,
    /// The linked account, once connected.
    pub(super) me: Option<Me>,
    /// Receipts not told yet: `[message id, ack]`, for a page linked to the account.
    pub(super) acks: Vec<(String, i8)>,
}

/// What a page is told when it says hello.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HelloReply {
    /// The browser is not supported: show the "update your browser" page and nothing else.
    pub(super) turned_away: bool,
    /// `WAWebUpdaterVersion.SANITIZED_VERSION_STR`, and `window.Debug.VERSION` unless gated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) version: Option<&'static str>,
    /// `window.Debug` stays undefined (WhatsApp gates it behind a gatekeeper).
    pub(super) debug_gated: bool,
    /// Where `WAWebMsgKey` caches its serialized form: `"_serialized"` or `"$1"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) key_field: Option<&'static str>,
    /// The page session's linking keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) keys: Option<LinkKeys>,
    /// The first state.
    #[serde(flatten)]
    pub(super) reply: Option<PageReply>,
}

/// What a browser reports in its hello.
#[derive(Debug, Default)]
pub(crate) struct Hello {
    pub(crate) token: Option<String>,
    pub(crate) user_agent_header: String,
    pub(crate) navigator_user_agent: Option<String>,
    pub(crate) webdriver: Option<bool>,
    /// The page the browser runs is the refusal page (the server already turned it away).
    pub(crate) refusal_page: bool,
}

/// Why a page's request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The page id is not (or no longer) known.
    UnknownPage,
    /// The page's socket is not `CONNECTED` (or is blocked).
    NotConnected,
}

impl State {
    /// A browser loaded the page and says hello, presenting the token it found in localStorage.
    pub(crate) fn hello(&mut self, hello: Hello, now: Instant) -> HelloReply {
        self.page_loads += 1;
        let headless = |ua: &str| ua.contains("HeadlessChrome");
        let turned_away = hello.refusal_page
            || headless(&hello.user_agent_header)
            || hello.navigator_user_agent.as_deref().is_some_and(headless);
        self.browsers.push(BrowserSeen {
            user_agent_header: hello.user_agent_header,
            navigator_user_agent: hello.navigator_user_agent,
            webdriver: hello.webdriver,
            turned_away,
        });
        if turned_away {
            return HelloReply {
                turned_away,
                version: None,
                debug_gated: false,
                key_field: None,
                keys: None,
                reply: None,
            };
        }

        let token = hello.token.filter(|t| !t.is_empty());
        let valid = token.as_ref().is_some_and(|t| self.tokens.contains(t));
        let keys = LinkKeys::new();
        let session = PageSession {
            id: random_string(HEX, 24),
            forget: token.is_some() && !valid,
            token: token.filter(|_| valid),
            phase: Phase::Opening,
            since: now,
            keys: keys.clone(),
            qr: None,
            qr_since: now,
            previous_qr: None,
            refs_this_round: 0,
            scanned: false,
            synced: false,
            send_modules: false,
            told: HashMap::new(),
        };
        self.pages.push(session);
        if self.pages.len() > MAX_PAGES {
            let excess = self.pages.len() - MAX_PAGES;
            self.pages.drain(..excess);
        }
        let index = self.pages.len() - 1;
        self.advance(index, now);
        HelloReply {
            turned_away,
            version: Some(self.build.version()),
            debug_gated: self.debug_gated,
            key_field: Some(self.build.key_field()),
            keys: Some(keys),
            reply: Some(self.reply(index, now)),
        }
    }

    /// A page asks what it should show now.
    pub(crate) fn poll(&mut self, page: &str, now: Instant) -> Result<PageReply, Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        self.receipts.reached(page, now);
        self.receipts.advance(now);
        Ok(self.reply(index, now))
    }

    fn reply(&mut self, index: usize, now: Instant) -> PageReply {
        let dropped = self.dropped.iter().cloned().collect();
        let blocked = self.blocked;
        let delay = self.send_modules_delay;
        let chats: Vec<String> = self.chats.iter().cloned().collect();
        let session = &mut self.pages[index];
        let blocked = blocked.filter(|_| {
            !matches!(
                session.phase,
                Phase::Opening | Phase::Reloading | Phase::LoggedOut
            )
        });
        if blocked.is_none() && session.phase == Phase::Connected {
            let connected_for = now.duration_since(session.since);
            session.synced |= connected_for >= SYNCING;
            session.send_modules |= connected_for >= SYNCING + delay;
        }
        let paired = matches!(session.phase, Phase::Connected | Phase::Conflict);
        let acks = if paired && blocked.is_none() {
            self.receipts.untold(&mut session.told)
        } else {
            Vec::new()
        };
        let reload = match session.phase {
            Phase::Reloading => Some("/"),
            Phase::LoggedOut => Some("/?post_logout=1"),
            _ => None,
        };
        PageReply {
            page: session.id.clone(),
            state: blocked.map_or(session.phase.socket_state(), BlockState::socket_state),
            has_synced: session.synced,
            qr: session.qr.clone(),
            send_modules: session.send_modules,
            dropped,
            forget: std::mem::take(&mut session.forget),
            token: if session.phase == Phase::Reloading {
                session.token.clone()
            } else {
                None
            },
            logout: session.phase == Phase::LoggedOut,
            reload,
            chats: if paired { chats } else { Vec::new() },
            me: paired.then(account),
            acks,
        }
    }

    pub(super) fn index(&self, page: &str) -> Result<usize, Refusal> {
        self.pages
            .iter()
            .position(|s| s.id == page)
            .ok_or(Refusal::UnknownPage)
    }

    /// Moves one session along by the time that passed.
    pub(super) fn advance(&mut self, index: usize, now: Instant) {
        let session = &mut self.pages[index];

        // Logged out (the token was forgotten by the server): forget it and reload.
        if let Some(token) = &session.token
            && !self.tokens.contains(token)
        {
            session.token = None;
            session.forget = true;
            if session.phase != Phase::Reloading {
                session.phase = Phase::LoggedOut;
                session.since = now;
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
                let token = random_string(HEX, 32);
                self.tokens.insert(token.clone());
                session.token = Some(token);
                session.phase = Phase::Pairing;
                session.since = now;
                session.scanned = false;
            } else if session.refs_this_round == 0
                || now.duration_since(session.qr_since) >= self.qr_interval
            {
                if session.refs_this_round >= self.max_qr_refs {
                    session.phase = Phase::UnpairedIdle;
                    session.since = now;
                } else {
                    let fresh = new_ref();
                    self.refs_seen.insert(fresh.clone());
                    if let Some(old) = session.qr.replace(fresh) {
                        session.previous_qr = Some((old, now));
                    }
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

    /// Whether a page may use the network now (its socket is `CONNECTED`, unblocked).
    pub(super) fn connected(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        if self.pages[index].phase == Phase::Connected && self.blocked.is_none() {
            Ok(())
        } else {
            Err(Refusal::NotConnected)
        }
    }
}

/// The linked account.
fn account() -> Me {
    Me {
        pn: format!("{ACCOUNT_PN}@c.us"),
        lid: format!("{ACCOUNT_LID}@lid"),
    }
}

pub(super) fn enter_unpaired(session: &mut PageSession, now: Instant) {
    session.phase = Phase::Unpaired;
    session.since = now;
    session.refs_this_round = 0;
    session.scanned = false;
}
