//! The statuses of recent requests, and how a stand-in's status is made to look like a real one.
//!
//! A real code's status follows what its sender reports: the send's outcome, then acks or status
//! webhooks ([`DeliveryReports`]). A stand-in (a pair that matches no user) sends nothing, so its
//! status is a replay: once the drain task reaches it, the sender looks its number up (a
//! number's presence on WhatsApp is public); a number with no account shows `not_on_whatsapp`
//! after a delay taken from a recent real `not_on_whatsapp`, any other number replays the
//! timeline of a recent real code picked at random (`sent` after as long, `delivered` after as
//! long, or never, or `failed`). Both kinds keep the same record for as long as a code lives, so
//! neither the status, nor when it changes, nor when it is forgotten tells them apart.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use smallvec::SmallVec;
use tokio::time::Instant;

use super::DeliveryStatus;
use crate::events::{Event, Events};
use crate::{DeliveryReport, DeliveryReports, DeliveryUpdate, MaskedPhone, Presence, Sender};

/// The most requests followed at once; the oldest are forgotten first beyond it.
const MAX_TRACKED: usize = 100_000;
/// The most reports that arrive before their send returned, kept until it does.
const MAX_EARLY_REPORTS: usize = 1_024;
/// How many recent real codes a stand-in's timeline is drawn from.
const SAMPLES: usize = 64;
/// Reports not yet read, beyond which senders' reports are dropped.
const REPORT_QUEUE: usize = 4_096;
/// The longest a stand-in's lookup may take before it counts as a failed send.
const LOOKUP_DEADLINE: Duration = Duration::from_secs(30);

/// An opaque id for one request-otp answer: 128 random bits, base64url.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RequestId(String);

impl RequestId {
    fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes[..]);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// What became of one message, as offsets from its request.
#[derive(Clone, Debug, Default)]
struct Timeline {
    steps: SmallVec<[(Duration, DeliveryStatus); 4]>,
}

impl Timeline {
    fn of(steps: &[(Duration, DeliveryStatus)]) -> Self {
        Self {
            steps: steps.iter().copied().collect(),
        }
    }

    /// The status now.
    fn last(&self) -> DeliveryStatus {
        self.steps
            .last()
            .map_or(DeliveryStatus::Pending, |&(_, status)| status)
    }

    /// The status `offset` after the request.
    fn at(&self, offset: Duration) -> DeliveryStatus {
        self.steps
            .iter()
            .take_while(|(at, _)| *at <= offset)
            .last()
            .map_or(DeliveryStatus::Pending, |&(_, status)| status)
    }

    /// Records `status` reached `offset` after the request, unless it would go back: a final
    /// status never changes, and `sent` never follows `delivered`.
    fn advance(&mut self, offset: Duration, status: DeliveryStatus) -> bool {
        let now = self.last();
        let forward = match now {
            DeliveryStatus::Pending => status != DeliveryStatus::Pending,
            DeliveryStatus::Sent => status.is_final(),
            _ => false,
        };
        if forward {
            self.steps.push((offset, status));
        }
        forward
    }
}

/// One request's record.
#[derive(Debug)]
enum Record {
    /// A user's code: what its sender reported.
    Real {
        created: Instant,
        phone: MaskedPhone,
        timeline: Timeline,
    },
    /// A pair that matches no user.
    StandIn { created: Instant, plan: Plan },
}

/// Where a stand-in's status comes from.
#[derive(Debug)]
enum Plan {
    /// The drain task has not reached it yet.
    Queued,
    /// Its own timeline.
    Fixed(Timeline),
    /// The timeline of a real code, as offsets from the stand-in's own request.
    Replay(Shared),
}

type Shared = Arc<Mutex<Record>>;

fn lock(record: &Mutex<Record>) -> MutexGuard<'_, Record> {
    record.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Record {
    fn created(&self) -> Instant {
        match self {
            Self::Real { created, .. } | Self::StandIn { created, .. } => *created,
        }
    }

    /// The status `offset` after the request.
    fn status_at(&self, offset: Duration) -> DeliveryStatus {
        match self {
            Self::Real { timeline, .. } => timeline.at(offset),
            Self::StandIn { plan, .. } => match plan {
                Plan::Queued => DeliveryStatus::Pending,
                Plan::Fixed(timeline) => timeline.at(offset),
                // A sample is always a real record, which never replays another.
                Plan::Replay(sample) => lock(sample).status_at(offset),
            },
        }
    }
}

/// A request's handle, which the drain task reports on.
#[derive(Clone, Debug)]
pub(crate) struct Tracked(Shared);

/// The statuses of recent requests (see the module docs). Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Deliveries {
    shared: Arc<State>,
}

#[derive(Debug)]
struct State {
    requests: quick_cache::sync::Cache<RequestId, Shared>,
    by_message: quick_cache::sync::Cache<String, Shared>,
    early: quick_cache::sync::Cache<String, DeliveryUpdate>,
    samples: Mutex<Samples>,
    lifetime: Duration,
    events: Events,
}

/// Recent real codes, for stand-ins to replay.
#[derive(Debug, Default)]
struct Samples {
    /// Codes to numbers with an account (or not known to lack one).
    reached: Ring<Shared>,
    /// When `not_on_whatsapp` came, after the request, for numbers with no account.
    unregistered: Ring<Duration>,
}

#[derive(Debug)]
struct Ring<T> {
    items: Vec<T>,
    next: usize,
}

impl<T> Default for Ring<T> {
    fn default() -> Self {
        Self {
            items: Vec::with_capacity(SAMPLES),
            next: 0,
        }
    }
}

impl<T: Clone> Ring<T> {
    fn push(&mut self, item: T) {
        if self.items.len() < SAMPLES {
            self.items.push(item);
        } else {
            self.items[self.next] = item;
        }
        self.next = (self.next + 1) % SAMPLES;
    }

    fn pick(&self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        self.items
            .get(rand::random_range(0..self.items.len()))
            .cloned()
    }
}

impl Deliveries {
    /// Follows requests for `lifetime` (a code's), and the reports `sender` makes.
    pub(crate) fn start(sender: &dyn Sender, events: Events, lifetime: Duration) -> Self {
        let deliveries = Self {
            shared: Arc::new(State {
                requests: quick_cache::sync::Cache::new(MAX_TRACKED),
                by_message: quick_cache::sync::Cache::new(MAX_TRACKED),
                early: quick_cache::sync::Cache::new(MAX_EARLY_REPORTS),
                samples: Mutex::new(Samples::default()),
                lifetime,
                events,
            }),
        };
        let (reports, mut received) = DeliveryReports::channel(REPORT_QUEUE);
        sender.report_deliveries_to(reports);
        let weak = Arc::downgrade(&deliveries.shared);
        tokio::spawn(async move {
            while let Some(report) = received.recv().await {
                let Some(shared) = weak.upgrade() else { return };
                Deliveries { shared }.apply(report);
            }
        });
        deliveries
    }

    /// A new request for a user's code to `phone`.
    pub(crate) fn track_real(&self, phone: MaskedPhone) -> (RequestId, Tracked) {
        self.track(Record::Real {
            created: Instant::now(),
            phone,
            timeline: Timeline::default(),
        })
    }

    /// A new request for a pair that matches no user.
    pub(crate) fn track_stand_in(&self) -> (RequestId, Tracked) {
        self.track(Record::StandIn {
            created: Instant::now(),
            plan: Plan::Queued,
        })
    }

    fn track(&self, record: Record) -> (RequestId, Tracked) {
        let id = RequestId::generate();
        let shared = Arc::new(Mutex::new(record));
        self.shared.requests.insert(id.clone(), Arc::clone(&shared));
        (id, Tracked(shared))
    }

    /// The status of a request, or `None` for an id never given or forgotten (its code's
    /// lifetime is over).
    pub(crate) fn status(&self, id: &str) -> Option<DeliveryStatus> {
        let record = self.shared.requests.get(&RequestId(id.to_owned()))?;
        let record = lock(&record);
        let offset = record.created().elapsed();
        (offset < self.shared.lifetime).then(|| record.status_at(offset))
    }

    /// A user's code reached `status` as its send returned; `message_id` is the sender's id for
    /// it, by which later reports find it.
    pub(crate) fn sent(&self, tracked: &Tracked, status: DeliveryStatus, message_id: Option<&str>) {
        self.advance(&tracked.0, status);
        let mut samples = self.samples();
        match status {
            DeliveryStatus::NotOnWhatsapp => {
                let offset = lock(&tracked.0).created().elapsed();
                samples.unregistered.push(offset);
            }
            _ => samples.reached.push(Arc::clone(&tracked.0)),
        }
        drop(samples);
        if let Some(id) = message_id {
            self.shared
                .by_message
                .insert(id.to_owned(), Arc::clone(&tracked.0));
            // A report that came before the send returned.
            if let Some((_, update)) = self.shared.early.remove(id) {
                self.advance(&tracked.0, status_of(&update));
            }
        }
    }

    /// Nothing was sent for the request, whichever pair it was (development without a sender).
    pub(crate) fn not_sent(&self, tracked: &Tracked) {
        let mut record = lock(&tracked.0);
        let offset = record.created().elapsed();
        match &mut *record {
            Record::Real { timeline, .. } => {
                timeline.advance(offset, DeliveryStatus::Failed);
            }
            Record::StandIn { plan, .. } => {
                *plan = Plan::Fixed(Timeline::of(&[(offset, DeliveryStatus::Failed)]));
            }
        }
    }

    /// Makes the stand-in's plan once the drain task reaches it: looks its number up, then
    /// follows a recent real code like it.
    pub(crate) async fn stand_in(
        &self,
        tracked: Tracked,
        sender: &dyn Sender,
        to: &crate::PhoneNumber,
    ) {
        let presence = tokio::time::timeout(LOOKUP_DEADLINE, sender.lookup(to)).await;
        let created = lock(&tracked.0).created();
        let now = created.elapsed();
        let plan = {
            let samples = self.samples();
            match presence {
                Ok(Ok(Presence::NotRegistered)) => {
                    let at = samples.unregistered.pick().unwrap_or(now);
                    Plan::Fixed(Timeline::of(&[(at, DeliveryStatus::NotOnWhatsapp)]))
                }
                Ok(Ok(Presence::Registered | Presence::Unknown)) => match samples.reached.pick() {
                    Some(sample) => Plan::Replay(sample),
                    // No real code yet to follow: a send's usual course.
                    None => Plan::Fixed(Timeline::of(&[
                        (now + Duration::from_millis(400), DeliveryStatus::Sent),
                        (now + Duration::from_secs(2), DeliveryStatus::Delivered),
                    ])),
                },
                Ok(Err(_)) | Err(_) => Plan::Fixed(Timeline::of(&[(now, DeliveryStatus::Failed)])),
            }
        };
        if let Record::StandIn { plan: slot, .. } = &mut *lock(&tracked.0) {
            *slot = plan;
        }
    }

    /// A report from the sender, about a message it sent.
    fn apply(&self, report: DeliveryReport) {
        match self.shared.by_message.get(&report.message_id) {
            Some(record) => self.advance(&record, status_of(&report.update)),
            None => self.shared.early.insert(report.message_id, report.update),
        }
    }

    /// Moves a real record forward and says so in an event.
    fn advance(&self, record: &Shared, status: DeliveryStatus) {
        let mut record = lock(record);
        if let Record::Real {
            created,
            phone,
            timeline,
        } = &mut *record
        {
            let after = created.elapsed();
            if timeline.advance(after, status) {
                let phone = *phone;
                drop(record);
                self.shared.events.emit(Event::DeliveryChanged {
                    phone,
                    status,
                    after,
                });
            }
        }
    }

    fn samples(&self) -> MutexGuard<'_, Samples> {
        self.shared
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The status a report moves a code to.
fn status_of(update: &DeliveryUpdate) -> DeliveryStatus {
    match update {
        DeliveryUpdate::Sent => DeliveryStatus::Sent,
        DeliveryUpdate::Delivered | DeliveryUpdate::Read => DeliveryStatus::Delivered,
        DeliveryUpdate::NotRegistered => DeliveryStatus::NotOnWhatsapp,
        DeliveryUpdate::Failed(_) => DeliveryStatus::Failed,
    }
}
