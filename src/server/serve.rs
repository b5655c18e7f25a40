//! `witness-drop serve`: opens what the server needs, in order, and serves until a signal.
//!
//! Invariants: the reviewer keys are loaded (and a demo key refused, unless this is the demo)
//! before anything is opened; the database is opened before the admin socket, so the socket is
//! only ever served by the process that holds the database; a missing instance secret is never
//! replaced while sources exist (no source could log in again); the database is flushed after
//! the last request.

use std::io;
use std::path::PathBuf;

use crate::keys::{KeysError, LiveRecipients};
use crate::server::config::Config;
use crate::server::operator::socket;
use crate::server::secrets::{InstanceSecret, SecretError, SECRET_FILE};
use crate::server::store::{pool, stamp, Store, StoreError};
use crate::server::web::{self, AppState};

/// What `serve` prints on stdout once its socket is bound, followed by the address
/// (`witness-drop listening on http://127.0.0.1:8080`): scripts, tests and the benchmark wait
/// for it, and with port 0 it is the only place the chosen port is shown.
pub const LISTENING_LINE: &str = "witness-drop listening on http://";

/// The address in a [`LISTENING_LINE`], if `line` is one.
pub fn parse_listening_line(line: &str) -> Option<&str> {
    let addr = line.trim_end().strip_prefix(LISTENING_LINE)?;
    (!addr.is_empty()).then_some(addr)
}

/// Whether a recipients file marked as a demo may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoKeys {
    /// Refuse it: real testimony must never be encrypted to a demo key.
    Refuse,
    /// Accept it: `witness-drop demo` only.
    Allow,
}

/// Why the server did not start, or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reviewer keys are missing or invalid.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// The data folder could not be opened.
    #[error("cannot open the data folder {}: {source}", path.display())]
    Store {
        /// The data folder.
        path: PathBuf,
        /// The cause.
        source: StoreError,
    },
    /// The admin socket could not be opened.
    #[error("cannot open the admin socket {}: {source}", path.display())]
    AdminSocket {
        /// The socket's path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The instance secret is gone, but sources depend on it.
    #[error("{} is missing, but the database holds {sources} returning source(s): restore it from the backup (without it no source can log in again); not making a new one", path.display())]
    SecretMissing {
        /// The secret's path.
        path: PathBuf,
        /// Sources in the database.
        sources: usize,
    },
    /// The instance secret could not be read or created.
    #[error("cannot read or create the instance secret: {0}")]
    Secret(#[from] SecretError),
    /// The async runtime did not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] io::Error),
    /// Listening failed, or the server stopped with an error.
    #[error("the server stopped: {0}")]
    Stopped(#[source] io::Error),
    /// The database could not be flushed at the end.
    #[error("final flush failed: {0}")]
    Flush(#[source] StoreError),
}

/// How long work on the blocking pool may go on after the server stopped serving: enough for a
/// commit's fsyncs and sled flush, well inside systemd's 90 s stop timeout.
const BLOCKING_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the source interface described by `config` until SIGTERM or Ctrl-C.
pub fn serve(config: Config, demo: DemoKeys) -> Result<(), ServeError> {
    let recipients = LiveRecipients::load(&config.recipients, demo == DemoKeys::Allow)?;
    let store = Store::open(&config.data_dir).map_err(|source| ServeError::Store {
        path: config.data_dir.clone(),
        source,
    })?;
    socket::spawn_server(store.clone(), &config.data_dir).map_err(|source| {
        ServeError::AdminSocket {
            path: socket::socket_path(&config.data_dir),
            source,
        }
    })?;
    tracing::info!(
        "{} reviewer key(s); max upload {} bytes; {} uploads at once",
        recipients.current().len(),
        config.max_upload_bytes,
        config.max_concurrent_uploads
    );
    let secret_path = config.data_dir.join(SECRET_FILE);
    if !secret_path.exists() && store.source_count() > 0 {
        return Err(ServeError::SecretMissing {
            path: secret_path,
            sources: store.source_count(),
        });
    }
    let secret = InstanceSecret::load_or_create(&config.data_dir, store.source_count())?;
    restamp_now(&store);
    let restamper = store.clone();
    // The store's open filled the pool of empty files and folders (store::pool); it is
    // topped up again only on the marks below: the day's first, and any after it ran low.
    let mut refills = pool::Refills::starting(std::time::SystemTime::now());
    // Every file's times to its day, on the clock's multiples of RESTAMP_EVERY (see
    // store::stamp); the thread ends with the process.
    let _ = std::thread::Builder::new()
        .name("restamp".into())
        .spawn(move || loop {
            std::thread::sleep(stamp::until_next_restamp(std::time::SystemTime::now()));
            if let Err(e) = refills.at_mark(restamper.pool(), std::time::SystemTime::now()) {
                tracing::warn!("could not refill the pool of empty files: {e}");
            }
            restamp_now(&restamper);
        });
    let state = AppState::new(config, recipients, store.clone(), secret);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(web::serve(state, shutdown_signal()))
        .map_err(ServeError::Stopped)?;
    // Work still on the blocking pool (an upload's commit that began before the grace period
    // ended) finishes, or is abandoned, before the final flush, so the flush sees a settled
    // store. A commit abandoned here never showed a receipt; its folder is quarantined at the
    // next start if its record did not make it.
    rt.shutdown_timeout(BLOCKING_GRACE);
    store.flush_all().map_err(ServeError::Flush)?;
    restamp_now(&store);
    tracing::info!("stopped");
    Ok(())
}

/// Restamps the data folder; a failure is logged (times only: nothing is at stake but them).
fn restamp_now(store: &Store) {
    if let Err(e) = store.restamp_all() {
        tracing::warn!("could not set the data folder's times to their day: {e}");
    }
}

/// Completes on Ctrl-C or SIGTERM (systemd's stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Logs to stderr, with no timestamps: journald adds its own, and our lines must not place a
/// submission in time. Nothing logs per request.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_its_address_back() {
        let line = format!("{LISTENING_LINE}127.0.0.1:43125\n");
        assert_eq!(parse_listening_line(&line), Some("127.0.0.1:43125"));
        assert_eq!(parse_listening_line(LISTENING_LINE), None);
        assert_eq!(parse_listening_line("serving the source interface"), None);
    }
}
