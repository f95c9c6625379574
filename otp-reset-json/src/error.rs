//! Why a data file could not be opened.

use std::path::PathBuf;

/// Why a data file could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Another process has the data file open.
    #[error("{0} is in use by another process (remove nothing: stop the other server first)")]
    Locked(PathBuf),
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not the JSON the store expects.
    #[error("{path} is not a valid data file: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where and how it is malformed.
        source: serde_json::Error,
    },
}
