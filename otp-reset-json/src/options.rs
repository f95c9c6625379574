//! The settings of a store beyond its file.

use otp_reset::store::StandInCache;

/// Settings of a [`JsonStore`](crate::JsonStore) beyond its file.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Phones whose stand-ins (codes for name and phone pairs that match no user) are kept in
    /// memory, least used evicted first (default [`StandInCache::DEFAULT_CAPACITY`]).
    pub stand_in_capacity: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            stand_in_capacity: StandInCache::DEFAULT_CAPACITY,
        }
    }
}

impl StoreOptions {
    /// Keeps stand-ins for at most `phones` phones.
    ///
    /// ```
    /// let options = otp_reset_json::StoreOptions::default().with_stand_in_capacity(10_000);
    /// assert_eq!(options.stand_in_capacity, 10_000);
    /// ```
    pub fn with_stand_in_capacity(mut self, phones: usize) -> Self {
        self.stand_in_capacity = phones;
        self
    }
}
