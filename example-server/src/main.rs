//! The reference server for the ticketing site: the forgot-password flow of `otp-reset`
//! mounted at `/api/forgot-password`.
//!
//! This first version keeps users and codes in memory and prints codes on the terminal
//! ([`ConsoleSender`]); the JSON data file, the pages and the WhatsApp sender come next.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use otp_reset::{ConsoleSender, ForgotPassword, MemoryOtpStore, MemoryUserStore, User, UserId};
use tracing_subscriber::EnvFilter;

/// The demo users, with the seed's plain-text passwords (they still verify, as in an old data
/// file, and are upgraded to argon2 when changed).
fn demo_users() -> Result<Vec<User>, otp_reset::PhoneError> {
    [
        ("1", "John Doe", "6281234567890", "password123"),
        ("2", "Siti Rahma", "081298765432", "rahasia99"),
        ("3", "Budi Santoso", "+62 857-1111-2222", "budi2024!"),
    ]
    .into_iter()
    .map(|(id, name, phone, password)| {
        Ok(User {
            id: UserId(id.into()),
            name: name.into(),
            phone: phone.parse()?,
            password: password.into(),
        })
    })
    .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let port = match std::env::var("PORT") {
        Ok(text) => text
            .parse::<u16>()
            .map_err(|e| format!("PORT must be a port number, got {text:?}: {e}"))?,
        Err(_) => 5000,
    };
    let forgot_password = ForgotPassword::builder(
        MemoryUserStore::from_users(demo_users()?),
        MemoryOtpStore::new(),
        ConsoleSender::new(),
    )
    .build()?;
    let app = Router::new().nest_service("/api/forgot-password", forgot_password);

    let address = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    tracing::info!("serving on http://localhost:{port}/api/forgot-password");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
