//! File handles: the soft limit raised to the hard one, and the connection cap they allow.

/// The process's file-handle limits after raising the soft one to the hard one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLimit {
    /// The soft limit found at start.
    pub was: u64,
    /// The soft limit in force now.
    pub soft: u64,
    /// The hard limit.
    pub hard: u64,
}

/// Raises the soft file-handle limit (often 1,024, as systemd leaves it) to the hard one, so
/// that the connection cap, not the limit, decides how many clients are served.
pub fn raise_file_limit() -> std::io::Result<FileLimit> {
    let (was, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE)?;
    let soft = rlimit::increase_nofile_limit(hard)?;
    Ok(FileLimit { was, soft, hard })
}

/// How many connections fit under `soft` file handles with `reserve` kept for everything else
/// (the data file, its journal and snapshots, the listener, the runtime, Chromium's pipes),
/// capped by `wanted`; `None` if none fit.
pub fn connection_cap(wanted: usize, soft: u64, reserve: usize) -> Option<usize> {
    let free = soft.saturating_sub(reserve as u64);
    let cap = usize::try_from(free).unwrap_or(usize::MAX).min(wanted);
    (cap > 0).then_some(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_the_lesser_of_the_setting_and_the_handles_left_after_the_reserve() {
        assert_eq!(connection_cap(4096, 1024, 128), Some(896));
        assert_eq!(connection_cap(4096, 524_288, 128), Some(4096));
        assert_eq!(connection_cap(4096, 100, 128), None);
        assert_eq!(connection_cap(4096, 128, 128), None);
    }
}
