//! `POST /api/auth/login`: phone and password; a plain-text password from an old data file is
//! upgraded to argon2 on a good login.

mod body;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use otp_reset::{PasswordCheck, PasswordError, PhoneNumber, UserStore};
use serde_json::{Value, json};

use crate::answer::{Failure, Text, failure, success};
use crate::app::AppState;

/// Logs a user in by phone and password: 200 with the user's name, or 401 alike for an unknown
/// phone and a wrong password (a miss verifies a dummy hash, so it takes as long as a hit).
pub async fn login(State(app): State<AppState>, request: Request) -> Response {
    let headers = request.headers().clone();
    attempt(&app, &headers, request.into_body())
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn attempt(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Response, Failure> {
    let refuse = |status, code, text| failure(headers, status, code, text);
    let fields = body::read_object(headers, body).await?;
    let text = |name: &'static str, missing: Text, code: &'static str| match fields.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(refuse(StatusCode::BAD_REQUEST, code, missing))
        }
        Some(_) => {
            Err(refuse(StatusCode::BAD_REQUEST, "invalid_type", Text::NotText(name)).field(name))
        }
    };
    let phone = text("noHp", Text::PhoneRequired, "phone_required")?;
    let password = text("password", Text::PasswordRequired, "password_required")?;
    let phone = PhoneNumber::parse(phone.trim())
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "invalid_phone", Text::InvalidPhone))?;

    let passwords = app.forgot_password.passwords();
    let unavailable = |error: PasswordError| match error {
        PasswordError::Busy => refuse(StatusCode::SERVICE_UNAVAILABLE, "busy", Text::Busy),
        other => {
            tracing::error!(error = %other, "checking a password failed");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                Text::ServerTrouble,
            )
        }
    };
    let denied = || {
        refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            Text::InvalidCredentials,
        )
    };
    let user = app.store.find_by_phone(&phone).await.map_err(|error| {
        tracing::error!(%error, "reading the user failed");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            Text::ServerTrouble,
        )
    })?;
    let Some(user) = user else {
        passwords
            .verify_dummy(password)
            .await
            .map_err(unavailable)?;
        return Err(denied());
    };
    match passwords
        .verify(password, &user.password)
        .await
        .map_err(unavailable)?
    {
        PasswordCheck::Mismatch => Err(denied()),
        PasswordCheck::Match { needs_upgrade } => {
            if needs_upgrade {
                upgrade(app, &user.id, password).await;
            }
            Ok(success(
                headers,
                Text::LoggedIn,
                json!({ "nama": user.name }),
            ))
        }
    }
}

/// Replaces a plain-text or weak stored password with a fresh argon2 hash; a failure only
/// postpones the upgrade to the next login.
async fn upgrade(app: &AppState, id: &otp_reset::UserId, password: &str) {
    match app.forgot_password.passwords().hash(password).await {
        Ok(phc) => match app.store.set_password_hash(id, &phc).await {
            Ok(_) => tracing::info!(user = %id, "upgraded a stored password to argon2id"),
            Err(error) => tracing::warn!(%error, "storing an upgraded password failed"),
        },
        Err(error) => tracing::warn!(%error, "hashing a password for its upgrade failed"),
    }
}
