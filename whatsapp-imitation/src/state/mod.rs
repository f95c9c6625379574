//! The moving state of the imitation, kept on the server side: the pages that loaded, their
//! socket life cycle and linking keys, the pairing tokens, the QR refs, the numbers, the chats
//! and the messages.
//!
//! The life cycle moves lazily: a page's poll (or hello) advances its session by the time that
//! passed, so everything the test observes is exactly what the server handed to a page.

mod chats;
mod linking;
mod page;
mod receipts;
mod sending;
#[cfg(test)]
mod tests;
mod tokens;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use rand::RngExt;

use crate::{AckBehaviour, BlockState, BrowserSeen, Build, SentMessage};

use chats::Number;
use page::PageSession;
use receipts::Receipts;

pub(crate) use chats::digits;
pub(crate) use page::{Hello, Refusal};

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
    /// Test hook: hold the server's answer to every send from now on.
    pub(crate) holding: bool,
    /// The ids of the sends whose answer is held.
    pub(crate) held: Vec<String>,
    /// How each message's ack moves, and the recipients' phones.
    pub(crate) receipts: Receipts,
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
            holding: false,
            held: Vec::new(),
            receipts: Receipts::default(),
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
