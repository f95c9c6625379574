//! The browser profile that keeps the WhatsApp session, and our lock on it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::Error;

/// The lock file inside the profile; held for as long as the sender lives.
const LOCK_FILE: &str = "otp-reset.lock";

/// An open, exclusively held profile folder (mode 0700).
#[derive(Debug)]
pub(crate) struct Profile {
    dir: PathBuf,
    _lock: File,
}

impl Profile {
    /// Creates the folder if needed (owner-only), takes the lock, and clears a stale Chromium
    /// singleton lock left by a Chromium that died.
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        let io = |source| Error::Profile {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        // Chromium is given the absolute path, so its command line names the profile exactly.
        let dir = &std::fs::canonicalize(dir).map_err(io)?;
        restrict(dir).map_err(io)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))
            .map_err(io)?;
        lock.try_lock().map_err(|error| match error {
            std::fs::TryLockError::WouldBlock => Error::ProfileInUse(dir.to_owned()),
            std::fs::TryLockError::Error(source) => io(source),
        })?;
        kill_orphans(dir);
        clear_stale_singleton(dir);
        Ok(Self {
            dir: dir.to_owned(),
            _lock: lock,
        })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Forgets the WhatsApp session (after the phone logged it out): everything but our lock.
    pub(crate) fn clear(&self) -> std::io::Result<()> {
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if entry.file_name() == LOCK_FILE {
                continue;
            }
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn restrict(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Holding the lock proves no sender of ours runs on this profile, so a Chromium still using it
/// was left behind by one that died without cleaning up (`kill -9`, the OOM killer). It would
/// keep the profile and make every launch fail: it goes.
fn kill_orphans(dir: &Path) {
    let needle = format!("--user-data-dir={}", dir.display());
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return;
    };
    let orphans: Vec<String> = processes
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
                cmdline
                    .split(|&b| b == 0)
                    .any(|arg| arg == needle.as_bytes())
            })
        })
        .collect();
    for pid in &orphans {
        tracing::warn!(pid = %pid, profile = %dir.display(), "killing a Chromium left behind on this WhatsApp profile");
        let _ = std::process::Command::new("kill")
            .args(["-KILL", pid])
            .status();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while orphans
        .iter()
        .any(|pid| Path::new(&format!("/proc/{pid}/cmdline")).exists())
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Chromium's `SingletonLock` is a symlink to `<host>-<pid>`. Our lock proves no sender of
/// ours uses the profile; if that process is gone too, the Chromium lock is stale and would
/// make the next launch fail, so it goes.
fn clear_stale_singleton(dir: &Path) {
    let lock = dir.join("SingletonLock");
    let Ok(target) = std::fs::read_link(&lock) else {
        return;
    };
    let pid = target
        .to_string_lossy()
        .rsplit('-')
        .next()
        .and_then(|pid| pid.parse::<u32>().ok());
    let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
    if !alive {
        for name in ["SingletonLock", "SingletonSocket", "SingletonCookie"] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        tracing::info!(profile = %dir.display(), "cleared a stale Chromium singleton lock");
    }
}
