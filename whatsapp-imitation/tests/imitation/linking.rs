//! Linking: the whole whatsapp-web.js linking string links, `Conn.ref` alone does not.

use std::time::{Duration, Instant};

use whatsapp_imitation::{Imitation, ScanRefused};

use crate::common::{
    DESKTOP_UA, INJECT, Injected, ONE_BROWSER, close, eval, fresh_profile, launch,
    synced_with_send_modules, until,
};

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
