//! What the queue's tests share: a real Redis under a prefix of their own, and a keyed
//! messaging-service double.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use otp_reset::{
    Delivered, Lang, Message, MessageKey, OtpCode, PhoneNumber, SendError, Sender, SenderState,
    SentLookup,
};
use otp_reset_queue::{QueueOptions, WorkerOptions};
use tokio::sync::Notify;

pub const SECRET: &[u8] = b"a test secret shared by instances and the worker";

/// The Redis the tests use, from `OTP_RESET_TEST_REDIS_URL` (default the local one).
pub fn redis_url() -> String {
    std::env::var("OTP_RESET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A key prefix of this test's own, whose keys are deleted when it is dropped. Fails (never
/// skips) when Redis does not answer.
pub struct TestRedis {
    pub prefix: String,
    client: redis::Client,
}

impl TestRedis {
    pub fn new() -> Self {
        let url = redis_url();
        let client =
            redis::Client::open(url.as_str()).expect("OTP_RESET_TEST_REDIS_URL is not a Redis URL");
        let mut connection = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap_or_else(|error| {
                panic!(
                    "no Redis answers at OTP_RESET_TEST_REDIS_URL ({error}): start Redis \
                     (apt-get install redis-server; redis-server --daemonize yes), or set \
                     OTP_RESET_TEST_REDIS_URL"
                )
            });
        let _: String = redis::cmd("PING")
            .query(&mut connection)
            .expect("Redis PING");
        let prefix = format!(
            "otp-reset-queue-test:{}:{:016x}:",
            std::process::id(),
            rand::random::<u64>()
        );
        Self { prefix, client }
    }

    /// Options for a queue under this prefix, with short timeouts for tests.
    pub fn options(&self) -> QueueOptions {
        QueueOptions::new(&redis_url(), SECRET)
            .unwrap()
            .with_prefix(&self.prefix)
            .with_command_timeout(Duration::from_millis(500))
            .with_status_refresh(Duration::from_millis(100))
    }

    pub fn connection(&self) -> redis::Connection {
        self.client
            .get_connection_with_timeout(Duration::from_secs(2))
            .unwrap()
    }

    pub fn stream(&self) -> String {
        format!("{}stream", self.prefix)
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(mut connection) = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    }
}

/// Worker options for tests: short claim timeout, fast heartbeat.
pub fn worker_options() -> WorkerOptions {
    WorkerOptions::default()
        .with_send_timeout(Duration::from_millis(500))
        .with_claim_timeout(Duration::from_millis(1600))
        .with_heartbeat(Duration::from_millis(100))
        .with_lease_ttl(Duration::from_millis(700))
        .with_read_block(Duration::from_millis(100))
        .with_retry_backoff(Duration::from_millis(20), Duration::from_millis(200))
}

pub fn phone(n: u64) -> PhoneNumber {
    format!("0812{:08}", n).parse().unwrap()
}

pub fn code_message(code: &str, ttl: Duration) -> Message {
    Message::Code {
        code: OtpCode::from_digits(code).unwrap(),
        ttl,
        lang: Lang::Id,
    }
}

/// How the double answers a lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Says whether a message exists under the key.
    Tells,
    /// Cannot tell.
    Unknown,
}

/// Where a send stops and waits forever, to play a worker killed mid-send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hang {
    Never,
    /// After the message was created, before the answer.
    AfterCreating,
    /// Before the message was created.
    BeforeCreating,
}

/// An in-memory messaging service that lets its client choose message ids: a stand-in for "a
/// messaging service", not for WhatsApp.
#[derive(Debug)]
pub struct KeyedService {
    keyed: bool,
    lookup: Lookup,
    hang: Mutex<Hang>,
    next_key: AtomicU64,
    /// Messages created, by key: (phone, text).
    created: Mutex<HashMap<String, (PhoneNumber, String)>>,
    /// Every message created, in order: (phone, text, key).
    log: Mutex<Vec<(PhoneNumber, String, String)>>,
    pub hung: Notify,
    pub changed: Notify,
    /// Sends refused as not ready before the service takes any.
    pub refuse: std::sync::atomic::AtomicU32,
    /// Sends that fail after creating their message (as a timed-out confirmation does).
    pub fail_after_creating: std::sync::atomic::AtomicU32,
}

impl KeyedService {
    pub fn new(keyed: bool, lookup: Lookup, hang: Hang) -> Arc<Self> {
        Arc::new(Self {
            keyed,
            lookup,
            hang: Mutex::new(hang),
            next_key: AtomicU64::new(1),
            created: Mutex::new(HashMap::new()),
            log: Mutex::new(Vec::new()),
            hung: Notify::new(),
            changed: Notify::new(),
            refuse: std::sync::atomic::AtomicU32::new(0),
            fail_after_creating: std::sync::atomic::AtomicU32::new(0),
        })
    }

    pub fn stop_hanging(&self) {
        *self.hang.lock().unwrap() = Hang::Never;
    }

    pub fn delivered(&self) -> Vec<(PhoneNumber, String, String)> {
        self.log.lock().unwrap().clone()
    }

    fn create(&self, to: &PhoneNumber, message: &Message, key: String) {
        self.created
            .lock()
            .unwrap()
            .insert(key.clone(), (*to, message.text()));
        self.log.lock().unwrap().push((*to, message.text(), key));
        self.changed.notify_waiters();
    }

    async fn deliver(
        &self,
        to: &PhoneNumber,
        message: &Message,
        key: String,
    ) -> Result<Delivered, SendError> {
        let take = |counter: &std::sync::atomic::AtomicU32| {
            counter
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
        };
        if take(&self.refuse) {
            return Err(SendError::NotReady(SenderState::Disconnected));
        }
        let hang = *self.hang.lock().unwrap();
        if hang == Hang::BeforeCreating {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        self.create(to, message, key.clone());
        if hang == Hang::AfterCreating {
            self.hung.notify_one();
            std::future::pending::<()>().await;
        }
        if take(&self.fail_after_creating) {
            return Err(SendError::Timeout(Duration::from_millis(1)));
        }
        Ok(Delivered {
            message_id: Some(key),
        })
    }
}

#[otp_reset::async_trait]
impl Sender for KeyedService {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let key = format!("auto-{}", self.next_key.fetch_add(1, Ordering::Relaxed));
        self.deliver(to, message, key).await
    }

    fn state(&self) -> SenderState {
        SenderState::Ready
    }

    async fn new_message_key(&self, _to: &PhoneNumber) -> Result<Option<MessageKey>, SendError> {
        if !self.keyed {
            return Ok(None);
        }
        Ok(Some(MessageKey::new(format!(
            "K{}",
            self.next_key.fetch_add(1, Ordering::Relaxed)
        ))))
    }

    async fn send_as(
        &self,
        to: &PhoneNumber,
        message: &Message,
        key: &MessageKey,
    ) -> Result<Delivered, SendError> {
        self.deliver(to, message, key.as_str().to_owned()).await
    }

    async fn find_sent(&self, to: &PhoneNumber, key: &MessageKey) -> Result<SentLookup, SendError> {
        if self.lookup == Lookup::Unknown {
            return Ok(SentLookup::Unknown);
        }
        let created = self.created.lock().unwrap();
        Ok(match created.get(key.as_str()) {
            Some((phone, _)) if phone == to => SentLookup::Found(Delivered {
                message_id: Some(key.to_string()),
            }),
            _ => SentLookup::NotFound,
        })
    }
}

/// Waits until `done` holds, checking every 20 ms, failing after `within`.
pub async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
