//! The sender's settings.

use std::path::PathBuf;
use std::time::Duration;

use crate::Adapter;

mod check;

pub use check::ConfigError;

/// Settings of a [`WhatsAppSender`](crate::WhatsAppSender); every `with_*` has a sensible
/// default for production. [`WhatsAppSender::start`](crate::WhatsAppSender::start) refuses a
/// value out of its range, naming the setting ([`WhatsAppConfig::check`]).
///
/// ```
/// use otp_reset_whatsapp::WhatsAppConfig;
/// use std::time::Duration;
///
/// let config = WhatsAppConfig::new()
///     .with_session_dir(".otp-reset-whatsapp")
///     .with_session_id("tiket-kita")
///     .with_send_timeout(Duration::from_secs(45));
/// assert_eq!(config.profile_dir(), std::path::Path::new(".otp-reset-whatsapp/session-tiket-kita"));
/// ```
#[derive(Clone, Debug)]
pub struct WhatsAppConfig {
    pub(crate) chromium: PathBuf,
    pub(crate) url: String,
    pub(crate) session_dir: PathBuf,
    pub(crate) session_id: String,
    pub(crate) headless: bool,
    pub(crate) launch_timeout: Duration,
    pub(crate) load_timeout: Duration,
    pub(crate) qr_timeout: Duration,
    pub(crate) max_qr_codes: u32,
    pub(crate) pairing_timeout: Duration,
    pub(crate) evaluate_timeout: Duration,
    pub(crate) send_timeout: Duration,
    pub(crate) close_timeout: Duration,
    pub(crate) probe_interval: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) recipient_spacing: Duration,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) relaunch_after: Option<Duration>,
    pub(crate) relaunch_after_sends: Option<u64>,
    pub(crate) show_qr_in_terminal: bool,
    pub(crate) template: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) module_wait: Duration,
    pub(crate) adapter: Adapter,
    pub(crate) ack_poll_interval: Duration,
    pub(crate) ack_follow_for: Duration,
    pub(crate) ack_follow_max: usize,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl WhatsAppConfig {
    /// The defaults: Debian's Chromium, web.whatsapp.com, `.otp-reset-whatsapp/session-default`.
    pub fn new() -> Self {
        Self {
            chromium: PathBuf::from("/usr/bin/chromium"),
            url: "https://web.whatsapp.com/".into(),
            session_dir: PathBuf::from(".otp-reset-whatsapp"),
            session_id: "default".into(),
            headless: true,
            launch_timeout: Duration::from_secs(30),
            load_timeout: Duration::from_secs(60),
            qr_timeout: Duration::from_secs(60),
            max_qr_codes: 6,
            pairing_timeout: Duration::from_secs(180),
            evaluate_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(10),
            probe_interval: Duration::from_millis(500),
            queue_capacity: 32,
            recipient_spacing: Duration::from_secs(5),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(120),
            relaunch_after: Some(Duration::from_secs(24 * 60 * 60)),
            relaunch_after_sends: Some(2_000),
            show_qr_in_terminal: true,
            template: None,
            user_agent: None,
            module_wait: Duration::from_secs(60),
            adapter: Adapter::builtin(),
            ack_poll_interval: Duration::from_secs(1),
            ack_follow_for: Duration::from_secs(10 * 60),
            ack_follow_max: 1_000,
        }
    }

    /// The Chromium executable (default `/usr/bin/chromium`, Debian's package `chromium`).
    pub fn with_chromium(mut self, path: impl Into<PathBuf>) -> Self {
        self.chromium = path.into();
        self
    }

    /// The WhatsApp Web address (default `https://web.whatsapp.com/`); tests point it at a
    /// local imitation.
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The folder that holds the sessions (default `.otp-reset-whatsapp`).
    pub fn with_session_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.session_dir = dir.into();
        self
    }

    /// The session's name, for several accounts side by side (default `default`): letters,
    /// digits, `-` and `_`, as it names a folder.
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = id.into();
        self
    }

    /// Run Chromium with a window (default headless).
    pub fn with_headless(mut self, headless: bool) -> Self {
        self.headless = headless;
        self
    }

    /// How long a QR code may wait for its scan, and how many codes are shown before the
    /// sender gives up until it is restarted (defaults 60 s and 6; at least 1 code).
    pub fn with_qr_limits(mut self, each: Duration, codes: u32) -> Self {
        self.qr_timeout = each;
        self.max_qr_codes = codes;
        self
    }

    /// Longest wait for WhatsApp to confirm a message (ack ≥ 1), default 30 s.
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// Longest wait for Chromium to start, the page to load, pairing to finish, and one script
    /// to answer (defaults 30 s, 60 s, 180 s, 10 s).
    pub fn with_step_timeouts(
        mut self,
        launch: Duration,
        load: Duration,
        pairing: Duration,
        evaluate: Duration,
    ) -> Self {
        self.launch_timeout = launch;
        self.load_timeout = load;
        self.pairing_timeout = pairing;
        self.evaluate_timeout = evaluate;
        self
    }

    /// How often the page is probed (default 500 ms).
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Messages that may wait for the page (default 32, from 1 to 10000); a full queue refuses
    /// a send.
    pub fn with_queue_capacity(mut self, messages: usize) -> Self {
        self.queue_capacity = messages;
        self
    }

    /// Shortest time between two messages to one number (default 5 s).
    pub fn with_recipient_spacing(mut self, spacing: Duration) -> Self {
        self.recipient_spacing = spacing;
        self
    }

    /// Relaunch delays after a failure: `base`, doubling with each failure, with jitter, at
    /// most `max` (defaults 1 s and 120 s; `max` at least `base`).
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }

    /// A planned relaunch after this long or this many sends, to keep memory bounded
    /// (defaults 24 hours and 2000 sends; `None` turns one off).
    pub fn with_planned_relaunch(
        mut self,
        after: Option<Duration>,
        after_sends: Option<u64>,
    ) -> Self {
        self.relaunch_after = after;
        self.relaunch_after_sends = after_sends;
        self
    }

    /// Print each QR code on the terminal when standard error is one (default on); never into
    /// a log file.
    pub fn with_qr_in_terminal(mut self, show: bool) -> Self {
        self.show_qr_in_terminal = show;
        self
    }

    /// The code message, with `{code}` and `{minutes}` in it; default: the core's text in the
    /// request's language (Indonesian unless the user asked in English).
    pub fn with_template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }

    /// As [`WhatsAppConfig::with_template`], when `template` is set.
    pub fn with_template_opt(mut self, template: Option<String>) -> Self {
        if template.is_some() {
            self.template = template;
        }
        self
    }

    /// The browser's user agent. The default is the launched Chromium's own, as its desktop
    /// build announces itself (`Chrome/<major>.0.0.0` on Linux): a headless browser's own says
    /// `HeadlessChrome`, which WhatsApp Web turns away.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// The scripts run in WhatsApp Web (default: the compiled-in [`Adapter::builtin`]).
    pub fn with_adapter(mut self, adapter: Adapter) -> Self {
        self.adapter = adapter;
        self
    }

    /// How long WhatsApp Web may take to register the modules a stage needs (the login modules
    /// once unpaired, the send modules once synced) before the sender calls the version
    /// incompatible (default 60 s): WhatsApp Web loads some of its bundles lazily.
    pub fn with_module_wait(mut self, wait: Duration) -> Self {
        self.module_wait = wait;
        self
    }

    /// How the sender follows its messages' acknowledgements once the service gave it where to
    /// report them ([`otp_reset::Sender::report_deliveries_to`]): it asks WhatsApp Web for their
    /// acks every `poll` while any is followed, follows each for at most `follow_for` after its
    /// send and at most `max` at once, the oldest dropped first (defaults 1 s, 10 minutes,
    /// 1000; `follow_for` at least `poll`, `max` from 1 to 10000).
    pub fn with_delivery_reports(
        mut self,
        poll: Duration,
        follow_for: Duration,
        max: usize,
    ) -> Self {
        self.ack_poll_interval = poll;
        self.ack_follow_for = follow_for;
        self.ack_follow_max = max;
        self
    }

    /// The browser profile of this session: `<session dir>/session-<id>`.
    pub fn profile_dir(&self) -> PathBuf {
        self.session_dir
            .join(format!("session-{}", self.session_id))
    }
}
