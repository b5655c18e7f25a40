//! Small form bodies (login, logout, deleting a reply): read whole, under a size cap and a
//! deadline, before the handler sees them, into memory that is wiped; and parsed
//! ([`SmallForm`]) into fields that are wiped.
//!
//! Invariants:
//! - A request on these routes waits at most [`SMALL_FORM_DEADLINE`] for its body and keeps at
//!   most [`SMALL_FORM_MAX_BYTES`] of it; past either, the client gets the localised 408 or 400
//!   page and the connection is closed (hyper does not keep a connection whose body was not
//!   read to the end). The handlers then read the body from memory.
//! - The body (a login's holds the codename as typed) is copied frame by frame out of hyper
//!   into a buffer reserved once at the cap, so it never reallocates; the handler gets it as a
//!   body wiped once dropped ([`super::wiped`]), and [`SmallForm`] decodes it into values that
//!   are wiped when the form is dropped, with no intermediate copy left unwiped.
//! - Not wiped: each frame is a `Bytes` of hyper's read buffer, which hyper owns and reuses
//!   without wiping; the bytes of a login stay there until overwritten.

use std::pin::Pin;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::Body as _;
use zeroize::Zeroizing;

use super::wiped::bytes_wiped_on_drop;
use super::WebError;

/// How long a small form's body may take to arrive, counted from the end of its request head.
///
/// Why 10 s: these bodies are a few hundred bytes (a form token and a codename), which a
/// browser sends with the head, in the same one or two Tor cells; waiting longer only serves
/// a client trickling them to hold a connection and a task (see the listener's header timeout
/// for the same reasoning).
pub const SMALL_FORM_DEADLINE: Duration = Duration::from_secs(10);

/// Largest small form body: a token and at most [`crate::server::codename::MAX_INPUT_CHARS`]
/// characters, each at most 4 bytes of UTF-8 and 3 characters when percent-encoded, fit in well
/// under 8 KiB; anything larger is not one of our forms.
pub const SMALL_FORM_MAX_BYTES: usize = 8 * 1024;

/// Why a body was not read whole.
#[derive(Debug)]
enum Unread {
    /// Over the cap (announced or sent).
    TooLarge,
    /// The client went away mid-body, or the body failed.
    Broken,
}

/// Reads `body` whole into a buffer wiped on drop, refusing more than `max` bytes. The buffer
/// is reserved at `max` up front, so it never grows; each frame is copied out of hyper's
/// buffer into it.
async fn read_wiped(
    headers: &HeaderMap,
    mut body: Body,
    max: usize,
) -> Result<Zeroizing<Vec<u8>>, Unread> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(Unread::TooLarge);
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(max));
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| Unread::Broken)?;
        // Trailers (a chunked body may send them) carry no form data.
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > max {
                return Err(Unread::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// Reads the body under [`SMALL_FORM_DEADLINE`] and [`SMALL_FORM_MAX_BYTES`], then passes the
/// request on with the body in memory, wiped once the handler has dropped it.
pub async fn bounded(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = read_wiped(&parts.headers, body, SMALL_FORM_MAX_BYTES);
    let mut bytes = match tokio::time::timeout(SMALL_FORM_DEADLINE, read).await {
        Ok(Ok(bytes)) => bytes,
        // Too large, or the client went away mid-body.
        Ok(Err(Unread::TooLarge | Unread::Broken)) => return WebError::BadRequest.into_response(),
        Err(_) => return WebError::Timeout.into_response(),
    };
    // Moved out of the `Zeroizing` without a copy; the body's owner wipes it from here.
    let body = Body::from(bytes_wiped_on_drop(std::mem::take(&mut *bytes)));
    next.run(Request::from_parts(parts, body)).await
}

/// A small `application/x-www-form-urlencoded` form, decoded into values wiped on drop.
///
/// It reads as axum's `Form` with serde did: the content type must start with
/// `application/x-www-form-urlencoded`; pairs are split at `&` (empty ones skipped) and at the
/// first `=`; `+` is a space and `%XX` a byte (a `%` without two hex digits stays as it is);
/// bytes that are not UTF-8 become U+FFFD; a field that is not sent is empty, and a field the
/// handler asks for that comes twice is a malformed form. Decoding is done here rather than by
/// `form_urlencoded`, which leaves unwiped intermediate copies when a value has both `+` and
/// `%XX` (a codename pasted with its line break) or is not UTF-8.
pub struct SmallForm {
    pairs: Vec<(Zeroizing<String>, Zeroizing<String>)>,
}

impl SmallForm {
    /// Decodes a form body.
    pub fn parse(body: &[u8]) -> SmallForm {
        let pairs = body
            .split(|b| *b == b'&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = match p.iter().position(|b| *b == b'=') {
                    Some(i) => (&p[..i], &p[i + 1..]),
                    None => (p, &p[p.len()..]),
                };
                (decode(k), decode(v))
            })
            .collect();
        SmallForm { pairs }
    }

    /// The values of `names`, in order: empty when not sent; a name sent twice is
    /// [`WebError::BadRequest`].
    pub fn fields<const N: usize>(&self, names: [&str; N]) -> Result<[&str; N], WebError> {
        let mut out = [""; N];
        for (slot, name) in out.iter_mut().zip(names) {
            let mut found = self.pairs.iter().filter(|(k, _)| k.as_str() == name);
            if let Some((_, v)) = found.next() {
                *slot = v.as_str();
            }
            if found.next().is_some() {
                return Err(WebError::BadRequest);
            }
        }
        Ok(out)
    }
}

/// Percent-decodes one name or value (`+` is a space) into a buffer of its final size, then
/// into a `String`, replacing what is not UTF-8 as `String::from_utf8_lossy` does.
fn decode(input: &[u8]) -> Zeroizing<String> {
    // Decoding never lengthens: the buffer never grows.
    let mut bytes = Zeroizing::new(Vec::with_capacity(input.len()));
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        let hex = |j: usize| input.get(j).and_then(|c| (*c as char).to_digit(16));
        match b {
            b'+' => bytes.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(hi), Some(lo)) => {
                    bytes.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ => bytes.push(b'%'),
            },
            _ => bytes.push(b),
        }
        i += 1;
    }
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Zeroizing::new(text),
        Err(e) => {
            let bytes = Zeroizing::new(e.into_bytes());
            let chunks = || bytes.utf8_chunks();
            let len: usize = chunks()
                .map(|c| c.valid().len() + if c.invalid().is_empty() { 0 } else { 3 })
                .sum();
            let mut text = Zeroizing::new(String::with_capacity(len));
            for c in chunks() {
                text.push_str(c.valid());
                if !c.invalid().is_empty() {
                    text.push(char::REPLACEMENT_CHARACTER);
                }
            }
            text
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for SmallForm {
    type Rejection = WebError;

    /// The form of a POST whose body [`bounded`] read: a wrong content type, or a body over
    /// [`SMALL_FORM_MAX_BYTES`], is a malformed form. The body is copied into a buffer wiped on
    /// drop, decoded, and wiped.
    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(WebError::BadRequest);
        }
        let (parts, body) = req.into_parts();
        let bytes = read_wiped(&parts.headers, body, SMALL_FORM_MAX_BYTES)
            .await
            .map_err(|_| WebError::BadRequest)?;
        Ok(SmallForm::parse(&bytes))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn pairs(body: &[u8]) -> Vec<(String, String)> {
        SmallForm::parse(body)
            .pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn decodes_as_form_urlencoded_did() {
        let cases: &[&[u8]] = &[
            b"",
            b"&&",
            b"token=abc&codename=seven+words%0D%0Ahere",
            b"codename=%C3%A9t%C3%A9+%2B+%2b",
            b"a=%&b=%4&c=%4g&d=%%41&e=%zz",
            b"novalue&=noname&x==y=z",
            b"bad=%FF%FE+x&utf=\xd0\xb0\xff\xd0",
            b"codename=caf\xc3&t=%E2%82",
            b"k+ey%3D=v%26a&k%20ey==",
            b"%41%42%43=%61%62%63&++=++",
        ];
        for body in cases {
            let expected: Vec<(String, String)> = form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(pairs(body), expected, "{}", String::from_utf8_lossy(body));
        }
        // Every byte value, alone and after a percent sign, in names and values.
        for b in 0..=255u8 {
            for body in [
                vec![b'k', b'=', b],
                vec![b, b'=', b'%', b],
                vec![b'%', b'4', b, b'=', b'%', b, b'1'],
            ] {
                let expected: Vec<(String, String)> = form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                assert_eq!(pairs(&body), expected, "{body:?}");
            }
        }
    }

    #[test]
    fn absent_fields_are_empty_and_repeated_ones_malformed() {
        let f = SmallForm::parse(b"token=t&other=1&other=2");
        assert_eq!(f.fields(["token", "codename"]).unwrap(), ["t", ""]);
        // A field nobody asks for may repeat, as serde ignored unknown fields.
        assert!(f.fields(["token"]).is_ok());
        let twice = SmallForm::parse(b"token=t&codename=a&codename=b");
        assert!(matches!(
            twice.fields(["token", "codename"]),
            Err(WebError::BadRequest)
        ));
    }

    fn request(content_type: Option<&str>, body: impl Into<Body>) -> Request {
        let mut b = Request::builder().method(Method::POST).uri("/en/login");
        if let Some(t) = content_type {
            b = b.header(header::CONTENT_TYPE, t);
        }
        b.body(body.into()).unwrap()
    }

    #[tokio::test]
    async fn the_extractor_wants_the_form_type_and_a_body_within_the_cap() {
        let ok = SmallForm::from_request(
            request(
                Some("application/x-www-form-urlencoded; charset=utf-8"),
                &b"token=t&codename=a+b"[..],
            ),
            &(),
        )
        .await
        .unwrap();
        assert_eq!(ok.fields(["token", "codename"]).unwrap(), ["t", "a b"]);
        for t in [None, Some("text/plain"), Some("multipart/form-data")] {
            let r = SmallForm::from_request(request(t, &b"token=t"[..]), &()).await;
            assert!(matches!(r, Err(WebError::BadRequest)), "{t:?}");
        }
        let big = vec![b'a'; SMALL_FORM_MAX_BYTES + 1];
        let r =
            SmallForm::from_request(request(Some("application/x-www-form-urlencoded"), big), &())
                .await;
        assert!(matches!(r, Err(WebError::BadRequest)));
    }

    #[tokio::test]
    async fn a_body_is_read_whole_within_the_cap_and_refused_beyond() {
        let headers = HeaderMap::new();
        let body = Body::from(vec![b'x'; SMALL_FORM_MAX_BYTES]);
        let read = read_wiped(&headers, body, SMALL_FORM_MAX_BYTES)
            .await
            .unwrap();
        assert_eq!(read.len(), SMALL_FORM_MAX_BYTES);
        assert_eq!(read.capacity(), SMALL_FORM_MAX_BYTES, "reserved once");
        let body = Body::from(vec![b'x'; SMALL_FORM_MAX_BYTES + 1]);
        assert!(matches!(
            read_wiped(&headers, body, SMALL_FORM_MAX_BYTES).await,
            Err(Unread::TooLarge)
        ));
        // Announced too large: refused before reading.
        let mut announced = HeaderMap::new();
        announced.insert(header::CONTENT_LENGTH, "9000".parse().unwrap());
        assert!(matches!(
            read_wiped(&announced, Body::from("a"), SMALL_FORM_MAX_BYTES).await,
            Err(Unread::TooLarge)
        ));
    }
}
