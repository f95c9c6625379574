//! A worker that dies mid-send is replaced, and the message is not delivered twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    Hang, KeyedService, Lookup, TestRedis, code_message, phone, wait_until, worker_options,
};
use otp_reset::Sender;
use otp_reset_queue::{QueueSender, SenderWorker, WorkerStats};
use tokio::sync::oneshot;

const LONG: Duration = Duration::from_secs(900);
const PATIENCE: Duration = Duration::from_secs(20);

/// Enqueues one code, lets a first worker hang in its send as `hang` says, kills it there, and
/// starts a second worker over the same service; returns the second worker's stats once it
/// finished the entry, and stops it.
async fn kill_mid_send_and_replace(redis: &TestRedis, service: &Arc<KeyedService>) -> WorkerStats {
    let queue = QueueSender::new(redis.options()).unwrap();
    queue
        .send(&phone(7), &code_message("246810", LONG))
        .await
        .unwrap();

    let first = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let hung = service.hung.notified();
    let dying = tokio::spawn(async move { first.run(std::future::pending()).await });
    tokio::time::timeout(PATIENCE, hung)
        .await
        .expect("the first worker reached the send");
    dying.abort();
    assert!(dying.await.unwrap_err().is_cancelled());
    service.stop_hanging();

    let second = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let stats = second.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        second
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    wait_until("the second worker finishes the entry", PATIENCE, || {
        stats.sent() + stats.already_sent() + stats.unknown() == 1
    })
    .await;
    let _ = stop.send(());
    running.await.unwrap();
    let length: u64 = redis::cmd("XLEN")
        .arg(redis.stream())
        .query(&mut redis.connection())
        .unwrap();
    assert_eq!(length, 0, "the entry was acknowledged and deleted");
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_created_before_the_worker_died_is_not_sent_again() {
    let redis = TestRedis::new();
    let service = KeyedService::new(true, Lookup::Tells, Hang::AfterCreating);
    let stats = kill_mid_send_and_replace(&redis, &service).await;
    assert_eq!(stats.already_sent(), 1);
    assert_eq!(service.delivered().len(), 1, "delivered exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_not_yet_created_is_sent_once_under_the_same_key() {
    let redis = TestRedis::new();
    let service = KeyedService::new(true, Lookup::Tells, Hang::BeforeCreating);
    let stats = kill_mid_send_and_replace(&redis, &service).await;
    assert_eq!(stats.sent(), 1);
    let delivered = service.delivered();
    assert_eq!(delivered.len(), 1, "delivered exactly once");
    assert_eq!(
        delivered[0].2, "K1",
        "under the key the first worker recorded"
    );
    assert!(delivered[0].1.contains("246810"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_that_cannot_tell_never_sends_twice() {
    let redis = TestRedis::new();
    let service = KeyedService::new(true, Lookup::Unknown, Hang::AfterCreating);
    let stats = kill_mid_send_and_replace(&redis, &service).await;
    assert_eq!(stats.unknown(), 1);
    assert_eq!(service.delivered().len(), 1, "never twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_without_keys_never_sends_twice() {
    let redis = TestRedis::new();
    let service = KeyedService::new(false, Lookup::Tells, Hang::AfterCreating);
    let stats = kill_mid_send_and_replace(&redis, &service).await;
    assert_eq!(stats.unknown(), 1);
    assert_eq!(service.delivered().len(), 1, "never twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_workers_one_consumes_and_the_other_takes_over_when_it_stops() {
    let redis = TestRedis::new();
    let one = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let two = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let first = SenderWorker::new(redis.options(), one.clone(), worker_options()).unwrap();
    let second = SenderWorker::new(redis.options(), two.clone(), worker_options()).unwrap();
    let (stop_first, first_stopped) = oneshot::channel::<()>();
    let (stop_second, second_stopped) = oneshot::channel::<()>();
    let first = tokio::spawn(async move {
        first
            .run(async {
                let _ = first_stopped.await;
            })
            .await
    });
    let second = tokio::spawn(async move {
        second
            .run(async {
                let _ = second_stopped.await;
            })
            .await
    });

    let queue = QueueSender::new(redis.options()).unwrap();
    wait_until("a worker is ready", PATIENCE, || queue.can_send()).await;
    for n in 0..10u64 {
        queue
            .send(
                &phone(n),
                &code_message(&format!("{:06}", 500_000 + n), LONG),
            )
            .await
            .unwrap();
    }
    wait_until("10 messages arrive", PATIENCE, || {
        one.delivered().len() + two.delivered().len() == 10
    })
    .await;
    let (consumer_service, standby_service, stop_consumer, stop_standby, consumer, standby) =
        if one.delivered().is_empty() {
            (two, one, stop_second, stop_first, second, first)
        } else {
            (one, two, stop_first, stop_second, first, second)
        };
    assert_eq!(
        consumer_service.delivered().len(),
        10,
        "one worker consumed every message"
    );
    assert!(standby_service.delivered().is_empty(), "the other stood by");

    let _ = stop_consumer.send(());
    consumer.await.unwrap();
    queue
        .send(&phone(99), &code_message("777777", LONG))
        .await
        .unwrap();
    wait_until("the standby delivers", PATIENCE, || {
        standby_service.delivered().len() == 1
    })
    .await;
    assert_eq!(consumer_service.delivered().len(), 10);
    let _ = stop_standby.send(());
    standby.await.unwrap();
}
