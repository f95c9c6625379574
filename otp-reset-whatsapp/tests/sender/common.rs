//! What the sender tests share: the browser lock, the configuration, waits, the camera, Chromium.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otp_reset::{Lang, Message, OtpCode, PhoneNumber, Sender, SenderState};
use otp_reset_whatsapp::{WhatsAppConfig, WhatsAppSender};
use whatsapp_imitation::{Imitation, ScanRefused};

/// One browser at a time: the machine has two cores.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) const WAIT: Duration = Duration::from_secs(30);
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) fn session_dir() -> PathBuf {
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

pub(crate) fn config(imitation: &Imitation, sessions: &Path) -> WhatsAppConfig {
    config_at(&imitation.url(), sessions)
}

/// The tests' configuration for WhatsApp Web at `url` (an imitation in another process).
pub(crate) fn config_at(url: &str, sessions: &Path) -> WhatsAppConfig {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install Debian's Chromium (`apt-get install chromium`; `bash scripts/test-all.sh` does it)"
    );
    WhatsAppConfig::new()
        .with_url(url)
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

pub(crate) async fn wait_for(
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
pub(crate) async fn passes_through(
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
pub(crate) fn record_states(sender: &WhatsAppSender) -> Arc<Mutex<Vec<SenderState>>> {
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
pub(crate) enum Camera {
    /// The SVG image the admin page serves.
    Svg,
    /// The drawing printed on the terminal.
    Terminal,
}

/// The phone scans the QR code the sender shows, as the operator would: from its picture.
/// WhatsApp Web rotates its codes, so a code that went stale between showing and scanning is
/// read again from the next one.
pub(crate) async fn scan_the_shown_code(
    imitation: &Imitation,
    sender: &WhatsAppSender,
    camera: Camera,
) {
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
pub(crate) async fn linked(imitation: &Imitation, config: WhatsAppConfig) -> WhatsAppSender {
    let sender = WhatsAppSender::start(config).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    scan_the_shown_code(imitation, &sender, Camera::Svg).await;
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    sender
}

pub(crate) fn code_message() -> Message {
    Message::Code {
        code: OtpCode::generate(6),
        ttl: Duration::from_secs(900),
        lang: Lang::Id,
    }
}

pub(crate) const JOHN: &str = "6281234567890";
pub(crate) const SITI: &str = "6281298765432";

pub(crate) fn phone(digits: &str) -> PhoneNumber {
    digits.parse().unwrap()
}

/// Chromium writes a page's storage to the profile in batches, seconds after the change; a
/// crash right after pairing can lose the new session (a real deployment then shows a new QR
/// code). Crash tests wait until the pairing token is in the profile's `Local Storage` files.
pub(crate) async fn let_chromium_save_the_session(imitation: &Imitation, sessions: &Path) {
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
pub(crate) fn browsers_using(profile: &Path) -> Vec<(u32, Vec<String>)> {
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

pub(crate) fn kill_browsers(profile: &Path) {
    let profile = &std::fs::canonicalize(profile).unwrap();
    for (pid, _) in browsers_using(profile) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

/// The major version of the installed Chromium, from `chromium --version`.
pub(crate) fn chromium_major() -> String {
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
