//! The real sender in real headless Chromium (Debian's `chromium`) against the offline imitation
//! of WhatsApp Web (built from whatsapp-web.js and wa-js, see `whatsapp-imitation/README.md`):
//! the browser's arguments, QR linking, kept sessions, sends to new and known chats in two
//! WhatsApp Web builds, late modules, bans, failures and recovery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otp_reset::{Lang, Message, OtpCode, PhoneNumber, SendError, Sender, SenderState};
use otp_reset_whatsapp::{Adapter, Error, WhatsAppConfig, WhatsAppSender};
use whatsapp_imitation::{AckBehaviour, BlockState, Build, Imitation, ScanRefused, SendPath};

/// One browser at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(30);
const CHROMIUM: &str = "/usr/bin/chromium";

fn session_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("whatsapp-sessions")
        .join(format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(imitation: &Imitation, sessions: &Path) -> WhatsAppConfig {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's Chromium (`apt-get install chromium`; `bash scripts/test-all.sh` does it)"
    );
    WhatsAppConfig::new()
        .with_url(imitation.url())
        .with_session_dir(sessions)
        .with_session_id("test")
        .with_probe_interval(Duration::from_millis(150))
        .with_send_timeout(Duration::from_secs(3))
        .with_recipient_spacing(Duration::ZERO)
        .with_backoff(Duration::from_millis(200), Duration::from_secs(2))
        .with_qr_in_terminal(false)
        .with_step_timeouts(
            Duration::from_secs(20),
            Duration::from_secs(20),
            Duration::from_secs(20),
            Duration::from_secs(2),
        )
}

async fn wait_for(
    sender: &WhatsAppSender,
    what: &str,
    accept: impl Fn(&SenderState) -> bool,
) -> SenderState {
    sender
        .wait_for(WAIT, accept)
        .await
        .unwrap_or_else(|state| panic!("waiting for {what}, still {state}"))
}

/// Waits until `states` passes through a state `accept` likes (even one it leaves again at once).
async fn passes_through(
    states: &mut tokio::sync::watch::Receiver<SenderState>,
    what: &str,
    accept: impl Fn(&SenderState) -> bool,
) {
    let reached = tokio::time::timeout(WAIT, states.wait_for(|s| accept(s))).await;
    assert!(
        matches!(reached, Ok(Ok(_))),
        "the sender never passed through {what}"
    );
}

/// Every state the sender takes from now on.
fn record_states(sender: &WhatsAppSender) -> Arc<Mutex<Vec<SenderState>>> {
    let seen = Arc::new(Mutex::new(vec![sender.state()]));
    let mut states = sender.states();
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let state = states.borrow_and_update().clone();
            log.lock().unwrap().push(state);
        }
    });
    seen
}

/// How the phone reads the QR code the sender shows.
#[derive(Clone, Copy, Debug)]
enum Camera {
    /// The SVG image the admin page serves.
    Svg,
    /// The drawing printed on the terminal.
    Terminal,
}

/// The phone scans the QR code the sender shows, as the operator would: from its picture.
/// WhatsApp Web rotates its codes, so a code that went stale between showing and scanning is
/// read again from the next one.
async fn scan_the_shown_code(imitation: &Imitation, sender: &WhatsAppSender, camera: Camera) {
    let mut codes = sender.qr_codes();
    for _ in 0..3 {
        let shown = tokio::time::timeout(WAIT, codes.wait_for(Option::is_some))
            .await
            .expect("a QR code is shown")
            .expect("the sender is running")
            .clone()
            .expect("a QR code");
        let scanned = match camera {
            Camera::Svg => imitation.scan_svg(&shown.to_svg()),
            Camera::Terminal => imitation.scan_terminal(&shown.to_terminal()),
        };
        match scanned {
            Ok(()) => return,
            Err(ScanRefused::StaleRef) => {
                let _ = tokio::time::timeout(WAIT, codes.changed()).await;
            }
            Err(refused) => panic!("the phone refused the QR code the sender showed: {refused}"),
        }
    }
    panic!("three QR codes in a row went stale before the scan");
}

/// Starts a sender and links it by scanning its first QR code.
async fn linked(imitation: &Imitation, config: WhatsAppConfig) -> WhatsAppSender {
    let sender = WhatsAppSender::start(config).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    scan_the_shown_code(imitation, &sender, Camera::Svg).await;
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    sender
}

fn code_message() -> Message {
    Message::Code {
        code: OtpCode::generate(6),
        ttl: Duration::from_secs(900),
        lang: Lang::Id,
    }
}

const JOHN: &str = "6281234567890";
const SITI: &str = "6281298765432";

fn phone(digits: &str) -> PhoneNumber {
    digits.parse().unwrap()
}

/// Chromium writes a page's storage to the profile in batches, seconds after the change; a
/// crash right after pairing can lose the new session (a real deployment then shows a new QR
/// code). Crash tests wait until the pairing token is in the profile's `Local Storage` files.
async fn let_chromium_save_the_session(imitation: &Imitation, sessions: &Path) {
    let storage = sessions.join("session-test/Default/Local Storage/leveldb");
    let deadline = std::time::Instant::now() + WAIT;
    while !holds_any(&storage, &imitation.pairing_tokens()) {
        assert!(
            std::time::Instant::now() < deadline,
            "Chromium did not save the session in {} within {WAIT:?}",
            storage.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a file in `dir` holds one of `tokens`, as Chromium stores a string (Latin-1 or
/// UTF-16).
fn holds_any(dir: &Path, tokens: &[String]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let files: Vec<Vec<u8>> = entries
        .filter_map(|entry| std::fs::read(entry.ok()?.path()).ok())
        .collect();
    tokens.iter().any(|token| {
        let latin1 = token.as_bytes().to_vec();
        let utf16: Vec<u8> = token.encode_utf16().flat_map(u16::to_le_bytes).collect();
        files.iter().any(|bytes| {
            [&latin1, &utf16].iter().any(|needle| {
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_slice())
            })
        })
    })
}

/// Chromium processes whose command line names `profile`, with their arguments.
fn browsers_using(profile: &Path) -> Vec<(u32, Vec<String>)> {
    let needle = profile.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .filter(|arg| !arg.is_empty())
                .map(|arg| String::from_utf8_lossy(arg).into_owned())
                .collect();
            args.iter()
                .any(|arg| arg.contains(&needle))
                .then_some((pid, args))
        })
        .collect()
}

fn kill_browsers(profile: &Path) {
    let profile = &std::fs::canonicalize(profile).unwrap();
    for (pid, _) in browsers_using(profile) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// The major version of the installed Chromium, from `chromium --version`.
fn chromium_major() -> String {
    let output = std::process::Command::new(CHROMIUM)
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.split_whitespace()
        .find_map(|word| {
            let (major, _) = word.split_once('.')?;
            major.parse::<u32>().ok().map(|m| m.to_string())
        })
        .unwrap_or_else(|| panic!("no version in {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_reach_chromium_as_written_and_the_page_sees_the_configured_user_agent() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/150.0.0.0 Safari/537.36";
    let sender =
        WhatsAppSender::start(config(&imitation, &sessions).with_user_agent(user_agent)).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;

    let profile = std::fs::canonicalize(sessions.join("session-test")).unwrap();
    let browsers = browsers_using(&profile);
    // The browser process itself; its helpers carry `--type=…`.
    let (_, args) = browsers
        .iter()
        .find(|(_, args)| !args.iter().any(|arg| arg.starts_with("--type=")))
        .unwrap_or_else(|| panic!("no browser process among {browsers:?}"));
    for arg in args {
        assert!(!arg.starts_with("----"), "{arg} reached Chromium mangled");
    }
    for wanted in [
        format!("--user-agent={user_agent}"),
        "--disable-blink-features=AutomationControlled".into(),
        "--disable-gpu".into(),
        "--disable-quic".into(),
        "--disable-component-update".into(),
        "--no-default-browser-check".into(),
        "--mute-audio".into(),
        format!("--user-data-dir={}", profile.display()),
    ] {
        assert!(args.contains(&wanted), "{wanted} is missing from {args:?}");
    }

    let seen = imitation.browsers();
    assert!(!seen.is_empty());
    for browser in seen {
        assert_eq!(browser.user_agent_header, user_agent);
        assert_eq!(browser.navigator_user_agent.as_deref(), Some(user_agent));
        assert_eq!(
            browser.webdriver,
            Some(false),
            "navigator.webdriver is hidden"
        );
        assert!(!browser.turned_away);
    }
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_by_the_qr_codes_picture_then_ready_and_the_qr_is_a_secret() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let sender = WhatsAppSender::start(config(&imitation, &sessions)).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    let shown = sender.qr_codes().borrow().clone().expect("a QR code");
    assert_eq!(format!("{shown:?}"), "QrCode(<secret>)");
    // The whole linking code, keys and platform: a phone links with nothing less.
    let fields: Vec<&str> = shown.expose().split(',').collect();
    assert_eq!(fields.len(), 5, "{fields:?}");
    assert!(fields[0].starts_with("2@"));
    assert!(matches!(
        imitation.scan(fields[0]),
        Err(ScanRefused::NotALinkingCode(_))
    ));
    assert!(!sender.can_send());

    scan_the_shown_code(&imitation, &sender, Camera::Svg).await;
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    assert!(sender.qr_codes().borrow().is_none());
    // The desktop user agent of the installed Chromium, never a headless one.
    let major = chromium_major();
    for browser in imitation.browsers() {
        let user_agent = browser.navigator_user_agent.unwrap_or_default();
        assert!(!user_agent.contains("Headless"), "{user_agent}");
        assert!(
            user_agent.contains(&format!("Chrome/{major}.0.0.0")),
            "{user_agent}"
        );
        assert!(!browser.turned_away);
    }
    let status = sender.status();
    assert_eq!(status.adapter_version.as_deref(), Some("2"));
    assert_eq!(
        status.service_version.as_deref(),
        Some(imitation.build().version())
    );
    assert_eq!(status.last_problem, None);
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_kept_session_comes_up_ready_without_a_qr_code() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    linked(&imitation, config(&imitation, &sessions))
        .await
        .shutdown()
        .await;
    let shown = imitation.qr_refs_shown();

    let sender = WhatsAppSender::start(config(&imitation, &sessions)).unwrap();
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    assert_eq!(imitation.qr_refs_shown(), shown, "no new QR code");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sessions.join("session-test"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "the session folder is the owner's only");
    }
    sender.shutdown().await;
}

/// A code reaches a number that never chatted with the site and one that did, each reported
/// with the id WhatsApp Web gave the message.
async fn codes_reach_new_and_known_chats(build: Build) {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start_with(build).await;
    imitation.register(JOHN);
    imitation.register_with_chat(SITI);
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    assert!(!imitation.has_chat(JOHN));

    for (number, digits) in [(1, JOHN), (2, SITI)] {
        let message = code_message();
        let delivered = sender
            .send(&phone(digits), &message)
            .await
            .unwrap_or_else(|error| panic!("{digits} in {build:?}: {error}"));
        let sent = imitation.sent();
        assert_eq!(sent.len(), number);
        let last = sent.last().unwrap();
        assert_eq!(last.to, format!("{digits}@c.us"));
        assert_eq!(last.text, message.text());
        assert_eq!(last.via, SendPath::AddAndSendMsgToChat);
        assert_eq!(delivered.message_id.as_deref(), Some(last.id.as_str()));
        assert!(
            last.id.starts_with(&format!("true_{digits}@c.us_")),
            "{}",
            last.id
        );
    }
    assert!(imitation.has_chat(JOHN), "the new number got a chat");
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_reach_new_and_known_chats_when_keys_have_serialized() {
    codes_reach_new_and_known_chats(Build::KeyWithSerialized).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_reach_new_and_known_chats_when_keys_keep_a_minified_field() {
    codes_reach_new_and_known_chats(Build::KeyWithMinifiedField).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_reaches_a_contact_known_by_its_lid() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let lid = imitation.register_lid(JOHN);
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    let delivered = sender.send(&phone(JOHN), &code_message()).await.unwrap();
    let sent = imitation.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, lid);
    assert_eq!(delivered.message_id.as_deref(), Some(sent[0].id.as_str()));
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_without_whatsapp_is_a_typed_error_and_nothing_is_sent() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    let result = sender.send(&phone(JOHN), &code_message()).await;
    assert!(
        matches!(result, Err(SendError::NotRegistered)),
        "{result:?}"
    );
    assert!(imitation.sent().is_empty());
    assert!(!imitation.has_chat(JOHN), "no chat is made for nobody");
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_stuck_at_zero_times_out_and_a_refused_one_fails_and_neither_is_retried() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_ack_behaviour(AckBehaviour::Stuck);
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    let result = sender.send(&phone(JOHN), &code_message()).await;
    assert!(matches!(result, Err(SendError::Timeout(_))), "{result:?}");

    assert_eq!(imitation.sent().len(), 1, "created once, not sent again");

    // WhatsApp refuses the next one (ack -1): a failure, and no second try.
    imitation.set_ack_behaviour(AckBehaviour::Error);
    let result = sender.send(&phone(JOHN), &code_message()).await;
    assert!(matches!(result, Err(SendError::Failed(_))), "{result:?}");
    // Sends go one at a time: once a later one is through, a retry would be on record.
    imitation.set_ack_behaviour(AckBehaviour::Delivered);
    imitation.register(SITI);
    sender.send(&phone(SITI), &code_message()).await.unwrap();
    let sent: Vec<String> = imitation.sent().into_iter().map(|m| m.to).collect();
    assert_eq!(
        sent,
        [format!("{JOHN}@c.us"), format!("{SITI}@c.us")],
        "the refused message is not retried"
    );
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_load_whose_send_modules_arrive_late_is_not_called_incompatible() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_send_modules_delay(Duration::from_secs(4));
    let sender = WhatsAppSender::start(config(&imitation, &session_dir())).unwrap();
    let states = record_states(&sender);
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    scan_the_shown_code(&imitation, &sender, Camera::Svg).await;
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    let states = states.lock().unwrap().clone();
    assert!(
        states.contains(&SenderState::Authenticated),
        "synced but waiting for the send modules: {states:?}"
    );
    assert!(
        !states
            .iter()
            .any(|s| matches!(s, SenderState::Failed { .. })),
        "{states:?}"
    );
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_modules_that_never_arrive_mean_an_incompatible_version() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.drop_module("WAWebFindChatAction");
    let sender = WhatsAppSender::start(
        config(&imitation, &session_dir()).with_module_wait(Duration::from_secs(2)),
    )
    .unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    scan_the_shown_code(&imitation, &sender, Camera::Svg).await;
    let state = wait_for(&sender, "FAILED", |s| {
        matches!(s, SenderState::Failed { .. })
    })
    .await;
    let reason = state.to_string();
    assert!(
        reason.contains("incompatible")
            && reason.contains("WAWebFindChatAction")
            && reason.contains(imitation.build().version()),
        "{reason}"
    );
    assert!(matches!(
        sender.send(&phone(JOHN), &code_message()).await,
        Err(SendError::NotReady(_))
    ));
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_account_fails_with_its_reason_and_is_not_relaunched() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    imitation.block(BlockState::TosBlock);
    let state = wait_for(&sender, "FAILED", |s| {
        matches!(s, SenderState::Failed { .. })
    })
    .await;
    assert!(state.to_string().contains("TOS_BLOCK"), "{state}");
    let loads = imitation.page_loads();
    let mut states = sender.states();
    states.mark_unchanged();
    // A failed sender parks: it refuses sends at once, and only shutdown ends it.
    assert!(matches!(
        sender.send(&phone(JOHN), &code_message()).await,
        Err(SendError::NotReady(SenderState::Failed { .. }))
    ));
    assert_eq!(sender.state(), state);
    let problem = sender
        .status()
        .last_problem
        .expect("the ban is the last problem");
    assert_eq!(problem.state, state);
    sender.shutdown().await;
    // The actor has ended: anything it did since FAILED is on record now.
    assert!(
        !states.has_changed().unwrap_or(true),
        "no relaunch against a ban"
    );
    assert_eq!(imitation.page_loads(), loads, "no relaunch against a ban");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outdated_version_gets_one_fresh_page_then_fails_with_its_reason() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    let mut states = sender.states();
    imitation.block(BlockState::DeprecatedVersion);
    passes_through(&mut states, "RECONNECTING", |s| {
        matches!(s, SenderState::Reconnecting { .. })
    })
    .await;
    let state = wait_for(&sender, "FAILED", |s| {
        matches!(s, SenderState::Failed { .. })
    })
    .await;
    assert!(state.to_string().contains("DEPRECATED_VERSION"), "{state}");
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_web_without_window_debug_still_links_and_tells_its_version() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.set_debug_gated(true);
    imitation.register(JOHN);
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    assert_eq!(
        sender.status().service_version.as_deref(),
        Some(imitation.build().version())
    );
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_from_the_phone_stays_in_view_while_a_new_qr_code_links_again() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    let mut states = sender.states();
    let shown = imitation.qr_refs_shown();
    imitation.log_out();
    passes_through(&mut states, "LOGGED_OUT", |s| *s == SenderState::LoggedOut).await;
    wait_for(&sender, "a new QR code", |s| {
        *s == SenderState::WaitingForQr
    })
    .await;
    assert!(imitation.qr_refs_shown() > shown);
    let problem = sender.status().last_problem.expect("the logout is in view");
    assert_eq!(problem.state, SenderState::LoggedOut);

    scan_the_shown_code(&imitation, &sender, Camera::Terminal).await;
    wait_for(&sender, "READY again", |s| *s == SenderState::Ready).await;
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_folder_replaces_scripts_without_a_rebuild() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let folder = session_dir().join("adapter");
    std::fs::create_dir_all(&folder).unwrap();
    let send = include_str!("../src/adapter/send.js");
    assert!(send.contains("body: text,"));
    std::fs::write(
        folder.join("send.js"),
        send.replace("body: text,", "body: text + ' [from the folder]',"),
    )
    .unwrap();
    std::fs::write(folder.join("VERSION"), "2-hotfix\n").unwrap();
    let adapter = Adapter::from_dir(&folder).unwrap();
    let sender = linked(
        &imitation,
        config(&imitation, &session_dir()).with_adapter(adapter),
    )
    .await;
    assert_eq!(sender.status().adapter_version.as_deref(), Some("2-hotfix"));
    sender.send(&phone(JOHN), &code_message()).await.unwrap();
    assert!(imitation.sent()[0].text.ends_with(" [from the folder]"));
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_killed_mid_session_is_relaunched_and_later_sends_work() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sessions = session_dir();
    let sender = linked(&imitation, config(&imitation, &sessions)).await;
    let_chromium_save_the_session(&imitation, &sessions).await;
    let mut states = sender.states();
    kill_browsers(&sessions.join("session-test"));
    passes_through(&mut states, "RECONNECTING", |s| {
        matches!(s, SenderState::Reconnecting { .. })
    })
    .await;
    wait_for(&sender, "READY after the relaunch", |s| {
        *s == SenderState::Ready
    })
    .await;
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    let problem = sender.status().last_problem.expect("the crash is in view");
    assert!(matches!(problem.state, SenderState::Reconnecting { .. }));
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_killed_mid_send_fails_that_send_once_and_recovers() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_ack_behaviour(AckBehaviour::Stuck);
    let sessions = session_dir();
    let sender = linked(&imitation, config(&imitation, &sessions)).await;
    let_chromium_save_the_session(&imitation, &sessions).await;
    let sending = {
        let sender = sender.clone();
        tokio::spawn(async move { sender.send(&phone(JOHN), &code_message()).await })
    };
    assert!(
        imitation.wait_until(WAIT, |i| !i.sent().is_empty()).await,
        "the message never reached WhatsApp"
    );
    let mut states = sender.states();
    kill_browsers(&sessions.join("session-test"));
    assert!(
        sending.await.unwrap().is_err(),
        "the interrupted send reports a failure"
    );
    passes_through(&mut states, "RECONNECTING", |s| {
        matches!(s, SenderState::Reconnecting { .. })
    })
    .await;
    wait_for(&sender, "READY after the relaunch", |s| {
        *s == SenderState::Ready
    })
    .await;
    assert_eq!(
        imitation.sent().len(),
        1,
        "the interrupted message is not sent again"
    );
    imitation.set_ack_behaviour(AckBehaviour::Delivered);
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unscanned_qr_codes_stop_at_the_cap() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.set_qr_interval(Duration::from_millis(300));
    let sender = WhatsAppSender::start(
        config(&imitation, &session_dir()).with_qr_limits(Duration::from_secs(1), 2),
    )
    .unwrap();
    let state = wait_for(&sender, "FAILED", |s| {
        matches!(s, SenderState::Failed { .. })
    })
    .await;
    assert!(
        state.to_string().contains("no QR code was scanned"),
        "{state}"
    );
    assert!(
        sender.qr_codes().borrow().is_none(),
        "no dead code is shown"
    );
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_qr_codes_are_refreshed_until_one_is_scanned() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.set_qr_interval(Duration::from_millis(400));
    imitation.set_max_qr_refs(1);
    let sender = WhatsAppSender::start(
        config(&imitation, &session_dir()).with_qr_limits(Duration::from_secs(1), 6),
    )
    .unwrap();
    assert!(
        imitation.wait_until(WAIT, |i| i.qr_refs_shown() >= 3).await,
        "no fresh codes"
    );
    scan_the_shown_code(&imitation, &sender, Camera::Svg).await;
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_session_taking_over_is_a_conflict() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    imitation.conflict();
    wait_for(&sender, "CONFLICT", |s| *s == SenderState::Conflict).await;
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sender_on_one_profile_is_refused_and_nothing_survives_shutdown() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let sender = linked(&imitation, config(&imitation, &sessions)).await;
    let second = WhatsAppSender::start(config(&imitation, &sessions));
    assert!(matches!(second, Err(Error::ProfileInUse(_))), "{second:?}");
    let message = second.unwrap_err().to_string();
    assert!(message.contains("in use by another process"), "{message}");

    let profile = std::fs::canonicalize(sessions.join("session-test")).unwrap();
    assert!(!browsers_using(&profile).is_empty());
    sender.shutdown().await;
    // The browser's helper processes end when it does, a moment after.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !browsers_using(&profile).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        browsers_using(&profile),
        Vec::new(),
        "no Chromium process of ours survives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_chromium_lock_from_a_dead_process_is_cleared() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let profile = sessions.join("session-test");
    std::fs::create_dir_all(&profile).unwrap();
    std::os::unix::fs::symlink("somehost-999999", profile.join("SingletonLock")).unwrap();
    let sender = WhatsAppSender::start(config(&imitation, &sessions)).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planned_relaunch_after_n_sends_comes_back_ready() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sessions = session_dir();
    let sender = linked(
        &imitation,
        config(&imitation, &sessions).with_planned_relaunch(None, Some(1)),
    )
    .await;
    let_chromium_save_the_session(&imitation, &sessions).await;
    let loads = imitation.page_loads();
    let mut states = sender.states();
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    passes_through(&mut states, "INITIALIZING", |s| {
        *s == SenderState::Initializing
    })
    .await;
    wait_for(&sender, "READY after the planned relaunch", |s| {
        *s == SenderState::Ready
    })
    .await;
    assert!(imitation.page_loads() > loads, "the page was loaded anew");
    assert!(sender.send(&phone(JOHN), &code_message()).await.is_ok());
    sender.shutdown().await;
}

#[tokio::test]
async fn a_chromium_left_behind_on_the_profile_is_killed_at_start() {
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let profile = sessions.join("session-test");
    std::fs::create_dir_all(&profile).unwrap();
    let profile = std::fs::canonicalize(&profile).unwrap();
    // Stands in for a Chromium whose server was killed with -9: its command line names the profile.
    let mut orphan = std::process::Command::new("bash")
        .args([
            "-c",
            "sleep 60; true",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .spawn()
        .unwrap();
    let _one = ONE_BROWSER.lock().await;
    let sender = WhatsAppSender::start(config(&imitation, &sessions)).unwrap();
    let ended = tokio::task::spawn_blocking(move || orphan.wait());
    let ended = tokio::time::timeout(Duration::from_secs(5), ended).await;
    assert!(ended.is_ok(), "the orphan still runs");
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    sender.shutdown().await;
}

#[tokio::test]
async fn a_missing_chromium_names_the_package() {
    let error = WhatsAppSender::start(
        WhatsAppConfig::new()
            .with_chromium("/nonexistent/chromium")
            .with_session_dir(session_dir()),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("apt-get install chromium"),
        "{error}"
    );
}
