//! Browser set-up: arguments, adapter folders, one sender per profile, locks, stray browsers.

use std::time::Duration;

use otp_reset::{Sender, SenderState};
use otp_reset_whatsapp::{Adapter, Error, WhatsAppConfig, WhatsAppSender};
use whatsapp_imitation::Imitation;

use crate::common::{
    JOHN, ONE_BROWSER, browsers_using, code_message, config, linked, phone, session_dir, wait_for,
};

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
async fn an_adapter_folder_replaces_scripts_without_a_rebuild() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let folder = session_dir().join("adapter");
    std::fs::create_dir_all(&folder).unwrap();
    let send = include_str!("../../src/adapter/send.js");
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
