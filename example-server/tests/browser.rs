//! A person's path through the pages, in real headless Chromium (Debian's `chromium`): the
//! three steps of the forgot-password page, the redirect to the login page, and a login with
//! the new password. A failure saves a screenshot and names it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/browser.rs"]
mod page;

use chromiumoxide::Page;
use common::{Server, demo_data, fresh_dir};
use page::{click, launch, screenshot, type_into, until};

async fn forgot_then_login(server: &Server, page: &Page) -> Result<(), String> {
    page.goto(server.url("/forgot-password.html"))
        .await
        .map_err(|e| e.to_string())?;
    until(page, "the first step", "!!document.querySelector('#nama')").await?;

    // Step 1: name and number, typed the way a person types them.
    type_into(page, "#nama", "John Doe").await?;
    type_into(page, "#noHp", "0812-3456-7890").await?;
    click(page, "#request-otp").await?;
    until(
        page,
        "the code step",
        "!document.querySelector('#step-2').hidden",
    )
    .await?;

    // A reload keeps the step and the countdown.
    page.reload().await.map_err(|e| e.to_string())?;
    until(
        page,
        "the code step after a reload",
        "!document.querySelector('#step-2').hidden",
    )
    .await?;

    // Step 2: the code from WhatsApp (here: the console sender's output).
    let code = server
        .codes_sent()
        .last()
        .cloned()
        .ok_or("no code was sent")?;
    until(
        page,
        "the countdown",
        "/^1[45]:[0-5][0-9]$/.test(document.querySelector('#countdown').textContent)",
    )
    .await?;
    type_into(page, "#otp", &code).await?;
    click(page, "#verify-otp").await?;
    until(
        page,
        "the password step",
        "!document.querySelector('#step-3').hidden",
    )
    .await?;

    // Step 3: the new password, twice.
    type_into(page, "#newPassword", "SandiBaru#2026").await?;
    type_into(page, "#confirmPassword", "SandiBaru#2026").await?;
    click(page, "#reset-password").await?;
    until(
        page,
        "the login page",
        "location.pathname === '/login.html'",
    )
    .await?;

    // The login page, with the new password.
    until(
        page,
        "the login form",
        "!!document.querySelector('#password')",
    )
    .await?;
    type_into(page, "#noHp", "081234567890").await?;
    type_into(page, "#password", "SandiBaru#2026").await?;
    click(page, "#login").await?;
    until(
        page,
        "the welcome",
        "document.querySelector('#info').textContent.includes('Berhasil masuk')",
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_resets_the_password_through_the_pages_and_logs_in() {
    let server = Server::start(&demo_data("browser"), &[]).await;
    let profile = fresh_dir("browser-profile");
    let mut browser = launch(&profile).await;
    let page = browser.new_page("about:blank").await.unwrap();

    let outcome = forgot_then_login(&server, &page).await;
    if let Err(problem) = outcome {
        let shot = screenshot(&page, &profile, "failure.png").await;
        let _ = browser.close().await;
        panic!(
            "{problem}\nscreenshot: {shot}\nserver output:\n{}",
            server.output()
        );
    }
    assert_eq!(server.login("081234567890", "SandiBaru#2026").await, 200);
    assert_eq!(server.login("081234567890", "password123").await, 401);
    let _ = browser.close().await;
    let _ = browser.wait().await;
}
