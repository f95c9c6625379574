//! Logs mask the phone and never show codes, tokens or passwords.
//!
//! Alone in its own test binary: `tracing` caches per call site whether anyone listens, so a
//! subscriber set for one test is missed by call sites that other tests, running in parallel
//! without one, reached first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Harness, JOHN, wrong_code};
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn logs_and_events_mask_the_phone_and_never_show_codes_tokens_or_passwords() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new();
    let code = h.code_for(JOHN).await;
    h.verify_otp(JOHN.1, &wrong_code(&code)).await;
    let verified = h.verify_otp(JOHN.1, &code).await;
    let token = verified.body["data"]["resetToken"]
        .as_str()
        .unwrap()
        .to_owned();
    h.reset_password(JOHN.1, &code, "SecretPass!42").await;
    h.sender.wait_for(2).await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let events: String = h
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|e| format!("{e} {e:?}\n"))
        .collect();
    for (what, text) in [("log", &log), ("events", &events)] {
        assert!(
            text.contains("+6281*******90"),
            "{what} shows the masked phone:\n{text}"
        );
        assert!(
            !text.contains("81234567890"),
            "{what} shows a full phone number:\n{text}"
        );
        assert!(
            !text.contains(&format!("code {code}")) && !text.contains(&format!("\"{code}\"")),
            "{what} shows the code"
        );
        assert!(!text.contains(&token), "{what} shows the reset token");
        assert!(!text.contains("SecretPass!42"), "{what} shows the password");
    }
    assert!(
        log.contains("otp_reset::event"),
        "events go through tracing:\n{log}"
    );
    assert!(
        !log.contains("known user") && !log.contains("known_user"),
        "the log does not say whether a pair is a user's:\n{log}"
    );

    let _console = otp_reset::ConsoleSender::new();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("WARN") && log.contains("console sender prints every code"),
        "making a console sender warns that codes reach the terminal:\n{log}"
    );
}
