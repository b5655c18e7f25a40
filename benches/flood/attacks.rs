//! The six attacks of issue 10, each from threads of this process against the server on
//! 127.0.0.1 only, and each bounded in connections, bytes and time: an attack runs until the
//! benchmark sets its stop flag (the end of its time), never opens more than its connections
//! at once nor more than a fixed number in all, and never sends more than its bytes on one
//! connection. Each returns the figures it prints, and what the summary checks.
//!
//! 1. preamble flood: 8 connections at a time, each a multipart body of up to 300 MiB with no
//!    boundary; a connection the server ends is replaced at once.
//! 2. header flood: the same with a part header that never ends, up to 150 MiB.
//! 3. half-open connections: 1,500 connections, each with half a request header, held open.
//! 4. slot trickle: 8 connections at a time, each with a valid form token and the start of a
//!    file, then one byte every 5 s; one the server ends is replaced after a second.
//! 5. login burst: 24 logins at once with a right codename, each then opening the inbox; a new
//!    burst every 5 s, or once the last one has ended if later (at most 50).
//! 6. concurrent uploads: 32 new sources uploading 32 MiB each at once; a new round every 5 s,
//!    or once the last one has ended if later (at most 6).
//!
//! The floods and the trickle go on until the stop flag; a burst or a round in progress when
//! the attack's time is up ends by itself (each request within 120 s).
//!
//! Part of the flood benchmark, `cargo bench --bench flood [-- --seconds N]` (see `main.rs`).

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::client::{connect, form_token};
use crate::common::procfs::median;
use crate::sources::{login_to_inbox, submit_once, LOGIN, LOGIN_LIMIT, SUBMIT};
use crate::wire::{
    io_label, multipart_head, random_hex, sleep_until_stopped, wait_answer, write_until, Frame,
    Tally, Wait, CLOSED, PIECE, STORED,
};
use crate::MIB;

/// One of the attacks, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    Preamble,
    Header,
    HalfOpen,
    Trickle,
    Logins,
    Uploads,
}

impl Attack {
    /// Every attack, in order.
    pub const ALL: [Attack; 6] = [
        Attack::Preamble,
        Attack::Header,
        Attack::HalfOpen,
        Attack::Trickle,
        Attack::Logins,
        Attack::Uploads,
    ];

    /// Its number, from 1.
    pub fn number(self) -> usize {
        Attack::ALL.iter().position(|a| *a == self).unwrap_or(0) + 1
    }

    /// Its name in the figures.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Preamble => "preamble flood",
            Attack::Header => "header flood",
            Attack::HalfOpen => "half-open connections",
            Attack::Trickle => "slot trickle",
            Attack::Logins => "login burst",
            Attack::Uploads => "concurrent uploads",
        }
    }
}

/// Connections of the preamble and header floods at a time.
const FLOOD_CONNECTIONS: usize = 8;
/// Body of one preamble-flood connection: multipart with no boundary.
const PREAMBLE_BYTES: u64 = 300 * MIB;
/// Body of one header-flood connection: a part header that never ends.
const HEADER_BYTES: u64 = 150 * MIB;
/// Most connections one flood connection's thread opens in all.
const FLOOD_MAX_CONNECTIONS: usize = 10_000;
/// Half-open connections held.
const HALF_OPEN: usize = 1500;
/// Longest time spent opening them.
const HALF_OPEN_BUDGET: Duration = Duration::from_secs(15);
/// Trickling connections at a time.
const TRICKLERS: usize = 8;
/// One byte of the file every…
const TRICKLE_EVERY: Duration = Duration::from_secs(5);
/// The file size a trickling request announces.
const TRICKLE_FILE: u64 = MIB;
/// Most connections one trickling thread opens in all.
const TRICKLE_MAX_CONNECTIONS: usize = 100;
/// Logins at once.
pub const BURST: usize = 24;
/// Most bursts in one attack.
const MAX_BURSTS: usize = 50;
/// A new burst or round starts at most this often (or when the last one ends, if later).
const UNIT_EVERY: Duration = Duration::from_secs(5);
/// Uploads at once.
pub const UPLOADS: usize = 32;
/// Bytes of each upload's file.
pub const UPLOAD_BYTES: usize = 32 * MIB as usize;
/// Most rounds of uploads in one attack.
const MAX_ROUNDS: usize = 6;
/// Deadline of one upload of a round.
const UPLOAD_LIMIT: Duration = Duration::from_secs(120);
/// Connect timeout of the attacks' connections.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a flood connection that sent its whole body waits for the answer.
const ANSWER_WAIT: Duration = Duration::from_secs(30);
/// The label of a request the benchmark itself ended because the attack was over.
const STILL: &str = "still going at the end";

/// What every attack gets.
pub struct Ctx<'a> {
    /// `127.0.0.1:PORT`.
    pub addr: &'a str,
    /// Set when the attack is to end.
    pub stop: &'a AtomicBool,
    /// The codename of the source the login burst logs in as.
    pub codename: &'a str,
    /// The file of the concurrent uploads, [`UPLOAD_BYTES`].
    pub big: &'a [u8],
    /// How long the attack lasts once in full swing: the login bursts and upload rounds start
    /// no new burst or round after it.
    pub seconds: Duration,
}

impl Ctx<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// An attack's own figures.
pub struct Figures {
    /// The printed text.
    pub text: String,
    /// What the summary checks.
    pub check: Check,
}

/// What the summary checks of an attack.
pub enum Check {
    /// Nothing beyond memory and the real source.
    Nothing,
    /// The login burst: how many of each burst's [`BURST`] logins reached the inbox.
    Logins(Vec<usize>),
    /// The concurrent uploads: how many of each round's [`UPLOADS`] were stored, and the
    /// round's wall time.
    Uploads(Vec<(usize, Duration)>),
}

/// Runs `attack` until `ctx.stop`; sends on `ready` once it is in full swing.
pub fn run(attack: Attack, ctx: &Ctx, ready: mpsc::Sender<()>) -> Figures {
    match attack {
        Attack::Preamble => stream_flood(ctx, ready, Body::Preamble),
        Attack::Header => stream_flood(ctx, ready, Body::Header),
        Attack::HalfOpen => half_open(ctx, ready),
        Attack::Trickle => trickle(ctx, ready),
        Attack::Logins => logins(ctx, ready),
        Attack::Uploads => uploads(ctx, ready),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// The body a flood connection sends.
#[derive(Clone, Copy)]
enum Body {
    Preamble,
    Header,
}

#[derive(Default)]
struct FloodFigures {
    connections: usize,
    bytes: u64,
    tally: Tally,
    longest: Duration,
}

/// Attacks 1 and 2: [`FLOOD_CONNECTIONS`] threads, each sending one body after another.
fn stream_flood(ctx: &Ctx, ready: mpsc::Sender<()>, body: Body) -> Figures {
    let results: Vec<FloodFigures> = thread::scope(|s| {
        let handles: Vec<_> = (0..FLOOD_CONNECTIONS)
            .map(|_| s.spawn(|| flood_thread(ctx, body)))
            .collect();
        // Let the first bodies start before the real source does.
        thread::sleep(Duration::from_millis(500));
        let _ = ready.send(());
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all = FloodFigures::default();
    for r in results {
        all.connections += r.connections;
        all.bytes += r.bytes;
        all.tally.merge(r.tally);
        all.longest = all.longest.max(r.longest);
    }
    let each = match body {
        Body::Preamble => PREAMBLE_BYTES,
        Body::Header => HEADER_BYTES,
    };
    Figures {
        text: format!(
            "{FLOOD_CONNECTIONS} at a time of up to {} MiB each: {} connections (at most {}), {:.1} MiB written to the sockets, the longest open {:.1} s; answers: {}",
            each / MIB,
            all.connections,
            FLOOD_CONNECTIONS * FLOOD_MAX_CONNECTIONS,
            all.bytes as f64 / MIB as f64,
            secs(all.longest),
            all.tally
        ),
        check: Check::Nothing,
    }
}

fn flood_thread(ctx: &Ctx, body: Body) -> FloodFigures {
    let mut f = FloodFigures::default();
    let filler = vec![b'x'; PIECE];
    while !ctx.stopped() && f.connections < FLOOD_MAX_CONNECTIONS {
        f.connections += 1;
        let started = Instant::now();
        let label = flood_once(ctx, body, &filler, &mut f.bytes);
        f.longest = f.longest.max(started.elapsed());
        f.tally.add(label);
    }
    f
}

/// One flood connection: its body until the server answers or the attack ends; the label.
fn flood_once(ctx: &Ctx, body: Body, filler: &[u8], bytes: &mut u64) -> String {
    let mut stream = match connect(ctx.addr, CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(e) => {
            thread::sleep(crate::wire::POLL);
            return crate::wire::error_label(&e);
        }
    };
    let boundary = match random_hex() {
        Ok(b) => b,
        Err(e) => return crate::wire::error_label(&e),
    };
    let (total, prefix) = match body {
        Body::Preamble => (PREAMBLE_BYTES, String::new()),
        Body::Header => (
            HEADER_BYTES,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"token\"\r\nX-Padding: "
            ),
        ),
    };
    let head = multipart_head(ctx.addr, SUBMIT, &boundary, "", total);
    let mut whole = false;
    let mut sent = 0u64;
    let send = |stream: &mut TcpStream, piece: &[u8]| match write_until(stream, piece, ctx.stop) {
        Ok(n) => n == piece.len(),
        Err(_) => false,
    };
    if send(&mut stream, head.as_bytes()) && send(&mut stream, prefix.as_bytes()) {
        sent += prefix.len() as u64;
        loop {
            let n = (total - sent).min(filler.len() as u64) as usize;
            if n == 0 {
                whole = true;
                break;
            }
            if !send(&mut stream, &filler[..n]) {
                break;
            }
            sent += n as u64;
        }
    }
    *bytes += sent;
    let wait = if whole { ANSWER_WAIT } else { Duration::ZERO };
    match wait_answer(&mut stream, wait, ctx.stop) {
        Wait::Answer(label) => label,
        Wait::Stopped => STILL.to_owned(),
        Wait::Quiet if whole => format!("no answer within {} s", ANSWER_WAIT.as_secs()),
        // The write failed without anything to read: the server went away.
        Wait::Quiet => "write failed, no answer".to_owned(),
    }
}

/// Attack 3: opens [`HALF_OPEN`] connections with half a request header and holds them; every
/// second, notes which the server has ended.
fn half_open(ctx: &Ctx, ready: mpsc::Sender<()>) -> Figures {
    struct Held {
        stream: TcpStream,
        since: Instant,
        ended: bool,
    }
    let half = format!("GET /en/ HTTP/1.1\r\nHost: {}\r\nAccept: text/", ctx.addr);
    let started = Instant::now();
    let mut held = Vec::with_capacity(HALF_OPEN);
    let mut failure = None;
    while held.len() < HALF_OPEN && !ctx.stopped() && started.elapsed() < HALF_OPEN_BUDGET {
        let opened = connect(ctx.addr, CONNECT_TIMEOUT).and_then(|mut s| {
            s.write_all(half.as_bytes())?;
            s.set_nonblocking(true)?;
            Ok(s)
        });
        match opened {
            Ok(stream) => held.push(Held {
                stream,
                since: Instant::now(),
                ended: false,
            }),
            Err(e) => {
                failure = Some(crate::wire::error_label(&e));
                break;
            }
        }
    }
    let opened = held.len();
    let opening = started.elapsed();
    let _ = ready.send(());

    let mut tally = Tally::default();
    let mut ended_after = Vec::new();
    loop {
        for h in held.iter_mut().filter(|h| !h.ended) {
            let label = match h.stream.peek(&mut [0u8; 1]) {
                Ok(0) => Some(CLOSED.to_owned()),
                Ok(_) => Some(
                    match h
                        .stream
                        .set_nonblocking(false)
                        .map(|()| wait_answer(&mut h.stream, Duration::from_secs(1), ctx.stop))
                    {
                        Ok(Wait::Answer(label)) => label,
                        Ok(_) => "answered in part".to_owned(),
                        Err(e) => io_label(&e),
                    },
                ),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                Err(e) => Some(io_label(&e)),
            };
            if let Some(label) = label {
                h.ended = true;
                tally.add(label);
                ended_after.push(secs(h.since.elapsed()));
            }
        }
        if !sleep_until_stopped(Duration::from_secs(1), ctx.stop) {
            break;
        }
    }
    let open_at_end = held.iter().filter(|h| !h.ended).count();
    let ended = ended_after.len();
    let mut text = format!("opened {opened} of {HALF_OPEN} in {:.2} s", secs(opening));
    if let Some(f) = failure {
        text.push_str(&format!(" (then: {f})"));
    }
    text.push_str(&format!(
        ", open at the end {open_at_end}, ended by the server {ended}"
    ));
    if ended > 0 {
        text.push_str(&format!(
            " ({tally}; median after {:.1} s)",
            median(ended_after.into_iter())
        ));
    }
    Figures {
        text,
        check: Check::Nothing,
    }
}

#[derive(Default)]
struct TrickleFigures {
    connections: usize,
    bytes: u64,
    tally: Tally,
    /// How long each connection lasted after its token was sent, and whether the server
    /// ended it.
    held: Vec<(Duration, bool)>,
}

/// Attack 4: [`TRICKLERS`] threads, each holding one trickling request at a time.
fn trickle(ctx: &Ctx, ready: mpsc::Sender<()>) -> Figures {
    let established = AtomicUsize::new(0);
    let results: Vec<TrickleFigures> = thread::scope(|s| {
        let handles: Vec<_> = (0..TRICKLERS)
            .map(|_| s.spawn(|| trickle_thread(ctx, &established)))
            .collect();
        let until = Instant::now() + Duration::from_secs(15);
        while established.load(Ordering::Relaxed) < TRICKLERS
            && Instant::now() < until
            && !ctx.stopped()
        {
            thread::sleep(crate::wire::POLL);
        }
        // The server reads the tokens and takes its slots.
        thread::sleep(Duration::from_secs(1));
        let _ = ready.send(());
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut all = TrickleFigures::default();
    for r in results {
        all.connections += r.connections;
        all.bytes += r.bytes;
        all.tally.merge(r.tally);
        all.held.extend(r.held);
    }
    let longest = all.held.iter().map(|(d, _)| secs(*d)).fold(0.0, f64::max);
    let ended: Vec<f64> = all
        .held
        .iter()
        .filter(|(_, by_server)| *by_server)
        .map(|(d, _)| secs(*d))
        .collect();
    let mut text = format!(
        "{TRICKLERS} at a time, a byte every {} s: {} connections, {} file bytes sent, a request held up to {longest:.1} s",
        TRICKLE_EVERY.as_secs(),
        all.connections,
        all.bytes
    );
    if !ended.is_empty() {
        text.push_str(&format!(
            ", ended by the server after median {:.1} s",
            median(ended.into_iter())
        ));
    }
    text.push_str(&format!("; answers: {}", all.tally));
    Figures {
        text,
        check: Check::Nothing,
    }
}

fn trickle_thread(ctx: &Ctx, established: &AtomicUsize) -> TrickleFigures {
    let mut f = TrickleFigures::default();
    let mut first = true;
    while !ctx.stopped() && f.connections < TRICKLE_MAX_CONNECTIONS {
        f.connections += 1;
        let (label, held) = trickle_once(ctx, &mut f.bytes, || {
            if first {
                established.fetch_add(1, Ordering::Relaxed);
                first = false;
            }
        });
        if let Some(d) = held {
            f.held.push((d, label != STILL));
        }
        f.tally.add(label);
        if !sleep_until_stopped(Duration::from_secs(1), ctx.stop) {
            break;
        }
    }
    f
}

/// One trickling request: the label, and how long it lasted after the token was sent.
fn trickle_once(ctx: &Ctx, bytes: &mut u64, sent: impl FnOnce()) -> (String, Option<Duration>) {
    let prepared = form_token(ctx.addr, SUBMIT, SUBMIT, None, CONNECT_TIMEOUT).and_then(|token| {
        let frame = Frame::new(ctx.addr, SUBMIT, &token, None, "", TRICKLE_FILE)?;
        let mut stream = connect(ctx.addr, CONNECT_TIMEOUT)?;
        stream.write_all(frame.head.as_bytes())?;
        stream.write_all(frame.preamble.as_bytes())?;
        Ok(stream)
    });
    let mut stream = match prepared {
        Ok(s) => s,
        Err(e) => return (crate::wire::error_label(&e), None),
    };
    sent();
    let since = Instant::now();
    loop {
        match wait_answer(&mut stream, TRICKLE_EVERY, ctx.stop) {
            Wait::Answer(label) => return (label, Some(since.elapsed())),
            Wait::Stopped => return (STILL.to_owned(), Some(since.elapsed())),
            Wait::Quiet => {}
        }
        if let Err(e) = stream.write_all(b"t") {
            let label = match wait_answer(&mut stream, Duration::from_secs(2), ctx.stop) {
                Wait::Answer(label) => label,
                _ => io_label(&e),
            };
            return (label, Some(since.elapsed()));
        }
        *bytes += 1;
    }
}

/// Attack 5: bursts of [`BURST`] logins at once with the right codename, one after another.
fn logins(ctx: &Ctx, ready: mpsc::Sender<()>) -> Figures {
    let _ = ready.send(());
    let until = Instant::now() + ctx.seconds;
    let mut reached = Vec::new();
    let mut walls = Vec::new();
    let mut tally = Tally::default();
    while !ctx.stopped() && Instant::now() < until && reached.len() < MAX_BURSTS {
        let next = Instant::now() + UNIT_EVERY;
        let barrier = Barrier::new(BURST);
        let results: Vec<(String, Duration)> = thread::scope(|s| {
            let handles: Vec<_> = (0..BURST)
                .map(|_| {
                    s.spawn(|| {
                        let token = form_token(ctx.addr, LOGIN, LOGIN, None, CONNECT_TIMEOUT);
                        barrier.wait();
                        let started = Instant::now();
                        let label = match token {
                            Ok(token) => login_to_inbox(
                                ctx.addr,
                                &token,
                                ctx.codename,
                                started + LOGIN_LIMIT,
                            ),
                            Err(e) => crate::wire::error_label(&e),
                        };
                        (label, started.elapsed())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| ("benchmark thread failed".to_owned(), Duration::ZERO))
                })
                .collect()
        });
        let mut n = 0;
        for (label, _) in &results {
            if label == crate::sources::IN_INBOX {
                n += 1;
            }
            tally.add(label.clone());
        }
        reached.push(n);
        walls.push(results.iter().map(|(_, d)| secs(*d)).fold(0.0, f64::max));
        sleep_until_stopped(
            next.min(until).saturating_duration_since(Instant::now()),
            ctx.stop,
        );
    }
    let worst = reached.iter().copied().min().unwrap_or(0);
    Figures {
        text: format!(
            "{} bursts of {BURST}: reached the inbox {} of {} (worst burst {worst} of {BURST}), a burst took up to {:.1} s (median {:.1} s); answers: {tally}",
            reached.len(),
            reached.iter().sum::<usize>(),
            reached.len() * BURST,
            walls.iter().copied().fold(0.0, f64::max),
            median(walls.iter().copied()),
        ),
        check: Check::Logins(reached),
    }
}

/// Attack 6: rounds of [`UPLOADS`] new sources each uploading [`UPLOAD_BYTES`] at once.
fn uploads(ctx: &Ctx, ready: mpsc::Sender<()>) -> Figures {
    let _ = ready.send(());
    let until = Instant::now() + ctx.seconds;
    let mut rounds = Vec::new();
    let mut tally = Tally::default();
    while !ctx.stopped() && Instant::now() < until && rounds.len() < MAX_ROUNDS {
        let next = Instant::now() + UNIT_EVERY;
        let barrier = Barrier::new(UPLOADS);
        let results: Vec<(String, Duration)> = thread::scope(|s| {
            let handles: Vec<_> = (0..UPLOADS)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        let started = Instant::now();
                        let (label, _) = submit_once(
                            ctx.addr,
                            ctx.big,
                            "Flood benchmark: one of the concurrent uploads.",
                            started + UPLOAD_LIMIT,
                        );
                        (label, started.elapsed())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| ("benchmark thread failed".to_owned(), Duration::ZERO))
                })
                .collect()
        });
        let mut stored = 0;
        for (label, _) in &results {
            if label == STORED {
                stored += 1;
            }
            tally.add(label.clone());
        }
        let wall = results
            .iter()
            .map(|(_, d)| *d)
            .max()
            .unwrap_or(Duration::ZERO);
        rounds.push((stored, wall));
        sleep_until_stopped(
            next.min(until).saturating_duration_since(Instant::now()),
            ctx.stop,
        );
    }
    let worst = rounds.iter().map(|(n, _)| *n).min().unwrap_or(0);
    Figures {
        text: format!(
            "{} rounds of {UPLOADS} × {} MiB: stored {} of {} (worst round {worst} of {UPLOADS}), a round took up to {:.1} s (median {:.1} s); answers: {tally}",
            rounds.len(),
            UPLOAD_BYTES as u64 / MIB,
            rounds.iter().map(|(n, _)| n).sum::<usize>(),
            rounds.len() * UPLOADS,
            rounds.iter().map(|(_, d)| secs(*d)).fold(0.0, f64::max),
            median(rounds.iter().map(|(_, d)| secs(*d))),
        ),
        check: Check::Uploads(rounds),
    }
}
