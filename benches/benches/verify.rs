//! Verification through the Service in-process (`oneshot`): the in-memory and the JSON file
//! store, right and wrong codes, one at a time and 32 in flight, and how the cost grows with the
//! number of users and codes.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benches::{CODE, call, json_store, memory_stores, service, verify_request};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;
use otp_reset::{ForgotPassword, OtpStore, UserStore};

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

/// Times `iters` requests, `in_flight` at a time, each on the next phone of `phones`.
async fn verify_many<U: UserStore, O: OtpStore>(
    service: &ForgotPassword<U, O>,
    phones: usize,
    next: &AtomicUsize,
    code: &str,
    iters: u64,
    in_flight: usize,
) -> Duration {
    let batches = (iters as usize).div_ceil(in_flight);
    let requests: Vec<Vec<_>> = (0..batches)
        .map(|_| {
            (0..in_flight)
                .map(|_| verify_request(next.fetch_add(1, Ordering::Relaxed) % phones, code))
                .collect()
        })
        .collect();
    let start = Instant::now();
    for batch in requests {
        if in_flight == 1 {
            for request in batch {
                call(service, request).await;
            }
        } else {
            join_all(batch.into_iter().map(|request| call(service, request))).await;
        }
    }
    start.elapsed() * (iters as u32) / (batches * in_flight) as u32
}

fn stores_side_by_side(c: &mut Criterion) {
    let runtime = runtime();
    const PHONES: usize = 100_000;
    let memory = runtime.block_on(async {
        let (users, otps) = memory_stores(PHONES).await;
        service(users, otps)
    });
    let json = runtime.block_on(async {
        let store = json_store(&scratch("side-by-side"), PHONES);
        service(store.clone(), store)
    });
    let mut group = c.benchmark_group("verify-otp");
    group.measurement_time(Duration::from_secs(5));
    for in_flight in [1, IN_FLIGHT] {
        group.throughput(Throughput::Elements(1));
        for (outcome, code) in [("right", CODE), ("wrong", "654321")] {
            let next = AtomicUsize::new(0);
            group.bench_with_input(
                BenchmarkId::new(format!("memory/{outcome}"), in_flight),
                &in_flight,
                |b, &in_flight| {
                    b.to_async(&runtime).iter_custom(|iters| {
                        verify_many(&memory, PHONES, &next, code, iters, in_flight)
                    });
                },
            );
            let next = AtomicUsize::new(0);
            group.bench_with_input(
                BenchmarkId::new(format!("json/{outcome}"), in_flight),
                &in_flight,
                |b, &in_flight| {
                    b.to_async(&runtime).iter_custom(|iters| {
                        verify_many(&json, PHONES, &next, code, iters, in_flight)
                    });
                },
            );
        }
    }
    group.finish();
}

fn growth_with_data(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("verify-otp right code, by users and codes");
    group.throughput(Throughput::Elements(1));
    group.sample_size(30);
    for count in [1_000usize, 100_000, 1_000_000] {
        let memory = runtime.block_on(async {
            let (users, otps) = memory_stores(count).await;
            service(users, otps)
        });
        let next = AtomicUsize::new(0);
        group.bench_with_input(BenchmarkId::new("memory", count), &count, |b, &count| {
            b.to_async(&runtime)
                .iter_custom(|iters| verify_many(&memory, count, &next, CODE, iters, 1));
        });
        drop(memory);
        let json = runtime.block_on(async {
            let store = json_store(&scratch(&format!("growth-{count}")), count);
            service(store.clone(), store)
        });
        let next = AtomicUsize::new(0);
        group.bench_with_input(BenchmarkId::new("json", count), &count, |b, &count| {
            b.to_async(&runtime)
                .iter_custom(|iters| verify_many(&json, count, &next, CODE, iters, 1));
        });
    }
    group.finish();
}

criterion_group! {
    name = verify;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = stores_side_by_side, growth_with_data
}
criterion_main!(verify);
