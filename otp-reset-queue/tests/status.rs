//! Every instance sees the worker's sender's status, and sees when no worker runs.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TestRedis, wait_until, worker_options};
use otp_reset::{Delivered, Message, PhoneNumber, SendError, Sender, SenderState, SenderStatus};
use otp_reset_queue::{NO_WORKER, QueueSender, SenderWorker};
use tokio::sync::oneshot;

const PATIENCE: Duration = Duration::from_secs(15);

/// A sender whose status the test sets.
#[derive(Debug)]
struct Settable(Mutex<SenderStatus>);

#[otp_reset::async_trait]
impl Sender for Settable {
    async fn send(&self, _: &PhoneNumber, _: &Message) -> Result<Delivered, SendError> {
        Ok(Delivered::default())
    }
    fn state(&self) -> SenderState {
        self.0.lock().unwrap().state.clone()
    }
    fn status(&self) -> SenderStatus {
        self.0.lock().unwrap().clone()
    }
}

fn no_worker(state: &SenderState) -> bool {
    matches!(state, SenderState::Failed { reason } if reason == NO_WORKER)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_worker_the_queue_cannot_send() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    wait_until("the queue says no worker runs", PATIENCE, || {
        no_worker(&queue.state())
    })
    .await;
    assert!(!queue.can_send());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_shows_the_workers_sender_status_and_when_the_worker_dies() {
    let redis = TestRedis::new();
    let sender = Arc::new(Settable(Mutex::new(
        SenderStatus::new(SenderState::WaitingForQr).with_adapter_version("7"),
    )));
    let worker = SenderWorker::new(redis.options(), sender.clone(), worker_options()).unwrap();
    let running = tokio::spawn(async move { worker.run(std::future::pending()).await });
    let queue = QueueSender::new(redis.options()).unwrap();
    wait_until("the queue shows WAITING_FOR_QR", PATIENCE, || {
        queue.state() == SenderState::WaitingForQr
    })
    .await;
    assert_eq!(queue.status().adapter_version.as_deref(), Some("7"));
    assert!(!queue.can_send());

    *sender.0.lock().unwrap() = SenderStatus::new(SenderState::Ready);
    wait_until("the queue shows READY", PATIENCE, || queue.can_send()).await;

    // Killed: no goodbye; the heartbeat goes stale.
    running.abort();
    let _ = running.await;
    wait_until("the queue shows no worker", PATIENCE, || {
        no_worker(&queue.state())
    })
    .await;
    assert!(!queue.can_send());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_stops_takes_its_status_down() {
    let redis = TestRedis::new();
    let sender = Arc::new(Settable(Mutex::new(SenderStatus::new(SenderState::Ready))));
    let worker = SenderWorker::new(redis.options(), sender, worker_options()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let queue = QueueSender::new(redis.options()).unwrap();
    wait_until("the queue shows READY", PATIENCE, || queue.can_send()).await;
    let _ = stop.send(());
    running.await.unwrap();
    let status: Option<String> = redis::cmd("GET")
        .arg(format!("{}worker:status", redis.prefix))
        .query(&mut redis.connection())
        .unwrap();
    assert_eq!(status, None, "the status is taken down at once");
    wait_until("the queue shows no worker", PATIENCE, || {
        no_worker(&queue.state())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_out_of_range_are_refused_by_name() {
    let redis = TestRedis::new();
    let sender = Arc::new(Settable(Mutex::new(SenderStatus::new(SenderState::Ready))));
    let options = worker_options().with_claim_timeout(Duration::from_millis(600));
    let refused = SenderWorker::new(redis.options(), sender, options).unwrap_err();
    assert!(refused.to_string().contains("claim_timeout"), "{refused}");
    let short = otp_reset_queue::QueueOptions::new(&common::redis_url(), b"short").unwrap_err();
    assert!(short.to_string().contains("secret"), "{short}");
}
