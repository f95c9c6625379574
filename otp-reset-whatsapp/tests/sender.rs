//! The real sender in real headless Chromium (Debian's `chromium`) against the offline
//! imitation of WhatsApp Web: QR login, kept session, sends, failures and recovery.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use otp_reset::{Lang, Message, OtpCode, PhoneNumber, SendError, Sender, SenderState};
use otp_reset_whatsapp::{Error, WhatsAppConfig, WhatsAppSender};
use whatsapp_imitation::{AckBehaviour, Imitation};

/// One browser at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(30);

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
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: install Debian's Chromium (`apt-get install chromium`; `bash scripts/test-all.sh` does it)"
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

/// Starts a sender and links it by scanning the first QR code.
async fn linked(imitation: &Imitation, sessions: &Path) -> WhatsAppSender {
    let sender = WhatsAppSender::start(config(imitation, sessions)).unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    assert!(imitation.scan(), "a QR code was shown");
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    sender
}

fn code_message(code: &str) -> Message {
    let _ = code;
    Message::Code {
        code: OtpCode::generate(6),
        ttl: Duration::from_secs(900),
        lang: Lang::Id,
    }
}

const JOHN: &str = "6281234567890";

fn john() -> PhoneNumber {
    JOHN.parse().unwrap()
}

/// Chromium writes a page's storage to the profile in batches, seconds after the change; a
/// crash right after pairing can lose the new session (a real deployment then shows a new QR
/// code). Crash tests wait for the session to be on disk first.
async fn let_chromium_save_the_session() {
    tokio::time::sleep(Duration::from_secs(7)).await;
}

/// Chromium processes whose command line names `profile`.
fn browsers_using(profile: &Path) -> Vec<u32> {
    let needle = profile.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

fn kill_browsers(profile: &Path) {
    let profile = &std::fs::canonicalize(profile).unwrap();
    for pid in browsers_using(profile) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_by_qr_then_ready_and_the_qr_is_a_secret() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let sender = WhatsAppSender::start(config(&imitation, &sessions)).unwrap();
    assert_eq!(
        sender.state(),
        SenderState::Uninitialized.clone().max_by_state(&sender)
    );
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    let shown = sender
        .qr_codes()
        .borrow()
        .clone()
        .expect("a QR code is offered");
    assert_eq!(Some(shown.expose().to_owned()), imitation.current_qr());
    assert_eq!(format!("{shown:?}"), "QrCode(<secret>)");
    assert!(!sender.can_send());

    imitation.scan();
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    assert!(
        imitation.page_loads() >= 2,
        "WhatsApp Web reloaded itself after pairing, which is normal"
    );
    assert!(sender.qr_codes().borrow().is_none());
    sender.shutdown().await;
}

trait StateOf {
    fn max_by_state(self, sender: &WhatsAppSender) -> SenderState;
}

impl StateOf for SenderState {
    /// The state the sender was just started in: uninitialized or already initializing.
    fn max_by_state(self, sender: &WhatsAppSender) -> SenderState {
        match sender.state() {
            SenderState::Initializing => SenderState::Initializing,
            _ => self,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_kept_session_comes_up_ready_without_a_qr_code() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    linked(&imitation, &sessions).await.shutdown().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_reaches_a_registered_number_with_its_text() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sender = linked(&imitation, &session_dir()).await;
    let message = code_message("");
    let delivered = sender.send(&john(), &message).await.unwrap();
    let sent = imitation.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, format!("{JOHN}@c.us"));
    assert_eq!(sent[0].text, message.text());
    assert_eq!(delivered.message_id.as_deref(), Some(sent[0].id.as_str()));
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unregistered_number_is_a_typed_error_and_nothing_is_sent() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, &session_dir()).await;
    let result = sender.send(&john(), &code_message("")).await;
    assert!(
        matches!(result, Err(SendError::NotRegistered)),
        "{result:?}"
    );
    assert!(imitation.sent().is_empty());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_stuck_at_zero_times_out_and_is_never_retried() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_ack_behaviour(AckBehaviour::Stuck);
    let sender = linked(&imitation, &session_dir()).await;
    let result = sender.send(&john(), &code_message("")).await;
    assert!(matches!(result, Err(SendError::Timeout(_))), "{result:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        imitation.sent().len(),
        1,
        "the message was created once and not sent again"
    );
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_from_the_phone_clears_the_session_and_shows_a_new_qr_code() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, &session_dir()).await;
    let mut states = sender.states();
    let shown = imitation.qr_refs_shown();
    imitation.log_out();
    passes_through(&mut states, "LOGGED_OUT", |s| *s == SenderState::LoggedOut).await;
    wait_for(&sender, "a new QR code", |s| {
        *s == SenderState::WaitingForQr
    })
    .await;
    assert!(imitation.qr_refs_shown() > shown);
    imitation.scan();
    wait_for(&sender, "READY again", |s| *s == SenderState::Ready).await;
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_killed_mid_session_is_relaunched_and_later_sends_work() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sessions = session_dir();
    let sender = linked(&imitation, &sessions).await;
    let_chromium_save_the_session().await;
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
    assert!(sender.send(&john(), &code_message("")).await.is_ok());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_killed_mid_send_fails_that_send_once_and_recovers() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_ack_behaviour(AckBehaviour::Stuck);
    let sessions = session_dir();
    let sender = linked(&imitation, &sessions).await;
    let_chromium_save_the_session().await;
    let sending = {
        let sender = sender.clone();
        tokio::spawn(async move { sender.send(&john(), &code_message("")).await })
    };
    while imitation.sent().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    assert!(sender.send(&john(), &code_message("")).await.is_ok());
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_web_without_a_needed_module_is_reported_incompatible() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.drop_module("WAWebSendTextMsgChatAction");
    let sender = WhatsAppSender::start(config(&imitation, &session_dir())).unwrap();
    let state = wait_for(&sender, "FAILED", |s| {
        matches!(s, SenderState::Failed { .. })
    })
    .await;
    let SenderState::Failed { reason } = state else {
        unreachable!()
    };
    assert!(
        reason.contains("incompatible") && reason.contains("WAWebSendTextMsgChatAction"),
        "{reason}"
    );
    assert!(matches!(
        sender.send(&john(), &code_message("")).await,
        Err(SendError::NotReady(_))
    ));
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
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_session_taking_over_is_a_conflict() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, &session_dir()).await;
    imitation.conflict();
    wait_for(&sender, "CONFLICT", |s| *s == SenderState::Conflict).await;
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sender_on_one_profile_is_refused_and_nothing_survives_shutdown() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sessions = session_dir();
    let sender = linked(&imitation, &sessions).await;
    let second = WhatsAppSender::start(config(&imitation, &sessions));
    assert!(matches!(second, Err(Error::ProfileInUse(_))), "{second:?}");
    let message = second.unwrap_err().to_string();
    assert!(message.contains("in use by another process"), "{message}");

    let profile = std::fs::canonicalize(sessions.join("session-test")).unwrap();
    assert!(!browsers_using(&profile).is_empty());
    sender.shutdown().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browsers_using(&profile),
        Vec::<u32>::new(),
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
    let sender =
        WhatsAppSender::start(config(&imitation, &sessions).with_planned_relaunch(None, Some(1)))
            .unwrap();
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    imitation.scan();
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    let_chromium_save_the_session().await;
    let loads = imitation.page_loads();
    let mut states = sender.states();
    assert!(sender.send(&john(), &code_message("")).await.is_ok());
    passes_through(&mut states, "INITIALIZING", |s| {
        *s == SenderState::Initializing
    })
    .await;
    wait_for(&sender, "READY after the planned relaunch", |s| {
        *s == SenderState::Ready
    })
    .await;
    assert!(imitation.page_loads() > loads, "the page was loaded anew");
    assert!(sender.send(&john(), &code_message("")).await.is_ok());
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
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while orphan.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the orphan still runs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
