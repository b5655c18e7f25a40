//! The accept loop of the source interface: hyper's HTTP/1 server with our limits, in place of
//! `axum::serve` (which gives hyper no timer, so hyper's header-read timeout never runs, and
//! caps nothing).
//!
//! Invariants:
//! - At most [`connection_cap`] connections are open at once, a number below the process's
//!   open-file limit that leaves a reserve for the database, the ciphertext files and the admin
//!   socket. When the cap is reached, no connection is accepted: new ones wait in the kernel's
//!   listen backlog until a connection closes.
//! - A connection that has not sent a whole request head within [`HEADER_TIMEOUT`], on its first
//!   request or between kept-alive requests, is closed.
//! - No response carries a `Date` header: it would give the onion host's clock to the second.
//! - After the shutdown signal nothing is accepted, and no connection outlives
//!   [`SHUTDOWN_GRACE`]: [`run`] returns by then, so the caller can flush the store and exit.
//! - Nothing here logs an address, and nothing logs per connection.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// How long a client may take to send a whole request head (request line and headers), counted
/// from when the connection is accepted or from the end of the previous response, so this is
/// also the keep-alive idle timeout (hyper runs one timer for both).
///
/// Why 10 s: a connection reaches us from the local tor daemon only once the client's stream
/// is open, and Tor Browser sends its request head (well under 2 KB, a few 498-byte relay cells)
/// at once, so the head arrives one trip across the rendezvous circuit after the connection:
/// about a second, a few seconds on a poor phone connection. 10 s is several times that tail.
/// Tor Browser's own speculative connections that stay unused, and kept-alive connections idle
/// for 10 s, are closed; it opens a new stream for its next request, which costs a source one
/// circuit round trip. An attacker's half-sent head holds a connection for at most 10 s.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long requests in flight may go on after SIGTERM or Ctrl-C before their connections are
/// closed.
///
/// Why 10 s and not an upload's hour: a stop must not wait on a client (an attacker's trickled
/// upload would hold it for as long as they like, and systemd's `TimeoutStopSec`, 90 s by
/// default, then ends the process with SIGKILL before the final flush). 10 s lets pages, logins
/// and an upload's final commit finish; an upload cut off leaves nothing behind (it never got a
/// receipt, and its partial ciphertext is swept at the next start), and the source sends it
/// again once the drop is back.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Most connections open at once, whatever the open-file limit.
///
/// Why 1,024: Tor Browser opens at most 6 connections to one site, so this is about 170
/// browsers at once, far more than a drop serves; beyond it every connection is an attacker's.
/// Each costs at most [`MAX_BUF_BYTES`] of buffer plus a few KiB, so 1,024 of them stay under
/// 80 MiB.
pub const MAX_CONNECTIONS: usize = 1024;

/// Fewest connections the server starts with: below this, a handful of browsers would fill it,
/// so the open-file limit is refused at start as too low.
pub const MIN_CONNECTIONS: usize = 16;

/// Descriptors kept for everything that is not a source's connection: stdio, the runtime's epoll
/// and wakers, the signal pipe, the listening socket, sled's files, the admin socket with a few
/// operator connections, the recipients file and instance secret when read, and slack.
pub const RESERVED_FDS: u64 = 64;

/// Descriptors kept per upload slot: the ciphertext file being written, its folder (opened to
/// fsync it) and the submission's folder, plus one spare.
pub const FDS_PER_UPLOAD: u64 = 4;

/// Largest request head (request line and headers). Tor Browser's are under 2 KB (it sends no
/// cookie but our session's); 16 KiB is the common server default. Beyond it hyper answers 431
/// and closes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Largest read and write buffer of one connection. hyper's default (about 400 KB) would let
/// the connection cap cost 400 MB; 64 KiB still reads a fast upload in large pieces.
pub const MAX_BUF_BYTES: usize = 64 * 1024;

/// Pause after an accept error that is not the client's doing (for example `EMFILE`): the
/// error would come back at once, and in a second the process has closed some files.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The open-file limit is too low for the server to keep its reserve and serve
/// [`MIN_CONNECTIONS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the open-file limit (`ulimit -n`, systemd's LimitNOFILE) is {limit}, too low: the server keeps {reserve} descriptors for the database, the ciphertext files and the admin socket and needs room for at least {MIN_CONNECTIONS} connections; raise it to 4096 (or at least {needed})")]
pub struct FdLimitTooLow {
    /// The soft limit the process has.
    pub limit: u64,
    /// Descriptors kept for other than connections.
    pub reserve: u64,
    /// The least limit that works with this configuration.
    pub needed: u64,
}

/// The soft open-file limit (`RLIMIT_NOFILE`) of this process; `None` when unlimited.
pub fn open_file_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// How many connections may be open at once with a soft open-file limit of `limit` (`None`:
/// unlimited) and `max_uploads` upload slots:
///
/// `min(MAX_CONNECTIONS, limit - (RESERVED_FDS + FDS_PER_UPLOAD * max_uploads))`
///
/// With the default 8 upload slots: 928 under Linux's default limit of 1,024, and
/// [`MAX_CONNECTIONS`] from a limit of 1,120 up (the deploy unit's 4,096 included). An error
/// when fewer than [`MIN_CONNECTIONS`] would remain.
pub fn connection_cap(limit: Option<u64>, max_uploads: usize) -> Result<usize, FdLimitTooLow> {
    let uploads = u64::try_from(max_uploads).unwrap_or(u64::MAX);
    let reserve = RESERVED_FDS.saturating_add(FDS_PER_UPLOAD.saturating_mul(uploads));
    let Some(limit) = limit else {
        return Ok(MAX_CONNECTIONS);
    };
    let room = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
    if room < MIN_CONNECTIONS {
        return Err(FdLimitTooLow {
            limit,
            reserve,
            needed: reserve.saturating_add(MIN_CONNECTIONS as u64),
        });
    }
    Ok(room.min(MAX_CONNECTIONS))
}

/// hyper's HTTP/1 settings for every connection. HTTP/1 only: Tor Browser speaks HTTP/1.1 to
/// an `http://` onion service, and HTTP/2 would be attack surface that no source uses.
fn http1_settings() -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .auto_date_header(false)
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_BUF_BYTES)
        // Queued writes: a body is written from its own buffer, never copied into hyper's
        // write buffer, so a wiped page (super::wiped) leaves no copy there. (hyper picks this
        // for a TCP stream anyway; said here so it does not depend on that.)
        .writev(true)
        .keep_alive(true);
    http
}

/// Serves `app` on `listener` with at most `max_connections` open at once until `shutdown`
/// completes, then lets requests in flight go on for at most [`SHUTDOWN_GRACE`] and returns.
/// Every connection is closed when this returns.
pub async fn run(
    listener: TcpListener,
    app: Router,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    let http = Arc::new(http1_settings());
    let slots = Arc::new(Semaphore::new(max_connections));
    // Dropping the sender tells every connection to finish its request and close.
    let (stop, stopped) = watch::channel(());
    let mut open = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // Forget the connections that have closed, so `open` holds only the open ones.
        while open.try_join_next().is_some() {}
        // A slot first, then accept: while all slots are taken, new connections wait in the
        // kernel's backlog (costing us no descriptor) rather than being accepted and closed.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                // Never closed; if it were, there would be nothing left to serve with.
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
        };
        open.spawn(connection(
            Arc::clone(&http),
            stream,
            app.clone(),
            slot,
            stopped.clone(),
        ));
    }
    // Stop accepting: connections still in the backlog are refused, not left waiting.
    drop(listener);
    drop(stop);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while open.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(
            "closing {} connection(s) still open after the shutdown grace period",
            open.len()
        );
        open.shutdown().await;
    }
}

/// Serves one connection until it closes, or, once `stop` fires, until its request in flight
/// is answered. Holds `slot` for as long as the connection is open.
async fn connection(
    http: Arc<http1::Builder>,
    stream: TcpStream,
    app: Router,
    slot: OwnedSemaphorePermit,
    mut stop: watch::Receiver<()>,
) {
    let mut conn = pin!(http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app)));
    // A connection's errors (a timeout, a malformed request, a client gone) are the client's
    // business, and logging them would log per connection.
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(slot);
}

/// Handles an accept error: a client that went away is no error; anything else (running out
/// of descriptors, most likely) is logged, and accepting pauses for [`ACCEPT_ERROR_PAUSE`].
async fn accept_failed(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    ) {
        return;
    }
    tracing::warn!("cannot accept a connection: {e}");
    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_the_reserve_below_the_open_file_limit() {
        // Linux's default soft limit with the default 8 upload slots: 1024 - (64 + 32).
        assert_eq!(connection_cap(Some(1024), 8), Ok(928));
        // The deploy unit's limit: the upper bound.
        assert_eq!(connection_cap(Some(4096), 8), Ok(MAX_CONNECTIONS));
        assert_eq!(connection_cap(None, 8), Ok(MAX_CONNECTIONS));
        // The last limit under the upper bound, and the first at it.
        assert_eq!(connection_cap(Some(1119), 8), Ok(1023));
        assert_eq!(connection_cap(Some(1120), 8), Ok(MAX_CONNECTIONS));
        // More upload slots keep more descriptors.
        assert_eq!(connection_cap(Some(1024), 64), Ok(1024 - 64 - 256));
        for limit in [256, 1024, 4096, 65_536] {
            for uploads in [1, 8, 64] {
                if let Ok(cap) = connection_cap(Some(limit), uploads) {
                    let used = cap as u64 + RESERVED_FDS + FDS_PER_UPLOAD * uploads as u64;
                    assert!(used <= limit, "{limit} {uploads}: {cap}");
                    assert!((MIN_CONNECTIONS..=MAX_CONNECTIONS).contains(&cap));
                }
            }
        }
    }

    #[test]
    fn a_limit_without_room_for_connections_is_refused_with_the_number_to_set() {
        // 64 + 4 * 8 = 96 kept; 16 connections more is the least that works.
        assert_eq!(connection_cap(Some(112), 8), Ok(16));
        let e = connection_cap(Some(111), 8).unwrap_err();
        assert_eq!(
            e,
            FdLimitTooLow {
                limit: 111,
                reserve: 96,
                needed: 112
            }
        );
        let text = e.to_string();
        assert!(
            text.contains("LimitNOFILE") && text.contains("112"),
            "{text}"
        );
        // 1,024 upload slots need more than the deploy unit's 4,096.
        assert!(connection_cap(Some(4096), 1024).is_err());
        assert!(connection_cap(Some(0), 1).is_err());
    }
}
