//! `POST /api/auth/login`: phone and password; a plain-text password from an old data file is
//! upgraded to argon2 on a good login.
//!
//! Failed logins make the next try wait ([`backoff`]), counted per account and client address
//! (early) and per account (late, so that a stranger cannot lock the owner out cheaply); a try
//! that must wait is answered 429 `login_throttled` without hashing the password. One client may
//! have only a few password checks under way at once ([`hash_slots`]). Unknown numbers are
//! counted and answered exactly as known ones.

pub mod backoff;
pub mod hash_slots;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::HeaderMap;
use otp_reset::wire::read_json_object;
use otp_reset::{PasswordCheck, PasswordError, Passwords, PhoneNumber, UserStore};
use serde_json::Value;
use zeroize::Zeroizing;

use crate::answer::{Failure, SignedIn, Text, body_failure, failure, lang};
use crate::config::Config;
use crate::stores::Users;
use backoff::{Backoff, Rules};
use hash_slots::{HashSlot, HashSlots};

/// The largest login body read, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The login's routes: `POST /api/auth/login`, for any state that holds a [`Login`].
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Login: FromRef<S>,
{
    Router::new().route("/api/auth/login", post(login))
}

/// The login's state: the users, the password hasher, and the counts that throttle it.
#[derive(Clone, Debug)]
pub struct Login(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    users: Users,
    /// The service's hasher, so that logins and resets share one bound.
    passwords: Passwords,
    backoff: Backoff,
    slots: HashSlots,
}

impl Login {
    /// The login over `users`, hashing with `passwords`, with the limits of `config`.
    pub fn new(users: Users, passwords: Passwords, config: &Config) -> Self {
        let rules = Rules {
            free_per_client: config.login_client_free_failures,
            free_per_account: config.login_account_free_failures,
            base: Duration::from_millis(config.login_backoff_base_ms),
            max: Duration::from_secs(config.login_backoff_max_secs),
        };
        Self(Arc::new(Inner {
            users,
            passwords,
            backoff: Backoff::new(rules, config.login_backoff_entries),
            slots: HashSlots::new(config.login_hashes_per_client),
        }))
    }

    /// The client as the router marked it (the address a trusted proxy vouches for), or else
    /// the peer's address.
    fn client(&self, request: &Request) -> IpAddr {
        let extensions = request.extensions();
        extensions
            .get::<otp_reset::ClientAddress>()
            .map(|address| address.0)
            .or_else(|| {
                extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|info| info.0.ip())
            })
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Logs a user in by phone and password: 200 with the user's name, or 401 alike for an unknown
/// phone and a wrong password (a miss verifies a dummy hash, so it takes as long as a hit).
pub async fn login(State(login): State<Login>, request: Request) -> Response {
    let client = login.client(&request);
    let headers = request.headers().clone();
    attempt(&login, &headers, client, request)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// What the check of a password found.
enum Verdict {
    SignedIn { name: String },
    Denied,
    Unavailable(PasswordError),
    StoreFailed,
}

async fn attempt(
    login: &Login,
    headers: &HeaderMap,
    client: IpAddr,
    request: Request,
) -> Result<Response, Failure> {
    let refuse = |text| failure(headers, text);
    let fields = read_json_object(request, MAX_BODY_BYTES)
        .await
        .map_err(|error| body_failure(headers, error))?;
    let text = |name: &'static str, missing: Text| match fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        None | Some(Value::Null) | Some(Value::String(_)) => Err(refuse(missing)),
        Some(_) => Err(refuse(Text::NotText(name)).field(name)),
    };
    let phone = text("noHp", Text::PhoneRequired)?;
    let password = text("password", Text::PasswordRequired)?;
    let phone = PhoneNumber::parse(phone.trim()).map_err(|_| refuse(Text::InvalidPhone))?;

    if let Some(wait) = login.0.backoff.wait(phone, client, Instant::now()) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(refuse(Text::LoginThrottled(seconds)).retry_after(seconds));
    }
    let Some(slot) = login.0.slots.take(client) else {
        return Err(refuse(Text::LoginBusy).retry_after(1));
    };
    // The check runs in a task of its own that holds the client's slot to its end: a client
    // that hangs up does not free the slot while its hash still runs, and its failure counts.
    let password = Zeroizing::new(password.to_owned());
    let check = tokio::spawn(check(login.clone(), phone, client, password, slot));
    let trouble = || refuse(Text::ServerTrouble);
    match check.await.map_err(|_| trouble())? {
        Verdict::SignedIn { name } => Ok(SignedIn::new(name, lang(headers)).into_response()),
        Verdict::Denied => Err(refuse(Text::InvalidCredentials)),
        Verdict::Unavailable(PasswordError::Busy) => Err(refuse(Text::Busy)),
        Verdict::Unavailable(error) => {
            tracing::error!(%error, "checking a password failed");
            Err(trouble())
        }
        Verdict::StoreFailed => Err(trouble()),
    }
}

/// Checks `password` for `phone` and counts the outcome; an unknown phone verifies a dummy
/// hash and counts as a wrong password.
async fn check(
    login: Login,
    phone: PhoneNumber,
    client: IpAddr,
    password: Zeroizing<String>,
    _slot: HashSlot,
) -> Verdict {
    let passwords = &login.0.passwords;
    let user = match login.0.users.find_by_phone(&phone).await {
        Ok(user) => user,
        Err(error) => {
            tracing::error!(%error, "reading the user failed");
            return Verdict::StoreFailed;
        }
    };
    let checked = match &user {
        None => passwords
            .verify_dummy(&password)
            .await
            .map(|()| PasswordCheck::Mismatch),
        Some(user) => passwords.verify(&password, &user.password).await,
    };
    match (checked, user) {
        (Err(error), _) => Verdict::Unavailable(error),
        (Ok(PasswordCheck::Match { needs_upgrade }), Some(user)) => {
            login.0.backoff.succeeded(phone, client);
            if needs_upgrade {
                upgrade(&login.0, &user, &password).await;
            }
            Verdict::SignedIn { name: user.name }
        }
        (Ok(_), _) => {
            login.0.backoff.failed(phone, client, Instant::now());
            Verdict::Denied
        }
    }
}

/// Replaces a plain-text or weak stored password with a fresh argon2 hash, unless it changed
/// meanwhile (a reset that lands first wins); a failure only postpones the upgrade to the next
/// login.
async fn upgrade(login: &Inner, user: &otp_reset::User, password: &str) {
    let id = &user.id;
    match login.passwords.hash(password).await {
        Ok(phc) => match login
            .users
            .replace_password_hash(id, &user.password, &phc)
            .await
        {
            Ok(true) => tracing::info!(user = %id, "upgraded a stored password to argon2id"),
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "storing an upgraded password failed"),
        },
        Err(error) => tracing::warn!(%error, "hashing a password for its upgrade failed"),
    }
}
