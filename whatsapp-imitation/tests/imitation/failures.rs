//! Failures and recovery: blocks, conflicts, takeover and logout.

use std::time::Duration;

use serde_json::{Value, json};
use whatsapp_imitation::{BlockState, Imitation};

use crate::common::{
    DESKTOP_UA, ONE_BROWSER, attempt, close, eval, fresh_profile, launch, open_and_link, probe,
    until,
};

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
