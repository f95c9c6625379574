//! The Redis keys the queue uses, under one prefix.

/// The stream, the consumer group and the worker's keys, all under one prefix.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// The stream of sealed messages.
    pub(crate) stream: String,
    /// The consumer group the worker reads through.
    pub(crate) group: &'static str,
    /// The prefix of each entry's send record (`{prefix}send:{entry id}`).
    send_prefix: String,
    /// The worker's lease: who consumes.
    pub(crate) lease: String,
    /// The consuming worker's status, as a heartbeat with a short TTL.
    pub(crate) status: String,
}

impl Keys {
    pub(crate) fn new(prefix: &str) -> Self {
        Self {
            stream: format!("{prefix}stream"),
            group: "senders",
            send_prefix: format!("{prefix}send:"),
            lease: format!("{prefix}worker:lease"),
            status: format!("{prefix}worker:status"),
        }
    }

    /// The send record of one stream entry.
    pub(crate) fn send_record(&self, entry_id: &str) -> String {
        format!("{}{entry_id}", self.send_prefix)
    }
}
