//! Linking: the first QR login, kept sessions, gated `window.Debug`, logouts, QR cap and refresh.

use std::time::Duration;

use otp_reset::{Sender, SenderState};
use otp_reset_whatsapp::WhatsAppSender;
use whatsapp_imitation::{Imitation, ScanRefused};

use crate::common::{
    Camera, JOHN, ONE_BROWSER, WAIT, chromium_major, code_message, config, linked, passes_through,
    phone, scan_the_shown_code, session_dir, wait_for,
};

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
    assert_eq!(
        status.adapter_version.as_deref(),
        Some(otp_reset_whatsapp::ADAPTER_VERSION)
    );
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
    // Long enough for the phone's camera (a debug build's QR decoder) to read one code, and
    // shorter than the sender's QR timeout (past which it reloads a page that shows one code).
    imitation.set_qr_interval(Duration::from_millis(1500));
    imitation.set_max_qr_refs(1);
    let sender = WhatsAppSender::start(
        config(&imitation, &session_dir()).with_qr_limits(Duration::from_secs(3), 6),
    )
    .unwrap();
    assert!(
        imitation.wait_until(WAIT, |i| i.qr_refs_shown() >= 3).await,
        "no fresh codes"
    );
    assert_eq!(
        imitation.page_loads(),
        1,
        "fresh codes come from Cmd.refreshQR, not from reloads"
    );
    scan_the_shown_code(&imitation, &sender, Camera::Svg).await;
    wait_for(&sender, "READY", |s| *s == SenderState::Ready).await;
    sender.shutdown().await;
}
