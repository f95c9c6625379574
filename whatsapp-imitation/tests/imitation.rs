//! The imitation driven through a real headless Chromium (Debian's `chromium`), read only
//! through the module surface the sender uses (`window.require`, `window.Debug.VERSION`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use serde::Deserialize;
use whatsapp_imitation::{AckBehaviour, Imitation};

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's Chromium (`apt-get install chromium`)",
        path.display()
    );
    path
}

/// A fresh, empty profile folder for one test.
fn fresh_profile(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("whatsapp-imitation")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn launch(profile: &Path) -> Browser {
    let config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .no_sandbox()
        .new_headless_mode()
        .user_data_dir(profile)
        .args([
            "--disable-gpu",
            "--disable-quic",
            "--disable-component-update",
        ])
        .build()
        .unwrap();
    let (browser, mut handler) = Browser::launch(config).await.unwrap();
    tokio::spawn(async move { while handler.next().await.is_some() {} });
    browser
}

async fn close(mut browser: Browser) {
    browser.close().await.unwrap();
    browser.wait().await.unwrap();
}

/// The socket as the sender's probe sees it, or None while `window.require` is not there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Probe {
    version: String,
    state: String,
    synced: bool,
    qr: Option<String>,
}

const PROBE: &str = r#"(() => {
  if (typeof window.require !== 'function' || !window.Debug) return null;
  try {
    const socket = window.require('WAWebSocketModel').Socket;
    const conn = window.require('WAWebConnModel').Conn;
    return {
      version: String(window.Debug.VERSION),
      state: String(socket.state),
      synced: Boolean(socket.hasSynced),
      qr: conn.ref ? String(conn.ref) : null,
    };
  } catch (_) {
    return null;
  }
})()"#;

async fn probe(page: &Page) -> Option<Probe> {
    page.evaluate(PROBE)
        .await
        .ok()
        .and_then(|r| r.into_value::<Option<Probe>>().ok())
        .flatten()
}

/// Probes until `done` holds, returning every probe seen (the last one satisfies `done`).
async fn until(page: &Page, what: &str, done: impl Fn(&Probe) -> bool) -> Vec<Probe> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        if let Some(p) = probe(page).await {
            let finished = done(&p);
            if seen.last() != Some(&p) {
                seen.push(p);
            }
            if finished {
                return seen;
            }
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; seen: {seen:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn unpaired_with_qr(p: &Probe) -> bool {
    p.state == "UNPAIRED" && p.qr.is_some()
}

fn connected_and_synced(p: &Probe) -> bool {
    p.state == "CONNECTED" && p.synced
}

/// Evaluates `script` (an expression, awaited if a promise) and parses its value as JSON, so
/// that `null` comes back as a value too.
async fn eval<T: serde::de::DeserializeOwned>(page: &Page, script: &str) -> T {
    let wrapped = format!(
        "Promise.resolve({script}).then((v) => JSON.stringify(v === undefined ? null : v))"
    );
    let json: String = page
        .evaluate(wrapped)
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
        .into_value()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{script}: {json}: {e}"))
}

/// Loads the imitation in a new tab, waits for the QR, scans it and waits for the reload to
/// come up connected and synced.
async fn open_and_pair(imitation: &Imitation, browser: &Browser) -> Page {
    let page = browser.new_page(imitation.url()).await.unwrap();
    let seen = until(&page, "a QR", unpaired_with_qr).await;
    let shown = seen.last().unwrap().qr.clone();
    // The page shows what the server handed it (allowing for one rotation in between).
    assert!(imitation.current_qr().is_some());
    assert!(shown.is_some());
    let loads = imitation.page_loads();
    assert!(imitation.scan());
    until(&page, "connected after the scan", connected_and_synced).await;
    assert_eq!(
        imitation.page_loads(),
        loads + 1,
        "the page reloads itself once after pairing"
    );
    assert_eq!(imitation.current_qr(), None);
    page
}

const SEND: &str = r#"async (digits, text) => {
  try {
    const require = window.require;
    const wid = require('WAWebWidFactory').createWid(digits + '@c.us');
    const exists = await require('WAWebQueryExistsJob').queryWidExists(wid);
    if (!exists) return { error: 'not_registered' };
    const chat = await require('WAWebCollections').Chat.find(exists.wid || wid);
    const message = await require('WAWebSendTextMsgChatAction').sendTextMsgToChat(chat, text);
    return { id: message.id._serialized, to: message.to, body: message.body, ack: message.ack };
  } catch (e) {
    return { error: e.message };
  }
}"#;

#[derive(Debug, Deserialize)]
struct Sent {
    id: Option<String>,
    to: Option<String>,
    body: Option<String>,
    ack: Option<i64>,
    error: Option<String>,
}

async fn send(page: &Page, digits: &str, text: &str) -> Sent {
    let script = format!(
        "({SEND})({}, {})",
        serde_json::to_string(digits).unwrap(),
        serde_json::to_string(text).unwrap()
    );
    eval(page, &script).await
}

async fn ack(page: &Page, id: &str) -> Option<i64> {
    let script = format!(
        "(() => {{ const m = window.require('WAWebCollections').Msg.get({}); return m ? Number(m.ack) : null; }})()",
        serde_json::to_string(id).unwrap()
    );
    eval(page, &script).await
}

#[tokio::test]
async fn pairs_by_scan_keeps_the_session_and_logs_out() {
    let imitation = Imitation::start().await;
    let profile = fresh_profile("pairing");

    let browser = launch(&profile).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    let seen = until(&page, "a QR", unpaired_with_qr).await;
    let first = seen.last().unwrap().clone();
    assert_eq!(first.version, "2.3000.1017054665");
    assert_eq!(
        seen[0].state, "OPENING",
        "a page opens before it shows a QR: {seen:#?}"
    );
    assert_eq!(imitation.page_loads(), 1);
    assert!(imitation.qr_refs_shown() >= 1);
    assert!(imitation.current_qr().is_some());
    let title: String = eval(&page, "document.title").await;
    assert_eq!(title, "WhatsApp");

    // The scan: PAIRING, one reload, then CONNECTED, syncing, synced.
    assert!(imitation.scan());
    let seen = until(&page, "connected after the scan", connected_and_synced).await;
    let states: Vec<&str> = seen.iter().map(|p| p.state.as_str()).collect();
    assert!(states.contains(&"PAIRING"), "{states:?}");
    assert!(states.contains(&"CONNECTED"), "{states:?}");
    assert!(
        seen.iter().any(|p| p.state == "CONNECTED" && !p.synced),
        "hasSynced starts false: {seen:#?}"
    );
    assert_eq!(
        imitation.page_loads(),
        2,
        "the page reloads itself once after pairing"
    );
    assert_eq!(imitation.current_qr(), None);
    assert!(!imitation.scan());
    let refs = imitation.qr_refs_shown();
    close(browser).await;

    // A relaunched Chromium on the same profile comes up connected, with no QR.
    let browser = launch(&profile).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    let seen = until(&page, "connected after the relaunch", connected_and_synced).await;
    assert!(
        seen.iter().all(|p| p.qr.is_none() && p.state != "UNPAIRED"),
        "no QR after a relaunch: {seen:#?}"
    );
    assert_eq!(imitation.page_loads(), 3);
    assert_eq!(imitation.qr_refs_shown(), refs);

    // The phone logs out: a fresh QR, and the stored pairing is gone.
    imitation.log_out();
    let seen = until(&page, "a QR after the logout", unpaired_with_qr).await;
    let fresh = seen.last().unwrap().qr.clone().unwrap();
    assert_ne!(Some(fresh.clone()), first.qr);
    assert_eq!(imitation.qr_refs_shown(), refs + 1);
    let stored: usize = eval(&page, "window.localStorage.length").await;
    assert_eq!(stored, 0, "the page forgets its pairing");
    let sent = send(&page, "6281234567890", "too late").await;
    assert_eq!(sent.error.as_deref(), Some("not connected"));
    close(browser).await;

    // And a relaunch after the logout shows a QR again.
    let browser = launch(&profile).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    until(
        &page,
        "a QR after a relaunch past the logout",
        unpaired_with_qr,
    )
    .await;
    close(browser).await;
}

#[tokio::test]
async fn qr_rotates_then_goes_idle() {
    let imitation = Imitation::start().await;
    imitation.set_qr_interval(Duration::from_millis(600));
    imitation.set_max_qr_refs(3);
    let browser = launch(&fresh_profile("rotation")).await;
    let page = browser.new_page(imitation.url()).await.unwrap();

    let seen = until(&page, "UNPAIRED_IDLE", |p| p.state == "UNPAIRED_IDLE").await;
    let mut refs: Vec<String> = seen.iter().filter_map(|p| p.qr.clone()).collect();
    refs.dedup();
    assert_eq!(refs.len(), 3, "three refs, each shown in turn: {seen:#?}");
    assert_eq!(imitation.qr_refs_shown(), 3);
    let last = seen.last().unwrap();
    assert_eq!(last.qr, None);
    assert_eq!(imitation.current_qr(), None);
    assert!(!imitation.scan(), "nothing to scan while idle");

    // A reload starts a new round.
    page.reload().await.unwrap();
    until(&page, "a QR after the reload", unpaired_with_qr).await;
    assert_eq!(imitation.qr_refs_shown(), 4);
    assert_eq!(imitation.page_loads(), 2);
    close(browser).await;
}

#[tokio::test]
async fn looks_up_numbers_sends_and_acks() {
    let imitation = Imitation::start().await;
    imitation.register("6281234567890");
    let browser = launch(&fresh_profile("sending")).await;
    let page = open_and_pair(&imitation, &browser).await;

    // Number look-ups.
    let wid: serde_json::Value = eval(
        &page,
        "window.require('WAWebWidFactory').createWid('6281234567890@c.us')",
    )
    .await;
    assert_eq!(
        wid,
        serde_json::json!({"_serialized": "6281234567890@c.us", "user": "6281234567890", "server": "c.us"})
    );
    let found: serde_json::Value = eval(
        &page,
        "window.require('WAWebQueryExistsJob').queryWidExists(window.require('WAWebWidFactory').createWid('6281234567890@c.us'))",
    )
    .await;
    assert_eq!(found["wid"]["_serialized"], "6281234567890@c.us");
    let missing: serde_json::Value = eval(
        &page,
        "window.require('WAWebQueryExistsJob').queryWidExists(window.require('WAWebWidFactory').createWid('6289999999999@c.us'))",
    )
    .await;
    assert_eq!(missing, serde_json::Value::Null);
    let unregistered = send(&page, "6289999999999", "nobody").await;
    assert_eq!(unregistered.error.as_deref(), Some("not_registered"));
    assert!(imitation.sent().is_empty());

    // Delivered: recorded before the promise resolves, then ack 1, then 2.
    let sent = send(&page, "6281234567890", "Your code is 123456").await;
    let id = sent.id.clone().expect("a message id");
    assert_eq!(sent.to.as_deref(), Some("6281234567890@c.us"));
    assert_eq!(sent.body.as_deref(), Some("Your code is 123456"));
    assert_eq!(sent.ack, Some(0));
    let recorded = imitation.sent();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].id, id);
    assert_eq!(recorded[0].to, "6281234567890@c.us");
    assert_eq!(recorded[0].text, "Your code is 123456");
    let deadline = Instant::now() + Duration::from_secs(5);
    while ack(&page, &id).await != Some(2) {
        assert!(Instant::now() < deadline, "ack never reached 2");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ack(&page, "true_nobody@c.us_3EB0").await, None);

    // Stuck: recorded, ack stays 0.
    imitation.set_ack_behaviour(AckBehaviour::Stuck);
    let stuck = send(&page, "6281234567890", "stuck").await;
    let stuck_id = stuck.id.expect("a message id");
    assert_ne!(stuck_id, id);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(ack(&page, &stuck_id).await, Some(0));
    assert_eq!(imitation.sent().len(), 2);

    // Error: rejected, nothing recorded.
    imitation.set_ack_behaviour(AckBehaviour::Error);
    let failed = send(&page, "6281234567890", "fails").await;
    assert_eq!(failed.error.as_deref(), Some("send failed"));
    assert_eq!(imitation.sent().len(), 2);
    close(browser).await;
}

#[tokio::test]
async fn conflict_and_dropped_modules() {
    let imitation = Imitation::start().await;
    let browser = launch(&fresh_profile("drift")).await;
    let page = open_and_pair(&imitation, &browser).await;

    const REQUIRE: &str =
        "(name) => { try { window.require(name); return 'ok'; } catch (e) { return e.message; } }";
    let call = |name: &str| format!("({REQUIRE})({})", serde_json::to_string(name).unwrap());

    let unknown: String = eval(&page, &call("WAWebNoSuchModule")).await;
    assert_eq!(unknown, "Requiring unknown module \"WAWebNoSuchModule\"");

    imitation.drop_module("WAWebSendTextMsgChatAction");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let result: String = eval(&page, &call("WAWebSendTextMsgChatAction")).await;
        if result != "ok" {
            assert_eq!(
                result,
                "Requiring unknown module \"WAWebSendTextMsgChatAction\""
            );
            break;
        }
        assert!(Instant::now() < deadline, "the module was never dropped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let other: String = eval(&page, &call("WAWebCollections")).await;
    assert_eq!(other, "ok");
    imitation.restore_module("WAWebSendTextMsgChatAction");

    imitation.conflict();
    until(&page, "CONFLICT", |p| p.state == "CONFLICT").await;
    let refused = send(&page, "6281234567890", "in conflict").await;
    assert!(refused.error.is_some(), "{refused:?}");

    // Like "Use here": a reload takes the session back.
    page.reload().await.unwrap();
    until(&page, "connected after the reload", connected_and_synced).await;
    close(browser).await;
}
