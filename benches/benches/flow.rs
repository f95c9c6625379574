//! The routes through the Service in-process, with the in-memory stores.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use benches::NullSender;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::Request;
use http_body_util::Full;
use otp_reset::{
    ForgotPassword, ManualClock, MemoryOtpStore, MemoryUserStore, Policy, User, UserId,
};
use tower::ServiceExt;

/// The example server's allocator, so that figures are the server's (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Service = ForgotPassword<MemoryUserStore, MemoryOtpStore>;

fn service(policy: Policy, clock: Arc<ManualClock>) -> Service {
    let users = MemoryUserStore::from_users([User {
        id: UserId("1".into()),
        name: "John Doe".into(),
        phone: "081234567890".parse().unwrap(),
        password: "password123".into(),
    }]);
    ForgotPassword::builder(users, MemoryOtpStore::new(), NullSender)
        .with_policy(policy)
        .with_clock(clock)
        .with_secret([7u8; 32])
        .build()
        .unwrap()
}

fn post(path: &str, body: &serde_json::Value) -> Request<Full<Bytes>> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn call(service: &Service, request: Request<Full<Bytes>>) -> http::StatusCode {
    service.clone().oneshot(request).await.unwrap().status()
}

/// The JSON body of the answer to `request`.
async fn answer(service: &Service, request: Request<Full<Bytes>>) -> serde_json::Value {
    let response = service.clone().oneshot(request).await.unwrap();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    serde_json::from_slice(&body).unwrap()
}

fn verify(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let clock = Arc::new(ManualClock::new());
    let policy = Policy::builder()
        .with_code_exposed_for_development(true)
        .build()
        .unwrap();
    let service = runtime.block_on(async { service(policy, Arc::clone(&clock)) });
    let code = runtime.block_on(async {
        let request = serde_json::json!({ "nama": "John Doe", "noHp": "081234567890" });
        let json = answer(&service, post("/request-otp", &request)).await;
        json["testOTP"].as_str().unwrap().to_owned()
    });

    let mut group = c.benchmark_group("verify-otp in-memory");
    let right = serde_json::json!({ "noHp": "081234567890", "otp": code });
    group.bench_function("right code", |b| {
        b.to_async(&runtime).iter_batched(
            || post("/verify-otp", &right),
            |request| call(&service, request),
            BatchSize::SmallInput,
        );
    });
    // Three wrong guesses use the code up; from then on every guess is refused by the store.
    let wrong = serde_json::json!({ "noHp": "081234567890", "otp": if code == "000000" { "111111" } else { "000000" } });
    group.bench_function("refused guess", |b| {
        b.to_async(&runtime).iter_batched(
            || post("/verify-otp", &wrong),
            |request| call(&service, request),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn request(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // No cooldown and a cap no loop reaches, so every request issues a code.
    let policy = Policy::builder()
        .with_resend_cooldown(Duration::ZERO)
        .with_send_cap(u32::MAX, Duration::from_secs(1))
        .build()
        .unwrap();
    let clock = Arc::new(ManualClock::new());
    let service = runtime.block_on(async { service(policy, Arc::clone(&clock)) });

    let mut group = c.benchmark_group("request-otp in-memory, conceal");
    for (label, name) in [("known pair", "John Doe"), ("unknown pair", "Jane Roe")] {
        let body = serde_json::json!({ "nama": name, "noHp": "081234567890" });
        group.bench_function(label, |b| {
            b.to_async(&runtime).iter_batched(
                || post("/request-otp", &body),
                |request| {
                    clock.advance(Duration::from_secs(1));
                    call(&service, request)
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// A stranger's guess at a number, answered by the user's code or by a stand-in: conceal mode
/// promises the same timing. The lockout is off, so every guess takes the counting path.
fn guess(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let policy = Policy::builder()
        .with_lockout(u32::MAX, Duration::from_secs(1), Duration::from_secs(1))
        .build()
        .unwrap();
    let service = runtime.block_on(async { service(policy, Arc::new(ManualClock::new())) });
    let mut group = c.benchmark_group("verify-otp in-memory, conceal: a used-up guess");
    for (label, name, phone) in [
        ("at a user's code", "John Doe", "081234567890"),
        ("at a stand-in", "Nobody", "081311112222"),
    ] {
        let guess = serde_json::json!({ "noHp": phone, "otp": "000000" });
        runtime.block_on(async {
            let request = serde_json::json!({ "nama": name, "noHp": phone });
            call(&service, post("/request-otp", &request)).await;
            for _ in 0..3 {
                call(&service, post("/verify-otp", &guess)).await;
            }
        });
        group.bench_function(label, |b| {
            b.to_async(&runtime).iter_batched(
                || post("/verify-otp", &guess),
                |request| call(&service, request),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

/// delivery-status for a user's request and for a stand-in's, which replays the user's course:
/// conceal mode promises the same timing.
fn status(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let service =
        runtime.block_on(async { service(Policy::default(), Arc::new(ManualClock::new())) });
    let mut group = c.benchmark_group("delivery-status in-memory, conceal");
    for (label, name, phone) in [
        ("a user's code", "John Doe", "081234567890"),
        ("a stand-in", "Nobody", "081311112222"),
    ] {
        let id = runtime.block_on(async {
            let request = serde_json::json!({ "nama": name, "noHp": phone });
            let json = answer(&service, post("/request-otp", &request)).await;
            // Both reach `sent` before they are measured.
            tokio::time::sleep(Duration::from_millis(600)).await;
            json["requestId"].as_str().unwrap().to_owned()
        });
        let body = serde_json::json!({ "requestId": id });
        group.bench_function(label, |b| {
            b.to_async(&runtime).iter_batched(
                || post("/delivery-status", &body),
                |request| call(&service, request),
                BatchSize::SmallInput,
            );
        });
    }
    group.finish();
}

criterion_group! {
    name = flow;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = verify, request, guess, status
}
criterion_main!(flow);
