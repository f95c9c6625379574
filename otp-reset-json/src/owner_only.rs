//! The data file, its snapshots, its journal and the server secret hold password hashes and
//! keys: they are readable and writable by their owner only (0600). New files are created so;
//! an existing file with wider permissions (a data file copied in as 0644) is tightened when
//! the server opens it, and that is logged once.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Options that create a file owner-only (the process's umask can only narrow that further).
pub(crate) fn create_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Makes the open `file` (at `path`, for the log) owner-only if others may read or write it.
/// Needs no new file handle.
pub(crate) fn tighten(file: &File, path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            log_tightened(path, mode);
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

/// As [`tighten`], for a file by its path; a missing file is left missing.
pub(crate) fn tighten_path(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match std::fs::metadata(path) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            log_tightened(path, mode);
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(unix)]
fn log_tightened(path: &Path, mode: u32) {
    tracing::warn!(
        path = %path.display(),
        was = format!("{mode:04o}"),
        "the file was open to other users; it holds password hashes or keys, so it is now owner-only (0600)"
    );
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn wider_permissions_are_tightened_and_narrower_ones_kept() {
        let dir = std::env::temp_dir().join(format!("owner-only-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wide = dir.join("wide");
        std::fs::write(&wide, "x").unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
        tighten_path(&wide).unwrap();
        assert_eq!(mode(&wide), 0o600);

        let open = dir.join("open");
        std::fs::write(&open, "x").unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o660)).unwrap();
        tighten(&File::open(&open).unwrap(), &open).unwrap();
        assert_eq!(mode(&open), 0o600);

        let narrow = dir.join("narrow");
        std::fs::write(&narrow, "x").unwrap();
        std::fs::set_permissions(&narrow, std::fs::Permissions::from_mode(0o400)).unwrap();
        tighten_path(&narrow).unwrap();
        assert_eq!(mode(&narrow), 0o400, "already owner-only: left alone");

        tighten_path(&dir.join("missing")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
