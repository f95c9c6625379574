//! Bytes of heap per active code in the in-memory store, measured by a counting allocator
//! around inserting one million codes: `cargo run --release -p benches --bin code-memory`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::System;

use otp_reset::{
    Clock, CodeHasher, Lang, MemoryOtpStore, NewCode, OtpId, OtpRules, OtpStore, SystemClock,
    UserId,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// The system allocator, counting what is allocated and freed.
#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const CODES: usize = 1_000_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let codes = CodeHasher::new(&benches::SECRET).unwrap();
    let phones: Vec<_> = (0..CODES).map(benches::phone).collect();
    let user_ids: Vec<_> = (0..CODES).map(|i| UserId(i.to_string())).collect();
    let store = MemoryOtpStore::new();
    let now = SystemClock.now();
    let region = Region::new(ALLOCATOR);
    runtime.block_on(async {
        for (phone, user) in phones.iter().zip(&user_ids) {
            let code = NewCode {
                otp_id: OtpId::generate(),
                digest: codes.code_digest(phone, "123456"),
                user_id: Some(user.clone()),
                pair: otp_reset::store::PairKey::from_u64(1),
                lang: Lang::Id,
            };
            store
                .issue(phone, code, now, &OtpRules::DEFAULT)
                .await
                .unwrap();
        }
    });
    let change = region.change();
    let in_use = change.bytes_allocated as i64 - change.bytes_deallocated as i64
        + change.bytes_reallocated as i64;
    let per_code = in_use as f64 / CODES as f64;
    println!(
        "{CODES} active codes in MemoryOtpStore: {in_use} bytes of heap, {per_code:.0} bytes per code"
    );
    println!(
        "size_of: PhoneLedger {} bytes, CodeRecord {} bytes (the map holds the key and a pointer to the boxed ledger, plus control bytes and spare capacity)",
        std::mem::size_of::<otp_reset::PhoneLedger>(),
        std::mem::size_of::<otp_reset::CodeRecord>()
    );
    println!(
        "(each code's user id is a {}-byte string on average)",
        user_ids.iter().map(|u| u.0.len()).sum::<usize>() / CODES
    );
    drop(store);
}
