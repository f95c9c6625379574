//! [`CloudSender`]: sends over the Cloud API's messages endpoint.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use otp_reset::{Delivered, DeliveryReports, Message, PhoneNumber, SendError, Sender, SenderState};
use serde_json::Value;

use crate::api::{self, GraphError, Refusal};
use crate::settings::CloudSettings;
use crate::webhook::StatusWebhook;

/// Why a call to the Cloud API failed, as a [`SendError::Failed`] carries it. Never holds the
/// token, a phone number or a code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CloudError {
    /// The API refused the call.
    #[error("the Cloud API refused the call: HTTP {status}, error code {code:?}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The Graph API error code, when the answer had one.
        code: Option<i64>,
    },
    /// The call did not reach the API or its answer did not arrive (not a timeout).
    #[error("the Cloud API could not be reached")]
    Unreachable(#[source] reqwest::Error),
    /// The API answered success without a message id.
    #[error("the Cloud API answered without a message id")]
    NoMessageId,
    /// No template is set for this kind of message.
    #[error("no Cloud API template is set for the {0} message")]
    NoTemplate(&'static str),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// A [`Sender`] on WhatsApp's official Cloud API: a code goes out as an authentication
/// template with a copy-code button, over `POST {base}/{version}/{phone_number_id}/messages`.
///
/// - Rate limits (131056, 130429, 80007) are retried with exponential backoff and jitter for
///   at most the busy budget, then the send fails with [`SendError::QueueFull`] (busy), and a
///   [`SenderChain`](otp_reset::SenderChain) moves on.
/// - 131026 (answered at once) is [`SendError::NotRegistered`]; when it comes later in a
///   status webhook, [`StatusWebhook`] reports it.
/// - A refused token (HTTP 401, error 190) puts the sender in `FAILED`; later sends return
///   [`SendError::NotReady`] until a restart with a new token.
/// - A call that timed out is never repeated (the message may exist): [`SendError::Timeout`].
///
/// Cheap to clone; clones share state.
///
/// ```no_run
/// use otp_reset_whatsapp_cloud::{CloudSender, CloudSettings};
///
/// # async fn start() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = CloudSettings::builder("EAAJB...", "105954558954427")
///     .with_code_template("reset_code")
///     .build()?;
/// let sender = CloudSender::new(settings)?;
/// sender.check().await; // FAILED now if Meta refuses the token
/// let webhook = sender.webhook("app-secret", "verify-token");
/// # let _ = webhook;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct CloudSender {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: CloudSettings,
    client: reqwest::Client,
    state: RwLock<SenderState>,
    reports: Arc<OnceLock<DeliveryReports>>,
}

/// How one call ended, before retries.
enum Outcome {
    Sent(String),
    Refused(Refusal, CloudError),
    TimedOut,
    Failed(CloudError),
}

impl CloudSender {
    /// A sender with `settings`, `READY` at once (see [`CloudSender::check`]).
    pub fn new(settings: CloudSettings) -> Result<Self, CloudError> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(CloudError::Client)?;
        Ok(Self {
            inner: Arc::new(Inner {
                settings,
                client,
                state: RwLock::new(SenderState::Ready),
                reports: Arc::new(OnceLock::new()),
            }),
        })
    }

    /// Asks the API about the business phone number (`GET {base}/{version}/{phone_number_id}`)
    /// to learn whether it takes the token: a refused token puts the sender in `FAILED`. Other
    /// failures (the API unreachable) leave it `READY`: sends will tell.
    pub async fn check(&self) -> SenderState {
        let request = self
            .inner
            .client
            .get(self.inner.settings.phone_url())
            .bearer_auth(self.inner.settings.token.as_str());
        match request.send().await {
            Ok(response) if !response.status().is_success() => {
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap_or_default();
                if let Refusal::Token(reason) = api::refusal(status, &GraphError::parse(&body)) {
                    self.fail(reason);
                } else {
                    tracing::warn!(status, "the Cloud API refused the start-up check");
                }
            }
            Ok(_) => tracing::info!("the Cloud API takes the token"),
            Err(error) => {
                tracing::warn!(error = %error.without_url(), "the Cloud API start-up check failed")
            }
        }
        self.state()
    }

    /// The handler of Meta's status webhook for this sender: it answers the verification
    /// challenge with `verify_token`, checks each notification's signature with `app_secret`,
    /// and reports statuses where [`Sender::report_deliveries_to`] said.
    pub fn webhook(
        &self,
        app_secret: impl Into<String>,
        verify_token: impl Into<String>,
    ) -> StatusWebhook {
        StatusWebhook::new(
            app_secret.into(),
            verify_token.into(),
            Arc::clone(&self.inner.reports),
        )
    }

    fn fail(&self, reason: &str) {
        tracing::error!(
            reason,
            "the Cloud API sender is FAILED: set a new access token and restart"
        );
        if let Ok(mut state) = self.inner.state.write() {
            *state = SenderState::Failed {
                reason: reason.into(),
            };
        }
    }

    fn body(&self, to: &PhoneNumber, message: &Message) -> Result<Value, CloudError> {
        let s = &self.inner.settings;
        let to = to.digits();
        match message {
            Message::Code { code, lang, .. } => Ok(api::code_template(
                &to,
                &s.code_template,
                s.template_language(*lang),
                code.expose(),
            )),
            Message::PasswordChanged { lang } => {
                let name = s
                    .password_changed_template
                    .as_deref()
                    .ok_or(CloudError::NoTemplate("password-changed"))?;
                Ok(api::plain_template(&to, name, s.template_language(*lang)))
            }
            _ => Err(CloudError::NoTemplate("unknown")),
        }
    }

    async fn post(&self, body: &Value) -> Outcome {
        let url = format!("{}/messages", self.inner.settings.phone_url());
        let request = self
            .inner
            .client
            .post(url)
            .bearer_auth(self.inner.settings.token.as_str())
            .json(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return transport(error),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return transport(error),
        };
        if status.is_success() {
            return match serde_json::from_slice::<api::Sent>(&bytes).map(api::Sent::message_id) {
                Ok(Some(id)) => Outcome::Sent(id),
                _ => Outcome::Failed(CloudError::NoMessageId),
            };
        }
        let error = GraphError::parse(&bytes);
        let cause = CloudError::Refused {
            status: status.as_u16(),
            code: error.code,
        };
        Outcome::Refused(api::refusal(status.as_u16(), &error), cause)
    }

    /// The wait before retry number `attempt` (from 1): the base doubled each time, with
    /// "full jitter" between half and all of it.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.inner.settings.backoff_base;
        let full = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let full_ms = u64::try_from(full.as_millis()).unwrap_or(u64::MAX).max(2);
        Duration::from_millis(rand::random_range(full_ms / 2..=full_ms))
    }
}

/// A failed call: a timeout once the request may have left is final; a connection that never
/// opened created nothing.
fn transport(error: reqwest::Error) -> Outcome {
    if error.is_timeout() && !error.is_connect() {
        Outcome::TimedOut
    } else {
        Outcome::Failed(CloudError::Unreachable(error.without_url()))
    }
}

#[async_trait::async_trait]
impl Sender for CloudSender {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let state = self.state();
        if !state.can_send() {
            return Err(SendError::NotReady(state));
        }
        let body = self
            .body(to, message)
            .map_err(|e| SendError::Failed(Box::new(e)))?;
        let deadline = Instant::now() + self.inner.settings.busy_budget;
        let mut attempt = 0;
        loop {
            match self.post(&body).await {
                Outcome::Sent(id) => {
                    return Ok(Delivered {
                        message_id: Some(id),
                    });
                }
                Outcome::TimedOut => {
                    return Err(SendError::Timeout(self.inner.settings.request_timeout));
                }
                Outcome::Failed(error) => return Err(SendError::Failed(Box::new(error))),
                Outcome::Refused(Refusal::NotRegistered, _) => {
                    return Err(SendError::NotRegistered);
                }
                Outcome::Refused(Refusal::Token(reason), _) => {
                    self.fail(reason);
                    return Err(SendError::NotReady(self.state()));
                }
                Outcome::Refused(Refusal::Other, error) => {
                    return Err(SendError::Failed(Box::new(error)));
                }
                Outcome::Refused(Refusal::Busy(code), _) => {
                    attempt += 1;
                    let wait = self.backoff(attempt);
                    if Instant::now() + wait > deadline {
                        tracing::warn!(
                            code,
                            attempts = attempt,
                            "the Cloud API stayed busy; giving up"
                        );
                        return Err(SendError::QueueFull);
                    }
                    tracing::debug!(code, ?wait, "the Cloud API is busy; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn state(&self) -> SenderState {
        self.inner
            .state
            .read()
            .map(|s| s.clone())
            .unwrap_or(SenderState::Failed {
                reason: "internal state lost".into(),
            })
    }

    fn report_deliveries_to(&self, reports: DeliveryReports) {
        let _ = self.inner.reports.set(reports);
    }

    fn name(&self) -> &str {
        "cloud-api"
    }
}
