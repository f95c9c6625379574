//! The settings of the sender queue: `OTP_SENDER=queue` on the instances, `--sender-worker`
//! for the one process that sends.

use std::time::Duration;

use otp_reset_queue::{QueueOptions, WorkerOptions};

use super::{ConfigError, SenderKind};

/// The worker's claim timeout must exceed its send timeout (60 s, above the WhatsApp sender's
/// 55 s) plus two Redis command timeouts (2 s each).
const MIN_CLAIM_TIMEOUT_SECS: u64 = 65;

/// Settings of the Redis Stream between the instances and the sender worker.
#[derive(Clone, Debug, clap::Args)]
pub struct QueueSettings {
    /// The Redis of the sender queue (`redis://[user:password@]host:port[/db]`), for
    /// OTP_SENDER=queue and --sender-worker.
    #[arg(long, env = "SENDER_QUEUE_URL", hide_env_values = true)]
    pub sender_queue_url: Option<String>,

    /// The prefix of the queue's Redis keys (one per site sharing a Redis).
    #[arg(long, env = "SENDER_QUEUE_PREFIX", default_value = "otp-reset:sender:")]
    pub sender_queue_prefix: String,

    /// Messages the queue holds, waiting or in the worker's hands (1 to 1000000).
    #[arg(long, env = "SENDER_QUEUE_CAPACITY", default_value_t = 1000)]
    pub sender_queue_capacity: usize,

    /// Seconds a message sits unacknowledged with a worker before another takes it over
    /// (65 to 3600: more than the worker's 60 s send timeout).
    #[arg(long, env = "SENDER_CLAIM_TIMEOUT_SECS", default_value_t = 120)]
    pub sender_claim_timeout_secs: u64,

    /// Serve no site: run the sender worker, which takes the messages the instances queue
    /// (OTP_SENDER=queue) and sends them with WORKER_SENDER.
    #[arg(long, env = "SENDER_WORKER", default_value_t = false, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub sender_worker: bool,

    /// How the sender worker sends: `whatsapp` over WhatsApp Web, `console` prints the codes
    /// on its terminal (development and tests).
    #[arg(long, env = "WORKER_SENDER", value_enum, default_value_t = WorkerSenderKind::Whatsapp)]
    pub worker_sender: WorkerSenderKind,
}

/// What the sender worker sends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkerSenderKind {
    /// Over WhatsApp Web.
    Whatsapp,
    /// Printed on the worker's terminal.
    Console,
}

impl QueueSettings {
    /// Checks the queue's settings when the queue is in use (as an instance's sender or as the
    /// worker); `otp_secret` is the shared secret, which these modes need set.
    pub(super) fn check(
        &self,
        otp_sender: &[SenderKind],
        otp_secret: Option<&str>,
    ) -> Result<(), ConfigError> {
        if otp_sender.contains(&SenderKind::Queue) && otp_sender.len() > 1 {
            // The worker sends; a chain on the instance would send beside it.
            return Err(ConfigError {
                setting: "OTP_SENDER",
                problem: "queue cannot be combined with other senders: the worker sends".into(),
            });
        }
        let mode = if self.sender_worker {
            "--sender-worker"
        } else if otp_sender.contains(&SenderKind::Queue) {
            "OTP_SENDER=queue"
        } else {
            return Ok(());
        };
        let problem = |setting, problem: String| Err(ConfigError { setting, problem });
        let Some(url) = &self.sender_queue_url else {
            return problem("SENDER_QUEUE_URL", format!("{mode} needs a redis:// URL"));
        };
        if redis_client(url).is_err() {
            // The URL may hold a password: not repeated.
            return problem("SENDER_QUEUE_URL", "is not a redis:// URL".into());
        }
        if otp_secret.is_none() {
            return problem(
                "OTP_SECRET",
                format!(
                    "{mode} needs it set, the same on every instance and the worker: it seals the queued messages"
                ),
            );
        }
        if !(1..=1_000_000).contains(&self.sender_queue_capacity) {
            return problem(
                "SENDER_QUEUE_CAPACITY",
                format!(
                    "{} is not between 1 and 1000000",
                    self.sender_queue_capacity
                ),
            );
        }
        if !(MIN_CLAIM_TIMEOUT_SECS..=3600).contains(&self.sender_claim_timeout_secs) {
            return problem(
                "SENDER_CLAIM_TIMEOUT_SECS",
                format!(
                    "{} is not between {MIN_CLAIM_TIMEOUT_SECS} and 3600 (it must exceed the worker's 60 s send timeout)",
                    self.sender_claim_timeout_secs
                ),
            );
        }
        Ok(())
    }

    /// The queue's options, sealing with `secret`.
    pub fn options(&self, secret: &[u8]) -> Result<QueueOptions, ConfigError> {
        let url = self.sender_queue_url.as_deref().unwrap_or_default();
        let options = QueueOptions::new(url, secret).map_err(|error| ConfigError {
            setting: "SENDER_QUEUE_URL",
            problem: error.to_string(),
        })?;
        Ok(options
            .with_prefix(self.sender_queue_prefix.clone())
            .with_capacity(self.sender_queue_capacity))
    }

    /// The worker's options.
    pub fn worker_options(&self) -> WorkerOptions {
        WorkerOptions::default()
            .with_send_timeout(Duration::from_secs(60))
            .with_claim_timeout(Duration::from_secs(self.sender_claim_timeout_secs))
    }
}

fn redis_client(url: &str) -> Result<(), ()> {
    // Parsing only: the same check `QueueOptions::new` makes, without a secret.
    QueueOptions::new(url, &[0; 32]).map(|_| ()).map_err(|_| ())
}
