//! Headless Chromium (Debian's `chromium`) driving the site's pages: launching it, waiting for
//! what a person would see, clicking and typing, the page's console errors, and answers of our
//! own for chosen routes (Chromium's Fetch domain).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chromiumoxide::browser::BrowserConfigBuilder;
use chromiumoxide::cdp::browser_protocol::fetch::{
    self, EventRequestPaused, FulfillRequestParams, HeaderEntry, RequestPattern,
};
use chromiumoxide::cdp::browser_protocol::log::{self, EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
};
use chromiumoxide::handler::viewport::Viewport;
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's Chromium (`apt-get install chromium`; `bash scripts/test-all.sh` does it)",
        path.display()
    );
    path
}

/// Chromium with a 412 × 915 window (chromiumoxide's own 800 × 600 viewport inside it).
pub async fn launch(profile: &Path) -> Browser {
    launch_with(profile, BrowserConfig::builder()).await
}

/// Chromium emulating a phone whose screen is `width` × `height` CSS pixels (touch, 2× pixels).
pub async fn launch_phone(profile: &Path, width: u32, height: u32) -> Browser {
    let phone = Viewport {
        width,
        height,
        device_scale_factor: Some(2.0),
        emulating_mobile: true,
        is_landscape: false,
        has_touch: true,
    };
    launch_with(profile, BrowserConfig::builder().viewport(phone)).await
}

async fn launch_with(profile: &Path, config: BrowserConfigBuilder) -> Browser {
    let config = config
        .chrome_executable(chromium())
        .no_sandbox()
        .new_headless_mode()
        .user_data_dir(profile)
        .window_size(412, 915)
        .args([
            "--disable-gpu",
            "--disable-quic",
            "--disable-component-update",
            "--disable-extensions",
        ])
        .build()
        .unwrap();
    let (browser, mut handler) = Browser::launch(config).await.unwrap();
    tokio::spawn(async move { while handler.next().await.is_some() {} });
    browser
}

/// Waits until `script` (a JavaScript expression) is true on the page.
pub async fn until(page: &Page, what: &str, script: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let value = page
            .evaluate(script)
            .await
            .ok()
            .and_then(|r| r.into_value::<bool>().ok());
        if value == Some(true) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what} ({script})"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of `script` (a JavaScript expression) on the page.
pub async fn value<T: serde::de::DeserializeOwned>(page: &Page, script: &str) -> Result<T, String> {
    page.evaluate(script)
        .await
        .map_err(|e| format!("{script}: {e}"))?
        .into_value::<T>()
        .map_err(|e| format!("{script}: {e}"))
}

/// Clicks the element at `selector`, as a person does before typing or to press it.
pub async fn click(page: &Page, selector: &str) -> Result<chromiumoxide::Element, String> {
    let element = page
        .find_element(selector)
        .await
        .map_err(|e| format!("{selector}: {e}"))?;
    element
        .click()
        .await
        .map_err(|e| format!("click {selector}: {e}"))?;
    Ok(element)
}

pub async fn type_into(page: &Page, selector: &str, text: &str) -> Result<(), String> {
    let element = click(page, selector).await?;
    element
        .type_str(text)
        .await
        .map_err(|e| format!("type into {selector}: {e}"))?;
    Ok(())
}

/// Saves a full-page screenshot beside `profile` as `name` and says where it is.
pub async fn screenshot(page: &Page, profile: &Path, name: &str) -> String {
    let shot = profile.with_file_name(name);
    let saved = page
        .save_screenshot(ScreenshotParams::builder().full_page(true).build(), &shot)
        .await;
    format!(
        "{} ({})",
        shot.display(),
        if saved.is_ok() { "saved" } else { "not saved" }
    )
}

/// Everything the page reports as an error from now on: `console.error`, uncaught exceptions,
/// and the browser's own log at level error (failed loads, CSP violations).
pub async fn console_errors(page: &Page) -> Arc<Mutex<Vec<String>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    page.execute(log::EnableParams::default()).await.unwrap();
    let mut calls = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .unwrap();
    let mut thrown = page.event_listener::<EventExceptionThrown>().await.unwrap();
    let mut entries = page.event_listener::<EventEntryAdded>().await.unwrap();
    let sink = Arc::clone(&errors);
    tokio::spawn(async move {
        while let Some(call) = calls.next().await {
            if call.r#type == ConsoleApiCalledType::Error {
                let args: Vec<String> = call
                    .args
                    .iter()
                    .map(|a| {
                        a.value
                            .as_ref()
                            .map(ToString::to_string)
                            .or_else(|| a.description.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                sink.lock().unwrap().push(format!("console.error {args:?}"));
            }
        }
    });
    let sink = Arc::clone(&errors);
    tokio::spawn(async move {
        while let Some(event) = thrown.next().await {
            sink.lock()
                .unwrap()
                .push(format!("exception: {:?}", event.exception_details.text));
        }
    });
    let sink = Arc::clone(&errors);
    tokio::spawn(async move {
        while let Some(event) = entries.next().await {
            if event.entry.level == LogEntryLevel::Error {
                sink.lock()
                    .unwrap()
                    .push(format!("log: {} {:?}", event.entry.text, event.entry.url));
            }
        }
    });
    errors
}

/// The answers the page gets from `url_pattern` (Fetch wildcards) from now on: each request is
/// answered by `answer` (HTTP status, JSON body) without reaching the server. Returns how many
/// requests were answered so far.
pub async fn answer_requests(
    page: &Page,
    url_pattern: &str,
    answer: impl Fn() -> (u16, serde_json::Value) + Send + 'static,
) -> Arc<Mutex<usize>> {
    let mut paused = page.event_listener::<EventRequestPaused>().await.unwrap();
    page.execute(
        fetch::EnableParams::builder()
            .pattern(RequestPattern::builder().url_pattern(url_pattern).build())
            .build(),
    )
    .await
    .unwrap();
    let count = Arc::new(Mutex::new(0));
    let answered = Arc::clone(&count);
    let page = page.clone();
    tokio::spawn(async move {
        while let Some(request) = paused.next().await {
            let (status, body) = answer();
            let body = base64::engine::general_purpose::STANDARD.encode(body.to_string());
            let fulfil = FulfillRequestParams::builder()
                .request_id(request.request_id.clone())
                .response_code(i64::from(status))
                .response_header(HeaderEntry::new("Content-Type", "application/json"))
                .response_header(HeaderEntry::new("Cache-Control", "no-store"))
                .body(body)
                .build()
                .unwrap();
            if page.execute(fulfil).await.is_ok() {
                *answered.lock().unwrap() += 1;
            }
        }
    });
    count
}
