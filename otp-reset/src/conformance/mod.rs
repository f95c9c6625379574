//! One suite that every store runs: the guarantees of [`OtpStore`](crate::OtpStore) and
//! [`UserStore`](crate::UserStore), checked under concurrency. Enabled by the `conformance`
//! feature.
//!
//! A store crate adds `otp-reset = { features = ["conformance"] }` to its dev-dependencies and
//! writes, in a test file, one line per trait it implements. Each line expands to one `#[test]`
//! per behaviour, so a failure names what broke:
//!
//! ```
//! use otp_reset::{MemoryOtpStore, MemoryUserStore};
//!
//! // An expression giving a future of a fresh, empty store; evaluated once per test.
//! otp_reset::otp_store_conformance!(async { MemoryOtpStore::new() });
//!
//! // A function from the users to seed to a future of a store holding them.
//! otp_reset::user_store_conformance!(|users| async move { MemoryUserStore::from_users(users) });
//! # fn main() {}
//! ```
//!
//! The cases are also public functions ([`otp`], [`users`]) for a store that wants to run them
//! its own way.

pub mod otp;
pub mod users;

use std::future::Future;

/// Runs a case on a fresh multi-threaded runtime, so that concurrent calls really overlap.
pub fn run<F: Future>(case: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("cannot start a tokio runtime for the conformance suite: {e}"))
        .block_on(case)
}

/// Expands to one `#[test]` per [`OtpStore`](crate::OtpStore) behaviour, each on a fresh store
/// from `$make` (an expression giving a future of the store). See the [module docs](self).
#[macro_export]
macro_rules! otp_store_conformance {
    ($make:expr) => {
        $crate::__conformance_cases!(
            $make,
            otp,
            issued_code_verifies,
            wrong_guesses_count_down_the_attempts,
            concurrent_wrong_guesses_never_exceed_the_limit,
            concurrent_right_guesses_all_verify,
            verified_code_is_consumed_exactly_once_under_concurrency,
            reset_token_proves_like_the_code,
            consume_needs_a_verified_code,
            wrong_proof_at_consume_counts_as_a_guess,
            expired_code_is_refused,
            cooldown_refuses_then_a_new_code_replaces_the_old,
            concurrent_issues_for_one_phone_issue_once,
            send_cap_limits_codes_per_window,
            failures_survive_a_new_code_and_lock_the_phone,
            lockout_grows_with_further_failures,
            success_resets_the_failures,
            consumed_record_names_its_user_and_language,
            stand_in_never_touches_the_users_code,
            stand_in_is_limited_per_pair_like_a_user,
            wrong_guesses_are_answered_by_the_newest_code,
            a_strangers_guesses_never_use_up_the_users_attempts,
            no_guess_revokes_a_reset_token,
            lockout_counts_every_client_and_spares_a_reset_token,
            concurrent_guesses_count_per_client,
            stand_ins_and_real_codes_answer_alike,
            purge_removes_expired_codes_only,
            restore_puts_back_a_consumed_code_once,
            restore_never_replaces_a_newer_code,
            phones_are_independent,
        );
    };
}

/// Expands to one `#[test]` per [`UserStore`](crate::UserStore) behaviour, each on a store
/// from `$make` (a function from `Vec<User>` to a future of a store holding them). See the
/// [module docs](self).
#[macro_export]
macro_rules! user_store_conformance {
    ($make:expr) => {
        $crate::__conformance_cases!(
            $make,
            users,
            finds_a_user_by_phone,
            finds_a_user_by_name_and_phone_ignoring_case_and_spacing,
            a_different_name_finds_nobody,
            an_unknown_phone_finds_nobody,
            a_new_password_hash_replaces_the_old,
            an_unknown_id_is_reported,
            concurrent_password_changes_keep_one_of_them,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_cases {
    ($make:expr, $suite:ident, $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::run($crate::conformance::$suite::$case($make));
            }
        )+
    };
}
