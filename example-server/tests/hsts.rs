//! Answers over HTTPS carry `Strict-Transport-Security`; answers over plain HTTP do not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, demo_data};
use serde_json::json;

const HSTS: &str = "strict-transport-security";

#[tokio::test]
async fn every_https_answer_carries_hsts() {
    let data = demo_data("hsts");
    let (cert, key, client) = common::certificate(data.parent().unwrap());
    let settings = [
        ("TLS_CERT", cert.to_str().unwrap()),
        ("TLS_KEY", key.to_str().unwrap()),
    ];
    let server = Server::start_with(&data, &settings, "https", client).await;
    let answers = [
        server.client.get(server.url("/healthz")).send().await,
        server.client.get(server.url("/no-such-page")).send().await,
        server
            .client
            .post(server.url("/api/auth/login"))
            .json(&json!({ "noHp": "081234567890", "password": "wrong" }))
            .send()
            .await,
    ];
    for answer in answers {
        let answer = answer.unwrap();
        assert_eq!(
            answer.headers().get(HSTS).unwrap(),
            "max-age=31536000",
            "{}",
            answer.url()
        );
    }
}

#[tokio::test]
async fn hsts_max_age_is_a_setting() {
    let data = demo_data("hsts-setting");
    let (cert, key, client) = common::certificate(data.parent().unwrap());
    let settings = [
        ("TLS_CERT", cert.to_str().unwrap()),
        ("TLS_KEY", key.to_str().unwrap()),
        ("HSTS_MAX_AGE_SECS", "600"),
    ];
    let server = Server::start_with(&data, &settings, "https", client).await;
    let answer = server
        .client
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers().get(HSTS).unwrap(), "max-age=600");
}

#[tokio::test]
async fn plain_http_answers_carry_no_hsts() {
    let server = Server::start(&demo_data("no-hsts"), &[("HSTS_MAX_AGE_SECS", "600")]).await;
    for path in ["/healthz", "/no-such-page", "/"] {
        let answer = server.client.get(server.url(path)).send().await.unwrap();
        assert!(answer.headers().get(HSTS).is_none(), "{path}");
    }
}
