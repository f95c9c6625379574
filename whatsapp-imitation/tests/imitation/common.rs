//! What the imitation tests share: Chromium, profiles, in-page calls, probes, injection, linking.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use whatsapp_imitation::Imitation;

const CHROMIUM: &str = "/usr/bin/chromium";
/// whatsapp-web.js `DefaultOptions.userAgent` (src/util/Constants.js).
pub(crate) const DESKTOP_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.67 Safari/537.36";
/// The send modules (registered only after hasSynced).
const LAZY: [&str; 9] = [
    "WAWebCollections",
    "WAWebFindChatAction",
    "WAWebMsgKey",
    "WAWebSendMsgChatAction",
    "WAWebSendTextMsgChatAction",
    "WAWebQueryExistsJob",
    "WAWebUserPrefsMeUser",
    "WAWebGetEphemeralFieldsMsgActionsUtils",
    "WAWebChatGetters",
];

/// One Chromium at a time: the machine has two cores.
pub(crate) static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from(CHROMIUM), PathBuf::from);
    assert!(
        path.exists(),
        "{} is missing: install Debian's chromium (apt-get install chromium)",
        path.display()
    );
    path
}

/// A fresh, empty profile folder for one test.
pub(crate) fn fresh_profile(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("whatsapp-imitation")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Launches headless Chromium; with `user_agent`, passed as `--user-agent=…` (as
/// whatsapp-web.js does).
pub(crate) async fn launch(profile: &Path, user_agent: Option<&str>) -> Browser {
    let mut config = BrowserConfig::builder()
        .chrome_executable(chromium())
        .no_sandbox()
        .new_headless_mode()
        .user_data_dir(profile)
        .args(["disable-gpu", "disable-component-update", "no-first-run"]);
    if let Some(ua) = user_agent {
        config = config.arg(("user-agent", ua));
    }
    let (browser, mut handler) = Browser::launch(config.build().unwrap()).await.unwrap();
    tokio::spawn(async move { while handler.next().await.is_some() {} });
    browser
}

pub(crate) async fn close(mut browser: Browser) {
    browser.close().await.unwrap();
    browser.wait().await.unwrap();
}

/// Evaluates `script` (an expression, awaited if a promise) and parses its value as JSON.
pub(crate) async fn eval<T: serde::de::DeserializeOwned>(page: &Page, script: &str) -> T {
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

/// Calls the in-page function `function` with JSON `args`.
pub(crate) async fn call<T: serde::de::DeserializeOwned>(
    page: &Page,
    function: &str,
    args: &[Value],
) -> T {
    let args: Vec<String> = args.iter().map(Value::to_string).collect();
    eval(page, &format!("({function})({})", args.join(", "))).await
}

/// What the page shows through its module surface, or None before `window.require` exists (or
/// while it navigates).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct Probe {
    pub(crate) version: String,
    pub(crate) state: String,
    pub(crate) synced: bool,
    #[serde(rename = "ref")]
    pub(crate) reference: Option<String>,
    pub(crate) modules: Vec<String>,
    pub(crate) href: String,
}

const PROBE: &str = r#"(lazy) => {
  if (!window.Debug || typeof window.require !== 'function') return null;
  const socket = window.require('WAWebSocketModel').Socket;
  const conn = window.require('WAWebConnModel').Conn;
  const modules = lazy.filter((name) => {
    try { window.require(name); return true; } catch (_) { return false; }
  });
  return { version: String(window.Debug.VERSION), state: socket.state, synced: socket.hasSynced,
           ref: conn.ref || null, modules, href: location.href };
}"#;

pub(crate) async fn probe(page: &Page) -> Option<Probe> {
    let script = format!(
        "Promise.resolve(({PROBE})({})).then((v) => JSON.stringify(v))",
        json!(LAZY)
    );
    let json: String = page.evaluate(script).await.ok()?.into_value().ok()?;
    serde_json::from_str::<Option<Probe>>(&json).ok().flatten()
}

/// Probes until `done` holds, returning every distinct probe seen (the last satisfies `done`).
pub(crate) async fn until(page: &Page, what: &str, done: impl Fn(&Probe) -> bool) -> Vec<Probe> {
    let deadline = Instant::now() + Duration::from_secs(15);
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
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

pub(crate) fn synced_with_send_modules(p: &Probe) -> bool {
    p.state == "CONNECTED" && p.synced && p.modules.len() == LAZY.len()
}

/// whatsapp-web.js `Client.inject()` up to the first QR: waits for `Debug.VERSION`, exposes the
/// AuthStore, waits for the socket to leave OPENING/UNLAUNCHED/PAIRING, then builds the QR text
/// from the login modules and rebuilds it on every Conn 'change:ref'. Every QR text is kept in
/// `window.__qrs`.
pub(crate) const INJECT: &str = r#"async () => {
  while (window.Debug?.VERSION == undefined) await new Promise((r) => setTimeout(r, 50));
  window.AuthStore = {};
  window.AuthStore.AppState = window.require('WAWebSocketModel').Socket;
  window.AuthStore.Cmd = window.require('WAWebCmd').Cmd;
  window.AuthStore.Conn = window.require('WAWebConnModel').Conn;
  window.AuthStore.OfflineMessageHandler = window.require('WAWebOfflineHandler').OfflineMessageHandler;
  window.AuthStore.PairingCodeLinkUtils = window.require('WAWebAltDeviceLinkingApi');
  window.AuthStore.Base64Tools = window.require('WABase64');
  window.AuthStore.RegistrationUtils = {
    ...window.require('WAWebCompanionRegClientUtils'),
    ...window.require('WAWebAdvSignatureApi'),
    ...window.require('WAWebUserPrefsInfoStore'),
    ...window.require('WAWebSignalStoreApi'),
  };
  let state = window.require('WAWebSocketModel').Socket.state;
  if (state === 'OPENING' || state === 'UNLAUNCHED' || state === 'PAIRING') {
    await new Promise((r) => {
      window.require('WAWebSocketModel').Socket.on('change:state', function waitTillInit(_AppState, state) {
        if (state !== 'OPENING' && state !== 'UNLAUNCHED' && state !== 'PAIRING') {
          window.require('WAWebSocketModel').Socket.off('change:state', waitTillInit);
          r();
        }
      });
    });
  }
  state = window.require('WAWebSocketModel').Socket.state;
  if (state !== 'UNPAIRED' && state !== 'UNPAIRED_IDLE') return { state, qrs: [] };
  const registrationInfo = await window.AuthStore.RegistrationUtils.waSignalStore.getRegistrationInfo();
  const noiseKeyPair = await window.AuthStore.RegistrationUtils.waNoiseInfo.get();
  const staticKeyB64 = window.AuthStore.Base64Tools.encodeB64(noiseKeyPair.staticKeyPair.pubKey);
  const identityKeyB64 = window.AuthStore.Base64Tools.encodeB64(registrationInfo.identityKeyPair.pubKey);
  const advSecretKey = await window.AuthStore.RegistrationUtils.getADVSecretKey();
  const platform = window.AuthStore.RegistrationUtils.DEVICE_PLATFORM;
  const getQR = (ref) => ref + ',' + staticKeyB64 + ',' + identityKeyB64 + ',' + advSecretKey + ',' + platform;
  window.__qrs = [getQR(window.AuthStore.Conn.ref)];
  window.AuthStore.Conn.on('change:ref', (_, ref) => { window.__qrs.push(getQR(ref)); });
  window.__states = [];
  window.require('WAWebSocketModel').Socket.on('change:state', (_AppState, state) => {
    window.__states.push(state);
    if (state === 'UNPAIRED_IDLE') window.require('WAWebCmd').Cmd.refreshQR();
  });
  return { state, ref: window.AuthStore.Conn.ref, qrs: window.__qrs };
}"#;

#[derive(Debug, Deserialize)]
pub(crate) struct Injected {
    pub(crate) state: String,
    #[serde(rename = "ref")]
    pub(crate) reference: Option<String>,
    pub(crate) qrs: Vec<String>,
}

/// Opens the imitation with a desktop user agent, links it with the whatsapp-web.js QR text and
/// waits for the reloaded page to be connected, synced and to have its send modules.
pub(crate) async fn open_and_link(imitation: &Imitation, browser: &Browser) -> Page {
    let page = browser.new_page(imitation.url()).await.unwrap();
    let injected: Injected = eval(&page, &format!("({INJECT})()")).await;
    assert_eq!(injected.state, "UNPAIRED");
    let qr = injected.qrs.last().unwrap().clone();
    let loads = imitation.page_loads();
    imitation.scan(&qr).unwrap();
    until(
        &page,
        "connected with the send modules",
        synced_with_send_modules,
    )
    .await;
    assert_eq!(
        imitation.page_loads(),
        loads + 1,
        "one reload after linking"
    );
    page
}

/// Runs `body` (an async function of `require`) in the page and returns its value or
/// `{error, name}` when it throws or rejects.
pub(crate) async fn attempt(page: &Page, body: &str) -> Value {
    let script = format!(
        "(async () => {{ try {{ return await ({body})(window.require); }} \
         catch (e) {{ return {{ error: String(e && e.message), name: e && e.name }}; }} }})()"
    );
    eval(page, &script).await
}
