//! What the sender tells the service after a send: look-ups that send nothing, and each
//! message's acknowledgements (sent, delivered, read, failed) under the id its send returned.

use std::time::Duration;

use otp_reset::{DeliveryReport, DeliveryReports, DeliveryUpdate, Presence, Sender, SenderState};
use otp_reset_whatsapp::{WhatsAppConfig, WhatsAppSender};
use tokio::sync::mpsc::Receiver;
use whatsapp_imitation::{Imitation, Recipient};

use crate::common::{
    JOHN, ONE_BROWSER, SITI, WAIT, code_message, config, linked, phone, session_dir, wait_for,
};

/// The acks are asked for this often in these tests.
const POLL: Duration = Duration::from_millis(200);

fn reporting(imitation: &Imitation) -> WhatsAppConfig {
    config(imitation, &session_dir()).with_delivery_reports(POLL, Duration::from_secs(60), 100)
}

/// Starts `sender` reporting into a fresh channel.
fn reports_of(sender: &WhatsAppSender) -> Receiver<DeliveryReport> {
    let (reports, received) = DeliveryReports::channel(64);
    sender.report_deliveries_to(reports);
    received
}

/// The next report, within the tests' generous wait.
async fn next(received: &mut Receiver<DeliveryReport>, what: &str) -> DeliveryReport {
    tokio::time::timeout(WAIT, received.recv())
        .await
        .unwrap_or_else(|_| panic!("no report of {what} within {WAIT:?}"))
        .expect("the reports channel is open")
}

/// Sends a code to `digits` and returns the id the send returned.
async fn send(sender: &WhatsAppSender, digits: &str) -> String {
    let delivered = sender.send(&phone(digits), &code_message()).await.unwrap();
    delivered
        .message_id
        .expect("WhatsApp Web names its messages")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_asks_whatsapp_web_and_sends_nothing() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    let sender = WhatsAppSender::start(config(&imitation, &session_dir())).unwrap();
    assert_eq!(sender.name(), "whatsapp-web");
    wait_for(&sender, "a QR code", |s| *s == SenderState::WaitingForQr).await;
    assert_eq!(
        sender.lookup(&phone(JOHN)).await.unwrap(),
        Presence::Unknown,
        "not READY: cannot tell"
    );
    sender.shutdown().await;

    let sender = linked(&imitation, config(&imitation, &session_dir())).await;
    assert_eq!(
        sender.lookup(&phone(JOHN)).await.unwrap(),
        Presence::Registered
    );
    assert_eq!(
        sender.lookup(&phone(SITI)).await.unwrap(),
        Presence::NotRegistered
    );
    assert!(imitation.sent().is_empty(), "a look-up sends nothing");
    assert!(!imitation.has_chat(JOHN), "nor opens a chat");
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_message_is_reported_sent_then_delivered_then_read_under_its_id() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_recipient(JOHN, Recipient::Reads);
    let sender = linked(&imitation, reporting(&imitation)).await;
    let mut received = reports_of(&sender);
    let id = send(&sender, JOHN).await;
    for update in [
        DeliveryUpdate::Sent,
        DeliveryUpdate::Delivered,
        DeliveryUpdate::Read,
    ] {
        let report = next(&mut received, &format!("{update:?}")).await;
        assert_eq!(
            report,
            DeliveryReport {
                message_id: id.clone(),
                update
            }
        );
    }
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_recipient_leaves_a_message_sent_until_it_fails() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_recipient(JOHN, Recipient::Offline);
    let sender = linked(&imitation, reporting(&imitation)).await;
    let mut received = reports_of(&sender);
    let id = send(&sender, JOHN).await;
    let sent = next(&mut received, "Sent").await;
    assert_eq!(
        (sent.message_id.as_str(), sent.update),
        (id.as_str(), DeliveryUpdate::Sent)
    );

    // The phone stays offline: several polls later, nothing more to say.
    assert_eq!(imitation.ack_of(&id), Some(1));
    tokio::time::sleep(POLL * 5).await;
    assert!(
        received.try_recv().is_err(),
        "only Sent while the phone is offline"
    );

    // WhatsApp gives up on it (ack -1): Failed, with its reason.
    assert!(imitation.fail_message(&id));
    let failed = next(&mut received, "Failed").await;
    assert_eq!(failed.message_id, id);
    assert!(
        matches!(&failed.update, DeliveryUpdate::Failed(reason) if reason.contains("FAILED")),
        "{failed:?}"
    );
    sender.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_before_a_relaunch_is_still_reported() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.set_recipient(JOHN, Recipient::Offline);
    // A planned relaunch right after the first send: a new browser, a new page.
    let config = reporting(&imitation).with_planned_relaunch(None, Some(1));
    let sender = linked(&imitation, config).await;
    let mut received = reports_of(&sender);
    let loads = imitation.page_loads();
    let id = send(&sender, JOHN).await;
    assert_eq!(
        next(&mut received, "Sent").await.update,
        DeliveryUpdate::Sent
    );
    assert!(
        imitation.wait_until(WAIT, |i| i.page_loads() > loads).await,
        "the browser was relaunched"
    );
    wait_for(&sender, "READY after the relaunch", |s| {
        *s == SenderState::Ready
    })
    .await;

    // The phone comes online and reads: the new page learns it, and the sender reports it.
    imitation.set_recipient(JOHN, Recipient::Reads);
    for update in [DeliveryUpdate::Delivered, DeliveryUpdate::Read] {
        let report = next(&mut received, &format!("{update:?}")).await;
        assert_eq!(
            (report.message_id.as_str(), report.update),
            (id.as_str(), update)
        );
    }
    sender.shutdown().await;
}
