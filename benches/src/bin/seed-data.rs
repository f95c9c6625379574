//! Writes a JSON data file with N users, each with an active code, for the HTTP load script:
//! `cargo run --release -p benches --bin seed-data -- PATH N`. The file is in the original
//! design's format (numbers as typed, codes in plain text), so the server that opens it hashes
//! the codes with its own secret.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(count)) = (
        args.next(),
        args.next().and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: seed-data PATH USERS");
        return ExitCode::FAILURE;
    };
    match benches::write_json_data(&PathBuf::from(&path), count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {path}: {error}");
            ExitCode::FAILURE
        }
    }
}
