//! The server secret that keys the code digests: from the settings, or generated once and kept
//! beside the data file, readable by the owner only.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// Where the generated secret of a data file is kept: `<DATA_FILE>.secret`.
pub fn secret_path(data_file: &Path) -> PathBuf {
    let mut name = data_file.to_owned().into_os_string();
    name.push(".secret");
    PathBuf::from(name)
}

/// The secret kept beside `data_file`, generated (32 random bytes, hex) on first use.
pub fn load_or_create(data_file: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let path = secret_path(data_file);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            // It keys every code digest: owner-only, like the data file.
            make_owner_only(&path)?;
            let secret = hex::decode(text.trim()).map_err(|e| {
                std::io::Error::other(format!("{} is not a hex secret: {e}", path.display()))
            })?;
            if secret.len() < otp_reset::CodeHasher::MIN_SECRET_BYTES {
                return Err(std::io::Error::other(format!(
                    "{} holds a secret shorter than 32 bytes",
                    path.display()
                )));
            }
            Ok(Zeroizing::new(secret))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => create(&path),
        Err(error) => Err(error),
    }
}

/// Makes the secret's file owner-only (0600) if others may read or write it, with a warning.
fn make_owner_only(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(
                path = %path.display(),
                was = format!("{mode:04o}"),
                "the file was open to other users; it holds password hashes or keys, so it is now owner-only (0600)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn create(path: &Path) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut secret = Zeroizing::new(vec![0u8; 32]);
    rand::fill(&mut secret[..]);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(Zeroizing::new(hex::encode(&secret[..])).as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), "generated the server secret; back it up with the data file");
    Ok(secret)
}
