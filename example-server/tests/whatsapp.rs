//! The example server with `OTP_SENDER=whatsapp`: the real WhatsApp sender in real Chromium,
//! against the offline imitation of WhatsApp Web, through the whole forgot-password flow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, demo_data, fresh_dir};
use serde_json::{Value, json};
use whatsapp_imitation::Imitation;

const TOKEN: &str = "operator-token-for-tests";

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

async fn wait_for_status(server: &Server, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let status = bot_status(server).await;
        if status["status"] == wanted {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "bot-status never became {wanted}: {status}\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_over_whatsapp_after_the_operator_links_it_by_qr() {
    let imitation = Imitation::start().await;
    imitation.register("6281234567890");
    let sessions = fresh_dir("whatsapp-server-sessions");
    let server = Server::start(
        &demo_data("whatsapp-server"),
        &[
            ("OTP_SENDER", "whatsapp"),
            ("WHATSAPP_URL", &imitation.url()),
            ("WHATSAPP_SESSION_DIR", sessions.to_str().unwrap()),
            ("ADMIN_TOKEN", TOKEN),
        ],
    )
    .await;
    wait_for_status(&server, "WAITING_FOR_QR").await;

    // The QR code is for the operator only.
    let qr = server.url("/admin/whatsapp/qr.svg");
    assert_eq!(server.client.get(&qr).send().await.unwrap().status(), 401);
    assert_eq!(
        server
            .client
            .get(&qr)
            .bearer_auth("wrong-token-wrong-token")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let shown = server
        .client
        .get(&qr)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/svg+xml");
    assert_eq!(shown.headers()["cache-control"], "no-store");

    // Before the link, codes cannot be sent: every phone gets 503.
    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": "John Doe", "noHp": "081234567890" }),
        )
        .await;
    assert_eq!(status, 503, "{body}");

    let secret_qr = imitation.current_qr().expect("a QR code is shown");
    assert!(imitation.scan());
    wait_for_status(&server, "READY").await;
    assert_eq!(bot_status(&server).await["ready"], true);

    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": "John Doe", "noHp": "081234567890" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while imitation.sent().is_empty() {
        assert!(
            Instant::now() < deadline,
            "no WhatsApp message was sent:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let message = imitation.sent().remove(0);
    assert_eq!(message.to, "6281234567890@c.us");
    let code: String = message.text.split('*').nth(1).unwrap().to_owned();
    assert!(message.text.contains("15 menit"), "{}", message.text);

    let (status, _) = server
        .post(
            "/api/forgot-password/verify-otp",
            json!({ "noHp": "081234567890", "otp": code }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .post(
            "/api/forgot-password/reset-password",
            json!({ "noHp": "081234567890", "otp": code, "newPassword": "lewatWhatsApp1", "confirmPassword": "lewatWhatsApp1" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(server.login("081234567890", "lewatWhatsApp1").await, 200);

    // The password-changed notice goes over WhatsApp too.
    let deadline = Instant::now() + Duration::from_secs(20);
    while imitation.sent().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "no password-changed notice:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(imitation.sent()[1].text.contains("Jika ini bukan Anda"));

    let output = server.stop();
    assert!(
        !output.contains(&secret_qr),
        "the QR code's text never reaches the log"
    );
    assert!(
        !output.contains(&format!("*{code}*")),
        "the code never reaches the log"
    );
}
