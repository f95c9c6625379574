//! Failures and recovery: bans, outdated versions, Chromium killed, conflicts, planned relaunches.

use otp_reset::{SendError, Sender, SenderState};
use whatsapp_imitation::{AckBehaviour, BlockState, Imitation};

use crate::common::{
    JOHN, ONE_BROWSER, WAIT, code_message, config, kill_browsers, let_chromium_save_the_session,
    linked, passes_through, phone, session_dir, wait_for,
};

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
async fn another_session_taking_over_is_a_conflict() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    imitation.conflict();
    wait_for(&sender, "CONFLICT", |s| *s == SenderState::Conflict).await;
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
