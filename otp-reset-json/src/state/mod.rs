//! The data file in memory: users with their indexes, and one ledger per phone.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use otp_reset::{
    Clock, CodeHasher, OtpRules, PhoneLedger, PhoneNumber, SystemClock, Timestamp, User, UserId,
};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::format::{
    DataFile, Entry, LimitEntry, Scalar, StoredUser, code_as_written, code_from_json,
    ledger_to_json, limits_from_json, stored_number, written_as,
};

#[derive(Debug, Default)]
pub(crate) struct State {
    /// Shared with a snapshot being written, which copies nothing: a change clones only the
    /// one user it touches, and only while a snapshot holds it.
    pub(crate) users: Vec<Arc<StoredUser>>,
    /// Objects in `users[]` without an id: kept and written back, never matched.
    unreadable_users: Vec<Map<String, Value>>,
    by_phone: HashMap<PhoneNumber, usize>,
    by_id: HashMap<UserId, usize>,
    ledgers: HashMap<PhoneNumber, Arc<PhoneLedger>>,
    extra: Map<String, Value>,
}

impl State {
    /// The state a data file describes, and whether the file should be rewritten: it holds
    /// numbers as typed, plain-text codes, or entries the store drops or completes. Damaged code
    /// entries are dropped with a warning (a code lives minutes; a user is never dropped).
    pub(crate) fn load(file: DataFile, codes: &CodeHasher) -> (Self, bool) {
        let now = SystemClock.now();
        let mut state = State {
            extra: file.extra,
            users: Vec::with_capacity(file.users.len()),
            by_phone: HashMap::with_capacity(file.users.len()),
            by_id: HashMap::with_capacity(file.users.len()),
            ledgers: HashMap::with_capacity(file.otps.len()),
            ..State::default()
        };
        let mut upgrade = false;
        for raw in file.users {
            match StoredUser::read(raw, read_number) {
                Ok(user) => {
                    upgrade |= !user.as_written();
                    state.add_user(user);
                }
                Err(raw) => {
                    tracing::warn!(
                        "a user without an id in the data file is kept but cannot reset"
                    );
                    state.unreadable_users.push(raw);
                }
            }
        }
        for entry in &file.otps {
            let phone = entry
                .phone_number
                .as_ref()
                .and_then(Scalar::as_str)
                .and_then(read_number);
            let record = phone.and_then(|phone| {
                code_from_json(entry, phone, codes, |p| state.user_id_for(p)).map(|r| (phone, r))
            });
            let Some((phone, record)) = record else {
                tracing::warn!("dropping an unreadable code entry from the data file");
                upgrade = true;
                continue;
            };
            if record.user_id.is_none() {
                // A stand-in an older version kept in the file: stand-ins now live in memory.
                upgrade = true;
                continue;
            }
            upgrade |= !code_as_written(entry, phone);
            let ledger = Arc::make_mut(state.ledgers.entry(phone).or_default());
            upgrade |= ledger.code().is_some();
            if ledger
                .code()
                .is_none_or(|kept| kept.issued_at < record.issued_at)
            {
                // An old file has no counters: its codes count as sends, so the cooldown holds
                // (never from the future, whatever the file says).
                ledger.set_recent_sends([record.issued_at.min(now)]);
                ledger.set_code(Some(record));
            }
        }
        for limits in &file.limits {
            match read_number(&limits.phone_number) {
                Some(phone) => {
                    upgrade |= !written_as(&limits.phone_number, phone);
                    limits_from_json(
                        limits,
                        Arc::make_mut(state.ledgers.entry(phone).or_default()),
                    );
                }
                None => upgrade = true,
            }
        }
        (state, upgrade)
    }

    fn add_user(&mut self, user: StoredUser) {
        let index = self.users.len();
        if self.by_id.contains_key(&user.id) {
            tracing::warn!(id = %user.id, "a duplicate user id in the data file: the first one is used");
        } else {
            self.by_id.insert(user.id.clone(), index);
        }
        if let Some(phone) = user.phone {
            self.by_phone.entry(phone).or_insert(index);
        }
        self.users.push(Arc::new(user));
    }

    fn user_id_for(&self, phone: PhoneNumber) -> Option<UserId> {
        self.by_phone.get(&phone).map(|&i| self.users[i].id.clone())
    }

    pub(crate) fn user_by_phone(&self, phone: PhoneNumber) -> Option<User> {
        self.by_phone
            .get(&phone)
            .map(|&i| self.users[i].to_user(phone))
    }

    /// Sets a user's password; the journal entry to append, or `None` for an unknown id.
    pub(crate) fn set_password(&mut self, id: &UserId, phc: &str) -> Option<Entry> {
        let &index = self.by_id.get(id)?;
        Arc::make_mut(&mut self.users[index]).password = phc.to_owned();
        Some(Entry::Password {
            user_id: id.0.clone(),
            password: phc.to_owned(),
        })
    }

    /// Sets a user's password if it is still `expected`; the journal entry to append, or `None`
    /// for an unknown id or a password that changed meanwhile.
    pub(crate) fn replace_password(
        &mut self,
        id: &UserId,
        expected: &str,
        phc: &str,
    ) -> Option<Entry> {
        let &index = self.by_id.get(id)?;
        (self.users[index].password == expected)
            .then(|| self.set_password(id, phc))
            .flatten()
    }

    /// Runs a step on a phone's ledger; the entry to journal when the ledger changed.
    pub(crate) fn step<T>(
        &mut self,
        phone: PhoneNumber,
        step: impl FnOnce(&mut PhoneLedger) -> T,
    ) -> (T, Option<Entry>) {
        let ledger = Arc::make_mut(self.ledgers.entry(phone).or_default());
        let before = ledger.clone();
        let result = step(ledger);
        let entry = (*ledger != before).then(|| phone_entry(phone, ledger));
        if ledger.is_empty() {
            self.ledgers.remove(&phone);
        }
        (result, entry)
    }

    /// Drops expired codes and stale counters; how many codes went, and the entries to journal.
    pub(crate) fn purge(&mut self, now: Timestamp, rules: &OtpRules) -> (usize, Vec<Entry>) {
        let mut purged = 0;
        let mut entries = Vec::new();
        self.ledgers.retain(|&phone, shared| {
            let ledger = Arc::make_mut(shared);
            let before = ledger.clone();
            purged += usize::from(ledger.purge(now, rules));
            if *ledger != before {
                entries.push(phone_entry(phone, ledger));
            }
            !ledger.is_empty()
        });
        (purged, entries)
    }

    /// Applies a journal line.
    pub(crate) fn apply(&mut self, entry: Entry, codes: &CodeHasher) {
        match entry {
            Entry::Pad { .. } => {}
            Entry::Password { user_id, password } => {
                let _ = self.set_password(&UserId(user_id), &password);
            }
            Entry::Phone {
                phone_number,
                otp,
                limits,
            } => {
                let Ok(phone) = PhoneNumber::parse(&phone_number) else {
                    return;
                };
                let mut ledger = PhoneLedger::new(
                    otp.and_then(|otp| code_from_json(&otp, phone, codes, |_| None))
                        .filter(|code| code.user_id.is_some()),
                );
                if let Some(limits) = &limits {
                    limits_from_json(limits, &mut ledger);
                }
                if ledger.is_empty() {
                    self.ledgers.remove(&phone);
                } else {
                    self.ledgers.insert(phone, Arc::new(ledger));
                }
            }
        }
    }

    /// What the next snapshot holds, taken in a moment under the lock: the users and ledgers
    /// are shared, not copied, so serialising them can happen outside it.
    pub(crate) fn capture(&self) -> Captured {
        let mut ledgers: Vec<_> = self
            .ledgers
            .iter()
            .map(|(&phone, ledger)| (phone, Arc::clone(ledger)))
            .collect();
        ledgers.sort_unstable_by_key(|(phone, _)| *phone);
        Captured {
            users: self.users.clone(),
            unreadable_users: self.unreadable_users.clone(),
            ledgers,
            extra: self.extra.clone(),
        }
    }
}

/// Reads a number of the data file. A number as the store writes it ([`written_as`]: its E.164
/// digits) is taken as those digits, the way a database store takes its integers
/// ([`PhoneNumber::from_u64`]): the store validated it before writing it, and a number a user
/// types, always validated, finds it only by being those very digits. Any other text (the
/// original design's numbers as typed, `08…`) is parsed and validated: about 3 µs each, most of
/// a start-up otherwise.
fn read_number(text: &str) -> Option<PhoneNumber> {
    let written = text
        .parse()
        .ok()
        .and_then(PhoneNumber::from_u64)
        .filter(|phone| written_as(text, *phone));
    written.or_else(|| PhoneNumber::parse(text).ok())
}

/// A moment of the state, to be written as a snapshot.
#[derive(Debug)]
pub(crate) struct Captured {
    users: Vec<Arc<StoredUser>>,
    unreadable_users: Vec<Map<String, Value>>,
    ledgers: Vec<(PhoneNumber, Arc<PhoneLedger>)>,
    extra: Map<String, Value>,
}

impl Captured {
    /// Writes the data file, as pretty JSON, to `out`: streamed, so a snapshot costs no copy of
    /// the users and no buffer of the whole file.
    pub(crate) fn write_to(&self, mut out: impl Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        out.write_all(b"\n")
    }

    #[cfg(test)]
    pub(crate) fn to_bytes(&self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.write_to(&mut bytes)?;
        Ok(bytes)
    }
}

/// As [`DataFile`] is written: `users`, `otps`, `otpLimits` when there are any, then the
/// fields other tools keep.
impl Serialize for Captured {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let limits = RefCell::new(Vec::new());
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("users", &Users(self))?;
        map.serialize_entry(
            "otps",
            &Codes {
                ledgers: &self.ledgers,
                limits: &limits,
            },
        )?;
        let limits: Vec<LimitEntry> = limits.take();
        if !limits.is_empty() {
            map.serialize_entry("otpLimits", &limits)?;
        }
        for (key, value) in &self.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

struct Users<'a>(&'a Captured);

impl Serialize for Users<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Captured {
            users,
            unreadable_users,
            ..
        } = self.0;
        let mut seq = serializer.serialize_seq(Some(users.len() + unreadable_users.len()))?;
        for user in users {
            seq.serialize_element(&**user)?;
        }
        for raw in unreadable_users {
            seq.serialize_element(raw)?;
        }
        seq.end()
    }
}

/// The `otps[]` entries; each phone's counters are kept aside for `otpLimits[]`.
struct Codes<'a> {
    ledgers: &'a [(PhoneNumber, Arc<PhoneLedger>)],
    limits: &'a RefCell<Vec<LimitEntry>>,
}

impl Serialize for Codes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for (phone, ledger) in self.ledgers {
            let (otp, limits) = ledger_to_json(*phone, ledger);
            if let Some(otp) = otp {
                seq.serialize_element(&otp)?;
            }
            self.limits.borrow_mut().extend(limits);
        }
        seq.end()
    }
}

fn phone_entry(phone: PhoneNumber, ledger: &PhoneLedger) -> Entry {
    let (otp, limits) = ledger_to_json(phone, ledger);
    Entry::Phone {
        phone_number: stored_number(phone),
        otp: otp.map(Box::new),
        limits,
    }
}

#[cfg(test)]
mod tests;
