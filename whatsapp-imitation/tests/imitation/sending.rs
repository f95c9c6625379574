//! Sending: chats found or created, LID contacts, `WAWebMsgKey` per build, late send modules.

use std::time::{Duration, Instant};

use chromiumoxide::Page;
use serde::Deserialize;
use serde_json::{Value, json};
use whatsapp_imitation::{AckBehaviour, AckTimings, Build, Imitation, Recipient, SendPath};

use crate::common::{
    DESKTOP_UA, INJECT, Injected, ONE_BROWSER, attempt, call, close, eval, fresh_profile, launch,
    open_and_link, probe, synced_with_send_modules, until,
};

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

/// Waits until the acks seen on `Msg` and on the model are `expected`.
async fn acks_become(page: &Page, key: &str, expected: &[i64]) {
    let expected = Acks {
        collection: expected.to_vec(),
        model: expected.to_vec(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while acks(page, key).await != expected {
        assert!(
            Instant::now() < deadline,
            "{:?}, expected {expected:?}",
            acks(page, key).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn acks_move_as_the_recipients_phone_allows() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register_with_chat("6286666666666");
    imitation.register_with_chat("6287777777777");
    imitation.set_ack_timings(AckTimings {
        server: Duration::from_millis(50),
        device: Duration::from_millis(100),
        read: Duration::from_millis(100),
    });
    imitation.set_recipient("6286666666666", Recipient::Reads);
    imitation.set_recipient("6287777777777", Recipient::Offline);
    let browser = launch(&fresh_profile("acks"), Some(DESKTOP_UA)).await;
    let page = open_and_link(&imitation, &browser).await;

    // Server, device, read: each a 'change:ack' (msg, ack) on Msg and on the model.
    let read = send_message(&page, "6286666666666@c.us", "read").await;
    acks_become(&page, &read.key, &[1, 2, 3]).await;
    assert_eq!(imitation.ack_of(&read.key), Some(3));

    // An offline phone: one tick, until it comes online.
    let waiting = send_message(&page, "6287777777777@c.us", "waiting").await;
    acks_become(&page, &waiting.key, &[1]).await;
    assert!(
        !imitation
            .wait_until(Duration::from_millis(500), |i| i.ack_of(&waiting.key)
                != Some(1))
            .await
    );
    imitation.set_recipient("6287777777777", Recipient::Online);
    acks_become(&page, &waiting.key, &[1, 2]).await;

    // WhatsApp gives up on a message it took: ack -1.
    assert!(imitation.fail_message(&waiting.key));
    acks_become(&page, &waiting.key, &[1, 2, -1]).await;
    assert!(!imitation.fail_message("true_nobody@c.us_3EB0000000000000000000"));
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

/// whatsapp-web.js `Client.getMessageById`: `Msg.get(id)`, then `Msg.getMessagesById([id])`.
const GET_MESSAGE_BY_ID: &str = r#"async (messageId) => {
  const Msg = window.require('WAWebCollections').Msg;
  const inMemory = Boolean(Msg.get(messageId));
  let msg = Msg.get(messageId);
  if (!msg) {
    const messagesObject = await Msg.getMessagesById([messageId]);
    if (messagesObject && messagesObject.messages.length) msg = messagesObject.messages[0];
  }
  return msg ? { inMemory, id: msg.id.toString(), ack: msg.ack, body: msg.body } : null;
}"#;

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Kept {
    in_memory: bool,
    id: String,
    ack: i64,
    body: String,
}

async fn message_by_id(page: &Page, id: &str) -> Option<Kept> {
    call(page, GET_MESSAGE_BY_ID, &[json!(id)]).await
}

/// The ack stored for `id` in the profile's `model-storage` database.
async fn stored_ack(page: &Page, id: &str) -> Option<i64> {
    const READ: &str = r#"(id) => new Promise((resolve) => {
  const open = indexedDB.open('model-storage');
  open.onsuccess = () => {
    const get = open.result.transaction('message').objectStore('message').get(id);
    get.onsuccess = () => { open.result.close(); resolve(get.result ? get.result.ack : null); };
    get.onerror = () => resolve(null);
  };
  open.onerror = () => resolve(null);
})"#;
    call(page, READ, &[json!(id)]).await
}

/// `WWebJS.sendMessage` under a caller's id, returning once the message is created (without
/// waiting for the send result).
const CREATE_UNDER: &str = r#"async (chatId, content, id) => {
  const require = window.require;
  const chat = (await require('WAWebFindChatAction').findOrCreateLatestChat(require('WAWebWidFactory').createWid(chatId))).chat;
  const from = require('WAWebUserPrefsMeUser').getMaybeMePnUser();
  const key = new (require('WAWebMsgKey'))({ from, to: chat.id, id, selfDir: 'out' });
  const message = { id: key, ack: 0, body: content, from, to: chat.id, local: true, self: 'out',
                    t: parseInt(new Date().getTime() / 1000), isNewMsg: true, type: 'chat' };
  const [msgPromise] = require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, message);
  await msgPromise;
  return key.toString();
}"#;

#[tokio::test]
async fn messages_are_kept_in_the_profile_and_a_pending_one_is_not_sent_again() {
    let _one = ONE_BROWSER.lock().await;
    let imitation = Imitation::start().await;
    imitation.register_with_chat("6285555555555");
    let profile = fresh_profile("kept");
    let browser = launch(&profile, Some(DESKTOP_UA)).await;
    let page = open_and_link(&imitation, &browser).await;

    let delivered = send_message(&page, "6285555555555@c.us", "delivered").await;
    let id: String = eval(&page, "window.require('WAWebMsgKey').newId()").await;
    imitation.hold_sends();
    let pending: String = call(
        &page,
        CREATE_UNDER,
        &[json!("6285555555555@c.us"), json!("pending"), json!(id)],
    )
    .await;
    assert_eq!(
        pending,
        format!("true_6285555555555@c.us_{id}"),
        "created under the caller's id"
    );
    assert!(
        imitation
            .wait_until(Duration::from_secs(10), |i| i.held_sends()
                == [pending.clone()])
            .await,
        "the send is held after it reached the server"
    );
    // Its acks are stored as they come: wait until the stored one is delivered (2).
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored_ack(&page, &delivered.key).await != Some(2) {
        assert!(Instant::now() < deadline, "ack 2 was never stored");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    close(browser).await;
    imitation.release_sends();

    let browser = launch(&profile, Some(DESKTOP_UA)).await;
    let page = browser.new_page(imitation.url()).await.unwrap();
    until(&page, "the kept session, synced", synced_with_send_modules).await;
    let kept = message_by_id(&page, &delivered.key).await;
    assert_eq!(
        kept,
        Some(Kept {
            in_memory: false,
            id: delivered.key.clone(),
            ack: 2,
            body: "delivered".into()
        }),
        "loaded from the profile by Msg.getMessagesById"
    );
    let kept = message_by_id(&page, &pending)
        .await
        .expect("the pending one is kept");
    assert_eq!(kept.ack, 0, "still pending");
    assert!(
        message_by_id(&page, &delivered.key)
            .await
            .unwrap()
            .in_memory
    );
    let never: String = eval(&page, "window.require('WAWebMsgKey').newId()").await;
    assert_eq!(
        message_by_id(&page, &format!("true_6285555555555@c.us_{never}")).await,
        None
    );
    assert!(
        !imitation
            .wait_until(Duration::from_secs(1), |i| i.sent().len() > 2)
            .await,
        "the pending message is not sent again"
    );
    let ids: Vec<String> = imitation.sent().into_iter().map(|m| m.id).collect();
    assert_eq!(ids, [delivered.key, pending]);
    close(browser).await;
}
