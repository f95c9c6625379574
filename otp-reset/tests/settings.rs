//! Settings out of their range are refused by name, never clamped silently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use otp_reset::{
    ConsoleSender, Error, ForgotPassword, ForgotPasswordBuilder, MemoryOtpStore, MemoryUserStore,
    Passwords,
};

fn builder() -> ForgotPasswordBuilder<MemoryUserStore, MemoryOtpStore> {
    ForgotPassword::builder(
        MemoryUserStore::new(),
        MemoryOtpStore::new(),
        ConsoleSender::new(),
    )
}

fn refused_setting(
    built: Result<ForgotPassword<MemoryUserStore, MemoryOtpStore>, Error>,
) -> String {
    match built {
        Err(Error::Setting(error)) => error.setting().to_owned(),
        Err(other) => panic!("expected a setting error, got {other}"),
        Ok(_) => panic!("expected a setting error, got a service"),
    }
}

#[tokio::test]
async fn an_empty_outbox_is_refused() {
    let built = builder().with_outbox_capacity(0).build();
    assert_eq!(refused_setting(built), "outbox_capacity");
}

#[tokio::test]
async fn a_body_limit_below_one_kib_is_refused() {
    let built = builder().with_max_body_bytes(1023).build();
    assert_eq!(refused_setting(built), "max_body_bytes");
    assert!(builder().with_max_body_bytes(1024).build().is_ok());
}

#[tokio::test]
async fn a_purge_more_often_than_every_second_is_refused() {
    let built = builder()
        .with_purge_interval(Some(Duration::from_millis(999)))
        .build();
    assert_eq!(refused_setting(built), "purge_interval");
    assert!(builder().with_purge_interval(None).build().is_ok());
}

#[test]
fn no_password_hashing_at_all_is_refused() {
    let error = Passwords::new(0).unwrap_err();
    assert_eq!(error.setting(), "max_concurrent");
    assert!(Passwords::new(1).is_ok());
}
