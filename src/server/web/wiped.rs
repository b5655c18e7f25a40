//! Bodies whose memory the server wipes: the pages it renders and the small forms' bodies it
//! reads ([`super::form_body`]).
//!
//! A [`WipedBuf`] becomes a [`Bytes`] with [`Bytes::from_owner`]: the `Bytes` handed to axum,
//! and every slice or clone hyper makes of it, point into the buffer itself, and when the last
//! of them is dropped (hyper has written the page, or the handler has parsed the form) the
//! owner overwrites the whole allocation ([`WipeOnDrop`]).
//!
//! Invariants:
//! - A page body built here is the only heap copy of the rendered page the server makes:
//!   askama writes straight into the [`WipedBuf`] (no intermediate `String`), the buffer grows
//!   by copy-and-wipe, and the listener writes queued bodies without flattening them into
//!   hyper's own write buffer (`writev`, see [`super::listener`]).
//! - Every response built by [`page`] carries the [`WipedPage`] marker in its extensions, so
//!   tests can tell that a handler's page went through here.
//! - Not wiped (not ours): hyper's read buffer, from which every request body is copied; the
//!   response head hyper writes; the kernel's socket buffers.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use zeroize::Zeroize;

use crate::util::wipe::WipedBuf;

/// Owns the memory behind a [`Bytes`] and wipes it when the last reference is dropped.
/// Generic so that tests can watch the wipe; the server uses it with a `Vec<u8>`.
pub struct WipeOnDrop<T: AsRef<[u8]> + Zeroize>(T);

impl<T: AsRef<[u8]> + Zeroize> AsRef<[u8]> for WipeOnDrop<T> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref()
    }
}

impl<T: AsRef<[u8]> + Zeroize> Drop for WipeOnDrop<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// `owner`'s bytes as a [`Bytes`] that wipes them once it and every clone or slice are gone.
pub fn bytes_wiped_on_drop<T>(owner: T) -> Bytes
where
    T: AsRef<[u8]> + Zeroize + Send + 'static,
{
    Bytes::from_owner(WipeOnDrop(owner))
}

/// `buf` as a [`Bytes`] whose allocation (all of its capacity) is wiped when the last
/// reference is dropped.
pub fn wiped_bytes(buf: WipedBuf) -> Bytes {
    let mut inner = buf.into_inner();
    // Moved out of the `Zeroizing` without a copy; from here `WipeOnDrop` wipes it.
    bytes_wiped_on_drop(std::mem::take(&mut *inner))
}

/// Marks a response whose body is a page rendered into a wiped buffer (see [`page`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WipedPage;

/// An HTML page whose body is `html`, wiped once hyper has written it.
pub fn page(html: WipedBuf) -> Response {
    let mut res = Response::new(Body::from(wiped_bytes(html)));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res.extensions_mut().insert(WipedPage);
    res
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Bytes that record when they are wiped (and only then: dropping alone does not).
    struct Watched {
        bytes: Vec<u8>,
        wiped: Arc<AtomicBool>,
    }

    impl AsRef<[u8]> for Watched {
        fn as_ref(&self) -> &[u8] {
            &self.bytes
        }
    }

    impl Zeroize for Watched {
        fn zeroize(&mut self) {
            self.bytes.zeroize();
            self.wiped.store(true, Ordering::SeqCst);
        }
    }

    fn watched(text: &[u8]) -> (Watched, Arc<AtomicBool>) {
        let wiped = Arc::new(AtomicBool::new(false));
        let w = Watched {
            bytes: text.to_vec(),
            wiped: wiped.clone(),
        };
        (w, wiped)
    }

    #[test]
    fn the_owner_is_wiped_when_the_last_bytes_is_dropped() {
        let (w, wiped) = watched(b"seven words of a codename");
        let bytes = bytes_wiped_on_drop(w);
        let slice = bytes.slice(6..11);
        let clone = bytes.clone();
        assert_eq!(&slice[..], b"words");
        drop(bytes);
        drop(clone);
        assert!(
            !wiped.load(Ordering::SeqCst),
            "a slice still points into it"
        );
        drop(slice);
        assert!(
            wiped.load(Ordering::SeqCst),
            "wiped with the last reference"
        );
    }

    #[tokio::test]
    async fn a_body_made_of_it_is_wiped_once_read_and_dropped() {
        let (w, wiped) = watched(b"<p>a reply</p>");
        let body = Body::from(bytes_wiped_on_drop(w));
        let collected = body.collect().await.unwrap().to_bytes();
        assert_eq!(&collected[..], b"<p>a reply</p>");
        assert!(!wiped.load(Ordering::SeqCst));
        drop(collected);
        assert!(wiped.load(Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_page_carries_the_marker_and_its_html() {
        let mut html = WipedBuf::default();
        html.extend_from_slice(b"<!doctype html><p>x</p>");
        let res = page(html);
        assert_eq!(res.extensions().get::<WipedPage>(), Some(&WipedPage));
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"<!doctype html><p>x</p>");
    }
}
