//! argon2id at the policy's parameters (19 MiB, 2 passes, 1 lane): what one reset or login costs,
//! and why it runs on threads of its own, under a bound and at a lower priority.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use otp_reset::Passwords;

/// The example server's allocator, so that figures are the server's (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn hashing(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let passwords = Passwords::default();
    let stored = runtime.block_on(passwords.hash("sandiBaru#2026")).unwrap();
    let mut group = c.benchmark_group("argon2id m=19456 t=2 p=1");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("hash a new password", |b| {
        b.to_async(&runtime)
            .iter(|| passwords.hash("sandiBaru#2026"))
    });
    group.bench_function("verify a password", |b| {
        b.to_async(&runtime)
            .iter(|| passwords.verify("sandiBaru#2026", &stored))
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
