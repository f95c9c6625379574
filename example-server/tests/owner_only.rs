//! The data file, every snapshot that replaces it, its journal and the server secret are
//! owner-only (0600), whatever permissions they came with.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use common::{Server, demo_data, wait_for};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_data_file_open_to_others_is_made_owner_only_and_so_is_every_file_written() {
    let data = demo_data("owner-only");
    let sibling = |suffix: &str| data.with_file_name(format!("data.json{suffix}"));
    set_mode(&data, 0o644);
    std::fs::write(sibling(".secret"), "ab".repeat(32)).unwrap();
    set_mode(&sibling(".secret"), 0o644);
    std::fs::write(sibling(".journal"), "").unwrap();
    set_mode(&sibling(".journal"), 0o644);

    let server = Server::start(&data, &[("DATA_FILE_FOLD_SECS", "1")]).await;
    for suffix in ["", ".secret", ".journal", ".lock"] {
        assert_eq!(
            mode(&sibling(suffix)),
            0o600,
            "data.json{suffix} after the start"
        );
    }
    assert!(server.output().contains("now owner-only (0600)"));

    // The demo file's plain-text passwords are hashed and folded in first.
    wait_for(
        "the demo file upgraded",
        Duration::from_secs(60),
        async || {
            let text = std::fs::read_to_string(&data).unwrap();
            !text.contains("password123")
                && std::fs::metadata(sibling(".journal")).unwrap().len() == 0
        },
    )
    .await;
    // A temporary snapshot a crash left, open to others: the next fold writes over it.
    std::fs::write(sibling(".tmp"), "{}").unwrap();
    set_mode(&sibling(".tmp"), 0o644);
    let snapshot = std::fs::metadata(&data).unwrap().ino();
    server.request_code("John Doe", "081234567890").await;
    wait_for("a new snapshot", Duration::from_secs(30), async || {
        std::fs::metadata(&data).unwrap().ino() != snapshot
    })
    .await;
    assert_eq!(mode(&data), 0o600, "the new snapshot");
    assert_eq!(mode(&sibling(".journal")), 0o600);
    server.stop();
    for suffix in ["", ".journal"] {
        assert_eq!(
            mode(&sibling(suffix)),
            0o600,
            "data.json{suffix} after the stop"
        );
    }
}
