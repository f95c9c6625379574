//! Messages go through the stream to the worker's sender once, sealed on the way.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    Hang, KeyedService, Lookup, TestRedis, code_message, phone, wait_until, worker_options,
};
use otp_reset::{SendError, Sender};
use otp_reset_queue::{QueueSender, SenderWorker};
use tokio::sync::oneshot;

const LONG: Duration = Duration::from_secs(900);
const PATIENCE: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_enqueued_message_is_delivered_once() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    let mut sent = Vec::new();
    for n in 0..20u64 {
        let code = format!("{:06}", 100_000 + n);
        let delivered = queue
            .send(&phone(n), &code_message(&code, LONG))
            .await
            .unwrap();
        assert!(
            delivered.message_id.is_some(),
            "the entry id is the message id"
        );
        sent.push((phone(n), code));
    }
    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await;
        worker
    });
    wait_until("20 messages arrive", PATIENCE, || {
        service.delivered().len() >= 20
    })
    .await;
    // A little more time for any duplicate to show up.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(());
    let worker = running.await.unwrap();

    let delivered = service.delivered();
    assert_eq!(delivered.len(), 20, "each message once");
    for (to, code) in &sent {
        let copies = delivered
            .iter()
            .filter(|(p, text, _)| p == to && text.contains(code.as_str()))
            .count();
        assert_eq!(copies, 1, "the code for {to} arrived once");
    }
    assert_eq!(worker.stats().sent(), 20);
    let length: u64 = redis::cmd("XLEN")
        .arg(redis.stream())
        .query(&mut redis.connection())
        .unwrap();
    assert_eq!(length, 0, "acknowledged entries are deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_enqueued_while_the_worker_runs_are_delivered() {
    let redis = TestRedis::new();
    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let queue = QueueSender::new(redis.options()).unwrap();
    wait_until("the worker is ready", PATIENCE, || queue.can_send()).await;
    queue
        .send(&phone(1), &code_message("314159", LONG))
        .await
        .unwrap();
    wait_until("the message arrives", PATIENCE, || {
        service.delivered().len() == 1
    })
    .await;
    assert!(service.delivered()[0].1.contains("314159"));
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_entry_is_dropped_unsent() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    queue
        .send(
            &phone(1),
            &code_message("111111", Duration::from_millis(50)),
        )
        .await
        .unwrap();
    queue
        .send(&phone(2), &code_message("222222", LONG))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let stats = worker.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    wait_until("both entries are handled", PATIENCE, || {
        stats.sent() + stats.expired() == 2
    })
    .await;
    let _ = stop.send(());
    running.await.unwrap();

    assert_eq!(stats.expired(), 1);
    let delivered = service.delivered();
    assert_eq!(delivered.len(), 1);
    assert!(
        delivered[0].1.contains("222222"),
        "only the living code was sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_with_queue_full() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options().with_capacity(2)).unwrap();
    queue
        .send(&phone(1), &code_message("123456", LONG))
        .await
        .unwrap();
    queue
        .send(&phone(2), &code_message("123457", LONG))
        .await
        .unwrap();
    let third = queue.send(&phone(3), &code_message("123458", LONG)).await;
    assert!(matches!(third, Err(SendError::QueueFull)), "got {third:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_holds_no_code_or_phone_in_plain_text() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    let to = phone(4242);
    queue
        .send(&to, &code_message("987654", LONG))
        .await
        .unwrap();

    let raw: redis::Value = redis::cmd("XRANGE")
        .arg(redis.stream())
        .arg("-")
        .arg("+")
        .query(&mut redis.connection())
        .unwrap();
    let bytes = format!("{raw:?}");
    let mut all = Vec::new();
    collect_bytes(&raw, &mut all);
    assert!(!all.is_empty(), "the stream holds the entry: {bytes}");
    for secret in ["987654", &to.digits(), &to.digits()[2..]] {
        assert!(
            !all.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} appears in the stream in plain text"
        );
    }
}

fn collect_bytes(value: &redis::Value, out: &mut Vec<u8>) {
    match value {
        redis::Value::BulkString(bytes) => {
            out.extend_from_slice(bytes);
            out.push(0);
        }
        redis::Value::SimpleString(text) => out.extend_from_slice(text.as_bytes()),
        redis::Value::Array(items) => items.iter().for_each(|item| collect_bytes(item, out)),
        redis::Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
            collect_bytes(k, out);
            collect_bytes(v, out);
        }),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_sealed_under_another_secret_is_dropped() {
    let redis = TestRedis::new();
    let other = otp_reset_queue::QueueOptions::new(
        &common::redis_url(),
        b"another secret, also 32 bytes or more",
    )
    .unwrap()
    .with_prefix(&redis.prefix);
    QueueSender::new(other)
        .unwrap()
        .send(&phone(1), &code_message("123456", LONG))
        .await
        .unwrap();
    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let stats = worker.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    wait_until("the entry is dropped", PATIENCE, || stats.unreadable() == 1).await;
    let _ = stop.send(());
    running.await.unwrap();
    assert!(service.delivered().is_empty());
    let _ = Arc::clone(&service);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_fails_the_send_instead_of_hanging() {
    // Nothing listens on port 1.
    let options = otp_reset_queue::QueueOptions::new("redis://127.0.0.1:1", common::SECRET)
        .unwrap()
        .with_command_timeout(Duration::from_millis(300))
        .with_status_refresh(Duration::from_millis(100));
    let queue = QueueSender::new(options).unwrap();
    let sent = tokio::time::timeout(
        PATIENCE,
        queue.send(&phone(1), &code_message("123456", LONG)),
    )
    .await
    .expect("the send returned");
    assert!(sent.is_err());
    wait_until("the queue shows DISCONNECTED", PATIENCE, || {
        queue.state() == otp_reset::SenderState::Disconnected
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_not_ready_yet_gets_the_message_again_once() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    queue
        .send(&phone(1), &code_message("135790", LONG))
        .await
        .unwrap();
    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    service
        .refuse
        .store(3, std::sync::atomic::Ordering::Relaxed);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let stats = worker.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    wait_until("the message is sent", PATIENCE, || stats.sent() == 1).await;
    let _ = stop.send(());
    running.await.unwrap();
    let delivered = service.delivered();
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].2, "K1", "retried under the key first recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_failed_after_creating_its_message_is_not_sent_again() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    queue
        .send(&phone(1), &code_message("864200", LONG))
        .await
        .unwrap();
    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    service
        .fail_after_creating
        .store(1, std::sync::atomic::Ordering::Relaxed);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let stats = worker.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    // Left pending after the failure, the entry is claimed again after the claim timeout.
    wait_until("the entry is settled", PATIENCE, || {
        stats.already_sent() == 1
    })
    .await;
    let _ = stop.send(());
    running.await.unwrap();
    assert_eq!(service.delivered().len(), 1, "delivered once");
    assert_eq!(stats.sent(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decoy_is_queued_like_a_code_and_dropped_unsent() {
    let redis = TestRedis::new();
    let queue = QueueSender::new(redis.options()).unwrap();
    assert!(queue.hands_off_durably(), "request-otp waits for the entry");
    queue.send_decoy().await.unwrap();
    queue
        .send(&phone(1), &code_message("123456", LONG))
        .await
        .unwrap();
    let service = KeyedService::new(true, Lookup::Tells, Hang::Never);
    let worker = SenderWorker::new(redis.options(), service.clone(), worker_options()).unwrap();
    let stats = worker.stats();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await;
    });
    wait_until("the decoy and the code are taken", PATIENCE, || {
        stats.decoys() == 1 && stats.sent() == 1
    })
    .await;
    let _ = stop.send(());
    running.await.unwrap();
    assert_eq!(service.delivered().len(), 1, "only the code is delivered");
}
