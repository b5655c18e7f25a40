//! A metered upload body: what the multipart parser may consume beyond the fields' own bytes,
//! and how fast the body arrives.
//!
//! The multipart parser buffers everything it reads while it looks for a boundary or the end
//! of a part's headers, so a body with no boundary, or a part header that never ends, would
//! make it hold (and rescan) everything sent; and it reads whatever the connection has ready,
//! not what it needs. This body hands the parser at most [`PIECE`] bytes at a time and counts
//! them; the receive pipeline counts the field bytes it is handed ([`Meter::delivered`]). The
//! difference is what the parser holds: read-ahead and framing (the preamble, boundaries and
//! part headers).
//!
//! - Beyond [`READ_AHEAD`] the body makes the parser wait (back-pressure) until the pipeline has
//!   taken more field bytes. If the parser asks again without the pipeline having taken any, it
//!   cannot go on without more bytes: what it holds is framing, and it gets one more piece.
//! - When framing exceeds the allowance ([`BASE_ALLOWANCE`], plus [`PART_ALLOWANCE`] for each
//!   part the pipeline accepts), the body fails, the parser stops with an error and the request
//!   gets the 400 page.
//!
//! Invariant: whatever a client sends, what the parser holds stays under the allowance plus one
//! piece, and nothing here copies or logs a byte of the body.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Largest piece handed to the parser at once, so that what it reads ahead of the fields is
/// small.
pub const PIECE: usize = 64 * 1024;

/// What the parser may hold beyond the field bytes taken before it must wait for the pipeline.
pub const READ_AHEAD: u64 = 128 * 1024;

/// Framing allowed before and around the parts: a preamble (browsers send none), the final
/// boundary, and the parser's read-ahead ([`READ_AHEAD`] and a piece).
pub const BASE_ALLOWANCE: u64 = 256 * 1024;

/// Framing allowed per part: its boundary line and headers. A browser's part headers are a few
/// hundred bytes, even with a long file name.
pub const PART_ALLOWANCE: u64 = 8 * 1024;

/// The framing of a body exceeded its allowance.
#[derive(Debug, thiserror::Error)]
#[error("multipart framing exceeds its allowance")]
pub struct FramingTooLarge;

/// Counters shared by a [`MeteredBody`] and the pipeline that reads its fields.
#[derive(Debug)]
pub struct Meter {
    consumed: AtomicU64,
    delivered: AtomicU64,
    allowance: AtomicU64,
}

impl Meter {
    /// A meter with the allowance for the body's first part.
    pub fn new() -> Arc<Meter> {
        Arc::new(Meter {
            consumed: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            allowance: AtomicU64::new(BASE_ALLOWANCE + PART_ALLOWANCE),
        })
    }

    /// The pipeline was handed `n` bytes of a field's content.
    pub fn delivered(&self, n: usize) {
        self.delivered.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// The pipeline accepted a part: the next part may have its own headers.
    pub fn part_accepted(&self) {
        self.allowance.fetch_add(PART_ALLOWANCE, Ordering::Relaxed);
    }

    /// Bytes of the body read so far.
    pub fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// Bytes read and not yet taken by the pipeline: read-ahead and framing.
    fn held(&self) -> u64 {
        self.consumed()
            .saturating_sub(self.delivered.load(Ordering::Relaxed))
    }

    /// Counts a piece handed to the parser; false when what it holds is over the allowance.
    fn account(&self, n: usize) -> bool {
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        self.held() <= self.allowance.load(Ordering::Relaxed)
    }
}

/// A request body handed out in pieces of at most [`PIECE`] bytes, counted by a [`Meter`].
pub struct MeteredBody<B> {
    inner: B,
    pending: Bytes,
    meter: Arc<Meter>,
    failed: bool,
    /// The pipeline's count of field bytes when this body last made the parser wait.
    paused_at: Option<u64>,
}

impl<B> MeteredBody<B> {
    /// Meters `inner` with `meter`.
    pub fn new(inner: B, meter: Arc<Meter>) -> Self {
        MeteredBody {
            inner,
            pending: Bytes::new(),
            meter,
            failed: false,
            paused_at: None,
        }
    }

    fn piece(&mut self) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        let piece = self.pending.split_to(self.pending.len().min(PIECE));
        if self.meter.account(piece.len()) {
            Poll::Ready(Some(Ok(Frame::data(piece))))
        } else {
            self.failed = true;
            self.pending = Bytes::new();
            Poll::Ready(Some(Err(Box::new(FramingTooLarge))))
        }
    }
}

impl<B> Body for MeteredBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        if this.meter.held() > READ_AHEAD {
            let delivered = this.meter.delivered.load(Ordering::Relaxed);
            if this.paused_at == Some(delivered) {
                // Asked again with nothing taken: the parser needs more bytes to go on.
                this.paused_at = None;
            } else {
                // Let the parser hand what it holds to the pipeline, then ask again.
                this.paused_at = Some(delivered);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        if !this.pending.is_empty() {
            return this.piece();
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => {
                    this.pending = data;
                    this.piece()
                }
                Err(other) => Poll::Ready(Some(Ok(other))),
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.pending.is_empty() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let mut hint = self.inner.size_hint();
        let pending = self.pending.len() as u64;
        hint.set_lower(hint.lower().saturating_add(pending));
        if let Some(upper) = hint.upper() {
            hint.set_upper(upper.saturating_add(pending));
        }
        hint
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body(bytes: Vec<u8>) -> http_body_util::Full<Bytes> {
        http_body_util::Full::new(Bytes::from(bytes))
    }

    #[tokio::test]
    async fn framing_beyond_the_allowance_fails_after_one_piece_more() {
        let meter = Meter::new();
        let mut b = MeteredBody::new(body(vec![b'-'; 1 << 20]), meter.clone());
        let mut got = 0usize;
        let mut failed = false;
        while let Some(frame) = b.frame().await {
            match frame {
                Ok(f) => {
                    let n = f.into_data().map(|d| d.len()).unwrap_or(0);
                    assert!(n <= PIECE);
                    got += n;
                }
                Err(e) => {
                    assert!(e.is::<FramingTooLarge>());
                    failed = true;
                    break;
                }
            }
        }
        assert!(failed, "a body of framing alone must fail");
        assert!(got as u64 <= BASE_ALLOWANCE + PART_ALLOWANCE, "{got}");
    }

    #[tokio::test]
    async fn delivered_field_bytes_do_not_count_as_framing() {
        let meter = Meter::new();
        let mut b = MeteredBody::new(body(vec![b'x'; 4 << 20]), meter.clone());
        let mut total = 0usize;
        while let Some(frame) = b.frame().await {
            let n = frame.unwrap().into_data().unwrap().len();
            meter.delivered(n);
            total += n;
        }
        assert_eq!(total, 4 << 20);
        assert_eq!(meter.consumed(), 4 << 20);
    }
}
