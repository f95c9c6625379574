//! The harness of the HTTP contract tests: the real service over the in-memory stores, a
//! recording sender, a manual clock, and helpers to call it in-process with `oneshot`.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use otp_reset::{
    Delivered, DeliveryReports, DeliveryUpdate, Event, ForgotPassword, ForgotPasswordBuilder,
    ManualClock, MemoryOtpStore, MemoryUserStore, Message, OtpStore, PhoneNumber, Policy, Presence,
    SendError, Sender, SenderState, SenderStatus, User, UserId, UserStore,
};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

pub const JOHN: (&str, &str) = ("John Doe", "081234567890");
pub const SITI: (&str, &str) = ("Siti Rahma", "081298765432");

/// Makes the error a refusing sender fails with.
type Refusal = fn() -> SendError;

/// A sender that records what it is asked to send; it can be set to any state, or made to hold
/// every send until released.
#[derive(Clone, Debug)]
pub struct RecordingSender {
    state: Arc<Mutex<SenderState>>,
    /// What bot-status shows beyond the state, when set.
    status: Arc<Mutex<Option<SenderStatus>>>,
    sent: Arc<Mutex<Vec<(PhoneNumber, Message)>>>,
    arrived: Arc<Notify>,
    /// How many sends were asked for, held ones included.
    asked: Arc<Mutex<usize>>,
    was_asked: Arc<Notify>,
    gate: Option<Arc<Semaphore>>,
    /// Whether it stands for a durable queue (`Sender::hands_off_durably`).
    durable: bool,
    /// Decoys it was handed.
    decoys: Arc<Mutex<usize>>,
    /// The error every send and decoy fails with, when set.
    refusal: Arc<Mutex<Option<Refusal>>>,
    /// Messages sent so far, for their ids.
    count: Arc<AtomicUsize>,
    /// Where it reports what became of its messages, once the service gave it.
    reports: Arc<Mutex<Option<DeliveryReports>>>,
    /// Numbers with no account: sends fail `NotRegistered`, lookups say so.
    unregistered: Arc<Mutex<Vec<PhoneNumber>>>,
    /// How long each send and lookup takes, and after how long a sent message is reported
    /// delivered (never, when `None`).
    timing: Arc<Mutex<(Duration, Option<Duration>)>>,
}

impl RecordingSender {
    pub fn ready() -> Self {
        Self {
            state: Arc::new(Mutex::new(SenderState::Ready)),
            status: Arc::default(),
            sent: Arc::default(),
            arrived: Arc::default(),
            asked: Arc::default(),
            was_asked: Arc::default(),
            gate: None,
            durable: false,
            decoys: Arc::default(),
            refusal: Arc::default(),
            count: Arc::default(),
            reports: Arc::default(),
            unregistered: Arc::default(),
            timing: Arc::new(Mutex::new((Duration::ZERO, None))),
        }
    }

    /// Makes `phone` a number with no account on the messaging service.
    pub fn unregister(&self, phone: &str) {
        self.unregistered
            .lock()
            .unwrap()
            .push(phone.parse().unwrap());
    }

    /// Makes each send and lookup take `send`, and reports each sent message delivered
    /// `delivered` later (never, when `None`).
    pub fn set_timing(&self, send: Duration, delivered: Option<Duration>) {
        *self.timing.lock().unwrap() = (send, delivered);
    }

    /// Reports `update` about the message `message_id`, as acks or a webhook would.
    pub fn report(&self, message_id: &str, update: DeliveryUpdate) {
        let reports = self.reports.lock().unwrap().clone();
        reports
            .expect("the service gave the sender where to report")
            .report(message_id, update);
    }

    /// A sender standing for a durable queue: the service waits for its hand-offs.
    pub fn durable() -> Self {
        Self {
            durable: true,
            ..Self::ready()
        }
    }

    /// Makes every later send and decoy fail with `error()`.
    pub fn refuse_with(&self, error: fn() -> SendError) {
        *self.refusal.lock().unwrap() = Some(error);
    }

    /// How many decoys it was handed.
    pub fn decoys(&self) -> usize {
        *self.decoys.lock().unwrap()
    }

    /// A sender whose sends wait until [`RecordingSender::release`].
    pub fn held() -> Self {
        Self {
            gate: Some(Arc::new(Semaphore::new(0))),
            ..Self::ready()
        }
    }

    pub fn release(&self, sends: usize) {
        if let Some(gate) = &self.gate {
            gate.add_permits(sends);
        }
    }

    pub fn set_state(&self, state: SenderState) {
        *self.state.lock().unwrap() = state;
    }

    /// Sets the state and what explains it.
    pub fn set_status(&self, status: SenderStatus) {
        self.set_state(status.state.clone());
        *self.status.lock().unwrap() = Some(status);
    }

    pub fn sent(&self) -> Vec<(PhoneNumber, Message)> {
        self.sent.lock().unwrap().clone()
    }

    /// Waits until `count` messages were sent, and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<(PhoneNumber, Message)> {
        let waiting = async {
            loop {
                let notified = self.arrived.notified();
                if self.sent.lock().unwrap().len() >= count {
                    return self.sent();
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| panic!("expected {count} messages, got {:?}", self.sent()))
    }

    /// Waits until the sender was asked for `count` sends, held ones included.
    pub async fn wait_until_asked(&self, count: usize) {
        let waiting = async {
            loop {
                let notified = self.was_asked.notified();
                if *self.asked.lock().unwrap() >= count {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| {
                let asked = *self.asked.lock().unwrap();
                panic!("expected {count} sends asked for, got {asked}")
            });
    }
}

#[otp_reset::async_trait]
impl Sender for RecordingSender {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        *self.asked.lock().unwrap() += 1;
        self.was_asked.notify_waiters();
        if let Some(error) = *self.refusal.lock().unwrap() {
            return Err(error());
        }
        if let Some(gate) = &self.gate {
            gate.acquire()
                .await
                .map_err(|e| SendError::Failed(Box::new(e)))?
                .forget();
        }
        let (took, delivered_after) = *self.timing.lock().unwrap();
        if !took.is_zero() {
            tokio::time::sleep(took).await;
        }
        if self.unregistered.lock().unwrap().contains(to) {
            return Err(SendError::NotRegistered);
        }
        self.sent.lock().unwrap().push((*to, message.clone()));
        self.arrived.notify_waiters();
        let id = format!("test-{}", self.count.fetch_add(1, Ordering::Relaxed) + 1);
        let reports = self.reports.lock().unwrap().clone();
        if let (Some(after), Some(reports)) = (delivered_after, reports) {
            let id = id.clone();
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                reports.report(id, DeliveryUpdate::Delivered);
            });
        }
        Ok(Delivered {
            message_id: Some(id),
        })
    }

    async fn lookup(&self, to: &PhoneNumber) -> Result<Presence, SendError> {
        let took = self.timing.lock().unwrap().0;
        if !took.is_zero() {
            tokio::time::sleep(took).await;
        }
        Ok(if self.unregistered.lock().unwrap().contains(to) {
            Presence::NotRegistered
        } else {
            Presence::Registered
        })
    }

    fn report_deliveries_to(&self, reports: DeliveryReports) {
        *self.reports.lock().unwrap() = Some(reports);
    }

    fn state(&self) -> SenderState {
        self.state.lock().unwrap().clone()
    }

    fn hands_off_durably(&self) -> bool {
        self.durable
    }

    async fn send_decoy(&self) -> Result<(), SendError> {
        if let Some(error) = *self.refusal.lock().unwrap() {
            return Err(error());
        }
        *self.decoys.lock().unwrap() += 1;
        Ok(())
    }

    fn status(&self) -> SenderStatus {
        let status = self.status.lock().unwrap().clone();
        status.unwrap_or_else(|| SenderStatus::new(self.state()))
    }
}

pub fn seed_users() -> Vec<User> {
    vec![
        User {
            id: UserId("1".into()),
            name: JOHN.0.into(),
            phone: JOHN.1.parse().unwrap(),
            password: "password123".into(),
        },
        User {
            id: UserId("2".into()),
            name: SITI.0.into(),
            phone: SITI.1.parse().unwrap(),
            password: "rahasia99".into(),
        },
    ]
}

/// An answer: status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// The body with its `requestId` (random in every answer) checked for shape and blanked,
    /// for comparing answers.
    pub fn comparable_body(&self) -> Value {
        let mut body = self.body.clone();
        if let Some(id) = body.get_mut("requestId") {
            let text = id.as_str().unwrap_or_default();
            assert!(
                text.len() == 22
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "a request id is 22 base64url characters: {text:?}"
            );
            *id = Value::from("<request id>");
        }
        body
    }
}

pub async fn send_request<S>(service: &S, request: Request<Full<Bytes>>) -> Answer
where
    S: tower::Service<
            Request<Full<Bytes>>,
            Response = http::Response<otp_reset::ResponseBody>,
            Error = std::convert::Infallible,
        > + Clone,
{
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&bytes)
        )
    });
    Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub fn json_request(method: Method, path: &str, body: &Value) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// The service under test with its recording sender, clock and event log.
pub struct Harness<U = MemoryUserStore, O = MemoryOtpStore> {
    pub service: ForgotPassword<U, O>,
    pub sender: RecordingSender,
    pub clock: Arc<ManualClock>,
    pub events: Arc<Mutex<Vec<Event>>>,
    /// Notified at each event.
    pub event_arrived: Arc<Notify>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_policy(Policy::default())
    }

    pub fn with_policy(policy: Policy) -> Self {
        Self::build(
            policy,
            RecordingSender::ready(),
            MemoryUserStore::from_users(seed_users()),
            MemoryOtpStore::new(),
        )
    }

    pub fn with_sender(policy: Policy, sender: RecordingSender) -> Self {
        Self::build(
            policy,
            sender,
            MemoryUserStore::from_users(seed_users()),
            MemoryOtpStore::new(),
        )
    }
}

impl<U: UserStore, O: OtpStore> Harness<U, O> {
    pub fn build(policy: Policy, sender: RecordingSender, users: U, otps: O) -> Self {
        Self::build_with(policy, sender, users, otps, |builder| builder)
    }

    /// As [`Harness::build`], with extra builder settings.
    pub fn build_with(
        policy: Policy,
        sender: RecordingSender,
        users: U,
        otps: O,
        configure: impl FnOnce(ForgotPasswordBuilder<U, O>) -> ForgotPasswordBuilder<U, O>,
    ) -> Self {
        let clock = Arc::new(ManualClock::new());
        let events = Arc::new(Mutex::new(Vec::new()));
        let event_arrived = Arc::new(Notify::new());
        let (log, arrived) = (Arc::clone(&events), Arc::clone(&event_arrived));
        let service = configure(ForgotPassword::builder(users, otps, sender.clone()))
            .with_policy(policy)
            .with_secret([7u8; 32])
            .with_clock(Arc::clone(&clock))
            .with_events(move |event: &Event| {
                log.lock().unwrap().push(event.clone());
                arrived.notify_waiters();
            })
            .build()
            .unwrap();
        Self {
            service,
            sender,
            clock,
            events,
            event_arrived,
        }
    }

    /// Waits until `count` events were emitted, and returns them; fails loudly after 10 s.
    pub async fn wait_for_events(&self, count: usize) -> Vec<Event> {
        let waiting = async {
            loop {
                let notified = self.event_arrived.notified();
                if self.events.lock().unwrap().len() >= count {
                    return self.events.lock().unwrap().clone();
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap_or_else(|_| {
                let names = self.event_names();
                panic!("expected {count} events, got {names:?}")
            })
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        send_request(&self.service, json_request(Method::POST, path, &body)).await
    }

    /// A POST with an `Accept-Language` header.
    pub async fn post_in(&self, accept_language: &str, path: &str, body: Value) -> Answer {
        let mut request = json_request(Method::POST, path, &body);
        let language = http::HeaderValue::from_str(accept_language).unwrap();
        request
            .headers_mut()
            .insert(http::header::ACCEPT_LANGUAGE, language);
        send_request(&self.service, request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        let request = Request::builder()
            .uri(path)
            .body(Full::new(Bytes::new()))
            .unwrap();
        send_request(&self.service, request).await
    }

    pub async fn request_otp(&self, (name, phone): (&str, &str)) -> Answer {
        self.post("/request-otp", json!({ "nama": name, "noHp": phone }))
            .await
    }

    /// A POST from the client at `address`, as an app's middleware marks it.
    pub async fn post_from(&self, address: &str, path: &str, body: Value) -> Answer {
        let mut request = json_request(Method::POST, path, &body);
        request
            .extensions_mut()
            .insert(otp_reset::ClientAddress(address.parse().unwrap()));
        send_request(&self.service, request).await
    }

    pub async fn verify_otp_from(&self, address: &str, phone: &str, otp: &str) -> Answer {
        self.post_from(address, "/verify-otp", json!({ "noHp": phone, "otp": otp }))
            .await
    }

    pub async fn reset_password_from(
        &self,
        address: &str,
        phone: &str,
        proof: (&str, &str),
        password: &str,
    ) -> Answer {
        let mut body =
            json!({ "noHp": phone, "newPassword": password, "confirmPassword": password });
        body[proof.0] = json!(proof.1);
        self.post_from(address, "/reset-password", body).await
    }

    pub async fn verify_otp(&self, phone: &str, otp: &str) -> Answer {
        self.post("/verify-otp", json!({ "noHp": phone, "otp": otp }))
            .await
    }

    pub async fn reset_password(&self, phone: &str, otp: &str, password: &str) -> Answer {
        self.post(
            "/reset-password",
            json!({ "noHp": phone, "otp": otp, "newPassword": password, "confirmPassword": password }),
        )
        .await
    }

    /// Requests a code for `user` and returns it as the sender received it.
    pub async fn code_for(&self, user: (&str, &str)) -> String {
        let before = self.sender.sent().len();
        let answer = self.request_otp(user).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let sent = self.sender.wait_for(before + 1).await;
        match &sent[before].1 {
            Message::Code { code, .. } => code.expose().to_owned(),
            other => panic!("expected a code, got {other:?}"),
        }
    }

    pub fn event_names(&self) -> Vec<&'static str> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(Event::name)
            .collect()
    }
}

/// A code of the same length that is not `code`.
pub fn wrong_code(code: &str) -> String {
    let first = (code.as_bytes()[0] - b'0' + 1) % 10;
    format!("{first}{}", &code[1..])
}
