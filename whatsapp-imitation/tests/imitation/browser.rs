//! The browser: headless user agents turned away, and a gated `window.Debug`.

use std::time::{Duration, Instant};

use serde_json::Value;
use whatsapp_imitation::{Build, Imitation};

use crate::common::{DESKTOP_UA, ONE_BROWSER, close, eval, fresh_profile, launch, until};

#[tokio::test]
async fn a_headless_user_agent_is_turned_away_and_a_desktop_one_is_not() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;

    let browser = launch(&fresh_profile("headless-ua"), None).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while imitation.browsers().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the refusal page never said hello"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = imitation.browsers();
    assert!(seen[0].turned_away, "{seen:?}");
    assert!(
        seen[0].user_agent_header.contains("HeadlessChrome"),
        "{seen:?}"
    );
    assert!(
        seen[0]
            .navigator_user_agent
            .as_deref()
            .is_some_and(|ua| ua.contains("HeadlessChrome")),
        "{seen:?}"
    );
    assert!(seen[0].webdriver.is_some(), "{seen:?}");
    let shown: Value = eval(
        &page,
        "({ require: typeof window.require, debug: typeof window.Debug, text: document.body.innerText })",
    )
    .await;
    assert_eq!(shown["require"], "undefined");
    assert_eq!(shown["debug"], "undefined");
    assert!(
        shown["text"].as_str().unwrap().contains("update Chrome"),
        "{shown}"
    );
    close(browser).await;

    let browser = launch(&fresh_profile("desktop-ua"), Some(DESKTOP_UA)).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    let seen = until(&page, "a QR", |p| p.state == "UNPAIRED").await;
    assert_eq!(seen.last().unwrap().version, Build::default().version());
    let browsers = imitation.browsers();
    assert_eq!(browsers.len(), 2);
    assert!(!browsers[1].turned_away);
    assert_eq!(browsers[1].user_agent_header, DESKTOP_UA);
    assert_eq!(
        browsers[1].navigator_user_agent.as_deref(),
        Some(DESKTOP_UA)
    );
    assert_eq!(imitation.page_loads(), 2);
    close(browser).await;
}

#[tokio::test]
async fn a_gated_debug_leaves_the_version_to_wa_web_updater_version() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.set_debug_gated(true);
    let browser = launch(&fresh_profile("debug-gated"), Some(DESKTOP_UA)).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    // wa-js src/loader/index.ts and src/conn/patch.ts: the module system and
    // `WAWebUpdaterVersion` are there; `window.Debug` is not.
    let script = r#"(async () => {
      for (let i = 0; i < 200 && typeof window.require !== 'function'; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const map = window.require('__debug').modulesMap;
      return {
        debug: typeof window.Debug,
        version: window.require('WAWebUpdaterVersion').SANITIZED_VERSION_STR,
        socketListed: 'WAWebSocketModel' in map,
        sendListed: 'WAWebFindChatAction' in map,
      };
    })()"#;
    let seen: Value = eval(&page, script).await;
    assert_eq!(seen["debug"], "undefined", "{seen}");
    assert_eq!(seen["version"], Build::default().version(), "{seen}");
    assert_eq!(seen["socketListed"], true, "{seen}");
    assert_eq!(
        seen["sendListed"], false,
        "not before the first sync: {seen}"
    );
    close(browser).await;
}
