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
use example_server::config::{OtpStoreKind, SenderKind, UserStoreKind};
use example_server::state::AppState;
use example_server::stores::{Otps, Stores, Users};
use example_server::{Config, secret, serve};
use otp_reset::{
    CodeHasher, ConsoleSender, ForgotPassword, MemoryOtpStore, Passwords, Sender, SenderChain,
};
use otp_reset_json::{JsonStore, StoreOptions};
use otp_reset_postgres::{PgStoreOptions, PgUserStore};
use otp_reset_queue::QueueSender;
use otp_reset_redis::{RedisOptions, RedisOtpStore};
use otp_reset_whatsapp::{Adapter, WhatsAppConfig, WhatsAppSender};
use otp_reset_whatsapp_cloud::{CloudSender, StatusWebhook};
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
    let user_store = config.user_store()?;
    if let (Some(path), UserStoreKind::Postgres(options)) = (&config.import_users, &user_store) {
        return import_users(&config, path, options).await;
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

    let mut senders: Vec<Arc<dyn Sender>> = Vec::new();
    let mut whatsapp: Option<WhatsAppSender> = None;
    let mut cloud_webhook: Option<StatusWebhook> = None;
    for kind in &config.otp_sender {
        let sender: Arc<dyn Sender> = match kind {
            SenderKind::Console => Arc::new(ConsoleSender::new()),
            SenderKind::Whatsapp => {
                let started = WhatsAppSender::start(whatsapp_config(&config)?)
                    .map_err(|e| format!("invalid setting OTP_SENDER=whatsapp: {e}"))?;
                whatsapp = Some(started.clone());
                Arc::new(started)
            }
            SenderKind::Cloud => {
                let (cloud, webhook) = cloud_sender(&config).await?;
                cloud_webhook = webhook;
                Arc::new(cloud)
            }
            SenderKind::Queue => {
                let options = config.queue.options(&secret)?;
                // Decoys carry the codes' lifetime, so that no field of an entry tells them apart.
                let options = options.with_decoy_lifetime(Duration::from_secs(config.otp_ttl_secs));
                Arc::new(QueueSender::new(options)?)
            }
        };
        senders.push(sender);
    }
    let sender: Arc<dyn Sender> = if senders.len() == 1 {
        senders.remove(0)
    } else {
        let chain = SenderChain::new(senders);
        tracing::info!(senders = chain.name(), "senders tried in turn");
        Arc::new(chain)
    };
    let qr = match (&whatsapp, &config.admin_token) {
        (Some(whatsapp), Some(token)) => Some(QrAccess {
            codes: whatsapp.qr_codes(),
            token: token.as_str().into(),
        }),
        _ => None,
    };
    let users = match user_store {
        UserStoreKind::DataFile => Users::Json(store.clone()),
        UserStoreKind::Postgres(options) => Users::Postgres(postgres_users(*options).await?),
    };
    let stores = Stores {
        users,
        otps: match config.otp_store.kind()? {
            OtpStoreKind::DataFile => Otps::Json(store.clone()),
            OtpStoreKind::Memory => Otps::Memory(Arc::new(MemoryOtpStore::with_stand_in_capacity(
                config.otp_stand_in_capacity,
            ))),
            OtpStoreKind::Redis(url) => {
                let options = RedisOptions::new(url).with_key_prefix(&config.redis_key_prefix);
                let redis = RedisOtpStore::connect(options)
                    .await
                    .map_err(|e| format!("invalid setting OTP_STORE: {e}"))?;
                tracing::info!(prefix = %config.redis_key_prefix, "codes and limits in Redis");
                Otps::Redis(redis)
            }
        },
    };
    // Redis expires codes and counters by itself; a periodic purge would only scan it.
    let purge_interval = match stores.otps {
        Otps::Redis(_) => None,
        _ => Some(Duration::from_secs(60)),
    };
    let forgot_password =
        ForgotPassword::builder(stores.users.clone(), stores.otps.clone(), sender)
            .with_purge_interval(purge_interval)
            .with_policy(policy)
            .with_secret(&secret)
            .build()?;
    store.set_fold_delay(config.data_file_fold_delay());
    // An old file's plain-text passwords, hashed one at a time through the service's bounded
    // hasher, so that logins and resets keep their turn. (Users in PostgreSQL have theirs
    // upgraded at their next login.)
    if matches!(stores.users, Users::Json(_)) {
        tokio::spawn(store.upgrade_plain_passwords(forgot_password.passwords().clone()));
    }
    let flow = forgot_password.clone();
    let state =
        AppState::new(forgot_password, stores, qr, &config).with_cloud_webhook(cloud_webhook);
    let app = app::router(state, &config);
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

/// The users in PostgreSQL: connected, the table checked, and the default table migrated.
async fn postgres_users(options: PgStoreOptions) -> Result<PgUserStore, String> {
    let users = PgUserStore::connect(options).await.map_err(|e| {
        format!(
            "USER_STORE: cannot use the user database: {}",
            with_sources(&e)
        )
    })?;
    users.migrate().await.map_err(|e| {
        format!(
            "USER_STORE: cannot migrate the user table: {}",
            with_sources(&e)
        )
    })?;
    tracing::info!(table = users.table().table(), "users in PostgreSQL");
    Ok(users)
}

/// `--import-users`: the users of a JSON data file into PostgreSQL, then exit. Prints counts,
/// never a password.
async fn import_users(
    config: &Config,
    path: &std::path::Path,
    options: &PgStoreOptions,
) -> Result<(), Box<dyn std::error::Error>> {
    // The file is opened as the server opens it (so not while a server runs on it), with the
    // same secret, so that whatever the store rewrites in it stays valid for the server.
    let secret = match &config.otp_secret {
        Some(secret) => Zeroizing::new(secret.as_bytes().to_vec()),
        None => secret::load_or_create(path).map_err(|e| {
            format!(
                "cannot keep the server secret beside {}: {e}",
                path.display()
            )
        })?,
    };
    let file = JsonStore::open(path, &CodeHasher::new(&secret)?)
        .map_err(|e| format!("--import-users {}: {e}", path.display()))?;
    let users = file.users();
    let unreadable = file.user_count().saturating_sub(users.len());
    file.close()?;
    let store = postgres_users(options.clone()).await?;
    let count = users.len();
    let report = store
        .import(users, &Passwords::default())
        .await
        .map_err(|e| {
            format!(
                "the import failed, nothing was changed: {}",
                with_sources(&e)
            )
        })?;
    println!(
        "imported {count} users from {} into {}: {report}",
        path.display(),
        store.table().table()
    );
    if unreadable > 0 {
        println!("left out {unreadable} users whose phone number is not a valid mobile number");
    }
    Ok(())
}

/// An error with its causes, `a: b: c`.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
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

/// The Cloud API sender, its token checked with Meta (a refused one leaves it `FAILED`, which
/// `bot-status` shows), and its status webhook when CLOUD_API_APP_SECRET and
/// CLOUD_API_VERIFY_TOKEN are set.
async fn cloud_sender(
    config: &Config,
) -> Result<(CloudSender, Option<StatusWebhook>), Box<dyn std::error::Error>> {
    let settings = config
        .cloud
        .settings(Duration::from_secs(config.otp_ttl_secs))?;
    let cloud =
        CloudSender::new(settings).map_err(|e| format!("invalid setting OTP_SENDER=cloud: {e}"))?;
    let state = cloud.check().await;
    tracing::info!(state = %state, "WhatsApp Cloud API sender");
    let webhook = config
        .cloud
        .webhook_secrets()?
        .map(|secrets| cloud.webhook(secrets.app_secret, secrets.verify_token));
    if webhook.is_none() {
        tracing::warn!(
            "CLOUD_API_APP_SECRET and CLOUD_API_VERIFY_TOKEN are not set: no status webhook, \
             so delivery statuses of Cloud API messages stay at `sent`"
        );
    }
    Ok((cloud, webhook))
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
