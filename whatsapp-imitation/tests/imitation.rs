//! The imitation driven through a real headless Chromium (Debian's `chromium`), read only through
//! the module surface, with in-page calls written after whatsapp-web.js 1.34.6 (`Client.inject`,
//! `AuthStore.js`, `Utils.js`: `WWebJS.getChat`, `WWebJS.sendMessage`) and wa-js.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chromiumoxide::{Browser, BrowserConfig, Page};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use whatsapp_imitation::{AckBehaviour, BlockState, Build, Imitation, ScanRefused, SendPath};

const CHROMIUM: &str = "/usr/bin/chromium";
/// whatsapp-web.js `DefaultOptions.userAgent` (src/util/Constants.js).
const DESKTOP_UA: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.67 Safari/537.36";
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
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
fn fresh_profile(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("whatsapp-imitation")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Launches headless Chromium; with `user_agent`, passed as `--user-agent=…` (as
/// whatsapp-web.js does).
async fn launch(profile: &Path, user_agent: Option<&str>) -> Browser {
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

async fn close(mut browser: Browser) {
    browser.close().await.unwrap();
    browser.wait().await.unwrap();
}

/// Evaluates `script` (an expression, awaited if a promise) and parses its value as JSON.
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

/// Calls the in-page function `function` with JSON `args`.
async fn call<T: serde::de::DeserializeOwned>(page: &Page, function: &str, args: &[Value]) -> T {
    let args: Vec<String> = args.iter().map(Value::to_string).collect();
    eval(page, &format!("({function})({})", args.join(", "))).await
}

/// What the page shows through its module surface, or None before `window.require` exists (or
/// while it navigates).
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Probe {
    version: String,
    state: String,
    synced: bool,
    #[serde(rename = "ref")]
    reference: Option<String>,
    modules: Vec<String>,
    href: String,
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

async fn probe(page: &Page) -> Option<Probe> {
    let script = format!(
        "Promise.resolve(({PROBE})({})).then((v) => JSON.stringify(v))",
        json!(LAZY)
    );
    let json: String = page.evaluate(script).await.ok()?.into_value().ok()?;
    serde_json::from_str::<Option<Probe>>(&json).ok().flatten()
}

/// Probes until `done` holds, returning every distinct probe seen (the last satisfies `done`).
async fn until(page: &Page, what: &str, done: impl Fn(&Probe) -> bool) -> Vec<Probe> {
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

fn synced_with_send_modules(p: &Probe) -> bool {
    p.state == "CONNECTED" && p.synced && p.modules.len() == LAZY.len()
}

/// whatsapp-web.js `Client.inject()` up to the first QR: waits for `Debug.VERSION`, exposes the
/// AuthStore, waits for the socket to leave OPENING/UNLAUNCHED/PAIRING, then builds the QR text
/// from the login modules and rebuilds it on every Conn 'change:ref'. Every QR text is kept in
/// `window.__qrs`.
const INJECT: &str = r#"async () => {
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
struct Injected {
    state: String,
    #[serde(rename = "ref")]
    reference: Option<String>,
    qrs: Vec<String>,
}

/// Opens the imitation with a desktop user agent, links it with the whatsapp-web.js QR text and
/// waits for the reloaded page to be connected, synced and to have its send modules.
async fn open_and_link(imitation: &Imitation, browser: &Browser) -> Page {
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
async fn links_with_the_whole_whatsapp_web_js_string_but_not_with_conn_ref() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.set_qr_interval(Duration::from_millis(400));
    imitation.set_max_qr_refs(2);
    let browser = launch(&fresh_profile("linking"), Some(DESKTOP_UA)).await;
    let page = browser.new_page(imitation.url()).await.unwrap();

    let injected: Injected = eval(&page, &format!("({INJECT})()")).await;
    assert_eq!(injected.state, "UNPAIRED");
    let reference = injected.reference.unwrap();
    let first = injected.qrs[0].clone();
    let fields: Vec<&str> = first.split(',').collect();
    assert_eq!(fields.len(), 5, "{first}");
    assert_eq!(fields[0], reference);
    assert!(reference.starts_with("2@"));
    assert!(fields[1..4].iter().all(|key| key.len() == 44), "{first}");
    assert_eq!(fields[4], "1");
    let shown: String = eval(&page, "document.querySelector('[data-ref]').dataset.ref").await;
    assert!(
        shown.is_empty() || shown.split(',').count() == 5,
        "the page shows the whole string: {shown}"
    );

    // Two refs, then UNPAIRED_IDLE; the whatsapp-web.js listener calls Cmd.refreshQR(), and a
    // new round of refs comes, each rebuilt into a QR text on 'change:ref'.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let states: Vec<String> = eval(&page, "window.__states").await;
        let qrs: Vec<String> = eval(&page, "window.__qrs").await;
        if states.contains(&"UNPAIRED_IDLE".to_owned()) && qrs.len() >= 3 {
            assert_eq!(states.last().map(String::as_str), Some("UNPAIRED"));
            break;
        }
        assert!(Instant::now() < deadline, "{states:?} {qrs:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(imitation.qr_refs_shown() >= 3);
    assert_eq!(
        imitation.scan(&first),
        Err(ScanRefused::StaleRef),
        "the first ref is long gone"
    );

    // Stop the rotation, then: Conn.ref alone is refused, the whole string links.
    imitation.set_qr_interval(Duration::from_secs(60));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let qrs: Vec<String> = eval(&page, "window.__qrs").await;
    let current = qrs.last().unwrap().clone();
    assert_eq!(imitation.current_link().as_deref(), Some(current.as_str()));
    let conn_ref: String = eval(&page, "window.require('WAWebConnModel').Conn.ref").await;
    assert!(matches!(
        imitation.scan(&conn_ref),
        Err(ScanRefused::NotALinkingCode(_))
    ));
    let other_key = format!("{}=", "A".repeat(43));
    let wrong = current.replacen(fields[1], &other_key, 1);
    assert_eq!(imitation.scan(&wrong), Err(ScanRefused::WrongKeys));
    assert_eq!(imitation.page_loads(), 1);
    imitation.scan(&current).unwrap();
    let seen = until(&page, "connected and synced", synced_with_send_modules).await;
    let states: Vec<&str> = seen.iter().map(|p| p.state.as_str()).collect();
    assert!(states.contains(&"CONNECTED"), "{states:?}");
    assert!(
        seen.iter().any(|p| p.state == "CONNECTED" && !p.synced),
        "hasSynced starts false: {seen:#?}"
    );
    assert_eq!(imitation.page_loads(), 2, "the page reloads itself once");
    assert_eq!(imitation.current_link(), None);
    assert_eq!(imitation.scan(&current), Err(ScanRefused::StaleRef));
    close(browser).await;
}

/// whatsapp-web.js `WWebJS.getChat` + `WWebJS.sendMessage` for a text, with the acks
/// collected from Msg 'change:ack' (msg, ack) and from the model's own 'change:ack'.
const SEND_MESSAGE: &str = r#"async (chatId, content) => {
  const require = window.require;
  const chatWid = require('WAWebWidFactory').createWid(chatId);
  const chat = require('WAWebCollections').Chat.get(chatWid) ||
    (await require('WAWebFindChatAction').findOrCreateLatestChat(chatWid))?.chat;
  const { getMaybeMeLidUser, getMaybeMePnUser } = require('WAWebUserPrefsMeUser');
  const lidUser = getMaybeMeLidUser();
  const meUser = getMaybeMePnUser();
  const newId = await require('WAWebMsgKey').newId();
  const from = chat.id.isLid() ? lidUser : meUser;
  const newMsgKey = new (require('WAWebMsgKey'))({ from, to: chat.id, id: newId, participant: undefined, selfDir: 'out' });
  const ephemeralFields = require('WAWebGetEphemeralFieldsMsgActionsUtils').getEphemeralFields(chat);
  const message = { id: newMsgKey, ack: 0, body: content, from, to: chat.id, local: true, self: 'out',
                    t: parseInt(new Date().getTime() / 1000), isNewMsg: true, type: 'chat', ...ephemeralFields };
  const key = newMsgKey.toString();
  window.__acks = window.__acks || {};
  const acks = (window.__acks[key] = { collection: [], model: [] });
  require('WAWebCollections').Msg.on('change:ack', (msg, ack) => {
    if (msg.id.toString() === key) acks.collection.push(ack);
  });
  const [msgPromise, sendMsgResultPromise] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, message);
  const msg = await msgPromise;
  msg.on('change:ack', (_msg, ack) => acks.model.push(ack));
  const result = await sendMsgResultPromise;
  const Msg = require('WAWebCollections').Msg;
  return {
    key, chat: chat.id._serialized, ack: msg.ack, result,
    byToString: Msg.get(key) === msg,
    bySerialized: Msg.get(newMsgKey._serialized) === msg,
    ownSerialized: Object.prototype.hasOwnProperty.call(newMsgKey, '_serialized'),
    ownMinified: Object.prototype.hasOwnProperty.call(newMsgKey, '$1'),
    widSerialized: chat.id._serialized === chatId,
    keyFields: Object.keys(newMsgKey),
  };
}"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    key: String,
    chat: String,
    ack: i64,
    result: Value,
    by_to_string: bool,
    by_serialized: bool,
    own_serialized: bool,
    own_minified: bool,
    wid_serialized: bool,
    key_fields: Vec<String>,
}

async fn send_message(page: &Page, chat_id: &str, text: &str) -> Sent {
    call(page, SEND_MESSAGE, &[json!(chat_id), json!(text)]).await
}

#[derive(Debug, Deserialize, PartialEq)]
struct Acks {
    collection: Vec<i64>,
    model: Vec<i64>,
}

async fn acks(page: &Page, key: &str) -> Acks {
    call(page, "(key) => window.__acks[key]", &[json!(key)]).await
}

/// Runs `body` (an async function of `require`) in the page and returns its value or
/// `{error, name}` when it throws or rejects.
async fn attempt(page: &Page, body: &str) -> Value {
    let script = format!(
        "(async () => {{ try {{ return await ({body})(window.require); }} \
         catch (e) {{ return {{ error: String(e && e.message), name: e && e.name }}; }} }})()"
    );
    eval(page, &script).await
}

#[tokio::test]
async fn chats_are_found_or_created_and_text_is_sent_both_ways() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register_with_chat("6281111111111");
    imitation.register("+62 822 2222 2222");
    let browser = launch(&fresh_profile("chats"), Some(DESKTOP_UA)).await;
    let page = open_and_link(&imitation, &browser).await;

    // whatsapp-web.js getNumberId: queryWidExists gives the wid, or null without WhatsApp.
    let found = attempt(&page, "async (require) => (await require('WAWebQueryExistsJob').queryWidExists(require('WAWebWidFactory').createWid('6282222222222@c.us')))?.wid?._serialized ?? null").await;
    assert_eq!(found, json!("6282222222222@c.us"));
    let missing = attempt(&page, "async (require) => await require('WAWebQueryExistsJob').queryWidExists(require('WAWebWidFactory').createWid('6289999999999@c.us'))").await;
    assert_eq!(missing, Value::Null);

    // Chat.get / Chat.find for an existing chat; Chat.find rejects for a number with no chat.
    let existing = attempt(&page, "async (require) => { const w = require('WAWebWidFactory').createWid('6281111111111@c.us'); const { Chat } = require('WAWebCollections'); return [Boolean(Chat.get(w)), (await Chat.find(w)) === Chat.get(w)]; }").await;
    assert_eq!(existing, json!([true, true]));
    let find = attempt(&page, "async (require) => { const w = require('WAWebWidFactory').createWid('6282222222222@c.us'); const { Chat } = require('WAWebCollections'); return [Chat.get(w) ?? null, await Chat.find(w)]; }").await;
    assert_eq!(find["name"], "TypeError", "{find}");
    assert_eq!(find["error"], "r.findImpl is not a function", "{find}");
    assert!(!imitation.has_chat("6282222222222"));

    // wa-js chat.find: findOrCreateLatestChat gives {chat, created}; ChatStore.get(chat.id).
    let created = attempt(&page, "async (require) => { const w = require('WAWebWidFactory').createWid('6282222222222@c.us'); const result = await require('WAWebFindChatAction').findOrCreateLatestChat(w, 'createChat'); const chat = require('WAWebCollections').Chat.get(result.chat.id); return { created: result.created, id: chat.id._serialized, same: chat === result.chat }; }").await;
    assert_eq!(
        created,
        json!({"created": true, "id": "6282222222222@c.us", "same": true})
    );
    assert!(imitation.has_chat("6282222222222"));

    // sendTextMsgToChat resolves to a send result, not a message.
    let result = attempt(&page, "async (require) => { const chat = require('WAWebCollections').Chat.get(require('WAWebWidFactory').createWid('6282222222222@c.us')); return await require('WAWebSendTextMsgChatAction').sendTextMsgToChat(chat, 'Your code is 111111', {}); }").await;
    assert_eq!(result["messageSendResult"], "OK", "{result}");
    assert!(result["t"].is_u64(), "{result}");
    assert!(result.get("count").is_some(), "{result}");
    assert!(
        result.get("id").is_none() && result.get("body").is_none(),
        "{result}"
    );

    // whatsapp-web.js sendMessage: addAndSendMsgToChat, then acks 0 → 1 → 2 with change:ack.
    let sent = send_message(&page, "6281111111111@c.us", "Your code is 222222").await;
    assert_eq!(sent.chat, "6281111111111@c.us");
    assert_eq!(sent.ack, 0);
    assert_eq!(sent.result["messageSendResult"], "OK");
    assert!(sent.by_to_string);
    assert!(sent.wid_serialized);
    let deadline = Instant::now() + Duration::from_secs(5);
    let expected = Acks {
        collection: vec![1, 2],
        model: vec![1, 2],
    };
    while acks(&page, &sent.key).await != expected {
        assert!(
            Instant::now() < deadline,
            "{:?}",
            acks(&page, &sent.key).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let recorded = imitation.sent();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].to, "6282222222222@c.us");
    assert_eq!(recorded[0].text, "Your code is 111111");
    assert_eq!(recorded[0].via, SendPath::SendTextMsgToChat);
    assert_eq!(recorded[1].id, sent.key);
    assert!(
        sent.key.starts_with("true_6281111111111@c.us_"),
        "{}",
        sent.key
    );
    assert_eq!(recorded[1].via, SendPath::AddAndSendMsgToChat);

    // What addAndSendMsgToChat plainly needs: a MsgKey id, `to` the chat, `from` the account.
    let bad_from = attempt(&page, "async (require) => { const chat = require('WAWebCollections').Chat.get(require('WAWebWidFactory').createWid('6281111111111@c.us')); const MsgKey = require('WAWebMsgKey'); const from = require('WAWebWidFactory').createWid('6280000000000@c.us'); const id = new MsgKey({ from, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' }); const [m] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, { id, body: 'x', type: 'chat', from, to: chat.id }); return await m; }").await;
    assert!(
        bad_from["error"].as_str().unwrap().contains("from must be"),
        "{bad_from}"
    );
    let string_id = attempt(&page, "async (require) => { const chat = require('WAWebCollections').Chat.get(require('WAWebWidFactory').createWid('6281111111111@c.us')); const from = require('WAWebUserPrefsMeUser').getMaybeMePnUser(); const [, r] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, { id: 'true_x_y', body: 'x', type: 'chat', from, to: chat.id }); return await r; }").await;
    assert!(
        string_id["error"].as_str().unwrap().contains("WAWebMsgKey"),
        "{string_id}"
    );
    assert_eq!(imitation.sent().len(), 2);

    // Stuck keeps ack 0; Error sets ack -1 and a non-OK send result.
    imitation.set_ack_behaviour(AckBehaviour::Stuck);
    let stuck = send_message(&page, "6281111111111@c.us", "stuck").await;
    imitation.set_ack_behaviour(AckBehaviour::Error);
    let failed = send_message(&page, "6281111111111@c.us", "fails").await;
    assert_ne!(
        failed.result["messageSendResult"], "OK",
        "{:?}",
        failed.result
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stuck_acks = acks(&page, &stuck.key).await;
    assert!(stuck_acks.collection.is_empty(), "{stuck_acks:?}");
    assert_eq!(acks(&page, &failed.key).await.collection, vec![-1]);
    assert_eq!(
        imitation.sent().len(),
        3,
        "the stuck one is recorded, not the failed one"
    );
    close(browser).await;
}

#[tokio::test]
async fn a_lid_contact_is_sent_to_from_the_account_lid() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    let lid = imitation.register_lid("6283333333333");
    let browser = launch(&fresh_profile("lid"), Some(DESKTOP_UA)).await;
    let page = open_and_link(&imitation, &browser).await;

    let sent = send_message(&page, "6283333333333@c.us", "Your code is 333333").await;
    assert_eq!(sent.chat, lid);
    assert_eq!(sent.result["messageSendResult"], "OK");
    let recorded = imitation.sent();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].to, lid);
    assert!(recorded[0].id.starts_with(&format!("true_{lid}_")));

    // The phone-number account on a LID chat is refused.
    let refused = attempt(&page, "async (require) => { const chat = (await require('WAWebFindChatAction').findOrCreateLatestChat(require('WAWebWidFactory').createWid('6283333333333@c.us'))).chat; const MsgKey = require('WAWebMsgKey'); const from = require('WAWebUserPrefsMeUser').getMaybeMePnUser(); const id = new MsgKey({ from, to: chat.id, id: await MsgKey.newId(), selfDir: 'out' }); const [m] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, { id, body: 'x', type: 'chat', from, to: chat.id }); return await m; }").await;
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains(&imitation.account().lid),
        "{refused}"
    );
    close(browser).await;
}

#[tokio::test]
async fn msg_key_keeps_serialized_or_minified_field_per_build() {
    let _one = ONE_BROWSER.lock().await;
    for build in [Build::KeyWithSerialized, Build::KeyWithMinifiedField] {
        let imitation = Imitation::start_with(build).await;
        assert_eq!(imitation.build(), build);
        imitation.register_with_chat("6284444444444");
        let browser = launch(&fresh_profile("msgkey"), Some(DESKTOP_UA)).await;
        let page = open_and_link(&imitation, &browser).await;
        let version: String = eval(&page, "window.Debug.VERSION").await;
        assert_eq!(version, build.version());

        let sent = send_message(&page, "6284444444444@c.us", "key").await;
        assert!(
            sent.by_to_string,
            "toString() finds the message in every build"
        );
        assert!(sent.wid_serialized, "Wid keeps _serialized in every build");
        assert_eq!(imitation.sent()[0].id, sent.key);
        // wa-js finds the module by this string and the cached field from toString's source.
        let found: Value = eval(&page, "(() => { const MsgKey = window.require('WAWebMsgKey'); return [MsgKey.toString().includes('MsgKey error: obj is null/undefined'), /\\breturn this\\.([$A-Za-z_][\\w$]*)/.exec(Function.prototype.toString.call(MsgKey.prototype.toString))?.[1]]; })()").await;
        match build {
            Build::KeyWithSerialized => {
                assert!(sent.own_serialized && !sent.own_minified);
                assert!(sent.by_serialized);
                assert_eq!(found, json!([true, "_serialized"]));
                assert_eq!(sent.key_fields, ["fromMe", "remote", "id", "_serialized"]);
            }
            Build::KeyWithMinifiedField => {
                assert!(!sent.own_serialized && sent.own_minified);
                assert!(
                    !sent.by_serialized,
                    "Msg.get(key._serialized) is Msg.get(undefined)"
                );
                assert_eq!(found, json!([true, "$1"]));
                assert_eq!(sent.key_fields, ["fromMe", "remote", "id", "$1"]);
            }
        }
        let parsed: String = call(
            &page,
            "(key) => window.require('WAWebMsgKey').fromString(key).toString()",
            &[json!(sent.key)],
        )
        .await;
        assert_eq!(parsed, sent.key);
        close(browser).await;
    }
}

#[tokio::test]
async fn send_modules_register_after_sync_and_a_late_bundle() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.set_send_modules_delay(Duration::from_millis(700));
    let browser = launch(&fresh_profile("lazy"), Some(DESKTOP_UA)).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    let injected: Injected = eval(&page, &format!("({INJECT})()")).await;

    let before = probe(&page).await.unwrap();
    assert!(before.modules.is_empty(), "{before:?}");
    let unknown = attempt(
        &page,
        "async (require) => require('WAWebSendMsgChatAction')",
    )
    .await;
    assert_eq!(
        unknown["error"],
        "Requiring unknown module \"WAWebSendMsgChatAction\""
    );
    imitation.scan(injected.qrs.last().unwrap()).unwrap();
    let seen = until(&page, "the send modules", synced_with_send_modules).await;
    assert!(
        seen.iter()
            .filter(|p| !p.synced)
            .all(|p| p.modules.is_empty()),
        "no send module before hasSynced: {seen:#?}"
    );
    assert!(
        seen.iter().any(|p| p.synced && p.modules.is_empty()),
        "synced, and the send modules still on their way: {seen:#?}"
    );

    // A module that a new WhatsApp Web no longer has.
    imitation.drop_module("WAWebSendTextMsgChatAction");
    until(&page, "the module gone", |p| {
        !p.modules.contains(&"WAWebSendTextMsgChatAction".to_owned())
    })
    .await;
    imitation.restore_module("WAWebSendTextMsgChatAction");
    until(&page, "the module back", synced_with_send_modules).await;
    close(browser).await;
}

#[tokio::test]
async fn blocked_conflict_takeover_and_logout() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register_with_chat("6285555555555");
    let browser = launch(&fresh_profile("states"), Some(DESKTOP_UA)).await;
    let page = open_and_link(&imitation, &browser).await;
    const SEND_TEXT: &str = "async (require) => { const chat = require('WAWebCollections').Chat.get(require('WAWebWidFactory').createWid('6285555555555@c.us')); return await require('WAWebSendTextMsgChatAction').sendTextMsgToChat(chat, 'blocked?', {}); }";

    imitation.block(BlockState::TosBlock);
    until(&page, "TOS_BLOCK", |p| p.state == "TOS_BLOCK").await;
    let refused = attempt(&page, SEND_TEXT).await;
    assert_ne!(refused["messageSendResult"], "OK", "{refused}");
    assert!(imitation.sent().is_empty());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(probe(&page).await.unwrap().state, "TOS_BLOCK", "it stays");
    imitation.unblock();
    until(&page, "CONNECTED again", |p| p.state == "CONNECTED").await;

    imitation.conflict();
    until(&page, "CONFLICT", |p| p.state == "CONFLICT").await;
    let _: Value = eval(
        &page,
        "window.require('WAWebSocketModel').Socket.takeover()",
    )
    .await;
    until(&page, "CONNECTED after takeover", |p| {
        p.state == "CONNECTED"
    })
    .await;
    let sent = attempt(&page, SEND_TEXT).await;
    assert_eq!(sent["messageSendResult"], "OK", "{sent}");

    // The phone logs out: Cmd 'logout', the pairing forgotten, a new QR round after
    // /?post_logout=1.
    let _: Value = eval(&page, "(window.require('WAWebCmd').Cmd.on('logout', () => { sessionStorage.setItem('logout-seen', '1'); }), null)").await;
    let loads = imitation.page_loads();
    imitation.log_out();
    let seen = until(&page, "a QR after the logout", |p| {
        p.state == "UNPAIRED" && p.reference.is_some() && p.href.contains("post_logout=1")
    })
    .await;
    assert!(seen.last().unwrap().modules.is_empty());
    let after: Value = eval(
        &page,
        "({ stored: localStorage.length, logout: sessionStorage.getItem('logout-seen') })",
    )
    .await;
    assert_eq!(after, json!({"stored": 0, "logout": "1"}));
    assert_eq!(imitation.page_loads(), loads + 1);
    assert!(imitation.current_link().is_some());
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
