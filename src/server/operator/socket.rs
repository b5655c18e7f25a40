//! The admin socket: how operator commands reach the database while `serve` holds it.
//!
//! sled admits one process at a time. While the server runs it listens on
//! `DATA/admin/admin.sock` (folder 0700, socket 0600, so only the service's user and root can
//! connect) and answers the requests of [`Backend`]; when it does not run,
//! operator commands open the database directly. Either way they behave the same.
//!
//! Protocol: one JSON request per line; one JSON response line `{"ok":true,"data":…}` or
//! `{"ok":false,"error":"…"}`. A `blob` response is followed by exactly `data` bytes of
//! ciphertext.
//!
//! Invariant: nothing that crosses this socket is plaintext; requests carry only ids, numbers
//! and days.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::backend::{copy_to, Backend, OperatorError};
use crate::day::Day;
use crate::export::LedgerHead;
use crate::ledger::LedgerEntry;
use crate::server::store::{ImportOutcome, Store, StoreCounts, SubmissionRecord};
use crate::util::files::ensure_private_dir;

/// Longest request line accepted.
const MAX_REQUEST: u64 = 2 * 1024 * 1024;

/// Longest response line accepted (a submission list is about 300 bytes per submission).
const MAX_RESPONSE: u64 = 1 << 30;

/// The socket's path for a data folder.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin").join("admin.sock")
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Submissions,
    LedgerFrom {
        from: u64,
    },
    Head,
    Blob {
        id: String,
        blob: u16,
    },
    BlobSize {
        id: String,
        blob: u16,
    },
    MarkExported {
        ids: Vec<String>,
    },
    Purge {
        cutoff: String,
    },
    Counts,
    CheckFiles,
    ImportReply {
        reference: String,
        reply_id: String,
        ciphertext: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Response<T> {
    ok: bool,
    data: Option<T>,
    error: Option<String>,
}

/// Binds the socket (replacing a stale one: the caller holds the database lock, so no other
/// server can be using it) and serves it on a background thread.
pub fn spawn_server(store: Store, data_dir: &Path) -> io::Result<PathBuf> {
    let path = socket_path(data_dir);
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    std::thread::Builder::new()
        .name("admin-socket".into())
        .spawn(move || {
            for conn in listener.incoming() {
                match conn {
                    Ok(stream) => {
                        let store = store.clone();
                        let _ = std::thread::Builder::new().name("admin-conn".into()).spawn(
                            move || {
                                if let Err(e) = handle(stream, &store) {
                                    tracing::warn!("admin connection ended: {e}");
                                }
                            },
                        );
                    }
                    Err(e) => tracing::warn!("admin socket accept failed: {e}"),
                }
            }
        })?;
    Ok(path)
}

fn reply<T: Serialize>(out: &mut impl Write, r: Result<T, OperatorError>) -> io::Result<bool> {
    let ok = r.is_ok();
    let resp = match r {
        Ok(data) => Response {
            ok: true,
            data: Some(data),
            error: None,
        },
        Err(e) => Response {
            ok: false,
            data: None,
            error: Some(e.to_string()),
        },
    };
    serde_json::to_writer(&mut *out, &resp)?;
    out.write_all(b"\n")?;
    Ok(ok)
}

fn handle(stream: UnixStream, store: &Store) -> io::Result<()> {
    let mut out = io::BufWriter::new(stream.try_clone()?);
    let mut reader = BufReader::new(stream);
    let mut local = store.clone();
    let backend: &mut dyn Backend = &mut local;
    loop {
        let mut line = String::new();
        let n = (&mut reader).take(MAX_REQUEST).read_line(&mut line)?;
        if n == 0 {
            return Ok(());
        }
        let req: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(_) => {
                reply::<()>(&mut out, Err(OperatorError::Protocol("bad request")))?;
                out.flush()?;
                return Ok(());
            }
        };
        match req {
            Request::Submissions => {
                reply(&mut out, backend.submissions())?;
            }
            Request::LedgerFrom { from } => {
                reply(&mut out, backend.ledger_from(from))?;
            }
            Request::Head => {
                reply(&mut out, backend.head())?;
            }
            Request::BlobSize { id, blob } => {
                reply(&mut out, backend.blob_size(&id, blob))?;
            }
            Request::Blob { id, blob } => match store.open_blob(&id, blob) {
                Ok(mut file) => {
                    let size = file.metadata()?.len();
                    reply(&mut out, Ok(size))?;
                    let copied = io::copy(&mut (&mut file).take(size), &mut out)?;
                    if copied != size {
                        return Err(io::Error::other("blob shrank while sending"));
                    }
                }
                Err(e) => {
                    reply::<u64>(&mut out, Err(e.into()))?;
                }
            },
            Request::MarkExported { ids } => {
                reply(&mut out, backend.mark_exported(&ids))?;
            }
            Request::Purge { cutoff } => {
                let r = match Day::parse(&cutoff) {
                    Some(d) => backend.purge_before(d),
                    None => Err(OperatorError::Protocol("bad day")),
                };
                reply(&mut out, r)?;
            }
            Request::Counts => {
                reply(&mut out, backend.counts())?;
            }
            Request::CheckFiles => {
                reply(&mut out, backend.check_files())?;
            }
            Request::ImportReply {
                reference,
                reply_id,
                ciphertext,
            } => {
                let r = match hex::decode(&ciphertext) {
                    Ok(bytes) if bytes.len() as u64 <= crate::reply::MAX_REPLY_BYTES => {
                        backend.import_reply(&reference, &reply_id, &bytes)
                    }
                    _ => Err(OperatorError::Protocol("bad reply")),
                };
                reply(&mut out, r)?;
            }
        }
        out.flush()?;
    }
}

/// The client side: a [`Backend`] that talks to a running server.
pub struct Remote {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Remote {
    /// Connects to the server's socket; `Ok(None)` when no server answers there.
    pub fn connect(data_dir: &Path) -> Result<Option<Remote>, OperatorError> {
        let path = socket_path(data_dir);
        match UnixStream::connect(&path) {
            Ok(s) => Ok(Some(Remote {
                reader: BufReader::new(s.try_clone().map_err(OperatorError::Socket)?),
                writer: s,
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(OperatorError::Socket(e)),
        }
    }

    fn call<T: for<'de> Deserialize<'de>>(&mut self, req: &Request) -> Result<T, OperatorError> {
        let mut line =
            serde_json::to_vec(req).map_err(|_| OperatorError::Protocol("unencodable request"))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .map_err(OperatorError::Socket)?;
        let mut resp = String::new();
        let n = (&mut self.reader)
            .take(MAX_RESPONSE)
            .read_line(&mut resp)
            .map_err(OperatorError::Socket)?;
        if n == 0 {
            return Err(OperatorError::Protocol(
                "the server closed the admin connection",
            ));
        }
        let bad = |_: serde_json::Error| OperatorError::Protocol("malformed response");
        let r: Response<serde_json::Value> = serde_json::from_str(&resp).map_err(bad)?;
        match (r.ok, r.error) {
            // `()` and `None` travel as `null`.
            (true, _) => serde_json::from_value(r.data.unwrap_or_default()).map_err(bad),
            (false, Some(e)) => Err(OperatorError::Server(e)),
            (false, None) => Err(OperatorError::Protocol("malformed response")),
        }
    }
}

impl Backend for Remote {
    fn submissions(&mut self) -> Result<Vec<(String, SubmissionRecord)>, OperatorError> {
        self.call(&Request::Submissions)
    }
    fn ledger_from(&mut self, from: u64) -> Result<Vec<LedgerEntry>, OperatorError> {
        self.call(&Request::LedgerFrom { from })
    }
    fn head(&mut self) -> Result<Option<LedgerHead>, OperatorError> {
        self.call(&Request::Head)
    }
    fn blob_size(&mut self, id: &str, blob: u16) -> Result<u64, OperatorError> {
        self.call(&Request::BlobSize {
            id: id.to_owned(),
            blob,
        })
    }
    fn copy_blob(
        &mut self,
        id: &str,
        blob: u16,
        out: &mut dyn Write,
    ) -> Result<u64, OperatorError> {
        let size: u64 = self.call(&Request::Blob {
            id: id.to_owned(),
            blob,
        })?;
        let copied = copy_to((&mut self.reader).take(size), out, OperatorError::Socket)?;
        if copied != size {
            return Err(OperatorError::Protocol("blob cut short"));
        }
        Ok(size)
    }
    fn mark_exported(&mut self, ids: &[String]) -> Result<(), OperatorError> {
        self.call(&Request::MarkExported { ids: ids.to_vec() })
    }
    fn purge_before(&mut self, cutoff: Day) -> Result<usize, OperatorError> {
        self.call(&Request::Purge {
            cutoff: cutoff.to_string(),
        })
    }
    fn counts(&mut self) -> Result<StoreCounts, OperatorError> {
        self.call(&Request::Counts)
    }
    fn check_files(&mut self) -> Result<Vec<String>, OperatorError> {
        self.call(&Request::CheckFiles)
    }
    fn import_reply(
        &mut self,
        reference: &str,
        reply_id: &str,
        ciphertext: &[u8],
    ) -> Result<ImportOutcome, OperatorError> {
        self.call(&Request::ImportReply {
            reference: reference.to_owned(),
            reply_id: reply_id.to_owned(),
            ciphertext: hex::encode(ciphertext),
        })
    }
}
