//! A sender that prints messages on the terminal, for development.

use std::io::Write as _;

use super::{Delivered, Message, SendError, Sender, SenderState};
use crate::PhoneNumber;

/// Prints each message, code included, on standard error instead of sending it: for
/// development, where the developer reads the code off the terminal. It writes to the terminal,
/// not to the log, and is always [`SenderState::Ready`]. Never use it in production: anyone who
/// reads the server's terminal reads every code. Making one logs a warning that says so.
#[derive(Clone, Copy, Debug)]
pub struct ConsoleSender {
    _warned: (),
}

impl ConsoleSender {
    /// A console sender; warns in the log that codes and full numbers go to the terminal.
    pub fn new() -> Self {
        tracing::warn!(
            target: "otp_reset",
            "the console sender prints every code and full phone number on this terminal \
             instead of sending it: for development only, never in production"
        );
        Self { _warned: () }
    }
}

impl Default for ConsoleSender {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl Sender for ConsoleSender {
    async fn send(&self, to: &PhoneNumber, message: &Message) -> Result<Delivered, SendError> {
        let mut stderr = std::io::stderr().lock();
        writeln!(stderr, "[console sender] to {to}: {}", message.text())
            .map_err(|e| SendError::Failed(Box::new(e)))?;
        Ok(Delivered::default())
    }

    fn state(&self) -> SenderState {
        SenderState::Ready
    }

    fn name(&self) -> &str {
        "console"
    }
}
