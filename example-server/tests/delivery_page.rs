//! What the forgot-password page says became of the code, in real headless Chromium: the line
//! under the code field follows `/delivery-status`, and for a number without WhatsApp or a
//! failed send it says what to do. The console sender's own status comes from the server; the
//! other statuses are answered by Chromium itself (its Fetch domain) in place of the server, as
//! the console sender never produces them. A failure saves a screenshot and names it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/browser.rs"]
mod page;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::accessibility::{
    AxNode, AxPropertyName, GetFullAxTreeParams,
};
use chromiumoxide::page::ScreenshotParams;
use common::{Server, demo_data, fresh_dir};
use page::{
    answer_requests, click, console_errors, launch_phone, screenshot, type_into, until, value,
};
use serde_json::json;

const STATUS_ROUTE: &str = "*/api/forgot-password/delivery-status";

const SENT: &str = "Kode terkirim, menunggu sampai di ponsel Anda…";
const DELIVERED: &str = "Kode sudah sampai di WhatsApp Anda.";

/// A page on `server`, `steps` run on it; a failure or an error in the page's console fails the
/// test with a screenshot and the server's output.
async fn on_page(
    name: &str,
    server: &Server,
    steps: impl AsyncFnOnce(&Page) -> Result<(), String>,
) {
    on_page_sized(name, server, (412, 915), &[], steps).await;
}

/// As [`on_page`], on a phone whose screen is `(width, height)` CSS pixels, tolerating the
/// page's errors that mention any of `expected`.
async fn on_page_sized(
    name: &str,
    server: &Server,
    (width, height): (u32, u32),
    expected: &[&str],
    steps: impl AsyncFnOnce(&Page) -> Result<(), String>,
) {
    let profile = fresh_dir(name);
    let mut browser = launch_phone(&profile, width, height).await;
    let page = browser.new_page("about:blank").await.unwrap();
    let errors = console_errors(&page).await;
    let mut outcome = steps(&page).await;
    let errors: Vec<String> = errors
        .lock()
        .unwrap()
        .iter()
        .filter(|error| !expected.iter().any(|e| error.contains(e)))
        .cloned()
        .collect();
    if outcome.is_ok() && !errors.is_empty() {
        outcome = Err(format!("the page reported errors: {errors:#?}"));
    }
    if let Err(problem) = outcome {
        let shot = screenshot(&page, &profile, "failure.png").await;
        let _ = browser.close().await;
        panic!(
            "{problem}\nscreenshot: {shot}\nserver output:\n{}",
            server.output()
        );
    }
    let _ = browser.close().await;
    let _ = browser.wait().await;
}

/// The first step, as a person fills it in, up to the code step.
async fn ask_for_a_code(server: &Server, page: &Page) -> Result<(), String> {
    page.goto(server.url("/forgot-password.html"))
        .await
        .map_err(|e| e.to_string())?;
    until(page, "the first step", "!!document.querySelector('#nama')").await?;
    type_into(page, "#nama", "John Doe").await?;
    type_into(page, "#noHp", "0812-3456-7890").await?;
    click(page, "#request-otp").await?;
    until(
        page,
        "the code step",
        "!document.querySelector('#step-2').hidden",
    )
    .await
}

/// Answers every `/delivery-status` request with the status `status` holds at the time.
async fn answer_statuses(page: &Page, status: &Arc<Mutex<&'static str>>) -> Arc<Mutex<usize>> {
    let status = Arc::clone(status);
    answer_requests(page, STATUS_ROUTE, move || {
        let status = *status.lock().unwrap();
        (
            200,
            json!({ "success": true, "message": "Status pengiriman", "status": status }),
        )
    })
    .await
}

async fn status_shown(page: &Page, status: &str) -> Result<(), String> {
    until(
        page,
        &format!("the {status} line"),
        &format!("document.querySelector('#delivery').dataset.status === '{status}'"),
    )
    .await
}

async fn line(page: &Page) -> Result<String, String> {
    value(page, "document.querySelector('#delivery-text').textContent").await
}

/// Whether Chromium's accessibility tree holds `text` inside a polite live region (what a
/// screen reader announces when it changes), not hidden from it.
async fn announced(page: &Page, text: &str) -> Result<(), String> {
    let tree = page
        .execute(GetFullAxTreeParams::default())
        .await
        .map_err(|e| e.to_string())?;
    let nodes: HashMap<&str, &AxNode> = tree
        .result
        .nodes
        .iter()
        .map(|node| (node.node_id.as_ref(), node))
        .collect();
    let name = |node: &AxNode| {
        let name = node.name.as_ref().and_then(|n| n.value.as_ref());
        name.and_then(|n| n.as_str()).unwrap_or_default().to_owned()
    };
    let polite = |node: &AxNode| {
        node.properties.iter().flatten().any(|p| {
            p.name == AxPropertyName::Live && p.value.value == Some(serde_json::json!("polite"))
        })
    };
    for node in nodes.values() {
        if node.ignored
            || node.role.as_ref().and_then(|r| r.value.as_ref()) != Some(&json!("StaticText"))
            || !name(node).contains(text)
        {
            continue;
        }
        let mut at = Some(*node);
        while let Some(current) = at {
            if current.ignored {
                break;
            }
            if polite(current) {
                return Ok(());
            }
            at = current
                .parent_id
                .as_ref()
                .and_then(|id| nodes.get(id.as_ref()).copied());
        }
    }
    Err(format!(
        "{text:?} is in no polite live region of the accessibility tree"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_senders_code_is_shown_as_sent_in_a_polite_live_line() {
    let server = Server::start(&demo_data("delivery-sent"), &[]).await;
    on_page("delivery-sent-profile", &server, async |page| {
        ask_for_a_code(&server, page).await?;
        until(
            page,
            "the sent (or delivered) line",
            "['sent', 'delivered'].includes(document.querySelector('#delivery').dataset.status)",
        )
        .await?;
        let shown = line(page).await?;
        if shown != SENT && shown != DELIVERED {
            return Err(format!("the line says {shown:?}"));
        }
        announced(page, &shown).await?;
        // What the page says never promised more than the line: no "sent" before it was.
        let body: String = value(page, "document.querySelector('.card').innerText").await?;
        if body.contains("telah dikirim") || body.contains("OTP dikirim ke WhatsApp") {
            return Err(format!("the page still promises delivery:\n{body}"));
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_without_whatsapp_is_told_to_check_it_and_can_edit_it() {
    let server = Server::start(&demo_data("delivery-not-on-whatsapp"), &[]).await;
    on_page("delivery-not-on-whatsapp-profile", &server, async |page| {
        let status = Arc::new(Mutex::new("not_on_whatsapp"));
        let polls = answer_statuses(page, &status).await;
        ask_for_a_code(&server, page).await?;
        status_shown(page, "not_on_whatsapp").await?;
        let shown = line(page).await?;
        for part in [
            "berakhiran 7890",
            "tidak memiliki akun WhatsApp",
            "Periksa kembali nomor",
            "hubungi",
        ] {
            if !shown.contains(part) {
                return Err(format!("the line {shown:?} does not say {part:?}"));
            }
        }
        announced(page, "tidak memiliki akun WhatsApp").await?;
        until(
            page,
            "no resend offered",
            "document.querySelector('#delivery-resend').hidden",
        )
        .await?;

        // A final status ends the polling: longer than the longest wait between two polls.
        let seen = *polls.lock().unwrap();
        tokio::time::sleep(Duration::from_secs(7)).await;
        if *polls.lock().unwrap() != seen {
            return Err("the page kept polling after a final status".into());
        }

        click(page, "#delivery-edit").await?;
        until(
            page,
            "the first step again",
            "!document.querySelector('#step-1').hidden",
        )
        .await?;
        until(
            page,
            "the number field focused",
            "document.activeElement.id === 'noHp'",
        )
        .await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_offers_a_resend_that_waits_out_the_cooldown() {
    let server = Server::start(
        &demo_data("delivery-failed"),
        &[("OTP_RESEND_COOLDOWN_SECS", "1")],
    )
    .await;
    on_page("delivery-failed-profile", &server, async |page| {
        let status = Arc::new(Mutex::new("failed"));
        answer_statuses(page, &status).await;
        ask_for_a_code(&server, page).await?;
        status_shown(page, "failed").await?;
        let shown = line(page).await?;
        if !shown.contains("gagal dikirim") || !shown.contains("sebentar lagi") {
            return Err(format!("the line says {shown:?}"));
        }
        announced(page, "gagal dikirim").await?;
        until(
            page,
            "a resend button waiting for the cooldown",
            "(() => { const b = document.querySelector('#delivery-resend');
                return !b.hidden && b.disabled && /^Kirim ulang \\(\\d+ dtk\\)$/.test(b.textContent); })()",
        )
        .await?;

        // The cooldown over (as stored for a reload), the button sends a new code.
        page.evaluate(
            "(() => { const s = JSON.parse(sessionStorage.getItem('otp-reset-state'));
                s.cooldownUntil = 0; sessionStorage.setItem('otp-reset-state', JSON.stringify(s)); })()",
        )
        .await
        .map_err(|e| e.to_string())?;
        page.reload().await.map_err(|e| e.to_string())?;
        status_shown(page, "failed").await?;
        until(page, "the resend button ready", "!document.querySelector('#delivery-resend').disabled").await?;
        *status.lock().unwrap() = "sent";
        click(page, "#delivery-resend").await?;
        status_shown(page, "sent").await?;
        until(page, "the resend hidden again", "document.querySelector('#delivery-resend').hidden").await?;
        common::wait_for("a second code", Duration::from_secs(15), async || {
            server.codes_sent().len() == 2
        })
        .await;
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_request_id_ends_the_polling_with_a_hint_to_resend() {
    let server = Server::start(&demo_data("delivery-unknown"), &[]).await;
    // Chromium logs each 404 it gets as an error; here they are the point.
    let expected = ["/api/forgot-password/delivery-status"];
    on_page_sized(
        "delivery-unknown-profile",
        &server,
        (412, 915),
        &expected,
        async |page| {
            let polls = answer_requests(page, STATUS_ROUTE, || {
                let answer = json!({
                    "success": false,
                    "error": "request_not_found",
                    "message": "Permintaan tidak ditemukan",
                });
                (404, answer)
            })
            .await;
            ask_for_a_code(&server, page).await?;
            status_shown(page, "unknown").await?;
            let shown = line(page).await?;
            if !shown.contains("kirim ulang kode") {
                return Err(format!("the line says {shown:?}"));
            }
            let seen = *polls.lock().unwrap();
            tokio::time::sleep(Duration::from_secs(7)).await;
            if *polls.lock().unwrap() != seen {
                return Err("the page kept polling after a 404".into());
            }
            Ok(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_360_px_phone_the_line_keeps_its_room_and_nothing_overflows() {
    let server = Server::start(&demo_data("delivery-360"), &[]).await;
    on_page_sized("delivery-360-profile", &server, (360, 1000), &[], async |page| {
        let status = Arc::new(Mutex::new("pending"));
        answer_statuses(page, &status).await;
        ask_for_a_code(&server, page).await?;
        let dir = fresh_dir("delivery-360-shots");
        let mut timer_top = None;
        for next in ["pending", "sent", "delivered", "not_on_whatsapp", "failed"] {
            *status.lock().unwrap() = next;
            if matches!(next, "not_on_whatsapp" | "failed") {
                // The last status was final, so the page no longer asks: make it ask again.
                page.evaluate(
                    "(() => { const s = JSON.parse(sessionStorage.getItem('otp-reset-state'));
                        s.delivery = 'pending'; sessionStorage.setItem('otp-reset-state', JSON.stringify(s)); })()",
                )
                .await
                .map_err(|e| e.to_string())?;
                page.reload().await.map_err(|e| e.to_string())?;
            }
            status_shown(page, next).await?;
            let (page_width, screen): (f64, f64) = value(
                page,
                "[document.documentElement.scrollWidth, window.innerWidth]",
            )
            .await?;
            if screen != 360.0 || page_width > screen {
                return Err(format!("the {next} page is {page_width} px wide on a {screen} px screen"));
            }
            let top: f64 = value(page, "document.querySelector('#otp-timer').getBoundingClientRect().top").await?;
            if matches!(next, "pending" | "sent" | "delivered") {
                if timer_top.is_some_and(|t: f64| (t - top).abs() > 0.5) {
                    return Err(format!("the {next} line moved the form ({timer_top:?} → {top})"));
                }
                timer_top = Some(top);
            }
            // For a person to look at; the screen only, as a full-page shot ends the emulation.
            let shot = ScreenshotParams::builder().full_page(false).build();
            let _ = page.save_screenshot(shot, dir.join(format!("{next}.png"))).await;
        }
        Ok(())
    })
    .await;
}
