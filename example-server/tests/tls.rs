//! With TLS_CERT and TLS_KEY the server speaks HTTPS (rustls).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, demo_data};
use serde_json::Value;

#[tokio::test]
async fn with_a_certificate_and_key_the_server_speaks_https() {
    let data = demo_data("tls");
    let dir = data.parent().unwrap();
    let (cert, key, client) = common::certificate(dir);
    let env = [
        ("TLS_CERT", cert.to_str().unwrap()),
        ("TLS_KEY", key.to_str().unwrap()),
    ];
    let server = Server::start_with(&data, &env, "https", client).await;
    let status: Value = server
        .client
        .get(server.url("/api/forgot-password/bot-status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "READY");
    assert_eq!(server.login("081234567890", "password123").await, 200);

    let plain = reqwest::get(format!("http://localhost:{}/healthz", server.port)).await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );
    server.stop();
}

#[tokio::test]
async fn a_missing_key_file_stops_the_server_with_the_setting_named() {
    let data = demo_data("tls-missing");
    let (ok, output) = common::run_to_exit(&[
        ("DATA_FILE", data.to_str().unwrap()),
        ("PORT", "0"),
        ("TLS_CERT", "/nonexistent/cert.pem"),
        ("TLS_KEY", "/nonexistent/key.pem"),
    ]);
    assert!(!ok);
    assert!(output.contains("TLS_CERT"), "{output}");
}
