//! `example-server`: the ticketing site's password reset over WhatsApp, ready to run.
//!
//! ```text
//! cargo run --release -p example-server            # http://localhost:5000
//! cargo run --release -p example-server -- --help  # every setting and its variable
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use example_server::admin::QrAccess;
use example_server::app;
use example_server::config::{OtpStoreKind, SenderKind};
use example_server::state::AppState;
use example_server::stores::{Otps, Stores, Users};
use example_server::{Config, secret, serve};
use otp_reset::{CodeHasher, ConsoleSender, ForgotPassword, MemoryOtpStore, Sender};
use otp_reset_json::{JsonStore, StoreOptions};
use otp_reset_queue::QueueSender;
use otp_reset_whatsapp::{Adapter, WhatsAppConfig, WhatsAppSender};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: once the heap holds a large data file, glibc's
/// allocator hands each request blocks scattered over cold memory, and a verification with a
/// million users costs 1.5 times one with a thousand; with mimalloc, 1.2 times (`BENCHMARKS.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use zeroize::Zeroizing;

mod worker;

fn main() -> ExitCode {
    let config = Config::parse();
    tracing_subscriber::fmt()
        // chromiumoxide traces every DevTools message, codes and QR references included: never
        // below warnings, whatever RUST_LOG says.
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info"))
                .add_directive("chromiumoxide=warn".parse().unwrap_or_default()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    config.check()?;
    if config.queue.sender_worker {
        return worker::run(&config).await;
    }
    let policy = config.policy()?;
    let secret = match &config.otp_secret {
        Some(secret) => Zeroizing::new(secret.as_bytes().to_vec()),
        None => secret::load_or_create(&config.data_file).map_err(|e| {
            format!(
                "cannot keep the server secret beside {}: {e}",
                config.data_file.display()
            )
        })?,
    };
    let codes = CodeHasher::new(&secret)?;
    let options = StoreOptions::default().with_stand_in_capacity(config.otp_stand_in_capacity);
    let store = JsonStore::open_with(&config.data_file, &codes, options)?;
    tracing::info!(data_file = %config.data_file.display(), users = store.user_count(), "data file open");
    if config.dev_expose_otp {
        tracing::warn!("DEV_EXPOSE_OTP is on: codes are in the answers. Never in production.");
    }

    let (sender, whatsapp): (Arc<dyn Sender>, Option<WhatsAppSender>) = match config.otp_sender {
        SenderKind::Console => (Arc::new(ConsoleSender::new()), None),
        SenderKind::Whatsapp => {
            let whatsapp = WhatsAppSender::start(whatsapp_config(&config)?)
                .map_err(|e| format!("invalid setting OTP_SENDER=whatsapp: {e}"))?;
            (Arc::new(whatsapp.clone()), Some(whatsapp))
        }
        SenderKind::Queue => {
            let queue = QueueSender::new(config.queue.options(&secret)?)?;
            (Arc::new(queue), None)
        }
    };
    let qr = match (&whatsapp, &config.admin_token) {
        (Some(whatsapp), Some(token)) => Some(QrAccess {
            codes: whatsapp.qr_codes(),
            token: token.as_str().into(),
        }),
        _ => None,
    };
    let stores = Stores {
        users: Users::Json(store.clone()),
        otps: match config.otp_store {
            OtpStoreKind::DataFile => Otps::Json(store.clone()),
            OtpStoreKind::Memory => Otps::Memory(Arc::new(MemoryOtpStore::with_stand_in_capacity(
                config.otp_stand_in_capacity,
            ))),
        },
    };
    let forgot_password =
        ForgotPassword::builder(stores.users.clone(), stores.otps.clone(), sender)
            .with_policy(policy)
            .with_secret(&secret)
            .build()?;
    store.set_fold_delay(config.data_file_fold_delay());
    // An old file's plain-text passwords, hashed one at a time through the service's bounded
    // hasher, so that logins and resets keep their turn.
    tokio::spawn(store.upgrade_plain_passwords(forgot_password.passwords().clone()));
    let flow = forgot_password.clone();
    let app = app::router(AppState::new(forgot_password, stores, qr, &config), &config);
    let limits = serve::Limits::from_config(&config)?;
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(
            serve::acceptor(cert, key)
                .map_err(|e| format!("invalid setting TLS_CERT/TLS_KEY: {e}"))?,
        ),
        _ => None,
    };
    let address = SocketAddr::from((config.bind, config.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} (setting PORT/BIND): {e}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!("serving on {scheme}://localhost:{}", config.port);
    serve::serve(listener, tls, app, limits, shutdown_signal()).await;

    let drain = Duration::from_secs(config.shutdown_drain_secs);
    tracing::info!(deadline = ?drain, "requests finished; sending the codes still queued");
    let report = flow.shutdown(drain).await;
    if report.abandoned > 0 {
        tracing::warn!(
            sent = report.sent,
            failed = report.failed,
            not_sent = report.abandoned,
            "shut down with codes not sent"
        );
    } else {
        tracing::info!(
            sent = report.sent,
            failed = report.failed,
            "every queued code was handed to the sender"
        );
    }
    if let Some(whatsapp) = whatsapp {
        tracing::info!("closing WhatsApp Web");
        whatsapp.shutdown().await;
    }
    tracing::info!("folding the journal into the data file");
    store.close()?;
    Ok(())
}

/// The WhatsApp sender's settings.
pub(crate) fn whatsapp_config(
    config: &Config,
) -> Result<WhatsAppConfig, Box<dyn std::error::Error>> {
    let mut whatsapp = WhatsAppConfig::new()
        .with_url(config.whatsapp_url.clone())
        .with_chromium(config.chromium_path.clone())
        .with_session_dir(config.whatsapp_session_dir.clone())
        .with_session_id(config.whatsapp_session_id.clone())
        .with_template_opt(config.whatsapp_template.clone());
    if let Some(dir) = &config.whatsapp_adapter_dir {
        let adapter = Adapter::from_dir(dir)
            .map_err(|e| format!("invalid setting WHATSAPP_ADAPTER_DIR: {e}"))?;
        tracing::info!(
            version = adapter.version(),
            "WhatsApp Web adapter from WHATSAPP_ADAPTER_DIR"
        );
        whatsapp = whatsapp.with_adapter(adapter);
    }
    if let Some(user_agent) = &config.whatsapp_user_agent {
        whatsapp = whatsapp.with_user_agent(user_agent.clone());
    }
    Ok(whatsapp)
}

/// Resolves at the first SIGTERM or Ctrl-C.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
