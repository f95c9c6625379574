//! The growing wait after failed logins, counted per account and client address and per
//! account, in two bounded tables.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use otp_reset::PhoneNumber;
use quick_cache::sync::{Cache, EntryAction, EntryResult};

/// A count of failures is forgotten this long after its last failure.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// When failed logins make the next try wait.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// Failures one client may make on one account before each further try waits.
    pub free_per_client: u32,
    /// Failures on one account, from every client, before each further try waits.
    pub free_per_account: u32,
    /// The first wait; each further failure doubles it.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Rules {
    /// The wait after `failures` failures when `free` of them cost nothing.
    fn delay(&self, failures: u32, free: u32) -> Duration {
        match failures.checked_sub(free) {
            None => Duration::ZERO,
            Some(doublings) => self
                .base
                .saturating_mul(1u32 << doublings.min(31))
                .min(self.max),
        }
    }
}

/// Failed logins on one key.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// What is left of the wait, if anything.
    fn wait(self, rules: &Rules, free: u32, now: Instant) -> Option<Duration> {
        let since = now.saturating_duration_since(self.last);
        if since >= FORGET_AFTER {
            return None;
        }
        rules
            .delay(self.count, free)
            .checked_sub(since)
            .filter(|left| !left.is_zero())
    }
}

/// The failure counts, keyed by the normalised number the client typed whether or not an
/// account has it, so that an unknown number is answered as a known one.
///
/// Each table keeps at most `entries` records and evicts the least useful when full (quick_cache:
/// a new record starts on probation and a record that is looked up again is kept in preference),
/// so a flood of made-up numbers cannot grow memory. An evicted record is a forgotten count: its
/// client may fail its free failures again. A record under attack is looked up at every try and
/// stays; pushing one out takes about two failed logins per entry, each an argon2 hash, on
/// numbers that would otherwise be kept, so forgetting is bought at the price of hashing the
/// whole table twice.
#[derive(Debug)]
pub struct Backoff {
    rules: Rules,
    per_client: Cache<(PhoneNumber, IpAddr), Failures>,
    per_account: Cache<PhoneNumber, Failures>,
}

impl Backoff {
    /// Tables of `entries` records each (about 100 bytes a record).
    pub fn new(rules: Rules, entries: usize) -> Self {
        Self {
            rules,
            per_client: Cache::new(entries),
            per_account: Cache::new(entries),
        }
    }

    /// How long `client` must still wait before trying `phone` again, if at all: the longer of
    /// its own wait on that account and the account's.
    pub fn wait(&self, phone: PhoneNumber, client: IpAddr, now: Instant) -> Option<Duration> {
        let own = self
            .per_client
            .get(&(phone, client))
            .and_then(|failures| failures.wait(&self.rules, self.rules.free_per_client, now));
        let account = self
            .per_account
            .get(&phone)
            .and_then(|failures| failures.wait(&self.rules, self.rules.free_per_account, now));
        own.max(account)
    }

    /// Counts a wrong password (or an unknown number) from `client`.
    pub fn failed(&self, phone: PhoneNumber, client: IpAddr, now: Instant) {
        let own = count(&self.per_client, (phone, client), now);
        let account = count(&self.per_account, phone, now);
        if own == self.rules.free_per_client {
            tracing::info!(phone = %phone.masked(), %client, "login backoff starts for one client of an account");
        }
        if account == self.rules.free_per_account {
            tracing::warn!(phone = %phone.masked(), "login backoff starts for an account: failures from many clients");
        }
    }

    /// A good login: `client`'s own count on `phone` starts over. The account's count stays,
    /// so that the owner's logins do not give a guesser elsewhere a new allowance.
    pub fn succeeded(&self, phone: PhoneNumber, client: IpAddr) {
        self.per_client.remove(&(phone, client));
    }
}

/// Adds a failure to `key`'s record (a fresh one when there is none or it is forgotten), in
/// place under the table's lock so that concurrent failures all count; returns the new count.
fn count<K>(table: &Cache<K, Failures>, key: K, now: Instant) -> u32
where
    K: Eq + std::hash::Hash + Clone,
{
    let add = |failures: &mut Failures| {
        if now.saturating_duration_since(failures.last) >= FORGET_AFTER {
            failures.count = 0;
        }
        failures.count = failures.count.saturating_add(1);
        failures.last = failures.last.max(now);
        failures.count
    };
    match table.entry(&key, None, |_, failures| EntryAction::Retain(add(failures))) {
        EntryResult::Retained(count) => count,
        EntryResult::Vacant(guard) | EntryResult::Replaced(guard, _) => {
            let _ = guard.insert(Failures {
                count: 1,
                last: now,
            });
            1
        }
        // Without a timeout the table waits for a concurrent insertion instead.
        EntryResult::Removed(..) | EntryResult::Timeout => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        free_per_client: 3,
        free_per_account: 6,
        base: Duration::from_secs(1),
        max: Duration::from_secs(10),
    };

    fn phone(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    const ONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const TWO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));
    const THREE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 3));

    #[test]
    fn the_wait_doubles_after_the_free_failures_up_to_the_cap() {
        let waits: Vec<u64> = (0..10).map(|n| RULES.delay(n, 3).as_secs()).collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 10, 10, 10]);
        assert_eq!(RULES.delay(u32::MAX, 0), RULES.max);
    }

    #[test]
    fn a_client_waits_after_its_free_failures_and_others_do_not() {
        let backoff = Backoff::new(RULES, 1000);
        let john = phone("081234567890");
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(backoff.wait(john, ONE, start), None);
            backoff.failed(john, ONE, start);
        }
        assert_eq!(backoff.wait(john, ONE, start), Some(Duration::from_secs(1)));
        assert_eq!(
            backoff.wait(john, ONE, start + Duration::from_millis(400)),
            Some(Duration::from_millis(600))
        );
        assert_eq!(
            backoff.wait(john, ONE, start + Duration::from_secs(1)),
            None
        );
        assert_eq!(backoff.wait(john, TWO, start), None, "another client");
        assert_eq!(backoff.wait(phone("081298765432"), ONE, start), None);
    }

    #[test]
    fn the_account_waits_once_its_own_count_is_reached_whoever_failed() {
        let backoff = Backoff::new(RULES, 1000);
        let john = phone("081234567890");
        let now = Instant::now();
        for client in [ONE, TWO] {
            for _ in 0..3 {
                backoff.failed(john, client, now);
            }
        }
        assert_eq!(backoff.wait(john, THREE, now), Some(Duration::from_secs(1)));
    }

    #[test]
    fn a_good_login_clears_the_clients_count_but_not_the_accounts() {
        let backoff = Backoff::new(RULES, 1000);
        let john = phone("081234567890");
        let now = Instant::now();
        for _ in 0..6 {
            backoff.failed(john, ONE, now);
        }
        backoff.succeeded(john, ONE);
        assert_eq!(backoff.wait(john, TWO, now), Some(Duration::from_secs(1)));
        let later = now + Duration::from_secs(1);
        assert_eq!(backoff.wait(john, ONE, later), None);
        backoff.failed(john, ONE, later);
        assert_eq!(
            backoff.wait(john, ONE, later),
            Some(Duration::from_secs(2)),
            "the account's seventh failure, the client's first"
        );
    }

    #[test]
    fn counts_are_forgotten_a_day_after_the_last_failure() {
        let backoff = Backoff::new(RULES, 1000);
        let john = phone("081234567890");
        let now = Instant::now();
        for _ in 0..9 {
            backoff.failed(john, ONE, now);
        }
        let tomorrow = now + FORGET_AFTER;
        assert_eq!(backoff.wait(john, ONE, tomorrow), None);
        backoff.failed(john, ONE, tomorrow);
        assert_eq!(
            backoff.wait(john, ONE, tomorrow),
            None,
            "counted from one again"
        );
    }

    #[test]
    fn concurrent_failures_all_count() {
        let backoff = std::sync::Arc::new(Backoff::new(RULES, 1000));
        let john = phone("081234567890");
        let now = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let backoff = std::sync::Arc::clone(&backoff);
                std::thread::spawn(move || {
                    for _ in 0..250 {
                        backoff.failed(john, ONE, now);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(backoff.per_client.get(&(john, ONE)).unwrap().count, 1000);
        assert_eq!(backoff.per_account.get(&john).unwrap().count, 1000);
    }

    #[test]
    fn a_flood_of_numbers_stays_within_the_bound() {
        let backoff = Backoff::new(RULES, 1000);
        let now = Instant::now();
        for n in 0..20_000u64 {
            let phone = PhoneNumber::from_u64(6_281_200_000_000 + n).unwrap();
            backoff.failed(phone, ONE, now);
        }
        assert!(
            backoff.per_client.len() <= 1000,
            "{}",
            backoff.per_client.len()
        );
        assert!(backoff.per_account.len() <= 1000);
    }

    #[test]
    fn a_full_table_takes_at_most_100_bytes_a_record() {
        let entries = 100_000;
        let backoff = Backoff::new(RULES, entries);
        let now = Instant::now();
        for n in 0..3 * entries as u64 {
            let phone = PhoneNumber::from_u64(6_281_200_000_000 + n).unwrap();
            let client = IpAddr::from([10, 0, (n >> 8) as u8, n as u8]);
            backoff.failed(phone, client, now);
            backoff.failed(phone, client, now);
        }
        for used in [
            backoff.per_client.memory_used(),
            backoff.per_account.memory_used(),
        ] {
            let per_record = (used.entries + used.map) / entries;
            assert!(per_record <= 100, "{per_record} bytes a record");
        }
    }
}
