//! Metrics for operators: `/metrics` in Prometheus' text format (version 0.0.4), written by
//! [`prometheus_client`].
//!
//! Off unless `METRICS_ADDR` or `METRICS_TOKEN` is set ([`MetricsExposure`]): then the server
//! builds one [`Metrics`] and hands it what it measures:
//!
//! | metric | type | labels | from |
//! | --- | --- | --- | --- |
//! | `otp_reset_http_requests_total` | counter | `route`, `outcome` | [`track_requests`] around every route |
//! | `otp_reset_codes_issued_total` | counter | | the flow's [`Event::CodeRequested`] |
//! | `otp_reset_limits_hit_total` | counter | `kind` | [`Event::CodeRefused`], and the answers `busy`, `rate_limited`, `login_throttled`, `login_busy` |
//! | `otp_reset_sends_total` | counter | `sender`, `outcome` | [`Metrics::meter`]ed senders |
//! | `otp_reset_delivery_first_ack_seconds` | histogram | | [`Event::DeliveryChanged`] to `sent` |
//! | `otp_reset_delivery_delivered_seconds` | histogram | | [`Event::DeliveryChanged`] to `delivered` |
//! | `otp_reset_delivery_outcomes_total` | counter | `status` | [`Event::DeliveryChanged`] |
//! | `otp_reset_sender_state` | gauge | `sender`, `state` | [`Sender::state`], read at each scrape |
//! | `otp_reset_sender_ready` | gauge | `sender` | [`Sender::can_send`], read at each scrape |
//! | `otp_reset_outbox_messages` | gauge | | [`Metrics::watch_outbox`], read at each scrape |
//! | `otp_reset_journal_sync_seconds` | histogram | | [`Metrics::observe_journal_sync`] |
//! | `otp_reset_password_hash_wait_seconds` | histogram | | [`Metrics::observe_hash_wait`] |
//!
//! Every label value comes from a fixed list (routes, error codes, states, sender names): never
//! a phone number, a name, a code, a token or a client address.
//!
//! ```
//! use std::sync::Arc;
//! use example_server::metrics::Metrics;
//! use otp_reset::{ConsoleSender, Sender};
//!
//! let metrics = Metrics::new();
//! let sender: Arc<dyn Sender> = metrics.meter(Arc::new(ConsoleSender::new()));
//! let text = metrics.encode()?;
//! assert!(text.contains("otp_reset_sender_ready{sender=\"console\"} 1"));
//! # let _ = sender;
//! # Ok::<(), std::fmt::Error>(())
//! ```
//!
//! [`MetricsExposure`]: crate::config::MetricsExposure
//! [`Event::CodeRequested`]: otp_reset::Event::CodeRequested
//! [`Event::CodeRefused`]: otp_reset::Event::CodeRefused
//! [`Event::DeliveryChanged`]: otp_reset::Event::DeliveryChanged
//! [`Sender::state`]: otp_reset::Sender::state
//! [`Sender::can_send`]: otp_reset::Sender::can_send

mod events;
mod expose;
mod http;
mod labels;
mod sender;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use otp_reset::Sender;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

pub use expose::{mount, serve_own_listener};
pub use http::track_requests;
pub use sender::MeteredSender;

/// Seconds from request-otp to a delivery report: a WhatsApp ack comes in seconds, a phone
/// that is off may take until the code expires (15 minutes by default).
const DELIVERY_BUCKETS: [f64; 12] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0,
];

/// The site's metrics: cheap to clone, clones share them.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<labels::Request, Counter>,
    codes_issued: Counter,
    limits_hit: Family<labels::Limit, Counter>,
    sends: Family<labels::Send, Counter>,
    first_ack: Histogram,
    delivered: Histogram,
    delivery_outcomes: Family<labels::Delivery, Counter>,
    sender_state: Family<labels::SenderState, Gauge>,
    sender_ready: Family<labels::SenderName, Gauge>,
    outbox_messages: Gauge,
    journal_sync: Histogram,
    hash_wait: Histogram,
    /// The senders whose state each scrape reads.
    senders: Mutex<Vec<Arc<dyn Sender>>>,
    /// How many messages wait in the outbox, read at each scrape.
    outbox: Mutex<Option<OutboxDepth>>,
}

type OutboxDepth = Box<dyn Fn() -> usize + Send + Sync>;

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every metric, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("otp_reset");
        let requests = Family::default();
        registry.register(
            "http_requests",
            "HTTP requests by route (from a fixed list; `other` for the rest) and outcome (a status class, or the failure's error code)",
            requests.clone(),
        );
        let codes_issued = Counter::default();
        registry.register(
            "codes_issued",
            "Codes issued by request-otp (for stand-ins of unknown name/phone pairs too, which are never sent)",
            codes_issued.clone(),
        );
        let limits_hit = Family::<labels::Limit, Counter>::default();
        registry.register(
            "limits_hit",
            "Requests refused by a limit, by kind: cooldown, send_cap, locked_out (per phone), busy (site at capacity), client_rate_limit (per client address), login_backoff, login_busy",
            limits_hit.clone(),
        );
        let sends = Family::default();
        registry.register(
            "sends",
            "Messages handed to a sender, by sender and outcome (sent, not_registered, busy, timeout, not_ready, failed)",
            sends.clone(),
        );
        let first_ack = Histogram::new(DELIVERY_BUCKETS);
        registry.register_with_unit(
            "delivery_first_ack",
            "Time from request-otp to the messaging service's first acknowledgement (status sent) of a user's code",
            Unit::Seconds,
            first_ack.clone(),
        );
        let delivered = Histogram::new(DELIVERY_BUCKETS);
        registry.register_with_unit(
            "delivery_delivered",
            "Time from request-otp to the report that a user's code reached the phone (status delivered)",
            Unit::Seconds,
            delivered.clone(),
        );
        let delivery_outcomes = Family::<labels::Delivery, Counter>::default();
        registry.register(
            "delivery_outcomes",
            "Delivery reports of users' codes, by the status reached (sent, delivered, not_on_whatsapp, failed)",
            delivery_outcomes.clone(),
        );
        let sender_state = Family::default();
        registry.register(
            "sender_state",
            "1 for the state each sender is in now, 0 for the others",
            sender_state.clone(),
        );
        let sender_ready = Family::default();
        registry.register(
            "sender_ready",
            "1 while the sender can send, else 0",
            sender_ready.clone(),
        );
        let outbox_messages = Gauge::default();
        registry.register(
            "outbox_messages",
            "Messages queued in this instance's outbox, waiting for the sender",
            outbox_messages.clone(),
        );
        let journal_sync = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        registry.register_with_unit(
            "journal_sync",
            "Time each fdatasync of the data file's journal took (every acknowledged change waits for one)",
            Unit::Seconds,
            journal_sync.clone(),
        );
        let hash_wait = Histogram::new(exponential_buckets(0.001, 2.0, 15));
        registry.register_with_unit(
            "password_hash_wait",
            "Time a password hash or check waited for a free hashing slot (argon2id)",
            Unit::Seconds,
            hash_wait.clone(),
        );
        for kind in labels::LIMIT_KINDS {
            let _ = limits_hit.get_or_create(&labels::Limit { kind });
        }
        for status in ["sent", "delivered", "not_on_whatsapp", "failed"] {
            let _ = delivery_outcomes.get_or_create(&labels::Delivery { status });
        }
        Self {
            inner: Arc::new(Inner {
                registry,
                requests,
                codes_issued,
                limits_hit,
                sends,
                first_ack,
                delivered,
                delivery_outcomes,
                sender_state,
                sender_ready,
                outbox_messages,
                journal_sync,
                hash_wait,
                senders: Mutex::new(Vec::new()),
                outbox: Mutex::new(None),
            }),
        }
    }

    /// `sender`, its sends counted by outcome and its state read at each scrape. Wrap each
    /// sender a chain holds rather than the chain, so that each is seen by its own name.
    pub fn meter(&self, sender: Arc<dyn Sender>) -> Arc<dyn Sender> {
        for outcome in labels::SEND_OUTCOMES {
            let _ = self.inner.sends.get_or_create(&labels::Send {
                sender: sender.name().to_owned(),
                outcome,
            });
        }
        self.watch_sender(Arc::clone(&sender));
        Arc::new(MeteredSender::new(sender, self.clone()))
    }

    /// Reads `sender`'s state at each scrape, without counting its sends.
    pub fn watch_sender(&self, sender: Arc<dyn Sender>) {
        self.inner
            .senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(sender);
    }

    /// Reads the outbox's depth with `depth` at each scrape.
    pub fn watch_outbox(&self, depth: impl Fn() -> usize + Send + Sync + 'static) {
        *self
            .inner
            .outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(depth));
    }

    /// Records one sync of the data file's journal that took `took` (for
    /// `otp_reset_json::JsonStore::observe_journal_syncs`).
    pub fn observe_journal_sync(&self, took: Duration) {
        self.inner.journal_sync.observe(took.as_secs_f64());
    }

    /// Records one wait of `waited` for a password-hashing slot (for
    /// [`otp_reset::Passwords::with_wait_observer`]).
    pub fn observe_hash_wait(&self, waited: Duration) {
        self.inner.hash_wait.observe(waited.as_secs_f64());
    }

    /// Counts a request to `route` that ended with `outcome`.
    fn request(&self, route: &'static str, outcome: &'static str) {
        self.inner
            .requests
            .get_or_create(&labels::Request { route, outcome })
            .inc();
        if let Some(kind) = labels::limit_of_answer(outcome) {
            self.limit_hit(kind);
        }
    }

    fn limit_hit(&self, kind: &'static str) {
        self.inner
            .limits_hit
            .get_or_create(&labels::Limit { kind })
            .inc();
    }

    fn sent(&self, sender: &str, outcome: &'static str) {
        self.inner
            .sends
            .get_or_create(&labels::Send {
                sender: sender.to_owned(),
                outcome,
            })
            .inc();
    }

    /// The metrics in Prometheus' text format, the senders' states and the outbox read now.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        self.read_gauges();
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry)?;
        Ok(text)
    }

    /// The gauges that are read rather than counted.
    fn read_gauges(&self) {
        let inner = &self.inner;
        let senders = inner
            .senders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for sender in senders {
            let name = sender.name().to_owned();
            let now = sender.state().as_str();
            for state in labels::SENDER_STATES.iter().copied().chain([now]) {
                inner
                    .sender_state
                    .get_or_create(&labels::SenderState {
                        sender: name.clone(),
                        state,
                    })
                    .set(i64::from(state == now));
            }
            inner
                .sender_ready
                .get_or_create(&labels::SenderName { sender: name })
                .set(i64::from(sender.can_send()));
        }
        let depth = inner
            .outbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|depth| depth());
        if let Some(depth) = depth {
            inner
                .outbox_messages
                .set(i64::try_from(depth).unwrap_or(i64::MAX));
        }
    }
}
