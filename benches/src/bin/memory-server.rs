//! The flow mounted in axum over the in-memory stores, next to a `/healthz` that does nothing
//! and a `/post-floor` that reads a JSON body and answers JSON of verify-otp's size without any
//! work, for the HTTP load script to compare them: `memory-server PORT USERS`. Every seeded user
//! has an active code (`benches::CODE`); nothing is written anywhere.

use std::process::ExitCode;

use axum::Router;
use axum::routing::{get, post};

/// The example server's allocator, so that figures are the server's (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(users)) = (
        args.next().and_then(|p| p.parse::<u16>().ok()),
        args.next().and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: memory-server PORT USERS");
        return ExitCode::FAILURE;
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(port, users)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(port: u16, users: usize) -> std::io::Result<()> {
    let (users, otps) = benches::memory_stores(users).await;
    let app = Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route(
            "/post-floor",
            post(|body: axum::body::Bytes| async move {
                axum::Json(serde_json::json!({
                    "success": true,
                    "message": "Kode OTP benar. Silakan buat password baru.",
                    "data": { "otpId": body.len(), "resetToken": "0123456789abcdef0123456789abcdef0123456789a" }
                }))
            }),
        )
        .nest_service("/api/forgot-password", benches::service(users, otps));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
