//! Verification through the Service in-process (`oneshot`): the in-memory and the JSON file
//! store, right and wrong codes, one at a time and 32 in flight (on one task: a new request
//! starts as soon as one finishes), and how the cost grows with the number of users and codes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::cell::OnceCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benches::{CODE, call, json_store, memory_stores, service, verify_request};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use otp_reset::{ForgotPassword, MemoryOtpStore, MemoryUserStore, OtpStore, UserStore};
use otp_reset_json::JsonStore;

/// The example server's allocator, so that figures are the server's (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const IN_FLIGHT: usize = 32;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join("otp-reset-benches").join(name)
}

/// The service over in-memory stores with `count` users, each with an active code.
fn memory_service(
    runtime: &tokio::runtime::Runtime,
    count: usize,
) -> ForgotPassword<MemoryUserStore, MemoryOtpStore> {
    runtime.block_on(async {
        let (users, otps) = memory_stores(count).await;
        service(users, otps)
    })
}

/// The service over a JSON file store with `count` users and codes, in the scratch folder `name`.
fn json_service(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    count: usize,
) -> ForgotPassword<JsonStore, JsonStore> {
    runtime.block_on(async {
        let store = json_store(&scratch(name), count);
        service(store.clone(), store)
    })
}

/// Whether the number of each request was parsed moments before, as request-otp parses it
/// before its verify-otp (`PhoneNumber::parse` remembers the last 16 384 texts).
#[derive(Clone, Copy)]
enum Number {
    Remembered,
    New,
}

/// Times `iters` requests, each on the next phone of `phones`, keeping `in_flight` of them
/// running: as one finishes, the next starts (the way a server's connections keep it busy).
async fn verify_many<U: UserStore, O: OtpStore>(
    service: &ForgotPassword<U, O>,
    phones: usize,
    next: &AtomicUsize,
    (code, number): (&str, Number),
    iters: u64,
    in_flight: usize,
) -> Duration {
    // In chunks well under what the parser remembers, each timed after its numbers are parsed.
    const CHUNK: u64 = 1024;
    let mut elapsed = Duration::ZERO;
    for first in (0..iters).step_by(CHUNK as usize) {
        let requests: Vec<_> = (first..iters.min(first + CHUNK))
            .map(|_| {
                let phone = next.fetch_add(1, Ordering::Relaxed) % phones;
                if let Number::Remembered = number {
                    benches::phone(phone);
                }
                verify_request(phone, code)
            })
            .collect();
        let mut waiting = requests.into_iter();
        let start = Instant::now();
        let mut running: FuturesUnordered<_> = waiting
            .by_ref()
            .take(in_flight)
            .map(|request| call(service, request))
            .collect();
        while running.next().await.is_some() {
            if let Some(request) = waiting.next() {
                running.push(call(service, request));
            }
        }
        elapsed += start.elapsed();
    }
    elapsed
}

/// Benchmarks verify-otp through the service `build` returns (built on its first call: criterion
/// calls the routine once per sample, and a filtered run should build only what it measures).
fn bench_verify<'s, U: UserStore, O: OtpStore>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &tokio::runtime::Runtime,
    id: BenchmarkId,
    build: impl Fn() -> &'s ForgotPassword<U, O>,
    phones: usize,
    request: (&str, Number),
    in_flight: usize,
) {
    let next = AtomicUsize::new(0);
    group.bench_function(id, |b| {
        let service = build();
        b.to_async(runtime)
            .iter_custom(|iters| verify_many(service, phones, &next, request, iters, in_flight));
    });
}

fn stores_side_by_side(c: &mut Criterion) {
    let runtime = runtime();
    const PHONES: usize = 100_000;
    let memory = OnceCell::new();
    let memory = || memory.get_or_init(|| memory_service(&runtime, PHONES));
    let json = OnceCell::new();
    let json = || json.get_or_init(|| json_service(&runtime, "side-by-side", PHONES));
    let mut group = c.benchmark_group("verify-otp");
    group.measurement_time(Duration::from_secs(5));
    for in_flight in [1, IN_FLIGHT] {
        group.throughput(Throughput::Elements(1));
        for (outcome, code) in [("right", CODE), ("wrong", "654321")] {
            let request = (code, Number::Remembered);
            let id = |store| BenchmarkId::new(format!("{store}/{outcome}"), in_flight);
            bench_verify(
                &mut group,
                &runtime,
                id("memory"),
                memory,
                PHONES,
                request,
                in_flight,
            );
            bench_verify(
                &mut group,
                &runtime,
                id("json"),
                json,
                PHONES,
                request,
                in_flight,
            );
        }
    }
    // What a number not parsed moments before costs: `phonenumber`'s whole parse.
    let id = BenchmarkId::new("memory/wrong, number not remembered", 1);
    bench_verify(
        &mut group,
        &runtime,
        id,
        memory,
        PHONES,
        ("654321", Number::New),
        1,
    );
    group.finish();
}

fn growth_with_data(c: &mut Criterion) {
    const COUNTS: [usize; 3] = [1_000, 100_000, 1_000_000];
    let runtime = runtime();
    let mut group = c.benchmark_group("verify-otp right code, by users and codes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    let request = (CODE, Number::Remembered);
    // One store after the other, each size after the last: each store is dropped before the
    // next is built, and another store's leftovers never sit between two sizes of one store.
    for count in COUNTS {
        let memory = OnceCell::new();
        let build = || memory.get_or_init(|| memory_service(&runtime, count));
        let id = BenchmarkId::new("memory", count);
        bench_verify(&mut group, &runtime, id, build, count, request, 1);
    }
    for count in COUNTS {
        let json = OnceCell::new();
        let build =
            || json.get_or_init(|| json_service(&runtime, &format!("growth-{count}"), count));
        let id = BenchmarkId::new("json", count);
        bench_verify(&mut group, &runtime, id, build, count, request, 1);
    }
    for count in COUNTS {
        // The floor the memory hierarchy sets: one write into a boxed ledger-sized value found
        // in a hash map of `count`, visited in the same order as the phones above. Once the
        // map outgrows the CPU caches, every lookup waits for memory, whatever the code.
        let map = OnceCell::new();
        let mut key = 0usize;
        group.bench_with_input(
            BenchmarkId::new("hash map alone", count),
            &count,
            |b, &count| {
                let map: &std::collections::HashMap<u64, Box<[u64; 21]>> = map.get_or_init(|| {
                    (0..count)
                        .map(|i| (benches::phone(i).as_u64(), Box::new([0; 21])))
                        .collect()
                });
                let keys: Vec<u64> = (0..count).map(|i| benches::phone(i).as_u64()).collect();
                b.iter(|| {
                    key = (key + 1) % count;
                    map.get(&keys[key]).map(|ledger| ledger[key % 21])
                });
            },
        );
    }
    group.finish();
}

/// A stranger's used-up guess on the JSON store, durable: answered by a user's code or by a
/// stand-in, each of which writes and syncs one journal line. Conceal mode promises the same
/// timing; the lockout is off so every guess takes the counting path.
fn strangers_on_the_json_store(c: &mut Criterion) {
    let runtime = runtime();
    let store = json_store(&scratch("strangers"), 1);
    let policy = otp_reset::Policy::builder()
        .with_lockout(u32::MAX, Duration::from_secs(1), Duration::from_secs(1))
        .build()
        .unwrap();
    let service = runtime.block_on(async {
        ForgotPassword::builder(store.clone(), store, benches::NullSender)
            .with_policy(policy)
            .with_secret(benches::SECRET)
            .with_purge_interval(None)
            .build()
            .unwrap()
    });
    let mut group = c.benchmark_group("verify-otp JSON store, durable, a used-up guess");
    let stranger = benches::phone_text(1);
    runtime.block_on(async {
        let request = format!(r#"{{"nama":"Nobody","noHp":"{stranger}"}}"#);
        let request = http::Request::post("/request-otp")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(bytes::Bytes::from(request)))
            .unwrap();
        assert_eq!(call(&service, request).await, 200);
    });
    for (label, phone) in [("at a user's code", 0), ("at a stand-in", 1)] {
        runtime.block_on(async {
            for _ in 0..3 {
                call(&service, verify_request(phone, "000000")).await;
            }
        });
        group.bench_function(label, |b| {
            b.to_async(&runtime)
                .iter(|| call(&service, verify_request(phone, "000000")));
        });
    }
    group.finish();
}

criterion_group! {
    name = verify;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = stores_side_by_side, growth_with_data, strangers_on_the_json_store
}
criterion_main!(verify);
