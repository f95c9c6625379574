//! The flow's events, counted: codes issued, codes refused, delivery reports.

use otp_reset::store::Refusal;
use otp_reset::{DeliveryStatus, Event, EventSink};

use super::{Metrics, labels};

/// The metrics are the flow's event sink (`ForgotPasswordBuilder::with_events`). Whether a
/// code's name/phone pair matched a user is not counted apart: the count of codes issued must
/// not tell how many requests named a real account.
impl EventSink for Metrics {
    fn record(&self, event: &Event) {
        let inner = &self.inner;
        match event {
            Event::CodeRequested { .. } => {
                inner.codes_issued.inc();
            }
            Event::CodeRefused { refusal, .. } => self.limit_hit(match refusal {
                Refusal::Cooldown { .. } => "cooldown",
                Refusal::SendCap { .. } => "send_cap",
                Refusal::LockedOut { .. } => "locked_out",
            }),
            Event::DeliveryChanged { status, after, .. } => {
                match status {
                    DeliveryStatus::Sent => inner.first_ack.observe(after.as_secs_f64()),
                    DeliveryStatus::Delivered => inner.delivered.observe(after.as_secs_f64()),
                    _ => {}
                }
                inner
                    .delivery_outcomes
                    .get_or_create(&labels::Delivery {
                        status: status.as_str(),
                    })
                    .inc();
            }
            _ => {}
        }
    }
}
