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
            crate::json_store::owner_only::tighten_path(&path)?;
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
