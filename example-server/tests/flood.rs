//! The real binary keeps answering through floods of idle, slow and half-sent connections:
//! timeouts close them, a head size limit answers 431, connection caps refuse or recycle the
//! surplus before the file handles run out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{Server, demo_data};
use futures_util::future::join_all;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Another loopback address: a different client to the server.
const OTHER_CLIENT: &str = "127.0.0.2";

/// Idle connections close after a second: the one that saw the server start is gone before a
/// test counts connections.
const QUICK_IDLE: (&str, &str) = ("IDLE_TIMEOUT_SECS", "1");
/// Connections that send nothing stay open while a test counts them.
const SLOW_HEAD: (&str, &str) = ("HEADER_READ_TIMEOUT_SECS", "30");

/// Waits for the kept-alive connection that saw the server start to reach [`QUICK_IDLE`].
async fn let_startup_connection_close() {
    tokio::time::sleep(Duration::from_secs(2)).await;
}

/// A TCP connection to the server from `source`.
async fn connect_from(source: &str, server: &Server) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::new(source.parse().unwrap(), 0))
        .unwrap();
    let connecting = socket.connect(SocketAddr::from(([127, 0, 0, 1], server.port)));
    tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .expect("the server's listen queue is full")
        .unwrap()
}

async fn connect(server: &Server) -> TcpStream {
    connect_from("127.0.0.1", server).await
}

/// `count` connections from 127.0.0.1, one after the other.
async fn connect_many(server: &Server, count: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(connect(server).await);
    }
    streams
}

/// What the server sent until it closed `stream` (end of file or reset), or `None` if it is
/// still open after `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(bound, async {
        let mut buffer = [0; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| received)
}

/// How many of `streams` are still open after `wait`.
async fn still_open(streams: &mut [TcpStream], wait: Duration) -> usize {
    join_all(streams.iter_mut().map(|stream| closed_within(stream, wait)))
        .await
        .into_iter()
        .filter(Option::is_none)
        .count()
}

/// `GET /healthz` on `stream`, kept alive; returns once the whole answer is in.
async fn healthz_on(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    while !String::from_utf8_lossy(&received).contains(r#"{"status":"ok"}"#) {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer))
            .await
            .expect("no answer to /healthz")
            .unwrap();
        assert!(n > 0, "closed before answering: {received:?}");
        received.extend_from_slice(&buffer[..n]);
    }
}

/// A client from `source` that speaks to the server by its loopback address.
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(source.parse::<std::net::IpAddr>().unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The server still answers `/healthz` and a POST to the API for a client from `source`.
async fn serves(server: &Server, source: &str) {
    let client = client_from(source);
    let base = format!("http://127.0.0.1:{}", server.port);
    let health = client.get(format!("{base}/healthz")).send().await;
    let health = health.unwrap_or_else(|e| panic!("/healthz from {source}: {e}"));
    assert_eq!(health.status(), 200, "/healthz from {source}");
    // Read to its end, so that the POST goes over the same connection.
    health.bytes().await.unwrap();
    let answer = client
        .post(format!("{base}/api/forgot-password/request-otp"))
        .json(&json!({ "nama": "John Doe", "noHp": "081234567890" }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("request-otp from {source}: {e}"));
    assert!(
        answer.status().is_success() || answer.status() == 429,
        "request-otp from {source}: {}",
        answer.status()
    );
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap()
}

fn prlimit(nofile: &str) -> [String; 3] {
    let found = std::process::Command::new("prlimit")
        .arg("--version")
        .output();
    assert!(
        found.is_ok_and(|out| out.status.success()),
        "these tests need prlimit (Debian package util-linux)"
    );
    ["prlimit".into(), format!("--nofile={nofile}"), "--".into()]
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout_and_not_before() {
    let settings = [
        ("HEADER_READ_TIMEOUT_SECS", "1"),
        ("IDLE_TIMEOUT_SECS", "4"),
    ];
    let server = Server::start(&demo_data("flood-idle"), &settings).await;
    let mut stream = connect(&server).await;
    healthz_on(&mut stream).await;
    let idle_from = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(2))
            .await
            .is_none(),
        "an idle connection is not held to the header read timeout"
    );
    healthz_on(&mut stream).await;
    let idle_from_again = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(10))
            .await
            .is_some(),
        "an idle connection is closed after IDLE_TIMEOUT_SECS"
    );
    assert!(idle_from_again.elapsed() >= Duration::from_secs(3));
    assert!(idle_from.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn connections_that_never_finish_their_head_are_closed_after_the_header_timeout() {
    let settings = [
        ("HEADER_READ_TIMEOUT_SECS", "1"),
        ("IDLE_TIMEOUT_SECS", "60"),
    ];
    let server = Server::start(&demo_data("flood-slow"), &settings).await;
    let mut silent = connect(&server).await;
    let mut trickling = connect(&server).await;
    trickling
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let trickle = async {
        // A header line every 100 ms: always busy, never done.
        for n in 0..100 {
            let line = format!("x-slow-{n}: a\r\n");
            if trickling.write_all(line.as_bytes()).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut byte = [0; 1];
            let read = tokio::time::timeout(Duration::ZERO, trickling.read(&mut byte)).await;
            if matches!(read, Ok(Ok(0) | Err(_))) {
                return true;
            }
        }
        false
    };
    let (silent_closed, trickler_closed) = tokio::join!(
        closed_within(&mut silent, Duration::from_secs(6)),
        tokio::time::timeout(Duration::from_secs(6), trickle),
    );
    assert!(
        silent_closed.is_some(),
        "a connection that sends nothing is closed"
    );
    assert!(
        matches!(trickler_closed, Ok(true)),
        "a connection that trickles its head is closed"
    );
    serves(&server, "127.0.0.1").await;
}

#[tokio::test]
async fn a_client_that_does_not_read_its_answers_is_closed() {
    // The answer timeout is twice REQUEST_TIMEOUT_SECS; once hyper holds a whole answer, the
    // idle timeout runs while it is written.
    let settings = [("REQUEST_TIMEOUT_SECS", "1"), QUICK_IDLE, SLOW_HEAD];
    let server = Server::start(&demo_data("flood-slow-read"), &settings).await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], server.port)))
        .await
        .unwrap();
    // 1,000 pipelined requests for 13 KiB each: far more than the socket buffers hold.
    let request = "GET /assets/forgot-password.js HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream
        .write_all(request.repeat(1000).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let received = closed_within(&mut stream, Duration::from_secs(10))
        .await
        .expect("the connection is closed");
    let answers = String::from_utf8_lossy(&received)
        .matches("HTTP/1.1 200")
        .count();
    assert!(answers < 1000, "{answers} answers: it was cut off");
    serves(&server, "127.0.0.1").await;
}

#[tokio::test]
async fn a_head_over_the_limit_is_answered_431_and_its_connection_closed() {
    let settings = [("MAX_HEADER_BYTES", "8192")];
    let server = Server::start(&demo_data("flood-large"), &settings).await;

    let mut stream = connect(&server).await;
    let mut request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-pad: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 20 * 1024));
    request.extend_from_slice(b"\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let answer = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("the connection is closed after the 431");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{answer}"
    );

    // 20 connections each sending 300 KiB of a head that never ends: each is cut off near
    // the limit, and none of the 300 KiB stays in the server's memory. The demo file's
    // plain-text passwords are hashed at start, 19 MiB of argon2 memory each: measure after.
    common::wait_for(
        "the start-up password upgrade",
        Duration::from_secs(60),
        async || server.output().contains("plain-text passwords upgraded"),
    )
    .await;
    let before = rss_kib(server.pid());
    let mut streams = connect_many(&server, 20).await;
    let sent = join_all(streams.iter_mut().map(|stream| async move {
        let mut head = b"GET / HTTP/1.1\r\nHost: localhost\r\nx-pad: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', 300 * 1024));
        // The server closes before taking it all: the write then fails.
        let _ = stream.write_all(&head).await;
        closed_within(stream, Duration::from_secs(10))
            .await
            .is_some()
    }))
    .await;
    assert!(sent.iter().all(|closed| *closed), "every connection closed");
    let grown = rss_kib(server.pid()).saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "the server grew by {grown} KiB for 6 MiB of heads it refused"
    );
    serves(&server, "127.0.0.1").await;
}

#[tokio::test]
async fn past_its_cap_a_client_is_refused_while_other_clients_are_served() {
    let settings = [("MAX_CONNECTIONS_PER_CLIENT", "20"), QUICK_IDLE, SLOW_HEAD];
    let server = Server::start(&demo_data("flood-per-client"), &settings).await;
    let_startup_connection_close().await;
    let mut streams = connect_many(&server, 60).await;
    assert_eq!(
        still_open(&mut streams, Duration::from_secs(2)).await,
        20,
        "the 40 past the cap are closed at once"
    );
    serves(&server, OTHER_CLIENT).await;
    let mut one_more = connect(&server).await;
    assert!(
        closed_within(&mut one_more, Duration::from_secs(2))
            .await
            .is_some(),
        "the client at its cap is still refused"
    );
}

#[tokio::test]
async fn a_full_server_gives_the_place_of_an_idle_connection_to_a_new_client() {
    let settings = [
        ("MAX_CONNECTIONS", "30"),
        ("MAX_CONNECTIONS_PER_CLIENT", "1000"),
        QUICK_IDLE,
        SLOW_HEAD,
    ];
    let server = Server::start(&demo_data("flood-total"), &settings).await;
    let_startup_connection_close().await;
    let mut streams = connect_many(&server, 60).await;
    assert_eq!(
        still_open(&mut streams, Duration::from_secs(2)).await,
        30,
        "never more than MAX_CONNECTIONS open"
    );
    serves(&server, OTHER_CLIENT).await;
    assert_eq!(
        still_open(&mut streams, Duration::from_secs(1)).await,
        29,
        "the new client took one place of the client that held them all"
    );
}

#[tokio::test]
async fn under_a_low_file_limit_the_surplus_is_refused_and_the_server_keeps_answering() {
    let wrapper = prlimit("128:128");
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let settings = [
        ("FILE_HANDLE_RESERVE", "32"),
        ("MAX_CONNECTIONS_PER_CLIENT", "1000"),
        QUICK_IDLE,
        SLOW_HEAD,
    ];
    let server = Server::start_wrapped(&wrapper, &demo_data("flood-files"), &settings).await;
    let_startup_connection_close().await;
    let mut streams = connect_many(&server, 300).await;
    serves(&server, OTHER_CLIENT).await;
    let open = still_open(&mut streams, Duration::from_secs(2)).await;
    assert!((80..=96).contains(&open), "{open} of 300 connections open");
    drop(streams);
    serves(&server, "127.0.0.1").await;
    let output = server.stop();
    assert!(
        !output.to_lowercase().contains("too many open files"),
        "{output}"
    );
    assert!(
        output.contains("max_connections=96"),
        "the cap is the limit less the reserve:\n{output}"
    );
}

#[tokio::test]
async fn the_soft_file_limit_is_raised_to_the_hard_one() {
    let wrapper = prlimit("256:2048");
    let wrapper: Vec<&str> = wrapper.iter().map(String::as_str).collect();
    let server = Server::start_wrapped(&wrapper, &demo_data("flood-rlimit"), &[]).await;
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let open_files: Vec<&str> = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(open_files[..2], ["2048", "2048"], "{limits}");
    let output = server.output();
    assert!(
        output.contains("was=256 soft=2048 hard=2048"),
        "the raise is logged:\n{output}"
    );
}

#[tokio::test]
async fn a_tls_handshake_that_does_not_finish_is_closed_after_its_timeout() {
    let data = demo_data("flood-tls");
    let (cert, key, client) = common::certificate(data.parent().unwrap());
    let settings = [
        ("TLS_CERT", cert.to_str().unwrap()),
        ("TLS_KEY", key.to_str().unwrap()),
        ("TLS_HANDSHAKE_TIMEOUT_SECS", "1"),
        ("HEADER_READ_TIMEOUT_SECS", "60"),
        ("MAX_CONNECTIONS_PER_CLIENT", "10"),
    ];
    let server = Server::start_with(&data, &settings, "https", client).await;
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(connect(&server).await);
    }
    assert_eq!(
        still_open(&mut silent, Duration::from_secs(6)).await,
        0,
        "connections that never say hello are closed"
    );
    let health = server.client.get(server.url("/healthz")).send().await;
    assert_eq!(health.unwrap().status(), 200, "HTTPS is still served");
}

#[tokio::test]
async fn the_connection_settings_are_listed_and_checked() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_example-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let settings = [
        ("HEADER_READ_TIMEOUT_SECS", "0"),
        ("IDLE_TIMEOUT_SECS", "0"),
        ("TLS_HANDSHAKE_TIMEOUT_SECS", "0"),
        ("MAX_HEADER_BYTES", "100"),
        ("MAX_CONNECTIONS", "0"),
        ("MAX_CONNECTIONS_PER_CLIENT", "0"),
        ("FILE_HANDLE_RESERVE", "2"),
    ];
    for (setting, bad) in settings {
        assert!(help.contains(setting), "--help lacks {setting}");
        let (ok, output) = common::run_to_exit(&[
            ("DATA_FILE", "/nonexistent/data.json"),
            ("PORT", "0"),
            (setting, bad),
        ]);
        assert!(!ok && output.contains(setting), "{setting}={bad}: {output}");
    }
    assert!(
        help.contains("HSTS_MAX_AGE_SECS"),
        "--help lacks HSTS_MAX_AGE_SECS"
    );
}
