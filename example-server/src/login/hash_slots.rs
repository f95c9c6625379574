//! A cap on the password checks one client address has under way, so that one client cannot
//! fill the server's hashing pool and make everyone else wait or be turned away.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// The checks under way per client. A client has an entry only while it holds a slot, so the
/// map is as large as the number of logins in flight, whatever the traffic.
#[derive(Clone, Debug)]
pub struct HashSlots {
    per_client: usize,
    taken: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl HashSlots {
    /// At most `per_client` checks per client at once (at least one).
    pub fn new(per_client: usize) -> Self {
        Self {
            per_client: per_client.max(1),
            taken: Arc::default(),
        }
    }

    /// A slot for one check by `client`, or `None` when it already holds all of its own.
    pub fn take(&self, client: IpAddr) -> Option<HashSlot> {
        let mut taken = self.taken.lock().unwrap_or_else(PoisonError::into_inner);
        let held = taken.entry(client).or_insert(0);
        if *held >= self.per_client {
            return None;
        }
        *held += 1;
        Some(HashSlot {
            slots: self.clone(),
            client,
        })
    }
}

/// One check under way; dropping it frees the slot.
#[derive(Debug)]
pub struct HashSlot {
    slots: HashSlots,
    client: IpAddr,
}

impl Drop for HashSlot {
    fn drop(&mut self) {
        let mut taken = self
            .slots
            .taken
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = taken.get_mut(&self.client) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                taken.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_slots_and_gets_them_back() {
        let slots = HashSlots::new(2);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let first = slots.take(one).unwrap();
        let _second = slots.take(one).unwrap();
        assert!(slots.take(one).is_none());
        assert!(slots.take(two).is_some(), "another client has its own");
        drop(first);
        assert!(slots.take(one).is_some());
    }

    #[test]
    fn clients_without_a_check_under_way_take_no_room() {
        let slots = HashSlots::new(1);
        for n in 0..100u8 {
            drop(slots.take(IpAddr::from([192, 0, 2, n])));
        }
        assert!(slots.taken.lock().unwrap().is_empty());
    }
}
