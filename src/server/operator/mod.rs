//! The operator's commands, the same whether `serve` runs or not.
//!
//! - [`backend`]: the [`Backend`] interface the commands are written against, and
//!   [`OperatorError`].
//! - [`socket`]: the admin socket: the server side, and [`socket::Remote`], the client that
//!   implements [`Backend`] over it.
//! - [`export`], [`import`], [`check`], [`demo`]: the commands; `purge` is one backend call.
//! - [`hardening`]: the host settings `check` warns about.
//!
//! Invariant: a command reaches the database through exactly one [`Connection`]: the running
//! server's socket when it answers, the database itself otherwise, never both. Nothing here
//! handles plaintext.

pub mod backend;
pub mod check;
pub mod demo;
pub mod export;
pub mod hardening;
pub mod import;
pub mod socket;

use std::path::Path;

pub use backend::{Backend, OperatorError};

use crate::server::store::{Store, StoreError};
use socket::Remote;

/// How the command reached the database.
pub enum Connection {
    /// Through the running server's admin socket.
    Remote(Remote),
    /// Directly (no server running).
    Local(Box<Store>),
}

impl Connection {
    /// The backend.
    pub fn backend(&mut self) -> &mut dyn Backend {
        match self {
            Connection::Remote(r) => r,
            Connection::Local(s) => s.as_mut(),
        }
    }

    /// What [`Connection::describe`] says of the running server's socket.
    pub const REMOTE: &'static str = "through the running server";

    /// "through the running server" or "directly".
    pub fn describe(&self) -> &'static str {
        match self {
            Connection::Remote(_) => Self::REMOTE,
            Connection::Local(_) => "directly (no server running)",
        }
    }
}

/// Connects to a running server, or opens the database when none runs.
pub fn connect(data_dir: &Path) -> Result<Connection, OperatorError> {
    if let Some(r) = Remote::connect(data_dir)? {
        return Ok(Connection::Remote(r));
    }
    match Store::open(data_dir) {
        Ok(s) => Ok(Connection::Local(Box::new(s))),
        Err(StoreError::Locked(_)) => {
            // The server may be starting: its socket appears right after it opens the database.
            std::thread::sleep(std::time::Duration::from_millis(500));
            match Remote::connect(data_dir)? {
                Some(r) => Ok(Connection::Remote(r)),
                None => Err(OperatorError::NoServer(socket::socket_path(data_dir))),
            }
        }
        Err(e) => Err(e.into()),
    }
}
