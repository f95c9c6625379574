//! The server's settings: flags with environment equivalents, checked once at start.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Parser;
use ipnet::IpNet;

/// Settings of the reference server. Every flag can also be set by the environment variable
/// named in its help; flags win.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "example-server",
    version,
    about = "The ticketing site's password reset over WhatsApp: API, pages and data file"
)]
pub struct Config {
    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 5000)]
    pub port: u16,

    /// Address to listen on (0.0.0.0: every interface).
    #[arg(long, env = "BIND", default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// The JSON data file with the users and codes (the seed's format).
    #[arg(long, env = "DATA_FILE", default_value = "data/data.json")]
    pub data_file: PathBuf,

    /// Where the users live: `data-file` (the JSON data file) or a PostgreSQL URL
    /// (`postgres://user:password@host:5432/database`), shared by several instances. With the
    /// default table, the server creates or updates it at start.
    #[arg(
        long,
        env = "USER_STORE",
        default_value = "data-file",
        hide_env_values = true
    )]
    pub user_store: UserStoreSetting,

    /// With USER_STORE=postgres://…: the schema the default table lives in (default: the
    /// database's search_path).
    #[arg(long, env = "POSTGRES_SCHEMA")]
    pub postgres_schema: Option<String>,

    /// With USER_STORE=postgres://…: the site's own user table (`table` or `schema.table`,
    /// names as created, case-sensitive) instead of the default one; no migration runs.
    #[arg(long, env = "POSTGRES_USER_TABLE")]
    pub postgres_user_table: Option<String>,

    /// With POSTGRES_USER_TABLE: its columns, `id,name,phone,password` (default those names).
    /// The phone column holds E.164 digits without `+` (`6281234567890`).
    #[arg(long, env = "POSTGRES_USER_COLUMNS")]
    pub postgres_user_columns: Option<String>,

    /// With USER_STORE=postgres://…: connections this instance holds at most (1 to 1000).
    #[arg(long, env = "POSTGRES_MAX_CONNECTIONS", default_value_t = 10)]
    pub postgres_max_connections: u32,

    /// Import the users of this JSON data file into USER_STORE=postgres://… (upserting by
    /// phone, plain-text passwords hashed), print what it did, and exit.
    #[arg(long, value_name = "DATA_FILE")]
    pub import_users: Option<PathBuf>,

    /// Seconds after a change that a small data file (under 8 MiB) is rewritten with it (the
    /// journal folded in), so other tools see it; a larger file waits until its journal is half
    /// its size, or a minute (or this, if longer). 1 to 3600.
    #[arg(long, env = "DATA_FILE_FOLD_SECS", default_value_t = 5)]
    pub data_file_fold_secs: u64,

    /// How long a code stays valid, in seconds (60 to 86400).
    #[arg(long, env = "OTP_TTL_SECS", default_value_t = 900)]
    pub otp_ttl_secs: u64,

    /// Wrong guesses a code survives (1 to 10).
    #[arg(long, env = "OTP_MAX_ATTEMPTS", default_value_t = 3)]
    pub otp_max_attempts: u32,

    /// Seconds a phone waits before it can get a new code (at most the code's lifetime).
    #[arg(long, env = "OTP_RESEND_COOLDOWN_SECS", default_value_t = 60)]
    pub otp_resend_cooldown_secs: u64,

    /// Codes one phone may receive per hour.
    #[arg(long, env = "OTP_MAX_SENDS_PER_HOUR", default_value_t = 5)]
    pub otp_max_sends_per_hour: u32,

    /// Failed guesses on one phone, from any clients, after which it takes no guess and gets
    /// no code for 15 minutes, doubling with each further failure (each client has only
    /// OTP_MAX_ATTEMPTS guesses at a code; NIST SP 800-63B allows up to 100).
    #[arg(long, env = "OTP_LOCKOUT_FAILURES", default_value_t = 50)]
    pub otp_lockout_failures: u32,

    /// Codes really sent per hour across the whole site (0: no budget): beyond it, and beyond
    /// OTP_SITE_SENDS_BURST at once, request-otp answers 503 `busy`. A WhatsApp number that
    /// messages many strangers fast is banned, and then nobody can reset.
    #[arg(long, env = "OTP_SITE_SENDS_PER_HOUR", default_value_t = 60)]
    pub otp_site_sends_per_hour: u32,

    /// The most codes sent at once, after a quiet spell (1 to OTP_SITE_SENDS_PER_HOUR).
    #[arg(long, env = "OTP_SITE_SENDS_BURST", default_value_t = 20)]
    pub otp_site_sends_burst: u32,

    /// request-otp calls per minute across the whole site, known pairs or not (0: no limit);
    /// beyond it every caller gets 503 `busy`.
    #[arg(long, env = "OTP_SITE_REQUESTS_PER_MIN", default_value_t = 300)]
    pub otp_site_requests_per_min: u32,

    /// Phones whose stand-ins (codes for name/phone pairs that match no user, kept so that a
    /// stranger cannot tell them from real ones) are kept in memory; the least used go first.
    #[arg(long, env = "OTP_STAND_IN_CAPACITY", default_value_t = 50_000)]
    pub otp_stand_in_capacity: usize,

    /// How codes reach the user: `console` prints them on this terminal (development),
    /// `whatsapp` sends them over WhatsApp Web, `cloud` over WhatsApp's official Cloud API
    /// (CLOUD_API_*), `queue` hands them to the sender worker through Redis (several
    /// instances, one WhatsApp session). Several, comma-separated (`whatsapp,cloud`), are
    /// tried in turn: the next when one cannot deliver.
    #[arg(
        long,
        env = "OTP_SENDER",
        value_enum,
        value_delimiter = ',',
        default_value = "console"
    )]
    pub otp_sender: Vec<SenderKind>,

    /// Where codes and the per-phone limits live: `data-file` with the users (kept across
    /// restarts), `memory` (no write per step, but a restart forgets the codes in flight and
    /// the limits), or a `redis://` or `rediss://` URL (shared by every instance that points at
    /// it; the per-client request limit is then shared too, and OTP_SECRET is required).
    #[arg(
        long,
        env = "OTP_STORE",
        default_value = "data-file",
        hide_env_values = true
    )]
    pub otp_store: OtpStoreSetting,

    /// The prefix of every Redis key, when OTP_STORE is a Redis URL (several sites can share
    /// one Redis).
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "otp-reset:")]
    pub redis_key_prefix: String,

    /// Put the code in request-otp answers as `testOTP` (development only: it defeats the check).
    #[arg(long, env = "DEV_EXPOSE_OTP", default_value_t = false, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub dev_expose_otp: bool,

    /// Answer an unknown name/phone pair with 404 "User tidak ditemukan" (off: the same answer as for a known pair).
    #[arg(long, env = "REVEAL_UNKNOWN_USER", default_value_t = false, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub reveal_unknown_user: bool,

    /// Requests per minute one client address may make to the POST routes (0: no limit).
    #[arg(long, env = "CLIENT_RATE_LIMIT_PER_MIN", default_value_t = 30)]
    pub client_rate_limit_per_min: u32,

    /// Proxies (addresses or CIDR ranges, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<IpNet>,

    /// Origins (comma-separated, such as `https://tiket.example`) whose pages may call the API;
    /// `*` allows any origin, without credentials.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// The secret that keys the code digests (at least 32 characters). Without it, one is
    /// generated once and kept beside the data file (`<DATA_FILE>.secret`, owner-only).
    #[arg(long, env = "OTP_SECRET", hide_env_values = true)]
    pub otp_secret: Option<String>,

    /// The WhatsApp Web address the WhatsApp sender opens.
    #[arg(
        long,
        env = "WHATSAPP_URL",
        default_value = "https://web.whatsapp.com/"
    )]
    pub whatsapp_url: String,

    /// The Chromium the WhatsApp sender drives (Debian's package `chromium`).
    #[arg(long, env = "CHROMIUM_PATH", default_value = "/usr/bin/chromium")]
    pub chromium_path: PathBuf,

    /// Where the WhatsApp session (the browser profile) is kept; back it up to avoid a new QR scan.
    #[arg(
        long,
        env = "WHATSAPP_SESSION_DIR",
        default_value = ".otp-reset-whatsapp"
    )]
    pub whatsapp_session_dir: PathBuf,

    /// The WhatsApp session's name (a profile folder `session-<id>`).
    #[arg(long, env = "WHATSAPP_SESSION_ID", default_value = "default")]
    pub whatsapp_session_id: String,

    /// The WhatsApp message with the code, `{code}` and `{minutes}` in it (default: Indonesian,
    /// or English for users who asked in English).
    #[arg(long, env = "WHATSAPP_TEMPLATE")]
    pub whatsapp_template: Option<String>,

    /// A folder of WhatsApp Web adapter scripts (`probe.js`, `send.js`, `new-key.js`,
    /// `find.js`, `ack.js`, `refresh-qr.js`, `VERSION`) that replace the compiled-in ones it holds: follows a change
    /// of WhatsApp Web without a rebuild.
    #[arg(long, env = "WHATSAPP_ADAPTER_DIR")]
    pub whatsapp_adapter_dir: Option<PathBuf>,

    /// The user agent the WhatsApp sender's browser announces (default: the installed
    /// Chromium's, as a desktop Chrome gives it).
    #[arg(long, env = "WHATSAPP_USER_AGENT")]
    pub whatsapp_user_agent: Option<String>,

    /// Token an operator sends (`Authorization: Bearer …`) to see the QR code at
    /// /admin/whatsapp/qr.svg; without it that page does not exist.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// PEM certificate chain: with TLS_KEY, serve HTTPS.
    #[arg(long, env = "TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for TLS_CERT.
    #[arg(long, env = "TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Longest time a request may take, in seconds.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// At shutdown, longest time the codes already queued may take to be sent, in seconds;
    /// those still queued then are logged as not sent.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECS", default_value_t = 20)]
    pub shutdown_drain_secs: u64,

    /// Failed logins one client address may make on one account before each further try
    /// must wait (a good login from that address starts its count over).
    #[arg(long, env = "LOGIN_CLIENT_FREE_FAILURES", default_value_t = 5)]
    pub login_client_free_failures: u32,

    /// Failed logins on one account, from all addresses together, before each further try
    /// must wait, whoever makes it; at least LOGIN_CLIENT_FREE_FAILURES (NIST SP 800-63B
    /// allows up to 100).
    #[arg(long, env = "LOGIN_ACCOUNT_FREE_FAILURES", default_value_t = 100)]
    pub login_account_free_failures: u32,

    /// The first wait after the free failed logins, in milliseconds; each further failure
    /// doubles it.
    #[arg(long, env = "LOGIN_BACKOFF_BASE_MS", default_value_t = 1000)]
    pub login_backoff_base_ms: u64,

    /// The longest wait between failed logins, in seconds (at most 86400).
    #[arg(long, env = "LOGIN_BACKOFF_MAX_SECS", default_value_t = 900)]
    pub login_backoff_max_secs: u64,

    /// Failed-login counts kept in memory, per table (account and client; account): when
    /// full, the least used are forgotten (about 100 bytes each).
    #[arg(long, env = "LOGIN_BACKOFF_ENTRIES", default_value_t = 100_000)]
    pub login_backoff_entries: usize,

    /// Password checks one client address may have under way or queued at once; more logins
    /// from it meanwhile are answered 429 at once.
    #[arg(long, env = "LOGIN_HASHES_PER_CLIENT", default_value_t = 2)]
    pub login_hashes_per_client: usize,
    /// `max-age` of the `Strict-Transport-Security` header on HTTPS answers, in seconds
    /// (0 tells browsers to forget it). Plain HTTP answers never carry it.
    #[arg(long, env = "HSTS_MAX_AGE_SECS", default_value_t = 31_536_000)]
    pub hsts_max_age_secs: u64,

    /// Seconds a connection has to send a whole request head, from its start or from the
    /// first byte of its next request (1 to 300); then it is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,

    /// Seconds a kept-alive connection may wait for its next request (1 to 3600); then it is
    /// closed.
    #[arg(long, env = "IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,

    /// Seconds a TLS handshake may take (1 to 300).
    #[arg(long, env = "TLS_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    pub tls_handshake_timeout_secs: u64,

    /// Largest request head (request line and headers), in bytes (1024 to 1048576); a larger
    /// one is answered 431 and its connection closed.
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 16_384)]
    pub max_header_bytes: usize,

    /// Open connections in all (at least 1); fewer if the file-handle limit allows fewer. When
    /// full, a new connection takes the place of an idle one of the client that holds the most.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

    /// Open connections per client address, an IPv6 client counting by its /64, with 4 times
    /// as many per /56 and 16 times per /48 (at least 1). Trusted proxies are held to
    /// MAX_CONNECTIONS only.
    #[arg(long, env = "MAX_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    pub max_connections_per_client: usize,

    /// File handles kept back from connections for the data file, journal, snapshots and
    /// Chromium (at least 16): connections get the process's limit less these.
    #[arg(long, env = "FILE_HANDLE_RESERVE", default_value_t = 128)]
    pub file_handle_reserve: usize,

    /// The sender queue (OTP_SENDER=queue) and the sender worker (--sender-worker).
    #[command(flatten)]
    pub queue: QueueSettings,

    /// The WhatsApp Cloud API sender (OTP_SENDER=cloud) and its status webhook.
    #[command(flatten)]
    pub cloud: CloudApiSettings,
}

/// Where codes are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SenderKind {
    /// Printed on the server's terminal.
    Console,
    /// Over WhatsApp Web, from the site's own account (linked once by QR code).
    Whatsapp,
    /// Over WhatsApp's official Cloud API, as an authentication template (CLOUD_API_*).
    Cloud,
    /// Put on a Redis Stream (SENDER_QUEUE_URL) for the one sender worker (--sender-worker).
    Queue,
}

/// Where codes and the per-phone limits live, as [`OtpStoreSetting::kind`] reads `OTP_STORE`.
#[derive(Clone, PartialEq, Eq)]
pub enum OtpStoreKind {
    /// In the JSON data file, with the users.
    DataFile,
    /// In the process's memory.
    Memory,
    /// In the Redis at this URL (`redis://` or `rediss://`).
    Redis(String),
}

impl fmt::Debug for OtpStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DataFile => f.write_str("DataFile"),
            Self::Memory => f.write_str("Memory"),
            Self::Redis(url) => write!(f, "Redis({})", otp_reset_redis::redacted_url(url)),
        }
    }
}

/// `OTP_STORE` as given: read by [`OtpStoreSetting::kind`] when the settings are checked, so
/// that a bad value is reported with the setting's name and never echoes a password that was
/// in a URL (clap would quote the whole value).
#[derive(Clone, PartialEq, Eq)]
pub struct OtpStoreSetting(String);

impl std::str::FromStr for OtpStoreSetting {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Debug for OtpStoreSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&otp_reset_redis::redacted_url(&self.0))
    }
}

impl fmt::Display for OtpStoreSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&otp_reset_redis::redacted_url(&self.0))
    }
}

impl OtpStoreSetting {
    /// The store this names: `data-file`, `memory`, or a `redis://` / `rediss://` URL with a
    /// host.
    ///
    /// ```
    /// use example_server::config::{OtpStoreKind, OtpStoreSetting};
    ///
    /// let setting: OtpStoreSetting = "redis://:pw@cache:6379/1".parse()?;
    /// assert!(matches!(setting.kind(), Ok(OtpStoreKind::Redis(_))));
    /// let bad: OtpStoreSetting = "redis://:pw@".parse()?;
    /// assert!(!bad.kind().unwrap_err().to_string().contains("pw"));
    /// # Ok::<(), std::convert::Infallible>(())
    /// ```
    pub fn kind(&self) -> Result<OtpStoreKind, ConfigError> {
        let text = self.0.trim();
        match text {
            "data-file" => return Ok(OtpStoreKind::DataFile),
            "memory" => return Ok(OtpStoreKind::Memory),
            _ => {}
        }
        let problem = |problem: String| ConfigError {
            setting: "OTP_STORE",
            problem,
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(problem(
                "use data-file, memory, or a redis:// or rediss:// URL".into(),
            ));
        };
        if scheme != "redis" && scheme != "rediss" {
            return Err(problem(format!(
                "{scheme}:// is not supported: use data-file, memory, or a redis:// or rediss:// URL"
            )));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        if host.is_empty() || host.starts_with(':') {
            return Err(problem(format!(
                "{} names no host",
                otp_reset_redis::redacted_url(text)
            )));
        }
        Ok(OtpStoreKind::Redis(text.to_owned()))
    }
}

fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))
}

mod check;
mod cloud;
mod queue;
mod user_store;

pub use check::ConfigError;
pub use cloud::{CloudApiSettings, CloudWebhookSecrets};
pub use queue::{QueueSettings, WorkerSenderKind};
pub use user_store::{UserStoreKind, UserStoreSetting};
