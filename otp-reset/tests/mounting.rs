//! The service mounts in axum with `nest_service` and serves real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::Router;
use axum::body::Body;
use common::{JOHN, RecordingSender, seed_users};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use otp_reset::{ForgotPassword, MemoryOtpStore, MemoryUserStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

fn app() -> Router {
    let service = ForgotPassword::builder(
        MemoryUserStore::from_users(seed_users()),
        MemoryOtpStore::new(),
        RecordingSender::ready(),
    )
    .build()
    .unwrap();
    Router::new().nest_service("/api/forgot-password", service)
}

#[tokio::test]
async fn nested_in_axum_it_answers_under_the_prefix() {
    let request = Request::builder()
        .method("POST")
        .uri("/api/forgot-password/request-otp")
        .header("content-type", "application/json")
        .body(Body::from(format!(
            r#"{{"nama":"{}","noHp":"{}"}}"#,
            JOHN.0, JOHN.1
        )))
        .unwrap();
    let response = app().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["phoneNumber"], "6281234567890");

    let outside = Request::builder()
        .uri("/request-otp")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app().oneshot(outside).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn it_serves_real_http_on_loopback() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app()).await });

    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(b"GET /api/forgot-password/bot-status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    server.abort();

    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/json")
    );
    assert!(answer.contains(r#""status":"READY""#), "{answer}");
}
