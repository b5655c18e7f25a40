//! `witness-drop check`: is this installation ready to serve?
//!
//! Invariant: `check` only reads (config, reviewer keys, the store's counts and files, the
//! host's settings); what it changes is what opening the store always does (an interrupted
//! commit rolled back, folders moved to quarantine, the journal and the database made to
//! agree), and it says so. Host hardening is reported as warnings, never as failure.
//! `check --repair` ([`repair`]) runs only while the server is stopped, and never deletes: a
//! damaged database is moved aside before it is rebuilt.

use std::path::PathBuf;

use super::backend::OperatorError;
use super::hardening;
use crate::keys::{self, KeysError};
use crate::server::config::{Config, ConfigError};

/// Why `check` could not finish (problems it found are in [`CheckReport::problems`]).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The reviewer keys are missing or invalid.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// `--repair` while the server runs.
    #[error("the server is running (its admin socket {} answers): stop it first, then run `witness-drop check --repair` again", .0.display())]
    Running(PathBuf),
    /// The data folder could not be opened or read.
    #[error("cannot open the data folder {}: {source}", path.display())]
    Storage {
        /// The data folder.
        path: PathBuf,
        /// The cause.
        source: OperatorError,
    },
}

/// What `check` found.
#[derive(Debug)]
pub struct CheckReport {
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
    /// The recipients file and how many keys it holds.
    pub recipients: (PathBuf, usize),
    /// The data folder, and whether it was reached through the running server.
    pub data_dir: PathBuf,
    /// "through the running server" or "directly (no server running)".
    pub reached: &'static str,
    /// Counts of the store.
    pub counts: crate::server::store::StoreCounts,
    /// Missing or damaged ciphertext files: each one means `check` fails.
    pub problems: Vec<String>,
    /// Host settings that weaken the deployment (swap, core dumps): reported, not fatal.
    pub warnings: Vec<String>,
    /// The address `serve` would listen on.
    pub listen: std::net::SocketAddr,
}

impl CheckReport {
    /// True when the installation is ready to serve.
    pub fn is_ready(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report's lines for standard output, in order.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "config: ok{}",
                match &self.config_file {
                    Some(f) => format!(" ({})", f.display()),
                    None => " (defaults and environment)".into(),
                }
            ),
            format!(
                "reviewer keys: {} in {}",
                self.recipients.1,
                self.recipients.0.display()
            ),
            format!(
                "storage: {} ({}): {} submission(s), {} not yet exported, {} ledger entries",
                self.data_dir.display(),
                self.reached,
                self.counts.submissions,
                self.counts.not_exported,
                self.counts.ledger_entries
            ),
        ];
        let pool = &self.counts.pool;
        out.push(format!(
            "pool: {} empty file(s) and {} folder(s) made ahead of time; {} created outside the pool since {}{}",
            pool.ready.files,
            pool.ready.folders,
            pool.created_outside,
            if self.reached == super::Connection::REMOTE {
                "the server started"
            } else {
                "this command opened the data folder"
            },
            if pool.removed_at_open > 0 {
                format!(
                    "; {} entries that were not what the pool makes were taken out at open",
                    pool.removed_at_open
                )
            } else {
                String::new()
            }
        ));
        if self.counts.reconciled.changed() {
            out.push(format!(
                "database: when it was last opened: {}",
                self.counts.reconciled.summary()
            ));
        }
        if self.counts.quarantined > 0 {
            out.push(format!(
                "quarantine: {} folder(s) in {}: ciphertext of uploads that never committed (a crash, or a commit that could not be made durable); nothing there was acknowledged to a source; look, then delete them",
                self.counts.quarantined,
                self.data_dir.join(crate::server::store::QUARANTINE).display()
            ));
        }
        out.extend(self.warnings.iter().map(|w| format!("warning: {w}")));
        if self.is_ready() {
            out.push(format!("ready to serve on {}", self.listen));
        }
        out
    }
}

/// Checks the configuration at `config` (or the default), the reviewer keys it names (a demo
/// key is refused) and the data folder.
pub fn check(config: Option<&std::path::Path>) -> Result<CheckReport, CheckError> {
    let config = Config::load(config)?;
    let recipients = keys::load_recipients(&config.recipients, false)?;
    let storage = |source| CheckError::Storage {
        path: config.data_dir.clone(),
        source,
    };
    let mut conn = super::connect(&config.data_dir).map_err(storage)?;
    let reached = conn.describe();
    let backend = conn.backend();
    let counts = backend.counts().map_err(storage)?;
    let problems = backend.check_files().map_err(storage)?;
    Ok(CheckReport {
        config_file: config.source_file.clone(),
        recipients: (config.recipients.clone(), recipients.list.len()),
        data_dir: config.data_dir.clone(),
        reached,
        counts,
        problems,
        warnings: hardening::warnings(),
        listen: config.listen,
    })
}

/// `witness-drop check --repair`: with the server stopped, rebuilds whatever of the database
/// is missing or damaged from the journal (see [`crate::server::store::Store::repair`]).
pub fn repair(
    config: Option<&std::path::Path>,
) -> Result<crate::server::store::RepairReport, CheckError> {
    let config = Config::load(config)?;
    let storage = |source| CheckError::Storage {
        path: config.data_dir.clone(),
        source,
    };
    if super::socket::Remote::connect(&config.data_dir)
        .map_err(storage)?
        .is_some()
    {
        return Err(CheckError::Running(super::socket::socket_path(
            &config.data_dir,
        )));
    }
    let (_store, report) =
        crate::server::store::Store::repair(&config.data_dir).map_err(|e| storage(e.into()))?;
    Ok(report)
}
