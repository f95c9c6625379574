//! The sender's state as callers see it, and what explains it: the last problem, and the
//! versions of the adapter and of WhatsApp Web.

use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use otp_reset::{DeliveryReports, SenderProblem, SenderState, SenderStatus};
use tokio::sync::watch;

/// Written by the actor, read by every clone of the sender.
#[derive(Debug)]
pub(crate) struct Shared {
    state: watch::Sender<SenderState>,
    report: Mutex<Report>,
    adapter_version: String,
    /// Where the service wants to hear what became of each message, once it said.
    deliveries: Mutex<Option<DeliveryReports>>,
}

#[derive(Debug, Default)]
struct Report {
    last_problem: Option<SenderProblem>,
    web_version: Option<String>,
}

impl Shared {
    pub(crate) fn new(adapter_version: String) -> Self {
        Self {
            state: watch::Sender::new(SenderState::Uninitialized),
            report: Mutex::default(),
            adapter_version,
            deliveries: Mutex::default(),
        }
    }

    fn report(&self) -> std::sync::MutexGuard<'_, Report> {
        self.report.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn state(&self) -> SenderState {
        self.state.borrow().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<SenderState> {
        self.state.subscribe()
    }

    /// Moves to `state`, logging the change; a state that explains a problem becomes the last
    /// problem, which outlives it until the next one.
    pub(crate) fn set(&self, state: SenderState) {
        if *self.state.borrow() == state {
            return;
        }
        tracing::info!(target: "otp_reset_whatsapp", state = %state, "WhatsApp sender state");
        if state.is_problem() {
            self.report().last_problem = Some(SenderProblem {
                state: state.clone(),
                since: SystemTime::now(),
            });
        }
        self.state.send_replace(state);
    }

    /// Keeps where to report deliveries (the latest handle given wins).
    pub(crate) fn set_deliveries(&self, reports: DeliveryReports) {
        *self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(reports);
    }

    /// Where to report deliveries, if the service said.
    pub(crate) fn deliveries(&self) -> Option<DeliveryReports> {
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The WhatsApp Web version the page reported.
    pub(crate) fn set_web_version(&self, version: Option<String>) {
        self.report().web_version = version;
    }

    pub(crate) fn status(&self) -> SenderStatus {
        let report = self.report();
        let mut status =
            SenderStatus::new(self.state()).with_adapter_version(self.adapter_version.clone());
        status.last_problem = report.last_problem.clone();
        status.service_version = report.web_version.clone();
        status
    }
}
