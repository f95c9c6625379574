//! An offline imitation of WhatsApp Web, served on loopback, for testing a WhatsApp sender that
//! drives a real Chromium.
//!
//! The page at [`Imitation::url`] imitates the module surface of the real WhatsApp Web as the
//! public sources use it — whatsapp-web.js 1.34.6 (`src/Client.js`,
//! `src/util/Injected/Utils.js`, `src/util/Injected/AuthStore/AuthStore.js`) and wppconnect's
//! wa-js (`src/whatsapp/**`, `src/chat/functions/*`, `src/conn/functions/*`) — and the behaviours
//! public issues report (see the crate's README for the table of every module and member with
//! its source, and the list of what is guessed). It was written from those sources, not from
//! any sender, so that it can witness a sender's mistakes:
//!
//! * a `HeadlessChrome` user agent is turned away with an "update your browser" page;
//! * the phone links only with the whole linking string whatsapp-web.js builds
//!   (`ref,noiseKey,identityKey,advSecret,platform`), never with `Conn.ref` alone;
//! * `Chat.find` rejects for a number with no chat; `findOrCreateLatestChat` creates it;
//! * `sendTextMsgToChat` resolves to a send result (`{messageSendResult, t, count}`), not a
//!   message; `addAndSendMsgToChat` returns `[msgPromise, sendResultPromise]`;
//! * `WAWebMsgKey` keeps its serialized form in `_serialized` or in a minified `$1`, per
//!   [`Build`];
//! * the send modules register only after `Socket.hasSynced` (and an optional extra delay);
//! * each message created is kept in the profile's IndexedDB (`model-storage`), where
//!   `Msg.getMessagesById` finds it after the browser is relaunched on the same profile; a
//!   message still pending then is not sent again.
//!
//! The page is a thin client: it polls the server every 150 ms and every moving part (socket
//! life cycle, QR refs, linking keys, pairing tokens, numbers, chats, recorded messages) lives
//! here, where the test steers it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use whatsapp_imitation::{Build, Imitation};
//!
//! let imitation = Imitation::start_with(Build::KeyWithMinifiedField).await;
//! imitation.register("6281234567890");
//! // ... point the sender's (non-headless user agent) Chromium at imitation.url() ...
//! // ... and scan what the sender shows, the way a phone would:
//! # let svg_the_sender_rendered = String::new();
//! imitation.scan_svg(&svg_the_sender_rendered)?;
//! // ... the page reloads itself once and comes up CONNECTED, then hasSynced ...
//! // ... the sender sends its code ...
//! let sent = imitation.sent();
//! assert_eq!(sent[0].to, "6281234567890@c.us");
//! # Ok(())
//! # }
//! ```
//!
//! Timings: `OPENING` lasts 300 ms after a page loads; a QR ref lasts 20 s by default
//! ([`Imitation::set_qr_interval`]), 6 refs a round ([`Imitation::set_max_qr_refs`]); `PAIRING`
//! 500 ms after the scan is noticed, then the page stores its token and reloads once;
//! `CONNECTED` reports `hasSynced: false` for 500 ms; the send modules register with
//! `hasSynced` (plus [`Imitation::set_send_modules_delay`]); a message goes ack 1 100 ms after
//! the server's answer, ack 2 200 ms later while the recipient's phone is online, ack 3 500 ms
//! after that when it reads ([`Imitation::set_recipient`], [`Imitation::set_ack_timings`]),
//! each told to the pages at their next poll. The page notices anything the test does within one poll
//! (150 ms).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

mod camera;
mod server;
mod state;

use state::State;

/// The WhatsApp Web build the page claims to be (`window.Debug.VERSION`), which decides where
/// `WAWebMsgKey` keeps its serialized form (wppconnect-team/wa-js#3484).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Build {
    /// `2.3000.1042386815`: the key sets an own `_serialized` and `toString()` returns it.
    KeyWithSerialized,
    /// `2.3000.1043140922`: the key caches its serialized form in a minified `$1` (no
    /// `_serialized`) and `toString()` returns `this.$1`.
    #[default]
    KeyWithMinifiedField,
}

impl Build {
    /// `window.Debug.VERSION` of this build.
    pub fn version(self) -> &'static str {
        match self {
            Build::KeyWithSerialized => "2.3000.1042386815",
            Build::KeyWithMinifiedField => "2.3000.1043140922",
        }
    }

    /// The own property of a `WAWebMsgKey` that holds its serialized form.
    fn key_field(self) -> &'static str {
        match self {
            Build::KeyWithSerialized => "_serialized",
            Build::KeyWithMinifiedField => "$1",
        }
    }
}

/// A socket state the test forces on every page (whatsapp-web.js `WAState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockState {
    /// `TOS_BLOCK`.
    TosBlock,
    /// `SMB_TOS_BLOCK`.
    SmbTosBlock,
    /// `DEPRECATED_VERSION`.
    DeprecatedVersion,
}

/// What happens to a message after it is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AckBehaviour {
    /// Recorded; the message's ack goes 0 → 1 (server) → 2 (device, when the recipient's phone
    /// is online) → 3 (read, when it reads), on [`AckTimings`], each with 'change:ack'.
    #[default]
    Delivered,
    /// Recorded; the ack stays 0 (the send result is still `OK`).
    Stuck,
    /// Not recorded; the ack becomes -1 and the send result is `ERROR_UNKNOWN` (guessed).
    Error,
}

/// A recipient's phone, as far as acks go (see [`Imitation::set_recipient`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// Not reachable: a message stays at ack 1 (one tick) until the phone comes online.
    Offline,
    /// Online: a message reaches ack 2 (two ticks) and stays there.
    #[default]
    Online,
    /// Online, and the user reads: ack 2, then ack 3 (blue ticks).
    Reads,
}

/// How long each ack takes once it may move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckTimings {
    /// From the server's answer to the page to ack 1 (default 100 ms).
    pub server: Duration,
    /// From ack 1, or from the moment the phone came online, to ack 2 (default 200 ms).
    pub device: Duration,
    /// From ack 2, or from the moment the phone started reading, to ack 3 (default 500 ms).
    pub read: Duration,
}

impl Default for AckTimings {
    fn default() -> Self {
        Self {
            server: Duration::from_millis(100),
            device: Duration::from_millis(200),
            read: Duration::from_millis(500),
        }
    }
}

/// Which module function sent a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendPath {
    /// `WAWebSendMsgChatAction.addAndSendMsgToChat(chat, msgData)`.
    AddAndSendMsgToChat,
    /// `WAWebSendTextMsgChatAction.sendTextMsgToChat(chat, text, opts)`.
    SendTextMsgToChat,
}

/// A message recorded by the imitation (one the phone would deliver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The message key's `toString()`, e.g. `"true_6281234567890@c.us_3EB0…"`.
    pub id: String,
    /// The chat it went to: `"6281234567890@c.us"` or `"…@lid"`.
    pub to: String,
    /// The text.
    pub text: String,
    /// The module function that sent it.
    pub via: SendPath,
}

/// A browser that loaded the page, as it reported itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserSeen {
    /// The `User-Agent` header of the page's hello request.
    pub user_agent_header: String,
    /// `navigator.userAgent`, as the page reported it.
    pub navigator_user_agent: Option<String>,
    /// `navigator.webdriver`, as the page reported it.
    pub webdriver: Option<bool>,
    /// Shown the "update your browser" page (a `HeadlessChrome` user agent).
    pub turned_away: bool,
}

/// Why the phone refused to link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanRefused {
    /// No page shows a QR code now (none loaded, all linked, idle or blocked).
    NoQrShown,
    /// The text is not a linking string: only a ref, a wrong number of fields, a key that is not
    /// 32 bytes of base64, or a ref no page ever showed.
    NotALinkingCode(String),
    /// The ref was shown once but is no longer (rotated, idle, or the page went on).
    StaleRef,
    /// The ref is current but the keys or the platform are not that page's.
    WrongKeys,
    /// No QR code could be read from the image or text.
    Unreadable(String),
}

impl fmt::Display for ScanRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScanRefused::NoQrShown => f.write_str("no page shows a QR code to scan"),
            ScanRefused::NotALinkingCode(why) => write!(f, "not a WhatsApp linking code: {why}"),
            ScanRefused::StaleRef => f.write_str("the QR code's ref is no longer shown"),
            ScanRefused::WrongKeys => {
                f.write_str("the ref is shown, but the keys or platform are not that page's")
            }
            ScanRefused::Unreadable(why) => write!(f, "no QR code could be read: {why}"),
        }
    }
}

impl std::error::Error for ScanRefused {}

/// The linked account (the phone that scanned), as `WAWebUserPrefsMeUser` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `getMaybeMePnUser()`, e.g. `"6281100000000@c.us"`.
    pub pn: String,
    /// `getMaybeMeLidUser()`, e.g. `"190000000000001@lid"`.
    pub lid: String,
}

type Shared = Arc<Mutex<State>>;

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running imitation of WhatsApp Web on `127.0.0.1`. Dropping it stops the server.
#[derive(Debug)]
pub struct Imitation {
    shared: Shared,
    /// Bumped after every request the page makes: what a test waits on.
    changes: tokio::sync::watch::Sender<u64>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Imitation {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Imitation {
    /// Starts the server (default [`Build`]) on 127.0.0.1 with a free port, on the current tokio
    /// runtime.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound (see [`Imitation::try_start_with`]).
    pub async fn start() -> Imitation {
        Imitation::start_with(Build::default()).await
    }

    /// Starts the server claiming to be `build`.
    ///
    /// # Panics
    ///
    /// When no loopback port can be bound (see [`Imitation::try_start_with`]).
    pub async fn start_with(build: Build) -> Imitation {
        match Imitation::try_start_with(build).await {
            Ok(imitation) => imitation,
            Err(error) => panic!("whatsapp-imitation: cannot listen on 127.0.0.1: {error}"),
        }
    }

    /// Like [`Imitation::start_with`], but reports a failure to bind instead of panicking.
    pub async fn try_start_with(build: Build) -> io::Result<Imitation> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared: Shared = Arc::new(Mutex::new(State::new(build)));
        let changes = tokio::sync::watch::Sender::new(0);
        let app = server::router(shared.clone(), changes.clone());
        let server = tokio::spawn(async move {
            // The server only ends when the task is aborted; an accept error ends it early.
            let _ = axum::serve(listener, app).await;
        });
        Ok(Imitation {
            shared,
            changes,
            addr,
            server,
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared)
    }

    /// The address to give the sender as the WhatsApp Web URL, e.g. `"http://127.0.0.1:PORT/"`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The build the page claims to be.
    pub fn build(&self) -> Build {
        self.state().build
    }

    /// The account the phone links (the same for every pairing).
    pub fn account(&self) -> Account {
        Account {
            pn: format!("{}@c.us", state::ACCOUNT_PN),
            lid: format!("{}@lid", state::ACCOUNT_LID),
        }
    }

    /// How long each QR ref is shown before the next one (default 20 s). Applies from the next
    /// rotation on.
    pub fn set_qr_interval(&self, interval: Duration) {
        self.state().qr_interval = interval;
    }

    /// How many refs one round shows before the page goes `UNPAIRED_IDLE` (default 6).
    pub fn set_max_qr_refs(&self, refs: usize) {
        self.state().max_qr_refs = refs;
    }

    /// The whole linking string (`ref,noiseKey,identityKey,advSecret,platform`) the latest
    /// unpaired page shows now, if any: what a phone would read from its QR code.
    pub fn current_link(&self) -> Option<String> {
        self.state().current_link()
    }

    /// How many distinct QR refs pages were handed so far.
    pub fn qr_refs_shown(&self) -> usize {
        self.state().qr_refs_shown
    }

    /// The phone scans a QR code whose text is `decoded_text`.
    ///
    /// It links only with the whole linking string of a ref some unpaired page shows now (a
    /// ref replaced less than 500 ms ago still counts). Then that page's next poll moves to
    /// `PAIRING`; 500 ms later the page stores its pairing token and reloads itself once, and
    /// comes up `CONNECTED`.
    pub fn scan(&self, decoded_text: &str) -> Result<(), ScanRefused> {
        self.state().scan(decoded_text, Instant::now())
    }

    /// The phone scans a QR code drawn as SVG: rasterised with resvg, decoded with rqrr, then
    /// [`Imitation::scan`]ned.
    pub fn scan_svg(&self, svg: &str) -> Result<(), ScanRefused> {
        self.scan(&Self::read_svg(svg)?)
    }

    /// What the phone's camera reads from a QR code drawn as SVG (resvg, then rqrr), without
    /// scanning it: to compare two pictures of one code.
    pub fn read_svg(svg: &str) -> Result<String, ScanRefused> {
        camera::read_svg(svg).map_err(ScanRefused::Unreadable)
    }

    /// What the phone's camera reads from a QR code drawn in a terminal, without scanning it.
    pub fn read_terminal(text: &str) -> Result<String, ScanRefused> {
        camera::read_terminal(text).map_err(ScanRefused::Unreadable)
    }

    /// The phone scans a QR code drawn in a terminal with Unicode half blocks (`█ ▀ ▄` and
    /// spaces, either polarity; `\r\n` and lines of other text around it are fine), decoded
    /// with rqrr, then [`Imitation::scan`]ned.
    pub fn scan_terminal(&self, text: &str) -> Result<(), ScanRefused> {
        self.scan(&Self::read_terminal(text)?)
    }

    /// The number (digits; `+` and spaces ignored) has WhatsApp but no chat yet.
    pub fn register(&self, digits: &str) {
        self.state().register(digits);
    }

    /// The number has WhatsApp and a chat already exists (`Chat.get` finds it once synced).
    pub fn register_with_chat(&self, digits: &str) {
        self.state().register_with_chat(digits);
    }

    /// The number has WhatsApp and is a LID contact: `findOrCreateLatestChat` gives a chat
    /// whose id is `…@lid`, and messages must come from the account's LID. Returns that chat id.
    pub fn register_lid(&self, digits: &str) -> String {
        self.state().register_lid(digits)
    }

    /// Whether a chat with the number exists (created by `findOrCreateLatestChat`, a send, or
    /// [`Imitation::register_with_chat`]).
    pub fn has_chat(&self, digits: &str) -> bool {
        self.state().has_chat(digits)
    }

    /// An extra delay after `hasSynced` before the send modules register (a cold load whose
    /// bundles arrive late). Default zero: they register with `hasSynced`.
    pub fn set_send_modules_delay(&self, delay: Duration) {
        self.state().send_modules_delay = delay;
    }

    /// WhatsApp Web leaves `window.Debug` undefined (it sets it late and behind a gatekeeper):
    /// only `WAWebUpdaterVersion.SANITIZED_VERSION_STR` tells the version. Applies to pages
    /// loaded from now on.
    pub fn set_debug_gated(&self, gated: bool) {
        self.state().debug_gated = gated;
    }

    /// WhatsApp Web changed: `window.require(name)` now throws for this module.
    pub fn drop_module(&self, name: &str) {
        self.state().dropped.insert(name.to_owned());
    }

    /// Undoes [`Imitation::drop_module`].
    pub fn restore_module(&self, name: &str) {
        self.state().dropped.remove(name);
    }

    /// What happens to the messages sent from now on.
    pub fn set_ack_behaviour(&self, behaviour: AckBehaviour) {
        self.state().ack = behaviour;
    }

    /// Every message recorded, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.state().sent.clone()
    }

    /// The phone logs the session out: every pairing token is forgotten; a linked page emits
    /// `Cmd` 'logout', clears its token and navigates to `/?post_logout=1`, where it shows a new
    /// QR round.
    pub fn log_out(&self) {
        self.state().log_out();
    }

    /// Another browser takes the session: every `CONNECTED` page goes `CONFLICT` until it calls
    /// `Socket.takeover()` or reloads.
    pub fn conflict(&self) {
        self.state().conflict();
    }

    /// Forces every page (once past `OPENING`) into `state`; pages stay there and sends are
    /// refused until [`Imitation::unblock`].
    pub fn block(&self, state: BlockState) {
        self.state().block(state);
    }

    /// Undoes [`Imitation::block`].
    pub fn unblock(&self) {
        self.state().blocked = None;
    }

    /// Waits until `condition` holds, checking it now and after each request a page makes
    /// (every change a page causes, the QR rotation and the acks included, is noticed at one);
    /// `false` if `timeout` passes first.
    ///
    /// ```no_run
    /// # async fn demo(imitation: whatsapp_imitation::Imitation) {
    /// use std::time::Duration;
    ///
    /// let sent = imitation.wait_until(Duration::from_secs(30), |i| !i.sent().is_empty()).await;
    /// assert!(sent, "nothing was sent within 30 s");
    /// # }
    /// ```
    pub async fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&Imitation) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.changes.subscribe();
        loop {
            changes.mark_unchanged();
            if condition(self) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return condition(self),
            }
        }
    }

    /// Test hook: from now on, each message a page sends is recorded (the phone has it) but
    /// the server's answer to the page — and with it every acknowledgement — waits until
    /// [`Imitation::release_sends`]: a test can kill the sender while a message is created and
    /// not yet acknowledged.
    pub fn hold_sends(&self) {
        self.state().holding = true;
    }

    /// Answers every held send, and holds no more. The answer reaches the page that sent the
    /// message at its next poll, and the message's acks start moving then; a page that is gone
    /// (closed, crashed) never gets it, and its message stays pending.
    pub fn release_sends(&self) {
        self.state().release_sends();
    }

    /// The phone of the number (digits; `+` and spaces ignored): offline (messages to it stay
    /// at ack 1), online (ack 2 after the device delay) or reading them (ack 3 after the read
    /// delay). A number nobody set is [`Recipient::Online`]. Applies to messages already sent:
    /// a phone that comes online receives what waited for it.
    pub fn set_recipient(&self, digits: &str, recipient: Recipient) {
        let digits = state::digits(digits);
        self.state()
            .receipts
            .set_phone(digits, recipient, Instant::now());
    }

    /// How long each ack takes (see [`AckTimings`]); applies to acks not yet due.
    pub fn set_ack_timings(&self, timings: AckTimings) {
        self.state().receipts.timings = timings;
    }

    /// WhatsApp gives up on a message it took (ack -1, `FAILED` in wa-js's `ACK` enum): pages
    /// are told at their next poll. `false` when no message has the id (the key's
    /// `toString()`). A test hook: when the real service does this is not public.
    pub fn fail_message(&self, id: &str) -> bool {
        self.state().receipts_fail(id, Instant::now())
    }

    /// The ack the server gives message `id` now (what pages are told): 0 pending, 1 server,
    /// 2 device, 3 read, -1 failed; `None` for a message it never took (refused ones
    /// included).
    pub fn ack_of(&self, id: &str) -> Option<i8> {
        self.state().ack_of(id, Instant::now())
    }

    /// The ids (the key's `toString()`) of the sends whose answer is held now.
    pub fn held_sends(&self) -> Vec<String> {
        self.state().held.clone()
    }

    /// The pairing tokens the phone has issued and not logged out: what a paired page keeps in
    /// its `localStorage` (so a test can see when the browser has saved it to disk).
    pub fn pairing_tokens(&self) -> Vec<String> {
        self.state().pairing_tokens()
    }

    /// How many documents loaded the page (counted at their hello; turned-away ones included).
    pub fn page_loads(&self) -> usize {
        self.state().page_loads
    }

    /// Every browser that loaded the page, in order.
    pub fn browsers(&self) -> Vec<BrowserSeen> {
        self.state().browsers.clone()
    }
}
