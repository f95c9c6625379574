//! A sender that prints messages on the terminal, for development.

use std::io::Write as _;

use super::{Delivered, Message, SendError, Sender, SenderState};
use crate::PhoneNumber;

/// Prints each message, code included, on standard error instead of sending it: for
/// development, where the developer reads the code off the terminal. It writes to the terminal,
/// not to the log, and is always [`SenderState::Ready`]. Never use it in production: anyone who
/// reads the server's terminal reads every code.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleSender;

impl ConsoleSender {
    /// A console sender.
    pub fn new() -> Self {
        Self
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
}
