//! `kill -9` in the middle of a burst of writes loses nothing the store acknowledged, and leaves
//! a data file that opens cleanly, again and again.
//!
//! The writer is this test binary run again ([`writer_for_the_crash_tests`]): it writes
//! through the store from several tasks at once while a thread folds the journal in over and
//! over, and prints a line for each write once the store has acknowledged it. The test kills it
//! with SIGKILL after a number of acknowledgements and opens a copy of what it left, as a
//! restart would find it; the next round's writer starts on the file itself.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{crash_image, fresh_dir, guess, hasher, user_phone, write_users};
use otp_reset::store::PairKey;
use otp_reset::{
    ClientKey, Clock, Lang, NewCode, OtpId, OtpRules, OtpStore, PhoneNumber, SystemClock, UserId,
    UserStore, VerifyOutcome,
};
use otp_reset_json::JsonStore;

/// The data file the writer writes to; without it, the writer test does nothing.
const DATA_FILE: &str = "OTP_RESET_JSON_CRASH_DATA_FILE";
/// Which round of writes this is, so every round writes values of its own.
const ROUND: &str = "OTP_RESET_JSON_CRASH_ROUND";
/// Tasks writing at once, each for a user of its own.
const WRITERS: usize = 8;
/// What every acknowledgement line starts with.
const ACK: &str = "ACK";

/// The password hash the writer stores in `round` for `user` as its `n`th write.
fn password(round: usize, user: usize, n: usize) -> String {
    format!("$argon2id$round-{round}-user-{user}-write-{n}")
}

/// The phone the writer issues its `n`th code to in `round` for `user`: a new phone each time.
fn code_phone(round: usize, user: usize, n: usize) -> PhoneNumber {
    let offset = (round * WRITERS + user) * 100_000 + n;
    PhoneNumber::from_u64(6_281_300_000_000 + offset as u64).unwrap()
}

/// The right code's digest for a phone the writer issued to.
fn code_digest(phone: &PhoneNumber) -> otp_reset::Digest {
    hasher().code_digest(phone, "246810")
}

/// Writes through the store until killed, when run by a crash test; passes at once otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writer_for_the_crash_tests() {
    let Some(path) = std::env::var_os(DATA_FILE) else {
        return;
    };
    let round: usize = std::env::var(ROUND).unwrap().parse().unwrap();
    let store = JsonStore::open(PathBuf::from(path), &hasher()).unwrap();
    // Folds the journal in over and over, so a kill also lands in the middle of a fold.
    let folder = store.clone();
    std::thread::spawn(move || {
        while folder.compact().is_ok() {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    let writers: Vec<_> = (0..WRITERS)
        .map(|user| tokio::spawn(write_until_killed(store.clone(), round, user)))
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
}

async fn write_until_killed(store: JsonStore, round: usize, user: usize) {
    let id = UserId((user + 1).to_string());
    // A bound, so a writer whose test died never runs on for long.
    for n in 0..20_000 {
        assert!(
            store
                .set_password_hash(&id, &password(round, user, n))
                .await
                .unwrap()
        );
        acknowledge(&format!("password {user} {n}"));
        let phone = code_phone(round, user, n);
        let code = NewCode {
            otp_id: OtpId::generate(),
            digest: code_digest(&phone),
            user_id: Some(id.clone()),
            pair: PairKey::from_u64(1),
            lang: Lang::Id,
        };
        let now = SystemClock.now();
        store
            .issue(&phone, code, now, &OtpRules::DEFAULT)
            .await
            .unwrap();
        acknowledge(&format!("code {user} {n}"));
    }
}

fn acknowledge(what: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{ACK} {what}").unwrap();
    out.flush().unwrap();
}

/// The writer, run by this test binary; killed when dropped.
struct Writer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Writer {
    fn start(data: &Path, round: usize) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["writer_for_the_crash_tests", "--exact", "--nocapture"])
            .args(["--test-threads", "1"])
            .env(DATA_FILE, data)
            .env(ROUND, round.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The test harness may print its own words in front of the first line.
                if let Some(at) = line.find(ACK)
                    && sender
                        .send(line[at + ACK.len()..].trim().to_owned())
                        .is_err()
                {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Kills the writer with SIGKILL once it has acknowledged `count` writes; every write it
    /// acknowledged, those printed while it died included.
    fn kill_after(mut self, count: usize) -> Vec<String> {
        let mut acknowledged = Vec::new();
        while acknowledged.len() < count {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the writer stopped acknowledging writes");
            acknowledged.push(line);
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        acknowledged.extend(self.lines.iter());
        acknowledged
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last write of each kind each user had acknowledged: `(passwords, codes)`.
fn last_acknowledged(lines: &[String]) -> (HashMap<usize, usize>, HashMap<usize, usize>) {
    let (mut passwords, mut codes) = (HashMap::new(), HashMap::new());
    for line in lines {
        let mut words = line.split(' ');
        let (kind, user, n) = (words.next(), words.next(), words.next());
        let (user, n): (usize, usize) =
            (user.unwrap().parse().unwrap(), n.unwrap().parse().unwrap());
        let last = match kind {
            Some("password") => passwords.entry(user).or_insert(n),
            Some("code") => codes.entry(user).or_insert(n),
            _ => panic!("an acknowledgement the writer never prints: {line}"),
        };
        *last = (*last).max(n);
    }
    (passwords, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_burst_keeps_every_acknowledged_write_round_after_round() {
    let data = fresh_dir("crash").join("data.json");
    write_users(&data, WRITERS, |_| "lama-rahasia".to_owned());
    let mut passwords: Vec<String> = vec!["lama-rahasia".to_owned(); WRITERS];
    // Each round starts on what the last kill left, a journal and a torn line perhaps.
    for (round, acknowledgements) in [40, 400, 150, 900].into_iter().enumerate() {
        let lines = Writer::start(&data, round).kill_after(acknowledgements);
        let (last_password, last_code) = last_acknowledged(&lines);

        let image = crash_image(&data);
        std::fs::read_to_string(&image)
            .map(|text| serde_json::from_str::<serde_json::Value>(&text))
            .unwrap()
            .expect("the data file is whole JSON after a kill");
        let store = JsonStore::open(&image, &hasher()).expect("the data file opens cleanly");

        for (user, kept) in passwords.iter_mut().enumerate() {
            let stored = store
                .find_by_phone(&user_phone(user))
                .await
                .unwrap()
                .unwrap()
                .password;
            // The write after the last acknowledged one may have reached the disk too.
            let allowed = match last_password.get(&user) {
                Some(&n) => [password(round, user, n), password(round, user, n + 1)],
                None => [kept.clone(), password(round, user, 0)],
            };
            assert!(
                allowed.contains(&stored),
                "round {round}, user {user}: {stored}, expected one of {allowed:?}"
            );
            *kept = stored;
        }
        let now = SystemClock.now();
        for (&user, &last) in &last_code {
            for n in 0..=last {
                let phone = code_phone(round, user, n);
                let outcome = guess(&store, &phone, ClientKey::UNKNOWN, code_digest(&phone), now);
                assert!(
                    matches!(outcome.await, VerifyOutcome::Verified { .. }),
                    "round {round}: the acknowledged code {n} of user {user} is lost"
                );
            }
        }
    }
}
