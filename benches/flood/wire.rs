//! The flood benchmark's requests on the wire: a multipart submission sent from memory under a
//! deadline, writes and waits that notice the end of an attack within a tenth of a second, and
//! the names the figures give to answers (`200`, `503 busy`, `408`, …) and to their absence
//! (`reset`, `timed out`, `closed without an answer`).
//!
//! Part of the flood benchmark, `cargo bench --bench flood [-- --seconds N]` (see `main.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use crate::common::client::{connect, form_preamble, read_response, Response};

/// Bytes per write of a body.
pub const PIECE: usize = 64 * 1024;

/// How often a blocked write or a wait for an answer looks at the attack's stop flag.
pub const POLL: Duration = Duration::from_millis(100);

/// How long an answer already arriving may take to be read whole.
const READ_ANSWER: Duration = Duration::from_secs(5);

/// The label of a receipt: a 200 answer that shows a codename.
pub const STORED: &str = "200";

/// What is left until `deadline`; a `TimedOut` error once it has passed.
pub fn left(deadline: Instant) -> io::Result<Duration> {
    let d = deadline.saturating_duration_since(Instant::now());
    if d < Duration::from_millis(1) {
        Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
    } else {
        Ok(d)
    }
}

/// A multipart request as the source form sends it, around a file of a given length: the
/// request head, the parts before the file's bytes (the token first, then the message, then
/// the file part's headers), and the closing boundary.
pub struct Frame {
    pub head: String,
    pub preamble: String,
    pub epilogue: String,
}

impl Frame {
    /// The frame of a submission to `path` with the form `token`, a message and a file of
    /// `file_len` bytes.
    pub fn new(
        addr: &str,
        path: &str,
        token: &str,
        cookie: Option<&str>,
        message: &str,
        file_len: u64,
    ) -> Result<Frame> {
        let boundary = format!("----witness-drop-flood-{}", random_hex()?);
        let preamble = form_preamble(&boundary, token, message, "testimony.bin");
        let epilogue = format!("\r\n--{boundary}--\r\n");
        let length = preamble.len() as u64 + file_len + epilogue.len() as u64;
        let cookie = cookie
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let head = multipart_head(addr, path, &boundary, cookie.as_str(), length);
        Ok(Frame {
            head,
            preamble,
            epilogue,
        })
    }
}

/// The head of a `multipart/form-data` POST of `length` bytes.
pub fn multipart_head(addr: &str, path: &str, boundary: &str, cookie: &str, length: u64) -> String {
    format!(
        "POST {path} HTTP/1.1\r\n\
         Host: {addr}\r\n\
         {cookie}\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {length}\r\n\
         Connection: close\r\n\
         \r\n"
    )
}

/// 32 random hex digits, for boundaries.
pub fn random_hex() -> Result<String> {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|e| anyhow!("reading OS randomness: {e}"))?;
    Ok(hex::encode(random))
}

/// Sends a submission of `file` with `frame` and returns the server's answer, also one sent
/// before the body was whole (a refusal); every write and read ends by `deadline`.
pub fn submit(addr: &str, frame: &Frame, file: &[u8], deadline: Instant) -> Result<Response> {
    let mut stream = connect(addr, left(deadline)?)?;
    stream.set_nodelay(true)?;
    let pieces = [frame.head.as_bytes(), frame.preamble.as_bytes()]
        .into_iter()
        .chain(file.chunks(PIECE))
        .chain([frame.epilogue.as_bytes()]);
    for piece in pieces {
        if answer_waiting(&stream) {
            break;
        }
        let sent = left(deadline)
            .and_then(|d| stream.set_write_timeout(Some(d)))
            .and_then(|()| stream.write_all(piece));
        if let Err(e) = sent {
            // The server may have answered and closed: its answer is what counts.
            let _ = stream.set_read_timeout(Some(READ_ANSWER));
            return read_response(&mut stream).map_err(|_| e.into());
        }
    }
    stream.set_read_timeout(Some(left(deadline)?))?;
    read_response(&mut stream)
}

/// True when the server has sent something (or closed, or reset) on `stream`, without waiting.
pub fn answer_waiting(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return false;
    }
    let waiting = match stream.peek(&mut [0u8; 1]) {
        Ok(_) => true,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = stream.set_nonblocking(false);
    waiting
}

/// Writes `bytes` in short blocking writes so that `stop` is seen within [`POLL`] even when
/// the server has stopped reading; returns how many were written, fewer than all when stopped
/// first or when the server answered (or closed) before all was written.
pub fn write_until(stream: &mut TcpStream, bytes: &[u8], stop: &AtomicBool) -> io::Result<usize> {
    stream.set_write_timeout(Some(POLL))?;
    let mut done = 0;
    while done < bytes.len() {
        if stop.load(Ordering::Relaxed) || answer_waiting(stream) {
            break;
        }
        let end = bytes.len().min(done + PIECE);
        match stream.write(&bytes[done..end]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// What waiting for an answer came to.
pub enum Wait {
    /// The server answered, or closed or reset the connection: its label.
    Answer(String),
    /// Nothing arrived in the time given.
    Quiet,
    /// The attack ended first.
    Stopped,
}

/// Waits up to `wait` for the server to answer on `stream`, seeing `stop` within [`POLL`].
pub fn wait_answer(stream: &mut TcpStream, wait: Duration, stop: &AtomicBool) -> Wait {
    let until = Instant::now() + wait;
    if let Err(e) = stream.set_read_timeout(Some(POLL)) {
        return Wait::Answer(io_label(&e));
    }
    loop {
        match stream.peek(&mut [0u8; 1]) {
            Ok(0) => return Wait::Answer(CLOSED.to_owned()),
            Ok(_) => {
                let _ = stream.set_read_timeout(Some(READ_ANSWER));
                return Wait::Answer(match read_response(stream) {
                    Ok(res) => answer_label(&res),
                    Err(e) => error_label(&e),
                });
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Wait::Answer(io_label(&e)),
        }
        if stop.load(Ordering::Relaxed) {
            return Wait::Stopped;
        }
        if Instant::now() >= until {
            return Wait::Quiet;
        }
    }
}

/// Sleeps `d`, waking within [`POLL`] when `stop` is set; false when stopped.
pub fn sleep_until_stopped(d: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + d;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= until {
            return true;
        }
        std::thread::sleep(POLL.min(until - now));
    }
}

/// The label of a connection closed without an answer.
pub const CLOSED: &str = "closed without an answer";

/// The label of an answer: its status, and for a 503 whether the page says busy or full.
pub fn answer_label(res: &Response) -> String {
    if res.status == 503 {
        let body = String::from_utf8_lossy(&res.body);
        if body.contains("Busy, please try again") {
            return "503 busy".to_owned();
        }
        if body.contains("drop is full") {
            return "503 full".to_owned();
        }
    }
    res.status.to_string()
}

/// The label of a request that got no answer.
pub fn error_label(e: &anyhow::Error) -> String {
    if let Some(io) = e.chain().find_map(|c| c.downcast_ref::<io::Error>()) {
        return io_label(io);
    }
    let text = e.to_string();
    if text.contains("without an answer") {
        return CLOSED.to_owned();
    }
    format!("error: {}", text.chars().take(80).collect::<String>())
}

/// The label of a failed network call.
pub fn io_label(e: &io::Error) -> String {
    use io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => "timed out".to_owned(),
        K::ConnectionRefused => "connection refused".to_owned(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => "reset".to_owned(),
        K::UnexpectedEof => CLOSED.to_owned(),
        _ => format!("error: {e}"),
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// How many requests came to each label, printed as `200 ×21, 503 busy ×3`.
#[derive(Default)]
pub struct Tally(BTreeMap<String, usize>);

impl Tally {
    /// Counts one more `label`.
    pub fn add(&mut self, label: impl Into<String>) {
        *self.0.entry(label.into()).or_insert(0) += 1;
    }

    /// Adds all of `other`.
    pub fn merge(&mut self, other: Tally) {
        for (label, n) in other.0 {
            *self.0.entry(label).or_insert(0) += n;
        }
    }

    /// How many came to `label`.
    pub fn count(&self, label: &str) -> usize {
        self.0.get(label).copied().unwrap_or(0)
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let items: Vec<String> = self.0.iter().map(|(l, n)| format!("{l} ×{n}")).collect();
        f.write_str(&items.join(", "))
    }
}
