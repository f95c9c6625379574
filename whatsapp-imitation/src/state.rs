//! The moving state of the imitation, kept on the server side: the pages that loaded, their
//! socket life cycle and linking keys, the pairing tokens, the QR refs, the numbers, the chats
//! and the messages.
//!
//! The life cycle moves lazily: a page's poll (or hello) advances its session by the time that
//! passed, so everything the test observes is exactly what the server handed to a page.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngExt;
use serde::Serialize;

use crate::{AckBehaviour, BlockState, BrowserSeen, Build, ScanRefused, SendPath, SentMessage};

/// How long a freshly loaded page stays `OPENING`.
pub(crate) const OPENING: Duration = Duration::from_millis(300);
/// How long `PAIRING` lasts after a scan, before the page is told to reload.
pub(crate) const PAIRING: Duration = Duration::from_millis(500);
/// How long `CONNECTED` reports `hasSynced: false`.
pub(crate) const SYNCING: Duration = Duration::from_millis(500);
/// The QR rotation interval before the test sets one.
pub(crate) const DEFAULT_QR_INTERVAL: Duration = Duration::from_secs(20);
/// How many refs one round shows before `UNPAIRED_IDLE`, before the test sets it.
pub(crate) const DEFAULT_MAX_QR_REFS: usize = 6;
/// How long a replaced ref is still accepted by the phone (a camera that read the QR just as it
/// changed).
pub(crate) const REF_GRACE: Duration = Duration::from_millis(500);
/// `WAWebCompanionRegClientUtils.DEVICE_PLATFORM`, the last field of the linking string.
pub(crate) const PLATFORM: &str = "1";
/// The phone number of the linked account (`getMaybeMePnUser`).
pub(crate) const ACCOUNT_PN: &str = "6281100000000";
/// The LID of the linked account (`getMaybeMeLidUser`).
pub(crate) const ACCOUNT_LID: &str = "190000000000001";
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

/// The public halves of one page session's linking keys, base64 (as `WABase64.encodeB64`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkKeys {
    /// `waNoiseInfo.get()).staticKeyPair.pubKey`.
    noise: String,
    /// `waSignalStore.getRegistrationInfo()).identityKeyPair.pubKey`.
    identity: String,
    /// `getADVSecretKey()`.
    adv: String,
    /// `DEVICE_PLATFORM`.
    platform: &'static str,
}

impl LinkKeys {
    fn new() -> LinkKeys {
        let mut rng = rand::rng();
        LinkKeys {
            noise: B64.encode(rng.random::<[u8; 32]>()),
            identity: B64.encode(rng.random::<[u8; 32]>()),
            adv: B64.encode(rng.random::<[u8; 32]>()),
            platform: PLATFORM,
        }
    }

    /// The linking string whatsapp-web.js builds for `reference`.
    fn link(&self, reference: &str) -> String {
        format!(
            "{reference},{},{},{},{}",
            self.noise, self.identity, self.adv, self.platform
        )
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
    keys: LinkKeys,
    /// `Conn.ref`: the last ref handed to the page (kept after its round ends, like a stale QR).
    qr: Option<String>,
    qr_since: Instant,
    /// The ref shown before `qr` and when it was replaced.
    previous_qr: Option<(String, Instant)>,
    refs_this_round: usize,
    scanned: bool,
    /// The page must clear its stored token (it presented an unknown one, or was logged out).
    forget: bool,
    /// `hasSynced` was reported true (kept while blocked or in conflict).
    synced: bool,
    /// The send modules were handed over (they stay registered).
    send_modules: bool,
}

/// The linked account's wids, as `WAWebUserPrefsMeUser` returns them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Me {
    pn: String,
    lid: String,
}

/// What a page is told at each poll.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageReply {
    /// The page session's id, to quote in later requests.
    page: String,
    /// `Socket.state`.
    state: &'static str,
    /// `Socket.hasSynced`.
    has_synced: bool,
    /// `Conn.ref`.
    #[serde(rename = "ref")]
    qr: Option<String>,
    /// Register the lazily loaded send modules now.
    send_modules: bool,
    /// Modules `window.require` must refuse.
    dropped: Vec<String>,
    /// Clear the stored pairing token.
    forget: bool,
    /// Store this pairing token.
    token: Option<String>,
    /// Emit `Cmd` 'logout' (the phone logged this session out).
    logout: bool,
    /// Navigate to this address now (after storing `token`).
    reload: Option<&'static str>,
    /// The chats the account has (ids), once connected.
    chats: Vec<String>,
    /// The linked account, once connected.
    me: Option<Me>,
}

/// What a page is told when it says hello.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HelloReply {
    /// The browser is not supported: show the "update your browser" page and nothing else.
    turned_away: bool,
    /// `WAWebUpdaterVersion.SANITIZED_VERSION_STR`, and `window.Debug.VERSION` unless gated.
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    /// `window.Debug` stays undefined (WhatsApp gates it behind a gatekeeper).
    debug_gated: bool,
    /// Where `WAWebMsgKey` caches its serialized form: `"_serialized"` or `"$1"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    key_field: Option<&'static str>,
    /// The page session's linking keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    keys: Option<LinkKeys>,
    /// The first state.
    #[serde(flatten)]
    reply: Option<PageReply>,
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

/// How a recorded message fares, told to the page that sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Outcome {
    /// Ack 1, then 2.
    Delivered,
    /// Ack stays 0.
    Stuck,
    /// Ack -1 and a non-OK send result.
    Error,
    /// The number has no WhatsApp: ack 1 (the server took it) and never 2.
    Unreachable,
}

/// A send accepted by the server.
#[derive(Debug, Serialize)]
pub(crate) struct Accepted {
    outcome: Outcome,
    /// Server time of the send, unix seconds (the send result's `t`).
    t: u64,
}

/// A chat found or created by `findOrCreateLatestChat`.
#[derive(Debug, Serialize)]
pub(crate) struct FoundChat {
    id: String,
    created: bool,
}

/// A number that has WhatsApp.
#[derive(Debug, Clone, Default)]
struct Number {
    /// Its LID user, when its chat is addressed by LID (`…@lid`).
    lid: Option<String>,
}

/// Everything the server keeps.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) build: Build,
    pub(crate) qr_interval: Duration,
    pub(crate) max_qr_refs: usize,
    pub(crate) ack: AckBehaviour,
    pub(crate) sent: Vec<SentMessage>,
    pub(crate) dropped: BTreeSet<String>,
    pub(crate) page_loads: usize,
    pub(crate) qr_refs_shown: usize,
    pub(crate) send_modules_delay: Duration,
    pub(crate) debug_gated: bool,
    pub(crate) blocked: Option<BlockState>,
    pub(crate) browsers: Vec<BrowserSeen>,
    /// Digits → the number's addressing.
    numbers: BTreeMap<String, Number>,
    /// Chat ids, e.g. `"6281234567890@c.us"` or `"123…@lid"`.
    chats: BTreeSet<String>,
    tokens: HashSet<String>,
    /// Every ref ever handed to a page (to tell a stale ref from an unknown one).
    refs_seen: HashSet<String>,
    pages: Vec<PageSession>,
}

impl State {
    pub(crate) fn new(build: Build) -> State {
        State {
            build,
            qr_interval: DEFAULT_QR_INTERVAL,
            max_qr_refs: DEFAULT_MAX_QR_REFS,
            ack: AckBehaviour::default(),
            sent: Vec::new(),
            dropped: BTreeSet::new(),
            page_loads: 0,
            qr_refs_shown: 0,
            send_modules_delay: Duration::ZERO,
            debug_gated: false,
            blocked: None,
            browsers: Vec::new(),
            numbers: BTreeMap::new(),
            chats: BTreeSet::new(),
            tokens: HashSet::new(),
            refs_seen: HashSet::new(),
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

const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";

/// A QR ref shaped like WhatsApp Web's (`2@` and base64, as in whatsapp-web.js#69431).
fn new_ref() -> String {
    let bytes: [u8; 60] = rand::rng().random();
    format!("2@{}", B64.encode(bytes))
}

/// Digits of a phone number: `+` and white space dropped.
pub(crate) fn digits(number: &str) -> String {
    number
        .chars()
        .filter(|c| *c != '+' && !c.is_whitespace())
        .collect()
}

/// Splits `"user@server"`.
fn split_wid(wid: &str) -> Option<(&str, &str)> {
    wid.split_once('@')
        .filter(|(user, server)| !user.is_empty() && !server.is_empty())
}

impl State {
    /// The pairing tokens issued and not logged out.
    pub(crate) fn pairing_tokens(&self) -> Vec<String> {
        self.tokens.iter().cloned().collect()
    }

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
        }
    }

    fn index(&self, page: &str) -> Result<usize, Refusal> {
        self.pages
            .iter()
            .position(|s| s.id == page)
            .ok_or(Refusal::UnknownPage)
    }

    /// Moves one session along by the time that passed.
    fn advance(&mut self, index: usize, now: Instant) {
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

    /// The latest page session that waits for a scan.
    fn latest_unpaired(&self) -> Option<&PageSession> {
        self.pages
            .iter()
            .rev()
            .find(|s| s.phase == Phase::Unpaired && s.qr.is_some())
    }

    /// The whole linking string the latest unpaired page shows now.
    pub(crate) fn current_link(&self) -> Option<String> {
        let session = self.latest_unpaired()?;
        session.qr.as_deref().map(|r| session.keys.link(r))
    }

    /// The phone scans a QR whose text is `text`.
    pub(crate) fn scan(&mut self, text: &str, now: Instant) -> Result<(), ScanRefused> {
        let text = text.trim();
        let fields: Vec<&str> = text.split(',').collect();
        if fields.len() == 1 {
            let why = if text.starts_with("2@") {
                "only a ref (Conn.ref) without the keys; the phone needs \
                 ref,noiseKey,identityKey,advSecret,platform"
                    .to_owned()
            } else {
                format!(
                    "{:?} is not ref,noiseKey,identityKey,advSecret,platform",
                    short(text)
                )
            };
            return Err(ScanRefused::NotALinkingCode(why));
        }
        if !(4..=5).contains(&fields.len()) {
            return Err(ScanRefused::NotALinkingCode(format!(
                "{} comma-separated fields; expected ref,noiseKey,identityKey,advSecret,platform",
                fields.len()
            )));
        }
        let reference = fields[0];
        if !reference.starts_with("2@") || reference.len() < 4 {
            return Err(ScanRefused::NotALinkingCode(format!(
                "the first field {:?} is not a ref (2@…)",
                short(reference)
            )));
        }
        for (field, name) in fields[1..4]
            .iter()
            .zip(["noise key", "identity key", "ADV secret"])
        {
            if B64.decode(field).map(|b| b.len()) != Ok(32) {
                return Err(ScanRefused::NotALinkingCode(format!(
                    "the {name} {:?} is not 32 bytes of base64",
                    short(field)
                )));
            }
        }

        let live = |s: &PageSession| {
            s.phase == Phase::Unpaired
                && (s.qr.as_deref() == Some(reference)
                    || s.previous_qr.as_ref().is_some_and(|(old, replaced)| {
                        old == reference && now.duration_since(*replaced) < REF_GRACE
                    }))
        };
        if let Some(session) = self.pages.iter_mut().rev().find(|s| live(s)) {
            let keys = &session.keys;
            let platform_ok = fields.get(4).is_none_or(|p| *p == keys.platform);
            if fields[1] != keys.noise
                || fields[2] != keys.identity
                || fields[3] != keys.adv
                || !platform_ok
            {
                return Err(ScanRefused::WrongKeys);
            }
            session.scanned = true;
            return Ok(());
        }
        if self.refs_seen.contains(reference) {
            return Err(ScanRefused::StaleRef);
        }
        if self.latest_unpaired().is_none() {
            return Err(ScanRefused::NoQrShown);
        }
        Err(ScanRefused::NotALinkingCode(format!(
            "no page ever showed the ref {:?}",
            short(reference)
        )))
    }

    /// `Cmd.refreshQR()`: an idle (or unpaired) page starts a new round of refs.
    pub(crate) fn refresh(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        let session = &mut self.pages[index];
        if matches!(session.phase, Phase::Unpaired | Phase::UnpairedIdle) {
            enter_unpaired(session, now);
            self.advance(index, now);
        }
        Ok(())
    }

    /// `Socket.takeover()`: a page in conflict takes the session back.
    pub(crate) fn takeover(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        let session = &mut self.pages[index];
        if session.phase == Phase::Conflict && session.token.is_some() {
            session.phase = Phase::Connected;
        }
        Ok(())
    }

    /// Every page goes into `state` (after `OPENING`) and stays there.
    pub(crate) fn block(&mut self, state: BlockState) {
        self.blocked = Some(state);
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

    /// Whether a page may use the network now (its socket is `CONNECTED`, unblocked).
    fn connected(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        if self.pages[index].phase == Phase::Connected && self.blocked.is_none() {
            Ok(())
        } else {
            Err(Refusal::NotConnected)
        }
    }

    /// The number has WhatsApp (its chat addressed by phone number).
    pub(crate) fn register(&mut self, number: &str) {
        self.numbers.insert(digits(number), Number::default());
    }

    /// The number has WhatsApp and its chat is addressed by a LID; returns the chat id.
    pub(crate) fn register_lid(&mut self, number: &str) -> String {
        let lid = format!("1{}", random_string(DIGITS, 14));
        self.numbers.insert(
            digits(number),
            Number {
                lid: Some(lid.clone()),
            },
        );
        format!("{lid}@lid")
    }

    /// The number has WhatsApp and an existing chat.
    pub(crate) fn register_with_chat(&mut self, number: &str) {
        self.register(number);
        let id = self.chat_id(&format!("{}@c.us", digits(number)));
        self.chats.insert(id);
    }

    /// Whether a chat with the number exists.
    pub(crate) fn has_chat(&self, number: &str) -> bool {
        let wid = format!("{}@c.us", digits(number));
        self.chats.contains(&wid) || self.chats.contains(&self.chat_id(&wid))
    }

    /// The id of the chat with `wid`: a number whose chat is addressed by LID maps to its LID.
    fn chat_id(&self, wid: &str) -> String {
        match split_wid(wid) {
            Some((user, "c.us")) => match self.numbers.get(user).and_then(|n| n.lid.as_ref()) {
                Some(lid) => format!("{lid}@lid"),
                None => wid.to_owned(),
            },
            _ => wid.to_owned(),
        }
    }

    /// Whether `wid` (`…@c.us` or `…@lid`) is a registered user.
    fn registered(&self, wid: &str) -> bool {
        match split_wid(wid) {
            Some((user, "c.us")) => self.numbers.contains_key(user),
            Some((user, "lid")) => self
                .numbers
                .values()
                .any(|n| n.lid.as_deref() == Some(user)),
            _ => false,
        }
    }

    /// `queryWidExists`: the wid when it has WhatsApp.
    pub(crate) fn exists(
        &mut self,
        page: &str,
        wid: &str,
        now: Instant,
    ) -> Result<Option<String>, Refusal> {
        self.connected(page, now)?;
        Ok(self.registered(wid).then(|| wid.to_owned()))
    }

    /// `findOrCreateLatestChat`: the chat with `wid`, created when missing.
    pub(crate) fn find_or_create_chat(
        &mut self,
        page: &str,
        wid: &str,
        now: Instant,
    ) -> Result<FoundChat, Refusal> {
        self.connected(page, now)?;
        let id = self.chat_id(wid);
        let created = self.chats.insert(id.clone());
        Ok(FoundChat { id, created })
    }

    /// A page sends a text message: records it (or refuses it).
    pub(crate) fn send(
        &mut self,
        page: &str,
        message: SentMessage,
        now: Instant,
    ) -> Result<Accepted, Refusal> {
        self.connected(page, now)?;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let outcome = if !self.registered(&message.to) {
            Outcome::Unreachable
        } else {
            match self.ack {
                AckBehaviour::Delivered => Outcome::Delivered,
                AckBehaviour::Stuck => Outcome::Stuck,
                AckBehaviour::Error => Outcome::Error,
            }
        };
        if matches!(outcome, Outcome::Delivered | Outcome::Stuck) {
            self.chats.insert(message.to.clone());
            self.sent.push(message);
        }
        Ok(Accepted { outcome, t })
    }
}

/// The linked account.
fn account() -> Me {
    Me {
        pn: format!("{ACCOUNT_PN}@c.us"),
        lid: format!("{ACCOUNT_LID}@lid"),
    }
}

/// At most 40 characters of `text`, for messages.
fn short(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

fn enter_unpaired(session: &mut PageSession, now: Instant) {
    session.phase = Phase::Unpaired;
    session.since = now;
    session.refs_this_round = 0;
    session.scanned = false;
}

impl SendPath {
    /// The name the page uses for this path.
    pub(crate) fn from_name(name: &str) -> Option<SendPath> {
        match name {
            "addAndSendMsgToChat" => Some(SendPath::AddAndSendMsgToChat),
            "sendTextMsgToChat" => Some(SendPath::SendTextMsgToChat),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";

    fn hello(state: &mut State, token: Option<String>, now: Instant) -> String {
        let reply = state.hello(
            Hello {
                token,
                user_agent_header: DESKTOP.to_owned(),
                navigator_user_agent: Some(DESKTOP.to_owned()),
                webdriver: Some(false),
                refusal_page: false,
            },
            now,
        );
        assert!(!reply.turned_away);
        reply.reply.unwrap().page
    }

    fn message(to: &str, text: &str) -> SentMessage {
        SentMessage {
            id: format!("true_{to}_3EB0AAAA"),
            to: to.to_owned(),
            text: text.to_owned(),
            via: SendPath::AddAndSendMsgToChat,
        }
    }

    /// A page paired and connected (and synced) at `t0 + 1300 ms`; returns its id.
    fn paired(state: &mut State, t0: Instant) -> String {
        let page = hello(state, None, t0);
        state.poll(&page, t0 + ms(300)).unwrap();
        let link = state.current_link().unwrap();
        state.scan(&link, t0 + ms(350)).unwrap();
        assert_eq!(state.poll(&page, t0 + ms(400)).unwrap().state, "PAIRING");
        let reload = state.poll(&page, t0 + ms(900)).unwrap();
        assert_eq!(reload.reload, Some("/"));
        let again = hello(state, reload.token, t0 + ms(1000));
        let connected = state.poll(&again, t0 + ms(1300)).unwrap();
        assert_eq!(connected.state, "CONNECTED");
        assert!(!connected.has_synced);
        assert!(state.poll(&again, t0 + ms(1800)).unwrap().has_synced);
        again
    }

    #[test]
    fn headless_browsers_are_turned_away_and_recorded() {
        let mut state = State::new(Build::default());
        let reply = state.hello(
            Hello {
                user_agent_header: "Mozilla/5.0 HeadlessChrome/140.0.0.0".to_owned(),
                navigator_user_agent: Some("Mozilla/5.0 HeadlessChrome/140.0.0.0".to_owned()),
                webdriver: Some(true),
                ..Hello::default()
            },
            Instant::now(),
        );
        assert!(reply.turned_away);
        assert!(reply.reply.is_none());
        assert!(state.pages.is_empty());
        let page = hello(&mut state, None, Instant::now());
        assert!(!page.is_empty());
        assert_eq!(state.page_loads, 2);
        let seen: Vec<bool> = state.browsers.iter().map(|b| b.turned_away).collect();
        assert_eq!(seen, [true, false]);
        assert_eq!(state.browsers[0].webdriver, Some(true));
    }

    #[test]
    fn unpaired_rotates_then_idles_until_refreshed() {
        let mut state = State::new(Build::default());
        state.qr_interval = ms(100);
        state.max_qr_refs = 2;
        let t0 = Instant::now();
        let page = hello(&mut state, None, t0);
        assert_eq!(state.poll(&page, t0 + ms(100)).unwrap().state, "OPENING");
        let first = state.poll(&page, t0 + ms(300)).unwrap();
        assert_eq!(first.state, "UNPAIRED");
        let first_ref = first.qr.clone().unwrap();
        assert!(state.current_link().unwrap().starts_with(&first_ref));
        let second = state.poll(&page, t0 + ms(400)).unwrap();
        assert_ne!(second.qr, first.qr);
        assert_eq!(state.qr_refs_shown, 2);
        let idle = state.poll(&page, t0 + ms(500)).unwrap();
        assert_eq!(idle.state, "UNPAIRED_IDLE");
        assert_eq!(idle.qr, second.qr, "Conn.ref keeps the last ref");
        assert_eq!(state.current_link(), None);
        let stale = state.pages[0].keys.link(&first_ref);
        assert_eq!(state.scan(&stale, t0 + ms(500)), Err(ScanRefused::StaleRef));

        state.refresh(&page, t0 + ms(600)).unwrap();
        let fresh = state.poll(&page, t0 + ms(600)).unwrap();
        assert_eq!(fresh.state, "UNPAIRED");
        assert_ne!(fresh.qr, second.qr);
        assert_eq!(state.qr_refs_shown, 3);
    }

    #[test]
    fn the_phone_needs_the_whole_linking_string() {
        let mut state = State::new(Build::default());
        let t0 = Instant::now();
        assert!(matches!(
            state.scan("2@abc,AAAA", t0),
            Err(ScanRefused::NotALinkingCode(_))
        ));
        let page = hello(&mut state, None, t0);
        let noise = "A".repeat(43) + "=";
        let nothing_shown = format!("2@abcd,{noise},{noise},{noise},1");
        assert_eq!(state.scan(&nothing_shown, t0), Err(ScanRefused::NoQrShown));
        let shown = state.poll(&page, t0 + ms(300)).unwrap().qr.unwrap();
        let link = state.current_link().unwrap();
        let fields: Vec<&str> = link.split(',').collect();
        assert_eq!(fields.len(), 5);
        assert_eq!(fields[0], shown);
        assert_eq!(fields[4], PLATFORM);

        let now = t0 + ms(350);
        match state.scan(&shown, now) {
            Err(ScanRefused::NotALinkingCode(why)) => assert!(why.contains("only a ref"), "{why}"),
            other => panic!("{other:?}"),
        }
        let swapped = format!("{},{},{},{},1", fields[0], fields[2], fields[1], fields[3]);
        assert_eq!(state.scan(&swapped, now), Err(ScanRefused::WrongKeys));
        let other_platform = format!("{},{},{},{},2", fields[0], fields[1], fields[2], fields[3]);
        assert_eq!(
            state.scan(&other_platform, now),
            Err(ScanRefused::WrongKeys)
        );
        let unknown = format!("2@nope,{},{},{},1", fields[1], fields[2], fields[3]);
        assert!(matches!(
            state.scan(&unknown, now),
            Err(ScanRefused::NotALinkingCode(_))
        ));
        assert!(matches!(
            state.scan(&format!("{link},extra"), now),
            Err(ScanRefused::NotALinkingCode(_))
        ));
        assert_eq!(state.scan(&format!("  {link}\n"), now), Ok(()));
        assert_eq!(state.poll(&page, now).unwrap().state, "PAIRING");
    }

    #[test]
    fn a_ref_just_replaced_is_still_accepted_briefly() {
        let mut state = State::new(Build::default());
        state.qr_interval = ms(100);
        let t0 = Instant::now();
        let page = hello(&mut state, None, t0);
        state.poll(&page, t0 + ms(300)).unwrap();
        let old = state.current_link().unwrap();
        state.poll(&page, t0 + ms(400)).unwrap();
        assert_ne!(state.current_link().unwrap(), old);
        assert_eq!(
            state.scan(&old, t0 + ms(400) + REF_GRACE),
            Err(ScanRefused::StaleRef)
        );
        assert_eq!(state.scan(&old, t0 + ms(450)), Ok(()));
    }

    #[test]
    fn pairing_reloads_syncs_sends_and_logs_out() {
        let mut state = State::new(Build::default());
        state.send_modules_delay = ms(200);
        state.register("+62 812 3456 7890");
        let t0 = Instant::now();
        let page = paired(&mut state, t0);
        assert_eq!(state.page_loads, 2);
        let synced = state.poll(&page, t0 + ms(1800)).unwrap();
        assert!(!synced.send_modules, "the send modules come later");
        let ready = state.poll(&page, t0 + ms(2000)).unwrap();
        assert!(ready.send_modules);
        assert_eq!(ready.me.unwrap().pn, format!("{ACCOUNT_PN}@c.us"));

        let wid = "6281234567890@c.us";
        assert_eq!(
            state.exists(&page, wid, t0 + ms(2000)).unwrap().as_deref(),
            Some(wid)
        );
        assert_eq!(
            state
                .exists(&page, "6289999999999@c.us", t0 + ms(2000))
                .unwrap(),
            None
        );
        assert!(!state.has_chat("6281234567890"));
        let found = state
            .find_or_create_chat(&page, wid, t0 + ms(2000))
            .unwrap();
        assert!(found.created);
        assert!(state.has_chat("6281234567890"));
        assert!(
            !state
                .find_or_create_chat(&page, wid, t0 + ms(2000))
                .unwrap()
                .created
        );
        let sent = state
            .send(&page, message(wid, "hi"), t0 + ms(2000))
            .unwrap();
        assert_eq!(sent.outcome, Outcome::Delivered);
        let nobody = state
            .send(&page, message("6289999999999@c.us", "hi"), t0 + ms(2000))
            .unwrap();
        assert_eq!(nobody.outcome, Outcome::Unreachable);
        assert_eq!(state.sent.len(), 1);

        state.log_out();
        let out = state.poll(&page, t0 + ms(2100)).unwrap();
        assert!(out.forget);
        assert!(out.logout);
        assert_eq!(out.reload, Some("/?post_logout=1"));
        assert_eq!(
            state.send(&page, message(wid, "late"), t0 + ms(2100)).err(),
            Some(Refusal::NotConnected)
        );
        let fresh = hello(&mut state, None, t0 + ms(2200));
        let unpaired = state.poll(&fresh, t0 + ms(2500)).unwrap();
        assert_eq!(unpaired.state, "UNPAIRED");
        assert!(unpaired.qr.is_some());
    }

    #[test]
    fn blocks_conflicts_and_takeover() {
        let mut state = State::new(Build::default());
        state.register("6281234567890");
        let t0 = Instant::now();
        let page = paired(&mut state, t0);
        let wid = "6281234567890@c.us";

        state.conflict();
        assert_eq!(state.poll(&page, t0 + ms(1900)).unwrap().state, "CONFLICT");
        assert!(state.send(&page, message(wid, "x"), t0 + ms(1900)).is_err());
        state.takeover(&page, t0 + ms(1950)).unwrap();
        assert_eq!(state.poll(&page, t0 + ms(1950)).unwrap().state, "CONNECTED");

        state.block(BlockState::TosBlock);
        let blocked = state.poll(&page, t0 + ms(2000)).unwrap();
        assert_eq!(blocked.state, "TOS_BLOCK");
        assert!(blocked.has_synced, "hasSynced stays as it was");
        assert_eq!(
            state.send(&page, message(wid, "x"), t0 + ms(2000)).err(),
            Some(Refusal::NotConnected)
        );
        let other = hello(&mut state, None, t0 + ms(2000));
        assert_eq!(
            state.poll(&other, t0 + ms(2400)).unwrap().state,
            "TOS_BLOCK"
        );
        state.blocked = None;
        assert_eq!(state.poll(&page, t0 + ms(2500)).unwrap().state, "CONNECTED");
    }

    #[test]
    fn lid_contacts_are_reached_through_their_lid_chat() {
        let mut state = State::new(Build::default());
        let lid = state.register_lid("6281234567891");
        assert!(lid.ends_with("@lid"));
        let t0 = Instant::now();
        let page = paired(&mut state, t0);
        let pn = "6281234567891@c.us";
        assert_eq!(
            state.exists(&page, pn, t0 + ms(1800)).unwrap().as_deref(),
            Some(pn)
        );
        let found = state.find_or_create_chat(&page, pn, t0 + ms(1800)).unwrap();
        assert_eq!(found.id, lid);
        assert!(state.has_chat("6281234567891"));
        let sent = state
            .send(&page, message(&lid, "hi"), t0 + ms(1800))
            .unwrap();
        assert_eq!(sent.outcome, Outcome::Delivered);
    }
}
