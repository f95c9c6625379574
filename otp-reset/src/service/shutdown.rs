//! Shutting the service down without dropping the codes still waiting for the sender.

use std::future::Future;
use std::time::Duration;

use super::ForgotPassword;

/// What [`ForgotPassword::shutdown`] did with the messages queued when it was called.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Messages the sender delivered (each reported as [`Event::Sent`](crate::Event::Sent)).
    pub sent: usize,
    /// Messages the sender failed to deliver (each reported as
    /// [`Event::SendFailed`](crate::Event::SendFailed)).
    pub failed: usize,
    /// Messages still queued, or still with the sender, when the deadline passed; each reported
    /// as [`Event::SendFailed`](crate::Event::SendFailed) with an error saying so.
    pub abandoned: usize,
}

impl<U, O> ForgotPassword<U, O> {
    /// Stops taking new codes at once, and returns a future that waits until every queued
    /// message was handed to the sender and its outcome reported, or until `deadline` passes;
    /// what is left then is reported failed. The future holds no borrow of the service, so it
    /// can be spawned.
    ///
    /// From the call on, request-otp answers as it does while the sender cannot send (503
    /// `sender_unavailable`, alike for every phone); the other routes keep answering, and a
    /// password-changed notice is reported failed instead of queued. Clones share the
    /// shutdown: a second call, on any clone, waits for the first one's deadline and returns
    /// the same report. Call it when the server stops (on SIGTERM), after it stops taking
    /// connections.
    ///
    /// ```
    /// use std::time::Duration;
    /// use otp_reset::{ConsoleSender, ForgotPassword, MemoryOtpStore, MemoryUserStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), otp_reset::Error> {
    /// let service = ForgotPassword::builder(MemoryUserStore::new(), MemoryOtpStore::new(), ConsoleSender::new())
    ///     .build()?;
    /// let report = service.shutdown(Duration::from_secs(10)).await;
    /// assert_eq!(report.abandoned, 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn shutdown(
        &self,
        deadline: Duration,
    ) -> impl Future<Output = ShutdownReport> + Send + 'static + use<U, O> {
        self.inner
            .outbox
            .shutdown(tokio::time::Instant::now() + deadline)
    }
}
