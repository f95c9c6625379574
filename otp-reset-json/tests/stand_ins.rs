//! Stand-ins (codes for made-up name and phone pairs) stay in memory, bounded, and cost the disk
//! what a real pair's steps do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{crash_image, fresh_data_file, guess, hasher, read_json};
use otp_reset::store::PairKey;
use otp_reset::{
    ClientKey, Clock, Digest, Lang, NewCode, OtpId, OtpRules, OtpStore, PhoneNumber, SystemClock,
    UserId, VerifyOutcome,
};
use otp_reset_json::{JsonStore, StoreOptions};
use serde_json::json;

/// The release server grew 1.45 MB of `data.json` and 33 MB of memory from 3,000 made-up
/// numbers: stand-ins now live in memory only, in a cache of bounded size.
#[tokio::test]
async fn made_up_pairs_never_reach_the_data_file_and_their_memory_is_bounded() {
    let path = fresh_data_file();
    let options = StoreOptions::default().with_stand_in_capacity(100);
    let store = JsonStore::open_with(&path, &hasher(), options).unwrap();
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    for n in 0..3_000u64 {
        let made_up = PhoneNumber::from_u64(6_281_300_000_000 + n).unwrap();
        let code = NewCode {
            otp_id: OtpId::generate(),
            digest: Digest::unmatchable(),
            user_id: None,
            pair: PairKey::from_u64(n),
            lang: Lang::Id,
        };
        store.issue(&made_up, code, now, &rules).await.unwrap();
        guess(
            &store,
            &made_up,
            ClientKey::UNKNOWN,
            Digest::from_bytes([1; 32]),
            now,
        )
        .await;
    }
    assert!(
        store.stand_in_phones() <= 100,
        "{}",
        store.stand_in_phones()
    );
    store.close().unwrap();
    assert_eq!(read_json(&path)["otps"], json!([]));
    assert!(read_json(&path).get("otpLimits").is_none());
}

/// A made-up pair's answer waits for the disk as a real pair's does: its step writes and syncs
/// a line of about the same length (a pad, skipped on replay), or timing would tell them apart.
#[tokio::test]
async fn a_stand_in_step_costs_the_disk_what_a_real_one_does() {
    let path = fresh_data_file();
    let store = JsonStore::open(&path, &hasher()).unwrap();
    let journal = path.with_file_name("data.json.journal");
    let rules = OtpRules::DEFAULT;
    let now = SystemClock.now();
    let mut grown = Vec::new();
    for (user_id, number) in [(Some(UserId("1".into())), 1u64), (None, 2)] {
        let phone = PhoneNumber::from_u64(6_281_300_000_000 + number).unwrap();
        let before = std::fs::metadata(&journal).unwrap().len();
        let code = NewCode {
            otp_id: OtpId::generate(),
            digest: Digest::from_bytes([1; 32]),
            user_id,
            pair: PairKey::from_u64(number),
            lang: Lang::Id,
        };
        store.issue(&phone, code, now, &rules).await.unwrap();
        let after_issue = std::fs::metadata(&journal).unwrap().len();
        guess(
            &store,
            &phone,
            ClientKey::UNKNOWN,
            Digest::from_bytes([9; 32]),
            now,
        )
        .await;
        let after_guess = std::fs::metadata(&journal).unwrap().len();
        grown.push([after_issue - before, after_guess - after_issue]);
    }
    let (real, made_up) = (grown[0], grown[1]);
    for (step, (real, made_up)) in ["issue", "guess"].iter().zip(real.into_iter().zip(made_up)) {
        let (real, made_up) = (real as f64, made_up as f64);
        assert!(
            made_up > 0.0 && (made_up - real).abs() / real < 0.25,
            "{step}: a real line of {real} bytes, a made-up one of {made_up}"
        );
    }
    // A crash now leaves the pads in the journal: a start replays past them.
    let reopened = JsonStore::open(crash_image(&path), &hasher()).unwrap();
    assert_eq!(reopened.stand_in_phones(), 0);
    let real = PhoneNumber::from_u64(6_281_300_000_001).unwrap();
    let right = Digest::from_bytes([1; 32]);
    assert!(matches!(
        guess(&reopened, &real, ClientKey::UNKNOWN, right, now).await,
        VerifyOutcome::Verified { .. }
    ));
}
