//! Two example-server instances on one Redis and one PostgreSQL, with one sender worker: what a
//! site that outgrew one machine runs. Every limit and guarantee holds across the instances, and
//! killing a process loses nothing it acknowledged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, Worker, fresh_dir, phone, stored_phone, write_users};
use serde_json::{Value, json};
use whatsapp_imitation::Imitation;

const SECRET: &str = "a-shared-secret-for-the-scale-out-tests-0123456789";

fn redis_url() -> String {
    std::env::var("OTP_RESET_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn postgres_url() -> String {
    std::env::var("OTP_RESET_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// One Redis prefix, one PostgreSQL database with `users` imported, the settings every process
/// of the deployment shares.
struct Deployment {
    env: Vec<(String, String)>,
    database: String,
    prefix: String,
    dir: std::path::PathBuf,
}

impl Deployment {
    async fn new(name: &str, users: usize) -> Deployment {
        let unique = format!("{name}_{}_{}", std::process::id(), rand_suffix());
        let database = format!("otp_reset_{unique}");
        let mut admin = admin_connection().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE \"{database}\""
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        let user_store = database_url(&database);
        let prefix = format!("otp-reset-test:{unique}:");
        let dir = fresh_dir(name);
        let env = vec![
            ("OTP_STORE".into(), redis_url()),
            ("REDIS_KEY_PREFIX".into(), prefix.clone()),
            ("USER_STORE".into(), user_store),
            ("OTP_SENDER".into(), "queue".into()),
            ("SENDER_QUEUE_URL".into(), redis_url()),
            ("SENDER_QUEUE_PREFIX".into(), format!("{prefix}queue:")),
            ("OTP_SECRET".into(), SECRET.into()),
            ("WORKER_SENDER".into(), "console".into()),
        ];
        let deployment = Deployment {
            env,
            database,
            prefix,
            dir,
        };
        let data = deployment.dir.join("users.json");
        write_users(&data, users, |i| format!("sandi-lama-{i}"));
        deployment.import(&data);
        deployment
    }

    fn import(&self, data: &std::path::Path) {
        let output = Command::new(env!("CARGO_BIN_EXE_example-server"))
            .arg("--import-users")
            .arg(data)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "the import failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn env(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = self.env.clone();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }

    async fn instance(&self, extra: &[(&str, &str)]) -> Server {
        let env = self.env(extra);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // Each instance keeps its own (empty) data file: every user and code is elsewhere.
        let data_file = fresh_dir("scale-out-instance").join("data.json");
        std::fs::write(&data_file, r#"{"users":[],"otps":[]}"#).unwrap();
        Server::start(&data_file, &pairs).await
    }

    fn worker(&self, extra: &[(&str, &str)]) -> Worker {
        self.worker_with(extra, false)
    }

    fn worker_on_terminal(&self, extra: &[(&str, &str)]) -> Worker {
        self.worker_with(extra, true)
    }

    fn worker_with(&self, extra: &[(&str, &str)], on_terminal: bool) -> Worker {
        let env = self.env(extra);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Worker::start(&pairs, on_terminal)
    }

    async fn finish(self) {
        let mut admin = admin_connection().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.database
        )))
        .execute(&mut admin)
        .await;
        let client = redis::Client::open(redis_url()).unwrap();
        let mut redis = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query_async(&mut redis)
            .await
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut redis).await;
        }
    }
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(Instant::now().elapsed().as_nanos() as u64);
    hasher.finish() as u32
}

fn database_url(database: &str) -> String {
    let base = postgres_url();
    let (server, _) = base.rsplit_once('/').unwrap();
    format!("{server}/{database}")
}

async fn admin_connection() -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&postgres_url()).await.unwrap_or_else(|e| {
        panic!(
            "cannot reach PostgreSQL at {} ({e}): start it (apt-get install postgresql), or set \
             OTP_RESET_TEST_DATABASE_URL",
            postgres_url()
        )
    })
}

/// Waits until the worker printed a code for `stored` (the number as the store keeps it).
async fn code_for(worker: &Worker, stored: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((_, code)) = worker
            .codes()
            .into_iter()
            .rev()
            .find(|(to, _)| to == stored)
        {
            return code;
        }
        assert!(
            Instant::now() < deadline,
            "the worker printed no code for {stored}:\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn request(server: &Server, i: usize) -> (u16, Value) {
    server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": format!("Pengguna {i}"), "noHp": phone(i) }),
        )
        .await
}

async fn bot_status(server: &Server) -> Value {
    server
        .client
        .get(server.url("/api/forgot-password/bot-status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until the instance sees the worker `READY`.
async fn wait_until_ready(server: &Server, worker: &Worker) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = bot_status(server).await;
        if status["status"] == "READY" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the instance never saw the worker READY: {status}\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Two instances and a console worker on a fresh deployment of `users` users.
async fn two_instances(
    name: &str,
    users: usize,
    extra: &[(&str, &str)],
) -> (Deployment, Worker, Server, Server) {
    let deployment = Deployment::new(name, users).await;
    let worker = deployment.worker(&[]);
    let a = deployment.instance(extra).await;
    let b = deployment.instance(extra).await;
    wait_until_ready(&a, &worker).await;
    wait_until_ready(&b, &worker).await;
    (deployment, worker, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_cooldown_and_a_single_reset_hold_across_two_instances() {
    let (deployment, worker, a, b) =
        two_instances("across", 2, &[("CLIENT_RATE_LIMIT_PER_MIN", "0")]).await;

    // The cooldown: a code asked for on A holds B back.
    assert_eq!(request(&a, 0).await.0, 200);
    let (status, body) = request(&b, 0).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("cooldown")),
        "{body}"
    );
    let code = code_for(&worker, &stored_phone(0)).await;

    // Wrong guesses count on one code, whichever instance takes them.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for (server, left) in [(&a, 2), (&b, 1), (&a, 0)] {
        let (status, body) = server
            .post(
                "/api/forgot-password/verify-otp",
                json!({ "noHp": phone(0), "otp": wrong }),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["attemptsLeft"], left, "{body}");
    }
    let (status, body) = b
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": phone(0), "otp": code }),
        )
        .await;
    assert_eq!(
        status, 400,
        "the attempts are used up on both instances: {body}"
    );

    // One code, verified on A, resets the password once, whatever races on A and B.
    assert_eq!(request(&b, 1).await.0, 200);
    let code = code_for(&worker, &stored_phone(1)).await;
    let (status, body) = a
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": phone(1), "otp": code }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["data"]["resetToken"].as_str().unwrap().to_owned();
    let resets = (0..8).map(|n| {
        let server = if n % 2 == 0 { &a } else { &b };
        let password = format!("sandi-baru-{n}");
        let body = json!({
            "noHp": phone(1), "resetToken": token,
            "newPassword": password, "confirmPassword": password,
        });
        async move {
            (
                server
                    .post("/api/forgot-password/reset-password", body)
                    .await
                    .0,
                n,
            )
        }
    });
    let outcomes = futures_util::future::join_all(resets).await;
    let winners: Vec<usize> = outcomes
        .iter()
        .filter(|(s, _)| *s == 200)
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one reset: {outcomes:?}");
    let password = format!("sandi-baru-{}", winners[0]);
    assert_eq!(b.login(&phone(1), &password).await, 200);
    assert_eq!(a.login(&phone(1), &password).await, 200);
    assert_eq!(a.login(&phone(1), "sandi-lama-1").await, 401);
    drop((a, b, worker));
    deployment.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_limit_holds_across_two_instances() {
    let (deployment, worker, a, b) =
        two_instances("client-limit", 1, &[("CLIENT_RATE_LIMIT_PER_MIN", "6")]).await;
    let mut passed = 0;
    for n in 0..12 {
        let server = if n % 2 == 0 { &a } else { &b };
        let (status, _) = server
            .post(
                "/api/forgot-password/verify-otp",
                json!({ "noHp": format!("0813{:08}", 5_000 + n), "otp": "123456" }),
            )
            .await;
        if status != 429 {
            passed += 1;
        }
    }
    assert_eq!(
        passed, 6,
        "one client's quota, counted once across both instances"
    );
    drop((a, b, worker));
    deployment.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_delivers_every_code_from_both_instances_once() {
    const USERS: usize = 10;
    let (deployment, worker, a, b) =
        two_instances("deliver", USERS, &[("CLIENT_RATE_LIMIT_PER_MIN", "0")]).await;
    let requests = (0..USERS).map(|i| {
        let server = if i % 2 == 0 { &a } else { &b };
        async move { request(server, i).await.0 }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    for i in 0..USERS {
        code_for(&worker, &stored_phone(i)).await;
    }
    // Room for a duplicate to show up before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let codes = worker.codes();
    for i in 0..USERS {
        let copies = codes
            .iter()
            .filter(|(to, _)| *to == stored_phone(i))
            .count();
        assert_eq!(copies, 1, "user {i}'s code, once:\n{}", worker.output());
    }
    drop((a, b, worker));
    deployment.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_instance_mid_burst_loses_nothing_it_acknowledged() {
    const USERS: usize = 48;
    /// Answers A gives before it is killed: the rest of the burst is in flight or unread.
    const KILL_AFTER: usize = 12;
    let (deployment, worker, a, b) = two_instances(
        "kill-instance",
        USERS,
        &[("CLIENT_RATE_LIMIT_PER_MIN", "0")],
    )
    .await;
    let a_url = a.url("/api/forgot-password/request-otp");
    let client = reqwest::Client::new();
    let (enough, answered) = tokio::sync::oneshot::channel::<()>();
    let enough = Arc::new(Mutex::new((0, Some(enough))));
    let burst: Vec<_> = (0..USERS)
        .map(|i| {
            let (client, url, enough) = (client.clone(), a_url.clone(), Arc::clone(&enough));
            tokio::spawn(async move {
                let sent = client
                    .post(url)
                    .json(&json!({ "nama": format!("Pengguna {i}"), "noHp": phone(i) }))
                    .send()
                    .await;
                let status = match sent {
                    Ok(response) => Some(response.status().as_u16()),
                    Err(_) => None,
                };
                if status == Some(200) {
                    let mut enough = enough.lock().unwrap();
                    enough.0 += 1;
                    if enough.0 >= KILL_AFTER
                        && let Some(signal) = enough.1.take()
                    {
                        let _ = signal.send(());
                    }
                }
                (i, status)
            })
        })
        .collect();
    let _ = answered.await;
    a.kill_hard();
    let mut acknowledged = Vec::new();
    for request in burst {
        let (i, status) = request.await.unwrap();
        if status == Some(200) {
            acknowledged.push(i);
        }
    }
    assert!(!acknowledged.is_empty());
    // Every code A acknowledged reaches the user, and verifies on B.
    for &i in &acknowledged {
        let code = code_for(&worker, &stored_phone(i)).await;
        let (status, body) = b
            .post(
                "/api/forgot-password/verify-otp",
                json!({ "noHp": phone(i), "otp": code }),
            )
            .await;
        assert_eq!(status, 200, "user {i}'s acknowledged code: {body}");
    }
    eprintln!(
        "{} of {USERS} requests acknowledged before the kill",
        acknowledged.len()
    );
    drop((b, worker));
    deployment.finish().await;
}

/// Scans the QR code the worker draws on its terminal, once all of it is there.
async fn link_by_qr(imitation: &Imitation, worker: &Worker) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let qr = loop {
        let output = worker.output();
        if let Some(start) = output.rfind("Scan this QR code")
            && Imitation::read_terminal(&output[start..]).is_ok()
        {
            break output[start..].to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "the worker showed no QR code:\n{output}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    imitation.scan_terminal(&qr).unwrap();
}

/// Chromium writes a page's storage to the profile seconds after a change: a kill right after
/// linking would lose the session. Waits until the pairing token is in the profile's files.
async fn let_chromium_save_the_session(imitation: &Imitation, sessions: &std::path::Path) {
    let storage = sessions.join("session-default/Default/Local Storage/leveldb");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let files: Vec<Vec<u8>> = std::fs::read_dir(&storage)
            .map(|entries| {
                entries
                    .filter_map(|entry| std::fs::read(entry.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        let saved = imitation.pairing_tokens().iter().any(|token| {
            let latin1 = token.as_bytes().to_vec();
            let utf16: Vec<u8> = token.encode_utf16().flat_map(u16::to_le_bytes).collect();
            files.iter().any(|bytes| {
                [&latin1, &utf16]
                    .iter()
                    .any(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_slice()))
            })
        });
        if saved {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Chromium did not save the session in {}",
            storage.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Kills the Chromium that a killed worker left behind on its session folder, and waits until
/// every one of its processes is gone (a live one would keep the profile from the next).
fn kill_browsers_of(sessions: &std::path::Path) {
    let needle = sessions.to_string_lossy().into_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &needle])
            .status();
        let alive = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
            .any(|cmdline| String::from_utf8_lossy(&cmdline).contains(&needle));
        if !alive {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Chromium on {needle} did not die"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_send_delivers_every_code_exactly_once() {
    let imitation = Imitation::start().await;
    for i in 0..2 {
        imitation.register(&stored_phone(i));
    }
    let deployment = Deployment::new("kill-worker", 2).await;
    let sessions = fresh_dir("kill-worker-sessions");
    let worker_env = [
        ("WORKER_SENDER", "whatsapp"),
        ("WHATSAPP_URL", &imitation.url()),
        ("WHATSAPP_SESSION_DIR", sessions.to_str().unwrap()),
        // The shortest the worker takes: longer than a WhatsApp send may last.
        ("SENDER_CLAIM_TIMEOUT_SECS", "65"),
    ];
    let worker = deployment.worker_on_terminal(&worker_env);
    link_by_qr(&imitation, &worker).await;
    let a = deployment
        .instance(&[("CLIENT_RATE_LIMIT_PER_MIN", "0")])
        .await;
    wait_until_ready(&a, &worker).await;
    let_chromium_save_the_session(&imitation, &sessions).await;

    // The first code is created in WhatsApp and held there before WhatsApp acknowledges it;
    // the second waits in the stream behind it. Then the worker dies.
    imitation.hold_sends();
    assert_eq!(request(&a, 0).await.0, 200);
    assert_eq!(request(&a, 1).await.0, 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    while imitation.held_sends().is_empty() {
        assert!(
            Instant::now() < deadline,
            "nothing was sent:\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    worker.kill_hard();
    kill_browsers_of(&sessions);
    imitation.release_sends();

    // A new worker on the kept session (no QR code), and every code once.
    let worker = deployment.worker(&worker_env);
    let to = |i: usize| format!("{}@c.us", stored_phone(i));
    let deadline = Instant::now() + Duration::from_secs(150);
    loop {
        let sent = imitation.sent();
        if (0..2).all(|i| sent.iter().any(|m| m.to == to(i))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not every code reached WhatsApp: {sent:?}\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The first entry is taken over once the claim timeout passed: wait for its verdict.
    let deadline = Instant::now() + Duration::from_secs(150);
    while !worker.output().contains("not sent again") && !worker.output().contains("already") {
        assert!(
            Instant::now() < deadline,
            "the new worker never took over the first entry:\n{}",
            worker.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sent = imitation.sent();
    for i in 0..2 {
        let copies = sent.iter().filter(|m| m.to == to(i)).count();
        assert_eq!(
            copies,
            1,
            "code {i} exactly once: {sent:?}\n{}",
            worker.output()
        );
    }
    drop((a, worker));
    kill_browsers_of(&sessions);
    deployment.finish().await;
}
