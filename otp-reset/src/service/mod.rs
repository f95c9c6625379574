//! The flow as a `tower::Service`: routing, and what the routes share.

mod body;
mod budget;
mod builder;
mod delivery_status;
mod reply;
mod request_otp;
mod reset_password;
mod shutdown;
mod verify_otp;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response};
use http_body::Body;

pub use builder::ForgotPasswordBuilder;
pub(crate) use reply::ApiError;
pub use reply::ResponseBody;
pub use shutdown::ShutdownReport;

use self::body::Fields;
use self::reply::Reply;
use crate::delivery::Deliveries;
use crate::events::{Event, Events};
use crate::lang::{Lang, Msg};
use crate::sender::outbox::Outbox;
use crate::wire::{BotStatusAnswer, ErrorCode, LastProblem};
use crate::{
    ClientAddress, ClientKey, Clock, CodeHasher, OtpStore, Passwords, PhoneNumber, Policy, Sender,
    StoreError, UserStore,
};

/// The forgot-password flow as a `tower::Service<http::Request<B>>`, generic over its stores.
///
/// It answers five routes, relative to where it is mounted:
///
/// | route | body | success answer |
/// | --- | --- | --- |
/// | `POST /request-otp` | `{nama, noHp}` | `{success, message, phoneNumber, requestId}` |
/// | `POST /verify-otp` | `{noHp, otp}` | `{success, message, data: {otpId, resetToken}}` |
/// | `POST /reset-password` | `{noHp, otp or resetToken, newPassword, confirmPassword}` | `{success, message}` |
/// | `POST /delivery-status` | `{requestId}` | `{success, message, status}`: `pending`, `sent`, `delivered`, `not_on_whatsapp` or `failed` ([`DeliveryStatus`](crate::DeliveryStatus)) |
/// | `GET /bot-status` | | `{success, message, status, ready}`, with `lastProblem`, `adapterVersion`, `serviceVersion` from [`Sender::status`](crate::Sender::status) |
///
/// Every answer is JSON with `success` and `message` (Indonesian, or English for
/// `Accept-Language: en`); failures add a machine-readable `error` code, and refusals that end
/// with time a `retryAfter` (seconds) and a `Retry-After` header. Cloning is cheap: clones
/// share one state.
///
/// Built with [`ForgotPassword::builder`]; see the [crate docs](crate) for mounting it.
pub struct ForgotPassword<U, O> {
    inner: Arc<Inner<U, O>>,
}

pub(crate) struct Inner<U, O> {
    users: U,
    otps: O,
    sender: Arc<dyn Sender>,
    outbox: Outbox,
    /// The statuses request-otp's answers can be asked about.
    deliveries: Deliveries,
    policy: Policy,
    codes: CodeHasher,
    passwords: Passwords,
    events: Events,
    clock: Arc<dyn Clock>,
    max_body_bytes: usize,
    /// The site-wide request-otp limit, if any.
    request_limit: Option<budget::Bucket>,
    /// The site-wide budget of codes sent, if any.
    send_budget: Option<budget::Bucket>,
}

impl<U, O> Clone for ForgotPassword<U, O> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<U, O> fmt::Debug for ForgotPassword<U, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForgotPassword")
            .field("policy", &self.inner.policy)
            .field("sender", &self.inner.sender)
            .finish_non_exhaustive()
    }
}

impl<U: UserStore, O: OtpStore> ForgotPassword<U, O> {
    /// Starts building a service over these stores and this sender.
    pub fn builder(users: U, otps: O, sender: impl Sender) -> ForgotPasswordBuilder<U, O> {
        ForgotPasswordBuilder::new(users, otps, Arc::new(sender))
    }

    /// The user store, for an app's own routes (such as a login).
    pub fn users(&self) -> &U {
        &self.inner.users
    }

    /// The OTP store.
    pub fn otps(&self) -> &O {
        &self.inner.otps
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The largest request body the service reads, in bytes (see
    /// [`ForgotPasswordBuilder::with_max_body_bytes`]).
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// The password hasher the service uses, for an app's login to share its bound.
    pub fn passwords(&self) -> &Passwords {
        &self.inner.passwords
    }

    /// The sender the service delivers through.
    pub fn sender(&self) -> &Arc<dyn Sender> {
        &self.inner.sender
    }

    /// How many messages wait in the in-process queue for the sender (a gauge for metrics).
    pub fn queued_messages(&self) -> usize {
        self.inner.outbox.depth()
    }

    /// Deletes expired codes now; the service also does this in the background (see
    /// [`ForgotPasswordBuilder::with_purge_interval`]).
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        let inner = &self.inner;
        inner
            .otps
            .purge_expired(inner.clock.now(), inner.policy.otp_rules())
            .await
    }
}

impl<U, O, B> tower::Service<Request<B>> for ForgotPassword<U, O>
where
    U: UserStore,
    O: OtpStore,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let lang = Lang::from_headers(request.headers());
            let response = match inner.route(request, lang).await {
                Ok(reply) => reply.into_response(lang),
                Err(error) => error.into_response(lang),
            };
            Ok(response)
        })
    }
}

/// The most characters of `nama`.
pub(crate) const MAX_NAME_CHARS: usize = 100;
/// The most characters of `noHp`.
pub(crate) const MAX_PHONE_CHARS: usize = 32;
/// The most characters of `otp` (a longer one is no code of any length the policy allows).
pub(crate) const MAX_CODE_CHARS: usize = 32;
/// The most characters of `resetToken`.
pub(crate) const MAX_TOKEN_CHARS: usize = 128;
/// The most characters of `requestId`.
pub(crate) const MAX_REQUEST_ID_CHARS: usize = 64;

/// The service's routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    RequestOtp,
    VerifyOtp,
    ResetPassword,
    DeliveryStatus,
    BotStatus,
}

impl Route {
    /// Every route, in the order the docs list them.
    pub(crate) const ALL: [Route; 5] = [
        Route::RequestOtp,
        Route::VerifyOtp,
        Route::ResetPassword,
        Route::DeliveryStatus,
        Route::BotStatus,
    ];

    /// The path, relative to where the service is mounted.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Self::RequestOtp => "/request-otp",
            Self::VerifyOtp => "/verify-otp",
            Self::ResetPassword => "/reset-password",
            Self::DeliveryStatus => "/delivery-status",
            Self::BotStatus => "/bot-status",
        }
    }

    fn from_path(path: &str) -> Option<Self> {
        let path = path.strip_suffix('/').unwrap_or(path);
        Self::ALL.into_iter().find(|route| route.path() == path)
    }

    pub(crate) fn method(self) -> Method {
        match self {
            Self::BotStatus => Method::GET,
            _ => Method::POST,
        }
    }
}

impl<U: UserStore, O: OtpStore> Inner<U, O> {
    async fn route<B>(self: &Arc<Self>, request: Request<B>, lang: Lang) -> Result<Reply, ApiError>
    where
        B: Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let route = Route::from_path(request.uri().path()).ok_or_else(ApiError::not_found)?;
        if request.method() != route.method() {
            return Err(ApiError::method_not_allowed(route.method()));
        }
        if route == Route::BotStatus {
            return Ok(self.bot_status());
        }
        let client = request
            .extensions()
            .get::<ClientAddress>()
            .map_or(ClientKey::UNKNOWN, |&address| {
                self.codes.client_key(address)
            });
        let fields = Fields::read(request, self.max_body_bytes).await?;
        match route {
            Route::RequestOtp => self.request_otp(&fields, lang).await,
            Route::VerifyOtp => self.verify_otp(&fields, client).await,
            Route::ResetPassword => self.reset_password(&fields, client).await,
            Route::DeliveryStatus => self.delivery_status(&fields),
            Route::BotStatus => Ok(self.bot_status()),
        }
    }

    fn bot_status(&self) -> Reply {
        let status = self.sender.status();
        let ready = status.state.can_send();
        let (state, attempt, reason) = state_fields(status.state);
        Reply::BotStatus(BotStatusAnswer {
            success: true,
            message: String::new(),
            ready,
            status: state,
            attempt,
            reason,
            last_problem: status.last_problem.map(|problem| {
                let (status, attempt, reason) = state_fields(problem.state);
                LastProblem {
                    status,
                    attempt,
                    reason,
                    since: jiff::Timestamp::try_from(problem.since)
                        .ok()
                        .map(|since| since.to_string()),
                }
            }),
            adapter_version: status.adapter_version,
            service_version: status.service_version,
        })
    }

    /// The phone number field, normalised.
    fn phone(&self, fields: &Fields) -> Result<PhoneNumber, ApiError> {
        let typed = fields.required(
            "noHp",
            (ErrorCode::PhoneRequired, Msg::PhoneRequired),
            MAX_PHONE_CHARS,
        )?;
        PhoneNumber::parse(typed).map_err(ApiError::phone)
    }

    /// The code field, which must have the policy's number of digits (a typo is not a guess).
    fn code<'f>(&self, fields: &'f Fields) -> Result<&'f str, ApiError> {
        let code = fields.required(
            "otp",
            (ErrorCode::OtpRequired, Msg::OtpRequired),
            MAX_CODE_CHARS,
        )?;
        let digits = self.policy.code_length();
        if code.len() != usize::from(digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::new(
                ErrorCode::InvalidOtpFormat,
                Msg::OtpFormat(digits),
            ));
        }
        Ok(code)
    }

    /// Reports a wrong code (or reset proof) and answers it.
    fn wrong_guess(
        &self,
        phone: &PhoneNumber,
        attempts_left: u32,
        consecutive_failures: u32,
    ) -> ApiError {
        let masked = phone.masked();
        self.events.emit(Event::VerifyFailed {
            phone: masked,
            attempts_left,
            consecutive_failures,
        });
        if let Some(lockout) = self.policy.otp_rules().lockout_after(consecutive_failures) {
            self.events.emit(Event::Locked {
                phone: masked,
                consecutive_failures,
                lockout,
            });
        }
        if attempts_left == 0 {
            Self::attempts_exhausted()
        } else {
            ApiError::new(ErrorCode::WrongOtp, Msg::WrongCode(attempts_left))
                .with_attempts_left(attempts_left)
        }
    }

    fn attempts_exhausted() -> ApiError {
        ApiError::new(ErrorCode::OtpAttemptsExhausted, Msg::AttemptsExhausted).with_attempts_left(0)
    }

    fn expired() -> ApiError {
        ApiError::new(ErrorCode::OtpExpired, Msg::Expired)
    }

    fn no_code() -> ApiError {
        ApiError::new(ErrorCode::OtpNotFound, Msg::NoCode)
    }

    fn user_not_found() -> ApiError {
        ApiError::new(ErrorCode::UserNotFound, Msg::UserNotFound)
    }
}

/// A sender state as bot-status shows it: `status`, with `attempt` or `reason` where the state
/// has one.
fn state_fields(state: crate::SenderState) -> (String, Option<u32>, Option<String>) {
    let name = state.as_str().to_owned();
    match state {
        crate::SenderState::Reconnecting { attempt } => (name, Some(attempt), None),
        crate::SenderState::Failed { reason } => (name, None, Some(reason)),
        _ => (name, None, None),
    }
}
