//! How long one durable append takes on this disk: a 200-byte line written to a file and
//! `fdatasync`ed, 2 000 times, as the JSON store's journal writer does once per batch; then the
//! same from two threads at once, to see whether syncs that overlap finish sooner. It bounds
//! what any store that syncs before answering can do: `cargo run --release -p benches --bin
//! sync-latency [DIR]` (default: the system's temporary folder).

use std::fs::File;
use std::io::Write;
use std::path::Path;
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
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn measure(path: &Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)?;
    let mut times = append_and_sync(&file, SYNCS)?;
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "one thread: append 200 bytes + fdatasync: median {:?}, p90 {:?}, p99 {:?} ({SYNCS} syncs)",
        at(0.5),
        at(0.9),
        at(0.99)
    );
    for threads in [1, 2] {
        let start = Instant::now();
        std::thread::scope(|scope| {
            let runs: Vec<_> = (0..threads)
                .map(|_| scope.spawn(|| append_and_sync(&file, SYNCS / threads)))
                .collect();
            runs.into_iter().try_for_each(|run| {
                run.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("panicked")))
                    .map(drop)
            })
        })?;
        let rate = SYNCS as f64 / start.elapsed().as_secs_f64();
        println!("{threads} thread(s) syncing at once: {rate:.0} durable appends/s");
    }
    Ok(())
}

fn append_and_sync(mut file: &File, count: usize) -> std::io::Result<Vec<Duration>> {
    let line = [b'x'; 200];
    (0..count)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&line)?;
            file.sync_data()?;
            Ok(start.elapsed())
        })
        .collect()
}
