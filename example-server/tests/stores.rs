//! The stores the server runs on, picked by its settings: with `OTP_STORE=memory` the codes and
//! per-phone limits stay in memory while users and their new passwords are in the data file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Server, demo_data};
use serde_json::{Value, json};

const JOHN: (&str, &str) = ("John Doe", "081234567890");
const SITI: (&str, &str) = ("Siti Rahma", "081298765432");

#[tokio::test]
async fn with_codes_in_memory_a_reset_reaches_the_data_file_and_no_code_does() {
    let data = demo_data("otp-store-memory");
    let settings = [("OTP_STORE", "memory")];
    let server = Server::start(&data, &settings).await;
    server.reset_password(JOHN.0, JOHN.1, "sandiBaru#1").await;
    assert_eq!(server.login(JOHN.1, "sandiBaru#1").await, 200);
    let code = server.request_code(SITI.0, SITI.1).await;
    server.stop();

    let file: Value = serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    assert_eq!(file["otps"], json!([]), "no code in the data file");
    assert!(
        file.get("otpLimits").is_none(),
        "no limits in the data file"
    );

    let restarted = Server::start(&data, &settings).await;
    assert_eq!(
        restarted.login(JOHN.1, "sandiBaru#1").await,
        200,
        "the new password is in the data file"
    );
    let (status, body) = restarted
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": SITI.1, "otp": code }),
        )
        .await;
    assert_ne!(status, 200, "a restart forgets the codes in flight: {body}");
    restarted.stop();
}
