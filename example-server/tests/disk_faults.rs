//! The data file's journal recovers from real faults of the disk and the process, by itself:
//! a fold with no file handles left fails and is retried while changes are still acknowledged,
//! and a full file system refuses changes (503) only while it is full. Whatever a client was
//! told is stored survives a `kill -9` and a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Server, Tmpfs, fresh_dir, phone, stored_phone, wait_for, write_users};
use otp_reset::Passwords;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const SETTINGS: [(&str, &str); 3] = [
    ("DEV_EXPOSE_OTP", "1"),
    ("CLIENT_RATE_LIMIT_PER_MIN", "0"),
    ("DATA_FILE_FOLD_SECS", "1"),
];

/// A data file of `count` users with hashed passwords, so that nothing but the test's own
/// changes is ever written.
async fn hashed_users(path: &Path, count: usize) {
    let phc = Passwords::new(1)
        .unwrap()
        .hash("rahasia-lama")
        .await
        .unwrap();
    write_users(path, count, |_| phc.clone());
}

/// Asks for a code for user `i`: the status, and the code when it was issued.
async fn issue(server: &Server, i: usize) -> (u16, Value) {
    server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": format!("Pengguna {i}"), "noHp": phone(i) }),
        )
        .await
}

async fn issued(server: &Server, i: usize) -> String {
    let (status, body) = issue(server, i).await;
    assert_eq!(status, 200, "user {i}: {body}\n{}", server.output());
    body["testOTP"].as_str().unwrap().to_owned()
}

async fn health(server: &Server) -> u16 {
    server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn data_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).expect("the data file is valid JSON")
}

/// The numbers that have a code in the data file.
fn phones_with_codes(path: &Path) -> HashSet<String> {
    data_file(path)["otps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|otp| otp["phoneNumber"].as_str().map(str::to_owned))
        .collect()
}

/// Restarts on the same data file after a `kill -9` and checks that every code a client was
/// told was issued is there and still verifies.
async fn every_acknowledged_code_survives(server: Server, acknowledged: &[(usize, String)]) {
    let data = server.data_file.clone();
    server.kill_hard();
    let restarted = Server::start(&data, &SETTINGS).await;
    let on_disk = phones_with_codes(&data);
    for (i, code) in acknowledged {
        assert!(
            on_disk.contains(&stored_phone(*i)),
            "the acknowledged code of user {i} is not in the data file"
        );
        let (status, body) = restarted
            .post(
                "/api/forgot-password/verify-otp",
                json!({ "noHp": phone(*i), "otp": code }),
            )
            .await;
        assert_eq!(status, 200, "the acknowledged code of user {i}: {body}");
    }
    restarted.stop();
}

/// The lowest file descriptor number the process does not use: with its limit set there, it
/// can open nothing more.
fn lowest_free_descriptor(pid: u32) -> u64 {
    let used: HashSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|fd| !used.contains(fd)).unwrap()
}

/// The process's file-handle limits (soft, hard).
fn open_files_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let mut fields = line["Max open files".len()..].split_whitespace();
    (
        fields.next().unwrap().to_owned(),
        fields.next().unwrap().to_owned(),
    )
}

fn set_open_files_limit(pid: u32, soft: &str, hard: &str) {
    let status = Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={soft}:{hard}"),
        ])
        .status()
        .expect("this test needs `prlimit` (util-linux)");
    assert!(status.success(), "prlimit --nofile={soft}:{hard} failed");
}

/// One HTTP/1.1 connection, kept open: with no file handle left, the server can answer on a
/// connection it has but accept no new one.
struct OneConnection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl OneConnection {
    async fn open(server: &Server) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", server.port))
            .await
            .unwrap();
        let (reader, writer) = stream.into_split();
        Self {
            reader: BufReader::new(reader),
            writer,
        }
    }

    async fn request(&mut self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let body = body.to_string();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).await.unwrap();
        self.writer.write_all(body.as_bytes()).await.unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        let status = line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await.unwrap();
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut answer = vec![0; length];
        self.reader.read_exact(&mut answer).await.unwrap();
        (
            status,
            serde_json::from_slice(&answer).unwrap_or(Value::Null),
        )
    }

    async fn issued(&mut self, i: usize) -> String {
        let body = json!({ "nama": format!("Pengguna {i}"), "noHp": phone(i) });
        let request = self.request("POST", "/api/forgot-password/request-otp", &body);
        let (status, body) = tokio::time::timeout(Duration::from_secs(30), request)
            .await
            .expect("the server answers on a connection it has");
        assert_eq!(status, 200, "user {i}: {body}");
        body["testOTP"].as_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fold_without_file_handles_is_retried_and_changes_go_on_being_acknowledged() {
    let data = fresh_dir("disk-faults").join("data.json");
    hashed_users(&data, 20).await;
    let server = Server::start(&data, &SETTINGS).await;
    let mut connection = OneConnection::open(&server).await;
    let mut acknowledged = vec![(0, connection.issued(0).await)];
    wait_for(
        "the first change folded in",
        Duration::from_secs(30),
        async || phones_with_codes(&data).contains(&stored_phone(0)),
    )
    .await;
    let before = std::fs::read(&data).unwrap();

    let pid = server.pid();
    // Only the soft limit: raising a hard limit back takes a capability containers often lack.
    let (soft, hard) = open_files_limit(pid);
    let none_left = lowest_free_descriptor(pid).to_string();
    set_open_files_limit(pid, &none_left, &hard);
    for i in 1..6 {
        acknowledged.push((i, connection.issued(i).await));
    }
    wait_for(
        "a fold failing for want of file handles",
        Duration::from_secs(30),
        async || server.output().contains("Too many open files"),
    )
    .await;
    assert_eq!(std::fs::read(&data).unwrap(), before, "no fold got through");
    for i in 6..10 {
        acknowledged.push((i, connection.issued(i).await));
    }
    let (status, _) = connection.request("GET", "/healthz", &Value::Null).await;
    assert_eq!(status, 200, "a failed fold is no fault of the journal");

    set_open_files_limit(pid, &soft, &hard);
    wait_for(
        "the fold retried and done",
        Duration::from_secs(60),
        async || {
            let on_disk = phones_with_codes(&data);
            (0..10).all(|i| on_disk.contains(&stored_phone(i)))
        },
    )
    .await;
    assert!(
        server.output().contains("works again"),
        "{}",
        server.output()
    );
    acknowledged.push((10, issued(&server, 10).await));
    every_acknowledged_code_survives(server, &acknowledged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_changes_until_it_has_room_again_and_loses_nothing_acknowledged() {
    let disk = Tmpfs::mount("disk-faults-full", "1m");
    let data = disk.dir.join("data.json");
    hashed_users(&data, 60).await;
    let server = Server::start(&data, &SETTINGS).await;
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        acknowledged.push((i, issued(&server, i).await));
    }
    wait_for(
        "the first changes folded in",
        Duration::from_secs(30),
        async || {
            std::fs::metadata(data.with_file_name("data.json.journal"))
                .unwrap()
                .len()
                == 0
        },
    )
    .await;

    let filler = disk.fill();
    // The journal's last page may hold a few more lines; then a write fails.
    let mut next = 3;
    let refused = loop {
        assert!(next < 50, "the full disk never refused a change");
        let (status, body) = issue(&server, next).await;
        next += 1;
        match status {
            200 => acknowledged.push((next - 1, body["testOTP"].as_str().unwrap().to_owned())),
            _ => break (status, body),
        }
    };
    assert_eq!(refused.0, 503, "{}", refused.1);
    assert_eq!(refused.1["error"], "server_error", "{}", refused.1);
    assert!(server.output().contains("cannot be written right now"));
    assert_eq!(health(&server).await, 503);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (status, _) = issue(&server, next).await;
    next += 1;
    assert_eq!(status, 503, "still full: still refused, after retries");
    assert_eq!(health(&server).await, 503);

    std::fs::remove_file(filler).unwrap();
    wait_for(
        "the server healthy again",
        Duration::from_secs(30),
        async || health(&server).await == 200,
    )
    .await;
    for i in next..next + 3 {
        acknowledged.push((i, issued(&server, i).await));
    }
    every_acknowledged_code_survives(server, &acknowledged).await;
}
