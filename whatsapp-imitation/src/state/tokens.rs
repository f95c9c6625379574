//! Pairing tokens and what befalls linked sessions: logged out, in conflict, taken over, blocked.

use std::time::Instant;

use super::State;
use super::page::{Phase, Refusal};
use crate::BlockState;

impl State {
    /// The pairing tokens issued and not logged out.
    pub(crate) fn pairing_tokens(&self) -> Vec<String> {
        self.tokens.iter().cloned().collect()
    }

    /// `Socket.takeover()`: a page in conflict takes the session back.
    pub(crate) fn takeover(&mut self, page: &str, now: Instant) -> Result<(), Refusal> {
        let index = self.index(page)?;
        self.advance(index, now);
        let session = &mut self.pages[index];
        if session.phase == Phase::Conflict && session.token.is_some() {
            session.phase = Phase::Connected;
        }
        Ok(())
    }

    /// Every page goes into `state` (after `OPENING`) and stays there.
    pub(crate) fn block(&mut self, state: BlockState) {
        self.blocked = Some(state);
    }

    /// The phone logs every session out.
    pub(crate) fn log_out(&mut self) {
        self.tokens.clear();
    }

    /// Another session takes over: every paired page goes `CONFLICT`.
    pub(crate) fn conflict(&mut self) {
        for session in &mut self.pages {
            let paired_opening = session.phase == Phase::Opening && session.token.is_some();
            if session.phase == Phase::Connected || paired_opening {
                session.phase = Phase::Conflict;
            }
        }
    }
}
