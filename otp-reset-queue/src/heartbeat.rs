//! The worker's status as it travels through Redis: JSON under a key with a short TTL.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use otp_reset::{SenderProblem, SenderState, SenderStatus};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct WireState {
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireProblem {
    #[serde(flatten)]
    state: WireState,
    since_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct WireStatus {
    #[serde(flatten)]
    state: WireState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_problem: Option<WireProblem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    adapter_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    service_version: Option<String>,
}

/// The status as the worker publishes it.
pub(crate) fn encode(status: &SenderStatus) -> String {
    let wire = WireStatus {
        state: wire_state(&status.state),
        last_problem: status.last_problem.as_ref().map(|problem| WireProblem {
            state: wire_state(&problem.state),
            since_ms: millis_since_epoch(problem.since),
        }),
        adapter_version: status.adapter_version.clone(),
        service_version: status.service_version.clone(),
    };
    // A struct of strings and integers always serializes.
    serde_json::to_string(&wire).unwrap_or_default()
}

/// The status a worker published; `None` if it is not in this format.
pub(crate) fn decode(text: &str) -> Option<SenderStatus> {
    let wire: WireStatus = serde_json::from_str(text).ok()?;
    let mut status = SenderStatus::new(state_from_wire(wire.state)?);
    if let Some(problem) = wire.last_problem {
        status = status.with_last_problem(SenderProblem {
            state: state_from_wire(problem.state)?,
            since: UNIX_EPOCH + Duration::from_millis(problem.since_ms),
        });
    }
    if let Some(version) = wire.adapter_version {
        status = status.with_adapter_version(version);
    }
    if let Some(version) = wire.service_version {
        status = status.with_service_version(version);
    }
    Some(status)
}

pub(crate) fn millis_since_epoch(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

fn wire_state(state: &SenderState) -> WireState {
    let (attempt, reason) = match state {
        SenderState::Reconnecting { attempt } => (Some(*attempt), None),
        SenderState::Failed { reason } => (None, Some(reason.clone())),
        _ => (None, None),
    };
    WireState {
        state: state.as_str().to_owned(),
        attempt,
        reason,
    }
}

fn state_from_wire(wire: WireState) -> Option<SenderState> {
    Some(match wire.state.as_str() {
        "UNINITIALIZED" => SenderState::Uninitialized,
        "INITIALIZING" => SenderState::Initializing,
        "WAITING_FOR_QR" => SenderState::WaitingForQr,
        "AUTHENTICATING" => SenderState::Authenticating,
        "AUTHENTICATED" => SenderState::Authenticated,
        "READY" => SenderState::Ready,
        "DISCONNECTED" => SenderState::Disconnected,
        "LOGGED_OUT" => SenderState::LoggedOut,
        "CONFLICT" => SenderState::Conflict,
        "RECONNECTING" => SenderState::Reconnecting {
            attempt: wire.attempt.unwrap_or(1),
        },
        "FAILED" => SenderState::Failed {
            reason: wire.reason.unwrap_or_default(),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_round_trips() {
        let since = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let status = SenderStatus::new(SenderState::Reconnecting { attempt: 3 })
            .with_last_problem(SenderProblem {
                state: SenderState::Failed {
                    reason: "boom".into(),
                },
                since,
            })
            .with_adapter_version("2")
            .with_service_version("2.3000.1");
        assert_eq!(decode(&encode(&status)), Some(status));
    }
}
