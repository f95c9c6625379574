//! Sending: new, known and LID chats, numbers without WhatsApp, stalled acks, late send modules.

use std::time::Duration;

use otp_reset::{SendError, Sender, SenderState};
use otp_reset_whatsapp::WhatsAppSender;
use whatsapp_imitation::{AckBehaviour, Build, Imitation, SendPath};

use crate::common::{
    Camera, JOHN, ONE_BROWSER, SITI, code_message, config, linked, phone, record_states,
    scan_the_shown_code, session_dir, wait_for,
};

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
