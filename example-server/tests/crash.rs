//! `kill -9` in the middle of a burst of resets loses nothing that was acknowledged, and never
//! leaves a half-written data file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use common::{Server, fresh_dir};
use otp_reset::{PasswordCheck, Passwords};
use serde_json::{Value, json};

const USERS: usize = 200;
const CLIENTS: usize = 8;

fn phone(i: usize) -> String {
    format!("08125{i:07}")
}

fn new_password(i: usize) -> String {
    format!("baru-{i}-rahasia")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_of_resets_keeps_every_acknowledged_one() {
    let data = fresh_dir("crash").join("data.json");
    let users: Vec<Value> = (0..USERS)
        .map(|i| json!({ "id": i + 1, "nama": format!("Pengguna {i}"), "email": format!("u{i}@example.com"), "noHp": phone(i), "password": "lama123" }))
        .collect();
    std::fs::write(
        &data,
        serde_json::to_vec_pretty(&json!({ "users": users, "otps": [] })).unwrap(),
    )
    .unwrap();

    let server = Arc::new(
        Server::start(
            &data,
            &[
                ("DEV_EXPOSE_OTP", "1"),
                ("CLIENT_RATE_LIMIT_PER_MIN", "0"),
                // 200 codes at once: far past the site's default send budget.
                ("OTP_SITE_SENDS_PER_HOUR", "0"),
            ],
        )
        .await,
    );
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let (server, acknowledged) = (Arc::clone(&server), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                for i in (client..USERS).step_by(CLIENTS) {
                    if !reset(&server, i).await {
                        return;
                    }
                    acknowledged.lock().unwrap().push(i);
                }
            })
        })
        .collect();

    // Let a good part of the burst land, then kill the process wherever it is.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(
            std::time::Instant::now() < deadline && clients.iter().any(|c| !c.is_finished()),
            "the burst stopped before 40 resets:\n{}",
            server.output()
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    std::process::Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()
        .unwrap();
    for client in clients {
        client.await.unwrap();
    }
    drop(server);
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 40 && acknowledged.len() < USERS,
        "the kill came mid-burst ({} acknowledged)",
        acknowledged.len()
    );

    let on_disk: Value = serde_json::from_slice(&std::fs::read(&data).unwrap())
        .expect("the data file is valid JSON after kill -9");
    assert_eq!(on_disk["users"].as_array().unwrap().len(), USERS);

    // A restart folds the journal back into the data file.
    Server::start(&data, &[]).await.stop();
    let after: Value = serde_json::from_slice(&std::fs::read(&data).unwrap()).unwrap();
    let passwords = Passwords::default();
    for &i in &acknowledged {
        let stored = after["users"][i]["password"].as_str().unwrap();
        let check = passwords.verify(&new_password(i), stored).await.unwrap();
        assert!(
            matches!(check, PasswordCheck::Match { .. }),
            "acknowledged reset of user {i} was lost"
        );
    }
}

/// The whole flow for user `i`; `false` once the server is gone.
async fn reset(server: &Server, i: usize) -> bool {
    let post = |path: &'static str, body: Value| async move {
        let response = server
            .client
            .post(server.url(path))
            .json(&body)
            .send()
            .await
            .ok()?;
        let ok = response.status().is_success();
        let body: Value = response.json().await.ok()?;
        ok.then_some(body)
    };
    let Some(answer) = post(
        "/api/forgot-password/request-otp",
        json!({ "nama": format!("Pengguna {i}"), "noHp": phone(i) }),
    )
    .await
    else {
        return false;
    };
    let code = answer["testOTP"].as_str().unwrap_or_default().to_owned();
    if post(
        "/api/forgot-password/verify-otp",
        json!({ "noHp": phone(i), "otp": code }),
    )
    .await
    .is_none()
    {
        return false;
    }
    let password = new_password(i);
    post("/api/forgot-password/reset-password", json!({ "noHp": phone(i), "otp": code, "newPassword": password, "confirmPassword": password }))
        .await
        .is_some()
}
