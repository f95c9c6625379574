//! `SenderChain`: the next sender when one cannot deliver, never after the message may exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::RecordingSender;
use otp_reset::{
    DeliveryReports, DeliveryUpdate, Lang, Message, PhoneNumber, Presence, SendError, Sender,
    SenderChain, SenderState,
};

fn notice() -> Message {
    Message::PasswordChanged { lang: Lang::Id }
}

fn phone() -> PhoneNumber {
    "081234567890".parse().unwrap()
}

fn chain(first: &RecordingSender, second: &RecordingSender) -> SenderChain {
    SenderChain::new(vec![Arc::new(first.clone()), Arc::new(second.clone())])
}

#[tokio::test]
async fn the_first_sender_that_can_send_sends() {
    let (first, second) = (RecordingSender::ready(), RecordingSender::ready());
    let chain = chain(&first, &second);
    chain.send(&phone(), &notice()).await.unwrap();
    assert_eq!((first.sent().len(), second.sent().len()), (1, 0));

    first.set_state(SenderState::LoggedOut);
    assert!(chain.can_send());
    assert_eq!(chain.state(), SenderState::Ready);
    chain.send(&phone(), &notice()).await.unwrap();
    assert_eq!((first.sent().len(), second.sent().len()), (1, 1));

    second.set_state(SenderState::Disconnected);
    assert!(!chain.can_send());
    assert_eq!(
        chain.state(),
        SenderState::LoggedOut,
        "the first one's state"
    );
    assert!(matches!(
        chain.send(&phone(), &notice()).await,
        Err(SendError::NotReady(_))
    ));
}

#[tokio::test]
async fn a_failed_send_goes_to_the_next_sender() {
    let (first, second) = (RecordingSender::ready(), RecordingSender::ready());
    first.refuse_with(|| SendError::Failed("the token expired".into()));
    chain(&first, &second)
        .send(&phone(), &notice())
        .await
        .unwrap();
    assert_eq!(second.sent().len(), 1);
    first.refuse_with(|| SendError::QueueFull);
    chain(&first, &second)
        .send(&phone(), &notice())
        .await
        .unwrap();
    assert_eq!(second.sent().len(), 2);
}

#[tokio::test]
async fn no_account_and_a_timeout_are_final() {
    let (first, second) = (RecordingSender::ready(), RecordingSender::ready());
    first.unregister("081234567890");
    assert!(matches!(
        chain(&first, &second).send(&phone(), &notice()).await,
        Err(SendError::NotRegistered)
    ));
    let first = RecordingSender::ready();
    first.refuse_with(|| SendError::Timeout(Duration::from_secs(30)));
    assert!(matches!(
        chain(&first, &second).send(&phone(), &notice()).await,
        Err(SendError::Timeout(_))
    ));
    assert!(
        second.sent().is_empty(),
        "the message may exist: never twice"
    );
}

#[tokio::test]
async fn lookups_and_reports_reach_every_sender() {
    let (first, second) = (RecordingSender::ready(), RecordingSender::ready());
    second.unregister("081234567890");
    let chain = chain(&first, &second);
    assert_eq!(chain.lookup(&phone()).await.unwrap(), Presence::Registered);
    first.set_state(SenderState::Disconnected);
    assert_eq!(
        chain.lookup(&phone()).await.unwrap(),
        Presence::NotRegistered
    );
    assert_eq!(chain.name(), "sender,sender");

    let (reports, mut received) = DeliveryReports::channel(4);
    chain.report_deliveries_to(reports);
    first.report("a", DeliveryUpdate::Delivered);
    second.report("b", DeliveryUpdate::Read);
    assert_eq!(received.recv().await.unwrap().message_id, "a");
    assert_eq!(received.recv().await.unwrap().message_id, "b");
}
