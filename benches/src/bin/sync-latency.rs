//! How long one durable append takes on this disk: a 200-byte line written to a file and
//! `fdatasync`ed, 2 000 times, as the JSON store's journal writer does once per batch. It bounds
//! what any store that syncs before answering can do: `cargo run --release -p benches --bin
//! sync-latency [DIR]` (default: the system's temporary folder).

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

const SYNCS: usize = 2_000;

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(std::env::temp_dir, Into::into);
    let path = dir.join(format!("sync-latency-{}", std::process::id()));
    let result = measure(&path);
    let _ = std::fs::remove_file(&path);
    match result {
        Ok(mut times) => {
            times.sort_unstable();
            let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
            println!(
                "append 200 bytes + fdatasync in {}: median {:?}, p90 {:?}, p99 {:?} ({SYNCS} syncs)",
                dir.display(),
                at(0.5),
                at(0.9),
                at(0.99)
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn measure(path: &std::path::Path) -> std::io::Result<Vec<Duration>> {
    let mut file = std::fs::OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)?;
    let line = [b'x'; 200];
    (0..SYNCS)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&line)?;
            file.sync_data()?;
            Ok(start.elapsed())
        })
        .collect()
}
