//! Runs the real `example-server` binary on a free loopback port with a data file of its own.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A fresh folder under cargo's temporary folder for tests.
pub fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(name)
        .join(format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the shipped demo data file in a fresh folder.
pub fn demo_data(name: &str) -> PathBuf {
    let path = fresh_dir(name).join("data.json");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../data/data.json"),
        &path,
    )
    .unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Spawns `command` with its standard error on a pseudo-terminal when `on_terminal` (as when an
/// operator runs it by hand: what it prints only for a person, the WhatsApp QR code, lands
/// there), and collects everything it prints, line by line.
pub fn spawn_collecting(mut command: Command, on_terminal: bool) -> (Child, Arc<Mutex<String>>) {
    let mut terminal = None;
    if on_terminal {
        let size = nix::pty::Winsize {
            ws_row: 80,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&size, None).unwrap();
        command.stderr(Stdio::from(pty.slave));
        terminal = Some(std::fs::File::from(pty.master));
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    // The child holds its own copy of the terminal's far end; ours goes with `command`.
    drop(command);
    let output = Arc::new(Mutex::new(String::new()));
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        terminal.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut output = output.lock().unwrap();
                output.push_str(&line);
                output.push('\n');
            }
        });
    }
    (child, output)
}

/// A `--sender-worker` process (it serves no site), its output collected.
pub struct Worker {
    child: Child,
    output: Arc<Mutex<String>>,
}

impl Worker {
    /// Starts the worker with `env` only, on a terminal when `on_terminal`.
    pub fn start(env: &[(&str, &str)], on_terminal: bool) -> Worker {
        let mut command = Command::new(env!("CARGO_BIN_EXE_example-server"));
        command
            .arg("--sender-worker")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let (child, output) = spawn_collecting(command, on_terminal);
        Worker { child, output }
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Each code the worker's console sender printed, with the number it went to (E.164
    /// digits), in order.
    pub fn codes(&self) -> Vec<(String, String)> {
        self.output()
            .lines()
            .filter(|line| line.contains("[console sender] to +"))
            .filter_map(|line| {
                let to = line.split("to +").nth(1)?.split(':').next()?.to_owned();
                let code = line.split("Anda: *").nth(1)?.split('*').next()?.to_owned();
                Some((to, code))
            })
            .collect()
    }

    /// SIGKILL: the worker dies wherever it is.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running server process.
pub struct Server {
    child: Child,
    pub port: u16,
    scheme: &'static str,
    pub data_file: PathBuf,
    output: Arc<Mutex<String>>,
    pub client: reqwest::Client,
}

impl Server {
    /// Starts the server on `data_file` with extra environment settings, and waits for it.
    pub async fn start(data_file: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_with(data_file, env, "http", reqwest::Client::new()).await
    }

    /// As [`Server::start`], run by `wrapper` (such as `["prlimit", "--nofile=64:64", "--"]`),
    /// which must run the binary it is given in its own place (so that [`Server::pid`] is the
    /// server's).
    pub async fn start_wrapped(wrapper: &[&str], data_file: &Path, env: &[(&str, &str)]) -> Server {
        Self::spawn(
            wrapper,
            data_file,
            env,
            "http",
            reqwest::Client::new(),
            false,
            true,
        )
        .await
    }

    /// As [`Server::start`], with standard error on a terminal (a pseudo-terminal this test
    /// reads), as when an operator runs the server by hand: what the server prints only for a
    /// person at a terminal (the WhatsApp QR code) lands in [`Server::output`].
    pub async fn start_on_terminal(data_file: &Path, env: &[(&str, &str)]) -> Server {
        Self::spawn(
            &[],
            data_file,
            env,
            "http",
            reqwest::Client::new(),
            true,
            true,
        )
        .await
    }

    /// As [`Server::start`], waiting only until the server answers at all (its `/healthz` may
    /// say 503: a store it runs on is down).
    pub async fn start_unhealthy(data_file: &Path, env: &[(&str, &str)]) -> Server {
        Self::spawn(
            &[],
            data_file,
            env,
            "http",
            reqwest::Client::new(),
            false,
            false,
        )
        .await
    }

    /// As [`Server::start`], serving `scheme` and answering to `client`.
    pub async fn start_with(
        data_file: &Path,
        env: &[(&str, &str)],
        scheme: &'static str,
        client: reqwest::Client,
    ) -> Server {
        Self::spawn(&[], data_file, env, scheme, client, false, true).await
    }

    async fn spawn(
        wrapper: &[&str],
        data_file: &Path,
        env: &[(&str, &str)],
        scheme: &'static str,
        client: reqwest::Client,
        terminal: bool,
        healthy: bool,
    ) -> Server {
        let port = free_port();
        let binary = env!("CARGO_BIN_EXE_example-server");
        let mut command = match wrapper {
            [] => Command::new(binary),
            [program, args @ ..] => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
        };
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("BIND", "127.0.0.1")
            .env("DATA_FILE", data_file)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let (child, output) = spawn_collecting(command, terminal);
        let server = Server {
            child,
            port,
            scheme,
            data_file: data_file.to_owned(),
            output,
            client,
        };
        server.wait_until_healthy(healthy).await;
        server
    }

    /// Waits until `/healthz` says 200 (or, unless `healthy`, answers at all).
    async fn wait_until_healthy(&self, healthy: bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let response = self.client.get(self.url("/healthz")).send().await;
            if response.is_ok_and(|r| r.status().is_success() || !healthy) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the server did not become healthy; its output:\n{}",
            self.output()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://localhost:{}{path}", self.scheme, self.port)
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// POSTs JSON; returns the status and the JSON answer.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_as(&self.client, path, body).await
    }

    /// POSTs JSON as `client` (another source address is another client).
    pub async fn post_as(&self, client: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
        let response = client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Requests a code for `(name, phone)` and returns the answer's `requestId`.
    pub async fn request_id(&self, name: &str, phone: &str) -> String {
        let (status, body) = self
            .post(
                "/api/forgot-password/request-otp",
                json!({ "nama": name, "noHp": phone }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["requestId"].as_str().unwrap().to_owned()
    }

    /// The delivery status of the request `id` (`sent`, `delivered`, …).
    pub async fn delivery_status(&self, id: &str) -> String {
        let (status, body) = self
            .post(
                "/api/forgot-password/delivery-status",
                json!({ "requestId": id }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["status"].as_str().unwrap().to_owned()
    }

    /// Requests a code for `(name, phone)` and reads it off the console sender's output.
    pub async fn request_code(&self, name: &str, phone: &str) -> String {
        let before = self.codes_sent().len();
        self.request_id(name, phone).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let codes = self.codes_sent();
            if codes.len() > before {
                return codes[before].clone();
            }
            assert!(
                Instant::now() < deadline,
                "no code was printed:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every code the console sender printed, in order.
    pub fn codes_sent(&self) -> Vec<String> {
        self.output()
            .lines()
            .filter_map(|line| line.split("Anda: *").nth(1))
            .filter_map(|rest| rest.split('*').next())
            .map(str::to_owned)
            .collect()
    }

    /// The whole forgot-password flow for one user.
    pub async fn reset_password(&self, name: &str, phone: &str, new_password: &str) {
        let code = self.request_code(name, phone).await;
        let (status, body) = self
            .post(
                "/api/forgot-password/verify-otp",
                json!({ "noHp": phone, "otp": code }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = self
            .post(
                "/api/forgot-password/reset-password",
                json!({ "noHp": phone, "otp": code, "newPassword": new_password, "confirmPassword": new_password }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    pub async fn login(&self, phone: &str, password: &str) -> u16 {
        self.post(
            "/api/auth/login",
            json!({ "noHp": phone, "password": password }),
        )
        .await
        .0
    }

    /// SIGTERM, and waits for a clean exit.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "the server did not stop cleanly ({status}):\n{}",
            self.output()
        );
        self.output()
    }

    /// SIGKILL: the process dies wherever it is.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A self-signed certificate for `localhost` written into `dir`: its PEM files (for `TLS_CERT`
/// and `TLS_KEY`) and a client that trusts it.
pub fn certificate(dir: &Path) -> (PathBuf, PathBuf, reqwest::Client) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(certified.cert.pem().as_bytes()).unwrap(),
        )
        .build()
        .unwrap();
    (cert, key, client)
}

/// Runs the binary to completion with `env` and returns its exit status and output.
pub fn run_to_exit(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_example-server"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BIND", "127.0.0.1");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[path = "../../../otp-reset-json/tests/common/tmpfs.rs"]
mod tmpfs;
#[allow(unused_imports)]
pub use tmpfs::{Tmpfs, is_root};

/// A data file of `count` users (`Pengguna {i}`, `phone(i)`), each with the password
/// `password(i)` as stored (plain text or a hash), numbers as the store writes them.
pub fn write_users(path: &Path, count: usize, password: impl Fn(usize) -> String) {
    let users: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "id": i + 1,
                "nama": format!("Pengguna {i}"),
                "email": format!("u{i}@example.com"),
                "noHp": format!("628125{i:07}"),
                "password": password(i),
            })
        })
        .collect();
    std::fs::write(
        path,
        serde_json::to_vec_pretty(&json!({ "users": users, "otps": [] })).unwrap(),
    )
    .unwrap();
}

/// User `i`'s number as a user types it.
pub fn phone(i: usize) -> String {
    format!("08125{i:07}")
}

/// User `i`'s number as the data file holds it.
pub fn stored_phone(i: usize) -> String {
    format!("628125{i:07}")
}

/// Polls `check` every 100 ms until it holds; fails with `what` after `bound`.
pub async fn wait_for(what: &str, bound: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + bound;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
