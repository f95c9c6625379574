//! A small disk to fill: a tmpfs mounted for a test, shared by the store's and the server's
//! disk-fault tests (the server's include this file by path).

use std::path::PathBuf;
use std::process::Command;

use super::fresh_dir;

/// Whether the tests run as root (as they do here and in CI): mounting a tmpfs and raising a
/// process's file-handle limit back need it.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

/// A tmpfs of a fixed size mounted on a fresh folder: a small disk to fill. Unmounted when
/// dropped (drop what uses it first).
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (such as `1m`); fails the test, with what it needs, when it
    /// cannot.
    pub fn mount(name: &str, size: &str) -> Tmpfs {
        assert!(
            is_root(),
            "this test needs root to mount a tmpfs (a small disk it fills): run it as root, as CI does"
        );
        let dir = fresh_dir(name);
        let output = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&dir)
            .output()
            .expect("this test needs `mount` (util-linux) to mount a tmpfs");
        assert!(
            output.status.success(),
            "this test needs root to mount a tmpfs on {}: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs { dir }
    }

    /// Fills the file system with `filler` until it takes no more bytes; returns its path.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        for chunk in [64 * 1024, 4096, 512, 1] {
            let bytes = vec![0u8; chunk];
            while file.write_all(&bytes).is_ok() {}
        }
        let _ = file.sync_all();
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("--lazy").arg(&self.dir).status();
    }
}
