//! Unit tests of the state machine: linking, pairing, sending, blocks and conflicts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use super::page::{Hello, Refusal};
use super::sending::Outcome;
use super::{ACCOUNT_PN, PLATFORM, REF_GRACE, State};
use crate::{BlockState, Build, ScanRefused, SendPath, SentMessage};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";

fn hello(state: &mut State, token: Option<String>, now: Instant) -> String {
    let reply = state.hello(
        Hello {
            token,
            user_agent_header: DESKTOP.to_owned(),
            navigator_user_agent: Some(DESKTOP.to_owned()),
            webdriver: Some(false),
            refusal_page: false,
        },
        now,
    );
    assert!(!reply.turned_away);
    reply.reply.unwrap().page
}

fn message(to: &str, text: &str) -> SentMessage {
    SentMessage {
        id: format!("true_{to}_3EB0AAAA"),
        to: to.to_owned(),
        text: text.to_owned(),
        via: SendPath::AddAndSendMsgToChat,
    }
}

/// A page paired and connected (and synced) at `t0 + 1300 ms`; returns its id.
fn paired(state: &mut State, t0: Instant) -> String {
    let page = hello(state, None, t0);
    state.poll(&page, t0 + ms(300)).unwrap();
    let link = state.current_link().unwrap();
    state.scan(&link, t0 + ms(350)).unwrap();
    assert_eq!(state.poll(&page, t0 + ms(400)).unwrap().state, "PAIRING");
    let reload = state.poll(&page, t0 + ms(900)).unwrap();
    assert_eq!(reload.reload, Some("/"));
    let again = hello(state, reload.token, t0 + ms(1000));
    let connected = state.poll(&again, t0 + ms(1300)).unwrap();
    assert_eq!(connected.state, "CONNECTED");
    assert!(!connected.has_synced);
    assert!(state.poll(&again, t0 + ms(1800)).unwrap().has_synced);
    again
}

#[test]
fn headless_browsers_are_turned_away_and_recorded() {
    let mut state = State::new(Build::default());
    let reply = state.hello(
        Hello {
            user_agent_header: "Mozilla/5.0 HeadlessChrome/140.0.0.0".to_owned(),
            navigator_user_agent: Some("Mozilla/5.0 HeadlessChrome/140.0.0.0".to_owned()),
            webdriver: Some(true),
            ..Hello::default()
        },
        Instant::now(),
    );
    assert!(reply.turned_away);
    assert!(reply.reply.is_none());
    assert!(state.pages.is_empty());
    let page = hello(&mut state, None, Instant::now());
    assert!(!page.is_empty());
    assert_eq!(state.page_loads, 2);
    let seen: Vec<bool> = state.browsers.iter().map(|b| b.turned_away).collect();
    assert_eq!(seen, [true, false]);
    assert_eq!(state.browsers[0].webdriver, Some(true));
}

#[test]
fn unpaired_rotates_then_idles_until_refreshed() {
    let mut state = State::new(Build::default());
    state.qr_interval = ms(100);
    state.max_qr_refs = 2;
    let t0 = Instant::now();
    let page = hello(&mut state, None, t0);
    assert_eq!(state.poll(&page, t0 + ms(100)).unwrap().state, "OPENING");
    let first = state.poll(&page, t0 + ms(300)).unwrap();
    assert_eq!(first.state, "UNPAIRED");
    let first_ref = first.qr.clone().unwrap();
    assert!(state.current_link().unwrap().starts_with(&first_ref));
    let second = state.poll(&page, t0 + ms(400)).unwrap();
    assert_ne!(second.qr, first.qr);
    assert_eq!(state.qr_refs_shown, 2);
    let idle = state.poll(&page, t0 + ms(500)).unwrap();
    assert_eq!(idle.state, "UNPAIRED_IDLE");
    assert_eq!(idle.qr, second.qr, "Conn.ref keeps the last ref");
    assert_eq!(state.current_link(), None);
    let stale = state.pages[0].keys.link(&first_ref);
    assert_eq!(state.scan(&stale, t0 + ms(500)), Err(ScanRefused::StaleRef));

    state.refresh(&page, t0 + ms(600)).unwrap();
    let fresh = state.poll(&page, t0 + ms(600)).unwrap();
    assert_eq!(fresh.state, "UNPAIRED");
    assert_ne!(fresh.qr, second.qr);
    assert_eq!(state.qr_refs_shown, 3);
}

#[test]
fn the_phone_needs_the_whole_linking_string() {
    let mut state = State::new(Build::default());
    let t0 = Instant::now();
    assert!(matches!(
        state.scan("2@abc,AAAA", t0),
        Err(ScanRefused::NotALinkingCode(_))
    ));
    let page = hello(&mut state, None, t0);
    let noise = "A".repeat(43) + "=";
    let nothing_shown = format!("2@abcd,{noise},{noise},{noise},1");
    assert_eq!(state.scan(&nothing_shown, t0), Err(ScanRefused::NoQrShown));
    let shown = state.poll(&page, t0 + ms(300)).unwrap().qr.unwrap();
    let link = state.current_link().unwrap();
    let fields: Vec<&str> = link.split(',').collect();
    assert_eq!(fields.len(), 5);
    assert_eq!(fields[0], shown);
    assert_eq!(fields[4], PLATFORM);

    let now = t0 + ms(350);
    match state.scan(&shown, now) {
        Err(ScanRefused::NotALinkingCode(why)) => assert!(why.contains("only a ref"), "{why}"),
        other => panic!("{other:?}"),
    }
    let swapped = format!("{},{},{},{},1", fields[0], fields[2], fields[1], fields[3]);
    assert_eq!(state.scan(&swapped, now), Err(ScanRefused::WrongKeys));
    let other_platform = format!("{},{},{},{},2", fields[0], fields[1], fields[2], fields[3]);
    assert_eq!(
        state.scan(&other_platform, now),
        Err(ScanRefused::WrongKeys)
    );
    let unknown = format!("2@nope,{},{},{},1", fields[1], fields[2], fields[3]);
    assert!(matches!(
        state.scan(&unknown, now),
        Err(ScanRefused::NotALinkingCode(_))
    ));
    assert!(matches!(
        state.scan(&format!("{link},extra"), now),
        Err(ScanRefused::NotALinkingCode(_))
    ));
    assert_eq!(state.scan(&format!("  {link}\n"), now), Ok(()));
    assert_eq!(state.poll(&page, now).unwrap().state, "PAIRING");
}

#[test]
fn a_ref_just_replaced_is_still_accepted_briefly() {
    let mut state = State::new(Build::default());
    state.qr_interval = ms(100);
    let t0 = Instant::now();
    let page = hello(&mut state, None, t0);
    state.poll(&page, t0 + ms(300)).unwrap();
    let old = state.current_link().unwrap();
    state.poll(&page, t0 + ms(400)).unwrap();
    assert_ne!(state.current_link().unwrap(), old);
    assert_eq!(
        state.scan(&old, t0 + ms(400) + REF_GRACE),
        Err(ScanRefused::StaleRef)
    );
    assert_eq!(state.scan(&old, t0 + ms(450)), Ok(()));
}

#[test]
fn pairing_reloads_syncs_sends_and_logs_out() {
    let mut state = State::new(Build::default());
    state.send_modules_delay = ms(200);
    state.register("+62 812 3456 7890");
    let t0 = Instant::now();
    let page = paired(&mut state, t0);
    assert_eq!(state.page_loads, 2);
    let synced = state.poll(&page, t0 + ms(1800)).unwrap();
    assert!(!synced.send_modules, "the send modules come later");
    let ready = state.poll(&page, t0 + ms(2000)).unwrap();
    assert!(ready.send_modules);
    assert_eq!(ready.me.unwrap().pn, format!("{ACCOUNT_PN}@c.us"));

    let wid = "6281234567890@c.us";
    assert_eq!(
        state.exists(&page, wid, t0 + ms(2000)).unwrap().as_deref(),
        Some(wid)
    );
    assert_eq!(
        state
            .exists(&page, "6289999999999@c.us", t0 + ms(2000))
            .unwrap(),
        None
    );
    assert!(!state.has_chat("6281234567890"));
    let found = state
        .find_or_create_chat(&page, wid, t0 + ms(2000))
        .unwrap();
    assert!(found.created);
    assert!(state.has_chat("6281234567890"));
    assert!(
        !state
            .find_or_create_chat(&page, wid, t0 + ms(2000))
            .unwrap()
            .created
    );
    let sent = state
        .send(&page, message(wid, "hi"), t0 + ms(2000))
        .unwrap();
    assert_eq!(sent.outcome, Outcome::Delivered);
    let nobody = state
        .send(&page, message("6289999999999@c.us", "hi"), t0 + ms(2000))
        .unwrap();
    assert_eq!(nobody.outcome, Outcome::Unreachable);
    assert_eq!(state.sent.len(), 1);

    state.log_out();
    let out = state.poll(&page, t0 + ms(2100)).unwrap();
    assert!(out.forget);
    assert!(out.logout);
    assert_eq!(out.reload, Some("/?post_logout=1"));
    assert_eq!(
        state.send(&page, message(wid, "late"), t0 + ms(2100)).err(),
        Some(Refusal::NotConnected)
    );
    let fresh = hello(&mut state, None, t0 + ms(2200));
    let unpaired = state.poll(&fresh, t0 + ms(2500)).unwrap();
    assert_eq!(unpaired.state, "UNPAIRED");
    assert!(unpaired.qr.is_some());
}

#[test]
fn blocks_conflicts_and_takeover() {
    let mut state = State::new(Build::default());
    state.register("6281234567890");
    let t0 = Instant::now();
    let page = paired(&mut state, t0);
    let wid = "6281234567890@c.us";

    state.conflict();
    assert_eq!(state.poll(&page, t0 + ms(1900)).unwrap().state, "CONFLICT");
    assert!(state.send(&page, message(wid, "x"), t0 + ms(1900)).is_err());
    state.takeover(&page, t0 + ms(1950)).unwrap();
    assert_eq!(state.poll(&page, t0 + ms(1950)).unwrap().state, "CONNECTED");

    state.block(BlockState::TosBlock);
    let blocked = state.poll(&page, t0 + ms(2000)).unwrap();
    assert_eq!(blocked.state, "TOS_BLOCK");
    assert!(blocked.has_synced, "hasSynced stays as it was");
    assert_eq!(
        state.send(&page, message(wid, "x"), t0 + ms(2000)).err(),
        Some(Refusal::NotConnected)
    );
    let other = hello(&mut state, None, t0 + ms(2000));
    assert_eq!(
        state.poll(&other, t0 + ms(2400)).unwrap().state,
        "TOS_BLOCK"
    );
    state.blocked = None;
    assert_eq!(state.poll(&page, t0 + ms(2500)).unwrap().state, "CONNECTED");
}

#[test]
fn lid_contacts_are_reached_through_their_lid_chat() {
    let mut state = State::new(Build::default());
    let lid = state.register_lid("6281234567891");
    assert!(lid.ends_with("@lid"));
    let t0 = Instant::now();
    let page = paired(&mut state, t0);
    let pn = "6281234567891@c.us";
    assert_eq!(
        state.exists(&page, pn, t0 + ms(1800)).unwrap().as_deref(),
        Some(pn)
    );
    let found = state.find_or_create_chat(&page, pn, t0 + ms(1800)).unwrap();
    assert_eq!(found.id, lid);
    assert!(state.has_chat("6281234567891"));
    let sent = state
        .send(&page, message(&lid, "hi"), t0 + ms(1800))
        .unwrap();
    assert_eq!(sent.outcome, Outcome::Delivered);
}

#[test]
fn held_sends_are_recorded_and_marked_until_released() {
    let t0 = Instant::now();
    let mut state = State::new(Build::default());
    let wid = "6281234567890@c.us";
    state.register("6281234567890");
    let page = paired(&mut state, t0);
    let before = state
        .send(&page, message(wid, "free"), t0 + ms(2000))
        .unwrap();
    assert!(!before.held);
    state.holding = true;
    let held = state
        .send(&page, message(wid, "held"), t0 + ms(2000))
        .unwrap();
    assert!(held.held, "the answer waits");
    assert_eq!(state.held, [format!("true_{wid}_3EB0AAAA")]);
    assert_eq!(state.sent.len(), 2, "the phone has it all the same");
}
