//! Password hashing with argon2id, off the async runtime and bounded.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::SettingError;

/// Hashes and verifies passwords with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane).
///
/// Each hash takes tens of milliseconds of CPU and 19 MiB of memory, so it runs on threads of
/// its own, never on an async worker, and at most a fixed number run at once (by default one
/// fewer than the CPUs, at least one): a flood of resets queues here instead of starving every
/// other request. Those threads run at a lower CPU priority (nice 10), so when the CPUs are busy
/// the requests that answer in microseconds go first and hashing takes what they leave. A caller
/// that waits longer than the queue allows gets [`PasswordError::Busy`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), otp_reset::PasswordError> {
/// use otp_reset::{PasswordCheck, Passwords};
///
/// let passwords = Passwords::default();
/// let phc = passwords.hash("newPass123").await?;
/// assert!(phc.starts_with("$argon2id$"));
/// assert_eq!(passwords.verify("newPass123", &phc).await?, PasswordCheck::Match { needs_upgrade: false });
/// assert_eq!(passwords.verify("wrong", &phc).await?, PasswordCheck::Mismatch);
/// // A plain-text password from a legacy data file still verifies, and asks to be upgraded.
/// assert_eq!(passwords.verify("rahasia99", "rahasia99").await?, PasswordCheck::Match { needs_upgrade: true });
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    queue_timeout: Duration,
    hashers: Arc<Hashers>,
    wait_observer: Option<WaitObserver>,
}

/// What [`Passwords::with_wait_observer`] installed.
#[derive(Clone)]
struct WaitObserver(Arc<dyn Fn(Duration) + Send + Sync>);

impl std::fmt::Debug for WaitObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WaitObserver")
    }
}

/// Whether a password matched the stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// It matched. `needs_upgrade` says the stored form is plain text or weaker than the current
    /// parameters, so the caller should store [`Passwords::hash`] of it.
    Match {
        /// The stored form should be replaced by a fresh hash.
        needs_upgrade: bool,
    },
    /// It did not match.
    Mismatch,
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Too many hashes were queued; the caller should answer "busy, try again".
    #[error("password hashing is saturated; try again")]
    Busy,
    /// The stored hash is malformed or of an algorithm this crate does not verify.
    #[error("stored password hash is not a usable argon2 PHC string: {0}")]
    UnsupportedHash(String),
    /// Hashing itself failed (the random salt could not be drawn, or the task died).
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

/// A hash of a random password nobody knows, verified in place of a missing user's so that a
/// miss costs what a hit costs.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$5fWb8QqG2dm1n9d0pVd0Tg$8o3Bd6a3WcG0a7kq3JcX1wWz3b7v7dYkq0b5yq2Q9hA";

impl Default for Passwords {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_threads(cpus.saturating_sub(1).max(1))
    }
}

impl Passwords {
    /// Hashing with at most `max_concurrent` hashes running at once; fails unless it is at
    /// least 1.
    ///
    /// ```
    /// let passwords = otp_reset::Passwords::new(2)?;
    /// # let _ = passwords;
    /// # Ok::<(), otp_reset::SettingError>(())
    /// ```
    pub fn new(max_concurrent: usize) -> Result<Self, SettingError> {
        SettingError::check("max_concurrent", max_concurrent >= 1, "at least 1")?;
        Ok(Self::with_threads(max_concurrent))
    }

    /// Hashing on `threads` threads, at least 1.
    fn with_threads(threads: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads)),
            queue_timeout: Duration::from_secs(10),
            hashers: Arc::new(Hashers {
                threads,
                jobs: OnceLock::new(),
            }),
            wait_observer: None,
        }
    }

    /// How long a caller waits for a free slot before [`PasswordError::Busy`] (default 10 s).
    #[must_use]
    pub fn with_queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// Calls `observe` with how long each hash or check waited for a free hashing slot (the
    /// waits that ended in [`PasswordError::Busy`] too), such as for a metrics histogram of the
    /// queue. It runs on the task that waited, so it must be quick.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let waits = Arc::new(AtomicUsize::new(0));
    /// let counted = Arc::clone(&waits);
    /// let passwords = otp_reset::Passwords::default()
    ///     .with_wait_observer(move |_waited| { counted.fetch_add(1, Ordering::Relaxed); });
    /// # let _ = passwords;
    /// ```
    #[must_use]
    pub fn with_wait_observer(
        mut self,
        observe: impl Fn(Duration) + Send + Sync + 'static,
    ) -> Self {
        self.wait_observer = Some(WaitObserver(Arc::new(observe)));
        self
    }

    /// The argon2id PHC string of `password`, with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, PasswordError> {
        let password = Zeroizing::new(password.to_owned());
        self.run_blocking(move || {
            argon2id()
                .hash_password(password.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| PasswordError::Hashing(e.to_string()))
        })
        .await
    }

    /// Checks `password` against `stored`: an argon2 PHC string, or plain text as the seed
    /// stored it, compared in constant time. A stored value in another hash format (`$2b$…`,
    /// `$6$…`) is a [`PasswordError::UnsupportedHash`], never compared as text: typing a leaked
    /// hash must not log anyone in.
    pub async fn verify(
        &self,
        password: &str,
        stored: &str,
    ) -> Result<PasswordCheck, PasswordError> {
        if !looks_like_a_hash(stored) {
            let matched: bool = password.as_bytes().ct_eq(stored.as_bytes()).into();
            // As long as checking a hash, so that timing does not tell a legacy account apart
            // from an unknown one.
            self.verify_dummy(password).await?;
            return Ok(if matched {
                PasswordCheck::Match {
                    needs_upgrade: true,
                }
            } else {
                PasswordCheck::Mismatch
            });
        }
        let password = Zeroizing::new(password.to_owned());
        let stored = stored.to_owned();
        self.run_blocking(move || verify_phc(password.as_bytes(), &stored))
            .await
    }

    /// Verifies `password` against a hash nobody knows, discarding the result: what a login or
    /// lookup does for a user that does not exist, so that the miss takes as long as a hit.
    pub async fn verify_dummy(&self, password: &str) -> Result<(), PasswordError> {
        let password = Zeroizing::new(password.to_owned());
        self.run_blocking(move || verify_phc(password.as_bytes(), DUMMY_PHC))
            .await
            .map(|_| ())
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let waiting = std::time::Instant::now();
        let permit =
            tokio::time::timeout(self.queue_timeout, self.permits.clone().acquire_owned()).await;
        if let Some(WaitObserver(observe)) = &self.wait_observer {
            observe(waiting.elapsed());
        }
        let permit = permit
            .map_err(|_| PasswordError::Busy)?
            .map_err(|_| PasswordError::Busy)?;
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.hashers.run(Box::new(move || {
            let _permit = permit;
            let _ = answer.send(work());
        }))?;
        answered
            .await
            .map_err(|_| PasswordError::Hashing("the hashing thread stopped".into()))?
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The threads that hash, started on first use and stopped once the last [`Passwords`] clone is
/// dropped.
#[derive(Debug)]
struct Hashers {
    threads: usize,
    jobs: OnceLock<Mutex<Sender<Job>>>,
}

/// The hashing threads' priority on `thread_priority`'s 0–99 scale, which it maps to nice
/// values from 19 to -20: 22 is nice 10, where under contention a thread gets about a tenth of
/// what one at nice 0 gets (a test pins the mapping).
const HASHING_PRIORITY: u8 = 22;

impl Hashers {
    fn run(&self, job: Job) -> Result<(), PasswordError> {
        let jobs = match self.jobs.get() {
            Some(jobs) => jobs,
            None => {
                let jobs = self.start()?;
                self.jobs.get_or_init(|| Mutex::new(jobs))
            }
        };
        jobs.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| PasswordError::Hashing("the hashing threads stopped".into()))
    }

    fn start(&self) -> Result<Sender<Job>, PasswordError> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..self.threads {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("password-hashing-{n}"))
                .spawn(move || hash_forever(&queue))
                .map_err(|e| PasswordError::Hashing(format!("starting a hashing thread: {e}")))?;
        }
        Ok(jobs)
    }
}

fn hash_forever(queue: &Mutex<Receiver<Job>>) {
    let lowered = thread_priority::ThreadPriorityValue::try_from(HASHING_PRIORITY)
        .map_err(|e| e.to_string())
        .and_then(|value| {
            thread_priority::set_current_thread_priority(
                thread_priority::ThreadPriority::Crossplatform(value),
            )
            .map_err(|e| e.to_string())
        });
    if let Err(error) = lowered {
        tracing::debug!(%error, "password hashing runs at the normal priority");
    }
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        // A panicking job drops its answer (its caller gets an error); the thread lives on.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Whether `stored` is in the PHC or modular crypt format (`$id$…`) rather than plain text.
fn looks_like_a_hash(stored: &str) -> bool {
    let Some(rest) = stored.strip_prefix('$') else {
        return false;
    };
    rest.split_once('$').is_some_and(|(id, _)| {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, argon2::Version::V0x13, Params::DEFAULT)
}

fn verify_phc(password: &[u8], stored: &str) -> Result<PasswordCheck, PasswordError> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| PasswordError::UnsupportedHash(e.to_string()))?;
    let params =
        Params::try_from(&parsed).map_err(|e| PasswordError::UnsupportedHash(e.to_string()))?;
    let current = Params::DEFAULT;
    let needs_upgrade = parsed.algorithm.as_str() != "argon2id"
        || params.m_cost() < current.m_cost()
        || params.t_cost() < current.t_cost()
        || params.p_cost() < current.p_cost();
    match argon2id().verify_password(password, &parsed) {
        Ok(()) => Ok(PasswordCheck::Match { needs_upgrade }),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(PasswordCheck::Mismatch),
        Err(e) => Err(PasswordError::UnsupportedHash(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_runs_below_the_request_threads_priority() {
        let niceness = Passwords::default()
            .run_blocking(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                // Field 19 is the nice value; the name (field 2) may hold spaces, so count from
                // the closing parenthesis.
                let after_name = &stat[stat.rfind(')').unwrap() + 2..];
                Ok(after_name
                    .split(' ')
                    .nth(16)
                    .unwrap()
                    .parse::<i32>()
                    .unwrap())
            })
            .await
            .unwrap();
        assert!(niceness >= 10, "nice {niceness}");
    }

    #[tokio::test]
    async fn the_dummy_hash_is_a_valid_hash_at_current_parameters() {
        let check = verify_phc(b"anything", DUMMY_PHC).unwrap();
        assert_eq!(check, PasswordCheck::Mismatch);
    }

    #[tokio::test]
    async fn hashes_use_owasp_parameters() {
        let phc = Passwords::default().hash("secret1").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[tokio::test]
    async fn weaker_hashes_ask_for_an_upgrade() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            argon2::Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        )
        .hash_password(b"secret1")
        .unwrap()
        .to_string();
        let check = Passwords::default().verify("secret1", &weak).await.unwrap();
        assert_eq!(
            check,
            PasswordCheck::Match {
                needs_upgrade: true
            }
        );
    }

    #[tokio::test]
    async fn foreign_hashes_are_reported_not_guessed() {
        let bcrypt = "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";
        let err = Passwords::default().verify("x", bcrypt).await.unwrap_err();
        assert!(matches!(err, PasswordError::UnsupportedHash(_)));
    }

    #[tokio::test]
    async fn a_legacy_password_that_starts_with_a_dollar_is_still_plain_text() {
        let check = Passwords::default()
            .verify("$ecret1", "$ecret1")
            .await
            .unwrap();
        assert_eq!(
            check,
            PasswordCheck::Match {
                needs_upgrade: true
            }
        );
        assert!(looks_like_a_hash("$6$rounds=5000$salt$hash"));
        assert!(!looks_like_a_hash("$Secret$1"));
        assert!(!looks_like_a_hash("$ecret1"));
    }

    #[tokio::test]
    async fn the_wait_observer_sees_every_wait_for_a_slot_busy_ones_too() {
        let waits = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&waits);
        let passwords = Passwords::new(1)
            .unwrap()
            .with_queue_timeout(Duration::from_millis(20))
            .with_wait_observer(move |waited| seen.lock().unwrap().push(waited));
        passwords.hash("x").await.unwrap();
        let held = passwords.permits.clone().acquire_owned().await.unwrap();
        assert!(matches!(
            passwords.hash("x").await,
            Err(PasswordError::Busy)
        ));
        drop(held);
        let waits = waits.lock().unwrap();
        assert_eq!(waits.len(), 2);
        assert!(waits[1] >= Duration::from_millis(20), "{waits:?}");
    }

    #[tokio::test]
    async fn a_saturated_hasher_says_busy() {
        let passwords = Passwords::new(1)
            .unwrap()
            .with_queue_timeout(Duration::from_millis(1));
        let held = passwords.permits.clone().acquire_owned().await.unwrap();
        assert!(matches!(
            passwords.hash("x").await,
            Err(PasswordError::Busy)
        ));
        drop(held);
        assert!(passwords.hash("x").await.is_ok());
    }
}
