//! Numbers and chats: who has WhatsApp, how their chats are addressed, and chat look-ups.

use std::time::Instant;

use serde::Serialize;

use super::page::Refusal;
use super::{DIGITS, State, random_string};

/// A chat found or created by `findOrCreateLatestChat`.
#[derive(Debug, Serialize)]
pub(crate) struct FoundChat {
    pub(super) id: String,
    pub(super) created: bool,
}

/// A number that has WhatsApp.
#[derive(Debug, Clone, Default)]
pub(super) struct Number {
    /// Its LID user, when its chat is addressed by LID (`…@lid`).
    lid: Option<String>,
}

/// Digits of a phone number: `+` and white space dropped.
pub(crate) fn digits(number: &str) -> String {
    number
        .chars()
        .filter(|c| *c != '+' && !c.is_whitespace())
        .collect()
}

/// Splits `"user@server"`.
fn split_wid(wid: &str) -> Option<(&str, &str)> {
    wid.split_once('@')
        .filter(|(user, server)| !user.is_empty() && !server.is_empty())
}

impl State {
    /// The number has WhatsApp (its chat addressed by phone number).
    pub(crate) fn register(&mut self, number: &str) {
        self.numbers.insert(digits(number), Number::default());
    }

    /// The number has WhatsApp and its chat is addressed by a LID; returns the chat id.
    pub(crate) fn register_lid(&mut self, number: &str) -> String {
        let lid = format!("1{}", random_string(DIGITS, 14));
        self.numbers.insert(
            digits(number),
            Number {
                lid: Some(lid.clone()),
            },
        );
        format!("{lid}@lid")
    }

    /// The number has WhatsApp and an existing chat.
    pub(crate) fn register_with_chat(&mut self, number: &str) {
        self.register(number);
        let id = self.chat_id(&format!("{}@c.us", digits(number)));
        self.chats.insert(id);
    }

    /// Whether a chat with the number exists.
    pub(crate) fn has_chat(&self, number: &str) -> bool {
        let wid = format!("{}@c.us", digits(number));
        self.chats.contains(&wid) || self.chats.contains(&self.chat_id(&wid))
    }

    /// The id of the chat with `wid`: a number whose chat is addressed by LID maps to its LID.
    fn chat_id(&self, wid: &str) -> String {
        match split_wid(wid) {
            Some((user, "c.us")) => match self.numbers.get(user).and_then(|n| n.lid.as_ref()) {
                Some(lid) => format!("{lid}@lid"),
                None => wid.to_owned(),
            },
            _ => wid.to_owned(),
        }
    }

    /// Whether `wid` (`…@c.us` or `…@lid`) is a registered user.
    pub(super) fn registered(&self, wid: &str) -> bool {
        match split_wid(wid) {
            Some((user, "c.us")) => self.numbers.contains_key(user),
            Some((user, "lid")) => self
                .numbers
                .values()
                .any(|n| n.lid.as_deref() == Some(user)),
            _ => false,
        }
    }

    /// The digits of the registered number a chat id (`…@c.us` or `…@lid`) belongs to.
    pub(super) fn digits_of(&self, wid: &str) -> Option<String> {
        match split_wid(wid) {
            Some((user, "c.us")) => self.numbers.contains_key(user).then(|| user.to_owned()),
            Some((user, "lid")) => self
                .numbers
                .iter()
                .find(|(_, n)| n.lid.as_deref() == Some(user))
                .map(|(digits, _)| digits.clone()),
            _ => None,
        }
    }

    /// `queryWidExists`: the wid when it has WhatsApp.
    pub(crate) fn exists(
        &mut self,
        page: &str,
        wid: &str,
        now: Instant,
    ) -> Result<Option<String>, Refusal> {
        self.connected(page, now)?;
        Ok(self.registered(wid).then(|| wid.to_owned()))
    }

    /// `findOrCreateLatestChat`: the chat with `wid`, created when missing.
    pub(crate) fn find_or_create_chat(
        &mut self,
        page: &str,
        wid: &str,
        now: Instant,
    ) -> Result<FoundChat, Refusal> {
        self.connected(page, now)?;
        let id = self.chat_id(wid);
        let created = self.chats.insert(id.clone());
        Ok(FoundChat { id, created })
    }
}
