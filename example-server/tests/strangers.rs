//! On the real server: a stranger who knows only a user's number cannot spoil the user's reset,
//! and the log does not tell them apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, demo_data};
use serde_json::json;

const JOHN: (&str, &str) = ("John Doe", "081234567890");

/// A client whose requests come from `address` (another loopback address is another client).
fn client_from(address: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(address.parse().unwrap()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_stranger_who_knows_the_number_cannot_spoil_the_users_reset() {
    let server = Server::start(&demo_data("strangers"), &[]).await;
    let stranger = client_from("127.0.0.1");
    let user = client_from("127.0.0.2");

    let code = server.request_code(JOHN.0, JOHN.1).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _) = server
        .post_as(
            &stranger,
            "/api/forgot-password/request-otp",
            json!({ "nama": "Not John", "noHp": JOHN.1 }),
        )
        .await;
    assert_eq!(status, 200);
    for _ in 0..3 {
        server
            .post_as(
                &stranger,
                "/api/forgot-password/verify-otp",
                json!({ "noHp": JOHN.1, "otp": wrong }),
            )
            .await;
    }
    let (status, body) = server
        .post_as(
            &stranger,
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": code }),
        )
        .await;
    assert_ne!(
        status, 200,
        "the stranger used up their own guesses: {body}"
    );

    let (status, body) = server
        .post_as(
            &user,
            "/api/forgot-password/verify-otp",
            json!({ "noHp": JOHN.1, "otp": code }),
        )
        .await;
    assert_eq!(
        status, 200,
        "the user's code and attempts are whole: {body}"
    );
    let token = body["data"]["resetToken"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        server.post_as(
            &stranger,
            "/api/forgot-password/reset-password",
            json!({ "noHp": JOHN.1, "otp": wrong, "newPassword": "Attacker!1", "confirmPassword": "Attacker!1" }),
        )
        .await;
    }
    let (status, body) = server.post_as(
        &user,
        "/api/forgot-password/reset-password",
        json!({ "noHp": JOHN.1, "resetToken": token, "newPassword": "NewSecret!9", "confirmPassword": "NewSecret!9" }),
    )
    .await;
    assert_eq!(status, 200, "no guess revoked the token: {body}");
    assert_eq!(server.login(JOHN.1, "NewSecret!9").await, 200);

    let log = server.stop();
    assert!(
        !log.contains("known user") && !log.contains("known_user"),
        "the log does not say which pair is a user's:\n{log}"
    );
    assert!(
        log.contains("console sender prints every code"),
        "the console sender warns at start:\n{log}"
    );
}
