//! The example server with `OTP_SENDER=whatsapp`: the real WhatsApp sender in real Chromium,
//! against the offline imitation of WhatsApp Web, through the whole forgot-password flow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Server, demo_data, fresh_dir};
use serde_json::{Value, json};
use whatsapp_imitation::{BlockState, Build, Imitation};

const TOKEN: &str = "operator-token-for-tests";
/// One server with its Chromium at a time: the machine has two cores.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
/// John Doe in the demo data: a number that never chatted with the site.
const JOHN: &str = "6281234567890";
/// Siti Rahma: a number that has a chat with the site already.
const SITI: &str = "6281298765432";

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

async fn wait_for_status(server: &Server, wanted: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let status = bot_status(server).await;
        if status["status"] == wanted {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "bot-status never became {wanted}: {status}\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The QR code the admin page serves to the operator.
async fn admin_qr(server: &Server) -> String {
    let shown = server
        .client
        .get(server.url("/admin/whatsapp/qr.svg"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    assert_eq!(shown.headers()["content-type"], "image/svg+xml");
    assert_eq!(shown.headers()["cache-control"], "no-store");
    shown.text().await.unwrap()
}

/// The last QR code the server drew on its terminal.
fn terminal_qr(server: &Server) -> String {
    let output = server.output();
    let start = output
        .rfind("Scan this QR code")
        .unwrap_or_else(|| panic!("no QR code on the terminal:\n{output}"));
    output[start..].to_owned()
}

/// Waits for the WhatsApp message to `to` (`…@c.us`), and returns its text.
async fn message_to(imitation: &Imitation, server: &Server, to: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(message) = imitation.sent().into_iter().rev().find(|m| m.to == to) {
            return message.text;
        }
        assert!(
            Instant::now() < deadline,
            "no WhatsApp message to {to}:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the server logged a message sent with WhatsApp's id for it.
async fn logged_sent_with_id(server: &Server, id: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server
        .output()
        .lines()
        .any(|line| line.contains("sent to") && line.contains(id))
    {
        assert!(
            Instant::now() < deadline,
            "no log line says message {id} was sent:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The example server sending over WhatsApp Web at `imitation`, with the operator's token; on a
/// terminal when `on_terminal`.
async fn whatsapp_server(imitation: &Imitation, name: &str, on_terminal: bool) -> Server {
    let sessions = fresh_dir(&format!("{name}-sessions"));
    let data_file = demo_data(name);
    let env = [
        ("OTP_SENDER", "whatsapp"),
        ("WHATSAPP_URL", &imitation.url()),
        ("WHATSAPP_SESSION_DIR", sessions.to_str().unwrap()),
        ("ADMIN_TOKEN", TOKEN),
    ];
    if on_terminal {
        Server::start_on_terminal(&data_file, &env).await
    } else {
        Server::start(&data_file, &env).await
    }
}

/// John (no chat with the site yet) and Siti (a chat already) ask for a code: each gets it on
/// WhatsApp, and the server logs it sent with the id WhatsApp Web gave the message.
async fn both_users_get_their_code(imitation: &Imitation, server: &Server) {
    for (name, typed, digits) in [
        ("John Doe", "081234567890", JOHN),
        ("Siti Rahma", "081298765432", SITI),
    ] {
        let (status, body) = server
            .post(
                "/api/forgot-password/request-otp",
                json!({ "nama": name, "noHp": typed }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let text = message_to(imitation, server, &format!("{digits}@c.us")).await;
        assert!(text.contains("15 menit"), "{text}");
        let id = imitation.sent().last().unwrap().id.clone();
        logged_sent_with_id(server, &id).await;
    }
    assert!(imitation.has_chat(JOHN));
}

fn code_in(text: &str) -> String {
    text.split('*').nth(1).unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_flow_over_whatsapp_after_the_operator_links_it_by_qr() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.register_with_chat(SITI);
    let server = whatsapp_server(&imitation, "whatsapp-server", true).await;
    let status = wait_for_status(&server, "WAITING_FOR_QR").await;
    assert_eq!(
        status["adapterVersion"],
        otp_reset_whatsapp::ADAPTER_VERSION
    );
    assert_eq!(status["serviceVersion"], imitation.build().version());

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

    // Before the link, codes cannot be sent: every phone gets 503.
    let (status, body) = server
        .post(
            "/api/forgot-password/request-otp",
            json!({ "nama": "John Doe", "noHp": "081234567890" }),
        )
        .await;
    assert_eq!(status, 503, "{body}");

    // The admin page's picture and the terminal's drawing carry the same whole linking code,
    // and the phone links by scanning the one on the terminal. WhatsApp Web rotates its codes
    // (every 20 s here), so the two are read until they show the same one.
    // The terminal's lines arrive one by one: a drawing read half-way does not decode yet.
    let mut tries = 0;
    let linking_code = loop {
        let from_admin = Imitation::read_svg(&admin_qr(&server).await).unwrap();
        let from_terminal = Imitation::read_terminal(&terminal_qr(&server));
        if let Ok(from_terminal) = from_terminal
            && from_terminal == from_admin
        {
            break from_terminal;
        }
        tries += 1;
        assert!(
            tries < 50,
            "the admin page and the terminal disagree:\n{}",
            terminal_qr(&server)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(linking_code.split(',').count(), 5, "{linking_code}");
    imitation.scan_terminal(&terminal_qr(&server)).unwrap();
    wait_for_status(&server, "READY").await;
    assert_eq!(bot_status(&server).await["ready"], true);

    both_users_get_their_code(&imitation, &server).await;

    let code = code_in(&message_to(&imitation, &server, &format!("{JOHN}@c.us")).await);
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
    while !imitation
        .sent()
        .iter()
        .any(|m| m.text.contains("Jika ini bukan Anda"))
    {
        assert!(
            Instant::now() < deadline,
            "no password-changed notice:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // WhatsApp bans the account: bot-status says so, and keeps saying so.
    imitation.block(BlockState::TosBlock);
    let status = wait_for_status(&server, "FAILED").await;
    assert!(
        status["reason"].as_str().unwrap().contains("TOS_BLOCK"),
        "{status}"
    );
    assert_eq!(status["lastProblem"]["status"], "FAILED");
    assert!(
        status["lastProblem"]["since"].as_str().is_some(),
        "{status}"
    );

    let output = server.stop();
    let log: String = output
        .lines()
        .filter(|line| !line.contains('▀') && !line.contains('▄') && !line.contains('█'))
        .collect();
    assert!(
        !log.contains(&linking_code),
        "the QR code's text never reaches the log"
    );
    assert!(
        !log.contains(&format!("*{code}*")),
        "the code never reaches the log"
    );
}

/// WhatsApp Web builds before 2.3000.1042401057 keep a message key's id in `_serialized`: the
/// codes go out and are logged with their ids there too, and the admin page's picture links.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_go_out_and_are_logged_with_their_ids_on_an_older_whatsapp_web_build() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start_with(Build::KeyWithSerialized).await;
    imitation.register(JOHN);
    imitation.register_with_chat(SITI);
    let server = whatsapp_server(&imitation, "whatsapp-server-older-build", false).await;
    wait_for_status(&server, "WAITING_FOR_QR").await;
    imitation.scan_svg(&admin_qr(&server).await).unwrap();
    let status = wait_for_status(&server, "READY").await;
    assert_eq!(status["serviceVersion"], Build::KeyWithSerialized.version());
    both_users_get_their_code(&imitation, &server).await;
    server.stop();
}

#[tokio::test]
async fn a_bad_adapter_folder_stops_the_server_with_a_message_naming_the_setting() {
    let missing = fresh_dir("adapter-folder").join("not-there");
    let (ok, output) = common::run_to_exit(&[
        ("OTP_SENDER", "whatsapp"),
        ("WHATSAPP_ADAPTER_DIR", missing.to_str().unwrap()),
        ("DATA_FILE", demo_data("adapter-folder").to_str().unwrap()),
        ("PORT", "0"),
    ]);
    assert!(!ok, "{output}");
    assert!(output.contains("WHATSAPP_ADAPTER_DIR"), "{output}");
}

/// SIGTERM right after two codes were asked for: the server sends both before it exits (the
/// outbox is drained within `SHUTDOWN_DRAIN_SECS`), instead of closing WhatsApp Web under them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_queued_when_the_server_is_stopped_are_sent_before_it_exits() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register(JOHN);
    imitation.register_with_chat(SITI);
    let server = whatsapp_server(&imitation, "whatsapp-server-drain", false).await;
    wait_for_status(&server, "WAITING_FOR_QR").await;
    imitation.scan_svg(&admin_qr(&server).await).unwrap();
    wait_for_status(&server, "READY").await;
    for (name, typed) in [("John Doe", "081234567890"), ("Siti Rahma", "081298765432")] {
        let (status, body) = server
            .post(
                "/api/forgot-password/request-otp",
                json!({ "nama": name, "noHp": typed }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let output = server.stop();
    let mut sent: Vec<String> = imitation.sent().into_iter().map(|m| m.to).collect();
    sent.sort();
    assert_eq!(
        sent,
        [format!("{JOHN}@c.us"), format!("{SITI}@c.us")],
        "{output}"
    );
    assert!(
        output.contains("every queued code was handed to the sender"),
        "{output}"
    );
}

/// Asks for a code and follows its delivery status until it is final; returns the statuses seen.
async fn course(server: &Server, name: &str, typed: &str) -> Vec<String> {
    let id = server.request_id(name, typed).await;
    let mut seen: Vec<String> = Vec::new();
    common::wait_for(
        &format!("{name}'s code to reach a final status"),
        Duration::from_secs(30),
        async || {
            let now = server.delivery_status(&id).await;
            if seen.last() != Some(&now) {
                seen.push(now.clone());
            }
            ["delivered", "not_on_whatsapp", "failed"].contains(&now.as_str())
        },
    )
    .await;
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sees_what_became_of_the_code_and_a_stranger_sees_the_same() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    // John is on WhatsApp; Siti's number is not. Of two strangers' numbers, one is.
    imitation.register(JOHN);
    imitation.register("6281311113333");
    let server = whatsapp_server(&imitation, "whatsapp-delivery", false).await;
    wait_for_status(&server, "WAITING_FOR_QR").await;
    imitation.scan_svg(&admin_qr(&server).await).unwrap();
    wait_for_status(&server, "READY").await;

    let john = course(&server, "John Doe", "081234567890").await;
    assert_eq!(john.last().unwrap(), "delivered", "{john:?}");
    let siti = course(&server, "Siti Rahma", "081298765432").await;
    assert_eq!(siti.last().unwrap(), "not_on_whatsapp", "{siti:?}");

    let on_whatsapp = course(&server, "Jane Roe", "081311113333").await;
    assert_eq!(on_whatsapp.last().unwrap(), "delivered", "{on_whatsapp:?}");
    let not_on_whatsapp = course(&server, "Jane Roe", "081311112222").await;
    assert_eq!(not_on_whatsapp.last().unwrap(), "not_on_whatsapp");
    let sent: Vec<String> = imitation.sent().into_iter().map(|m| m.to).collect();
    assert_eq!(sent, [format!("{JOHN}@c.us")], "nothing went to a stranger");
}
