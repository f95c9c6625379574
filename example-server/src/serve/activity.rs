//! What one connection is doing, and when it has been quiet too long: the request-head, answer
//! and idle timeouts.
//!
//! A connection is in one of three phases. It starts *reading a head*: it has the header read
//! timeout to send a whole request head. Once the head is in, a request is *in flight* until
//! hyper has taken its whole answer, within the answer timeout (the request timeout bounds the
//! handler; this bounds an answer streamed to a client that does not read it). Then the
//! connection is *idle*: the idle timeout covers writing out what hyper holds and waiting for
//! the next request, whose first byte starts the header read timeout again. Counting from that
//! byte, and not from each one, is what closes a client that trickles its head a byte at a time.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

const READING_HEAD: u8 = 0;
const IN_FLIGHT: u8 = 1;
const IDLE: u8 = 2;
const NO_DEADLINE: u64 = u64::MAX;

/// The two timeouts a connection is held to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    /// To send a whole request head, from the connection's start or its next request's first byte.
    pub(crate) header_read: Duration,
    /// To start the next request once an answer has been written.
    pub(crate) idle: Duration,
    /// To handle a request and write its answer.
    pub(crate) answer: Duration,
}

/// Why a connection was closed by the server rather than by hyper or the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Closed {
    /// It did not finish its request head in time.
    HeaderTimeout,
    /// It sent no new request in time.
    IdleTimeout,
    /// Its answer was not taken in time (a streamed answer the client does not read).
    AnswerTimeout,
    /// Its place was given to a new connection while the server was full.
    Evicted,
}

/// One connection's phase and deadline, shared by its reads, its service and the registry.
#[derive(Debug)]
pub(crate) struct Activity {
    timeouts: Timeouts,
    opened: Instant,
    phase: AtomicU8,
    /// Milliseconds after `opened`, or [`NO_DEADLINE`].
    deadline: AtomicU64,
    evicted: AtomicBool,
    changed: Notify,
}

impl Activity {
    /// A connection just accepted: reading its first head.
    pub(crate) fn new(timeouts: Timeouts) -> Arc<Self> {
        let activity = Self {
            timeouts,
            opened: Instant::now(),
            phase: AtomicU8::new(READING_HEAD),
            deadline: AtomicU64::new(NO_DEADLINE),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        };
        activity.set_deadline(Some(timeouts.header_read));
        Arc::new(activity)
    }

    /// Whether closing it loses nothing that was asked: no request is in flight.
    pub(crate) fn evictable(&self) -> bool {
        self.phase.load(Ordering::Acquire) != IN_FLIGHT && !self.evicted.load(Ordering::Acquire)
    }

    /// Closes the connection (see [`Activity::closed`]).
    pub(crate) fn evict(&self) {
        self.evicted.store(true, Ordering::Release);
        self.changed.notify_one();
    }

    /// A request's head is in: the answer timeout runs until its answer is written and the
    /// guard dropped.
    pub(crate) fn request_started(self: &Arc<Self>) -> InFlight {
        self.phase.store(IN_FLIGHT, Ordering::Release);
        self.set_deadline(Some(self.timeouts.answer));
        InFlight(Arc::clone(self))
    }

    /// Resolves when the connection must be closed: its phase's deadline passed, or it was
    /// evicted.
    pub(crate) async fn closed(&self) -> Closed {
        loop {
            if self.evicted.load(Ordering::Acquire) {
                return Closed::Evicted;
            }
            let deadline = self.deadline.load(Ordering::Acquire);
            if deadline == NO_DEADLINE {
                self.changed.notified().await;
                continue;
            }
            let at = self.opened + Duration::from_millis(deadline);
            tokio::select! {
                () = tokio::time::sleep_until(at) => {
                    // The deadline may have moved while this slept.
                    if self.deadline.load(Ordering::Acquire) == deadline {
                        return match self.phase.load(Ordering::Acquire) {
                            IDLE => Closed::IdleTimeout,
                            IN_FLIGHT => Closed::AnswerTimeout,
                            _ => Closed::HeaderTimeout,
                        };
                    }
                }
                () = self.changed.notified() => {}
            }
        }
    }

    fn read_some(&self) {
        if self
            .phase
            .compare_exchange(IDLE, READING_HEAD, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.set_deadline(Some(self.timeouts.header_read));
        }
    }

    fn set_deadline(&self, after: Option<Duration>) {
        let deadline = after.map_or(NO_DEADLINE, |after| {
            let at = self.opened.elapsed() + after;
            u64::try_from(at.as_millis()).unwrap_or(NO_DEADLINE - 1)
        });
        self.deadline.store(deadline, Ordering::Release);
        self.changed.notify_one();
    }
}

/// Held while a request is in flight; its drop makes the connection idle.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.phase.store(IDLE, Ordering::Release);
        self.0.set_deadline(Some(self.0.timeouts.idle));
    }
}

/// An answer's body that keeps its request in flight until hyper has taken it all (or the
/// connection is gone).
#[derive(Debug)]
pub(crate) struct Answer {
    body: Body,
    _in_flight: InFlight,
}

impl Answer {
    pub(crate) fn new(body: Body, in_flight: InFlight) -> Self {
        Self {
            body,
            _in_flight: in_flight,
        }
    }
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's stream that tells its [`Activity`] when bytes arrive.
#[derive(Debug)]
pub(crate) struct Watched<S> {
    stream: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub(crate) fn new(stream: S, activity: Arc<Activity>) -> Self {
        Self { stream, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_some();
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        answer: Duration::from_secs(120),
    };

    #[tokio::test(start_paused = true)]
    async fn a_head_not_finished_in_time_closes_the_connection() {
        let activity = Activity::new(TIMEOUTS);
        let start = Instant::now();
        assert_eq!(activity.closed().await, Closed::HeaderTimeout);
        assert_eq!(start.elapsed(), TIMEOUTS.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_has_the_answer_timeout_and_idleness_starts_after_it() {
        let activity = Activity::new(TIMEOUTS);
        let in_flight = activity.request_started();
        assert!(!activity.evictable());
        let closed = tokio::time::timeout(TIMEOUTS.answer / 2, activity.closed()).await;
        assert!(closed.is_err(), "closed with a request in flight");
        let idle_from = Instant::now();
        drop(in_flight);
        assert!(activity.evictable());
        assert_eq!(activity.closed().await, Closed::IdleTimeout);
        assert_eq!(idle_from.elapsed(), TIMEOUTS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_the_client_does_not_read_in_time_closes_the_connection() {
        let activity = Activity::new(TIMEOUTS);
        let start = Instant::now();
        let _in_flight = activity.request_started();
        activity.read_some();
        assert_eq!(activity.closed().await, Closed::AnswerTimeout);
        assert_eq!(start.elapsed(), TIMEOUTS.answer);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_byte_of_the_next_request_starts_the_header_timeout() {
        let activity = Activity::new(TIMEOUTS);
        drop(activity.request_started());
        tokio::time::sleep(Duration::from_secs(30)).await;
        let from = Instant::now();
        activity.read_some();
        activity.read_some();
        assert_eq!(activity.closed().await, Closed::HeaderTimeout);
        assert_eq!(from.elapsed(), TIMEOUTS.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn eviction_closes_at_once() {
        let activity = Activity::new(TIMEOUTS);
        let waiter = {
            let activity = Arc::clone(&activity);
            tokio::spawn(async move { activity.closed().await })
        };
        tokio::task::yield_now().await;
        activity.evict();
        assert_eq!(waiter.await.unwrap(), Closed::Evicted);
        assert!(!activity.evictable(), "evicted once");
    }
}
