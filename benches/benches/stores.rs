//! The in-memory store and the Redis store side by side, in one run, through the Service
//! in-process (`oneshot`): verify-otp with the right and a wrong code, and request-otp (a code
//! issued) for a known and a made-up pair; one request at a time and 32 in flight (on one task:
//! a new request starts as soon as one finishes). The Redis store pipelines concurrent calls
//! over its one multiplexed connection, so 32 in flight is what several connections of a server
//! put on it.
//!
//! Redis is the one at `OTP_RESET_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`); the keys
//! go under a prefix of their own and are deleted at the end. Without a Redis, the benchmark
//! fails saying how to start one.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::OnceCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benches::{CODE, NullSender, SECRET, call, memory_users, phone, phone_text, seeded_code};
use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use http::Request;
use http_body_util::Full;
use otp_reset::{
    Clock, CodeHasher, ForgotPassword, MemoryOtpStore, MemoryUserStore, OtpStore, Policy,
    SystemClock,
};
use otp_reset_redis::{RedisOptions, RedisOtpStore, redacted_url};

/// The example server's allocator, so that figures are the server's (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Users, each with a phone; requests go to them in turn.
const PHONES: usize = 100_000;
const IN_FLIGHT: usize = 32;
/// Requests timed between two re-issues of their phones' codes.
const CHUNK: usize = 1024;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// No cooldown, no send cap a run reaches, no lockout: every request-otp issues a code and every
/// wrong guess is counted, on either store.
fn policy() -> Policy {
    Policy::builder()
        .with_max_attempts(10)
        .with_resend_cooldown(Duration::ZERO)
        .with_send_cap(u32::MAX, Duration::from_secs(1))
        .with_lockout(u32::MAX, Duration::from_secs(1), Duration::from_secs(1))
        .build()
        .unwrap()
}

fn service<O: OtpStore>(otps: O) -> ForgotPassword<MemoryUserStore, O> {
    ForgotPassword::builder(memory_users(PHONES), otps, NullSender)
        .with_policy(policy())
        .with_secret(SECRET)
        .with_purge_interval(None)
        .build()
        .unwrap()
}

fn redis_url() -> String {
    std::env::var("OTP_RESET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A connection of our own to the benchmark's Redis, for the check that it runs and the clean-up.
async fn redis_connection(url: &str) -> redis::aio::MultiplexedConnection {
    let shown = redacted_url(url);
    let help = "start Redis (apt-get install redis-server; redis-server --daemonize yes), \
                or point OTP_RESET_TEST_REDIS_URL at one";
    let client = redis::Client::open(url)
        .unwrap_or_else(|e| panic!("OTP_RESET_TEST_REDIS_URL={shown} is not a Redis URL: {e}"));
    let connecting = client.get_multiplexed_async_connection();
    let mut connection = match tokio::time::timeout(Duration::from_secs(2), connecting).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => panic!("no Redis answers at {shown} ({e}): {help}"),
        Err(_) => panic!("no Redis answers at {shown} within 2 s: {help}"),
    };
    let ping = redis::cmd("PING");
    match tokio::time::timeout(
        Duration::from_secs(2),
        ping.query_async::<String>(&mut connection),
    )
    .await
    {
        Ok(Ok(_)) => connection,
        Ok(Err(e)) => panic!("Redis at {shown} refuses PING ({e}): {help}"),
        Err(_) => panic!("Redis at {shown} does not answer PING within 2 s: {help}"),
    }
}

/// The benchmark's own key prefix in Redis; its keys are deleted when this is dropped (also when
/// a benchmark panics). Keys left behind by a killed run expire by themselves within the code's
/// lifetime (15 minutes) and the store's margin.
struct RedisKeys {
    url: String,
    prefix: String,
}

impl RedisKeys {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Self {
            url: redis_url(),
            prefix: format!("otp-reset-bench:{}-{nanos:08x}:", std::process::id()),
        }
    }
}

impl Drop for RedisKeys {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async {
            // Never panics here: Drop may run while a benchmark panics.
            let Ok(client) = redis::Client::open(self.url.as_str()) else {
                return;
            };
            let connecting = client.get_multiplexed_async_connection();
            let Ok(Ok(mut connection)) =
                tokio::time::timeout(Duration::from_secs(2), connecting).await
            else {
                return;
            };
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(format!("{}*", self.prefix))
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut connection)
                    .await
                    .unwrap_or_default();
                if !keys.is_empty() {
                    let _: redis::RedisResult<u64> = redis::cmd("UNLINK")
                        .arg(&keys)
                        .query_async(&mut connection)
                        .await;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        });
    }
}

/// What each request is, and the status it must get (anything else fails the benchmark, so a
/// store that answers 503 is never timed as if it worked).
#[derive(Clone, Copy)]
enum Step {
    VerifyRight,
    VerifyWrong,
    RequestKnown,
    RequestMadeUp,
}

impl Step {
    fn label(self) -> &'static str {
        match self {
            Self::VerifyRight => "verify-otp right code",
            Self::VerifyWrong => "verify-otp wrong code",
            Self::RequestKnown => "request-otp known pair",
            Self::RequestMadeUp => "request-otp made-up pair",
        }
    }

    fn expected(self) -> u16 {
        match self {
            Self::VerifyWrong => 400,
            _ => 200,
        }
    }

    fn request(self, i: usize) -> Request<Full<Bytes>> {
        let (path, body) = match self {
            Self::VerifyRight => (
                "/verify-otp",
                format!(r#"{{"noHp":"{}","otp":"{CODE}"}}"#, phone_text(i)),
            ),
            Self::VerifyWrong => (
                "/verify-otp",
                format!(r#"{{"noHp":"{}","otp":"654321"}}"#, phone_text(i)),
            ),
            Self::RequestKnown => (
                "/request-otp",
                format!(r#"{{"nama":"Pengguna {i}","noHp":"{}"}}"#, phone_text(i)),
            ),
            Self::RequestMadeUp => (
                "/request-otp",
                format!(r#"{{"nama":"Orang Lain","noHp":"{}"}}"#, phone_text(i)),
            ),
        };
        Request::post(path)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    }
}

/// Times `iters` requests of `step`, each on the next phone, keeping `in_flight` running. Before
/// each chunk (untimed) every phone of the chunk gets a fresh code [`CODE`], so that each timed
/// verification is a first guess on a live code on either store, whatever the iteration count
/// criterion picks; a verify-otp is then one store step (one Lua script on Redis).
async fn run<O: OtpStore>(
    service: &ForgotPassword<MemoryUserStore, O>,
    next: &AtomicUsize,
    step: Step,
    iters: u64,
    in_flight: usize,
) -> Duration {
    let otps = service.otps();
    let codes = CodeHasher::new(&SECRET).unwrap();
    let rules = *policy().otp_rules();
    let mut elapsed = Duration::ZERO;
    let mut left = usize::try_from(iters).unwrap();
    while left > 0 {
        let size = left.min(CHUNK);
        left -= size;
        let phones: Vec<usize> = (0..size)
            .map(|_| next.fetch_add(1, Ordering::Relaxed) % PHONES)
            .collect();
        let now = SystemClock.now();
        let mut issuing: FuturesUnordered<_> = phones
            .iter()
            .map(|&i| {
                let (phone, code) = (phone(i), seeded_code(&codes, i));
                let rules = &rules;
                async move { otps.issue(&phone, code, now, rules).await }
            })
            .collect();
        while let Some(issued) = issuing.next().await {
            issued.unwrap();
        }
        drop(issuing);
        let mut waiting = phones.iter().map(|&i| step.request(i));
        let mut wrong = 0usize;
        let mut last = 0u16;
        let start = Instant::now();
        let mut running: FuturesUnordered<_> = waiting
            .by_ref()
            .take(in_flight)
            .map(|request| call(service, request))
            .collect();
        while let Some(status) = running.next().await {
            if status != step.expected() {
                wrong += 1;
                last = status;
            }
            if let Some(request) = waiting.next() {
                running.push(call(service, request));
            }
        }
        elapsed += start.elapsed();
        assert!(
            wrong == 0,
            "{}: {wrong} of {size} answers were {last}, not {}",
            step.label(),
            step.expected()
        );
    }
    elapsed
}

fn bench<O: OtpStore>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    id: BenchmarkId,
    build: impl Fn() -> &'static ForgotPassword<MemoryUserStore, O>,
    step: Step,
    in_flight: usize,
) {
    let next = AtomicUsize::new(0);
    group.bench_function(id, |b| {
        let service = build();
        b.to_async(runtime)
            .iter_custom(|iters| run(service, &next, step, iters, in_flight));
    });
}

fn memory_and_redis(c: &mut Criterion) {
    let runtime = runtime();
    let keys = RedisKeys::new();
    // Leaked: they live for the whole run anyway, and `'static` keeps the closures simple.
    let memory: &'static OnceCell<ForgotPassword<MemoryUserStore, MemoryOtpStore>> =
        Box::leak(Box::new(OnceCell::new()));
    let redis: &'static OnceCell<ForgotPassword<MemoryUserStore, RedisOtpStore>> =
        Box::leak(Box::new(OnceCell::new()));
    let build_memory =
        || memory.get_or_init(|| runtime.block_on(async { service(MemoryOtpStore::new()) }));
    let build_redis = || {
        redis.get_or_init(|| {
            runtime.block_on(async {
                // Fails with how to start Redis when none answers.
                drop(redis_connection(&keys.url).await);
                let store = RedisOtpStore::connect(
                    RedisOptions::new(keys.url.clone()).with_key_prefix(keys.prefix.clone()),
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
                service(store)
            })
        })
    };

    let mut group = c.benchmark_group("stores");
    group.measurement_time(Duration::from_secs(5));
    group.throughput(Throughput::Elements(1));
    for step in [
        Step::VerifyRight,
        Step::VerifyWrong,
        Step::RequestKnown,
        Step::RequestMadeUp,
    ] {
        for in_flight in [1, IN_FLIGHT] {
            let id = |store| BenchmarkId::new(format!("{}/{store}", step.label()), in_flight);
            bench(
                &mut group,
                &runtime,
                id("memory"),
                build_memory,
                step,
                in_flight,
            );
            bench(
                &mut group,
                &runtime,
                id("redis"),
                build_redis,
                step,
                in_flight,
            );
        }
    }
    group.finish();
    drop(keys);
}

criterion_group! {
    name = stores;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = memory_and_redis
}
criterion_main!(stores);
