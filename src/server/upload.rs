//! The submission pipeline: from multipart parts to a committed, durable submission.
//!
//! Invariant: plaintext crosses from the async handler to one blocking worker over a bounded
//! channel and is encrypted there at once ([`crate::envelope::Sealer`]); the store receives
//! only ciphertext. Memory per upload is bounded by the channel ([`CHANNEL_DEPTH`] batches of
//! 256 KiB), age's 64 KiB chunk buffer, and the ciphertext writer's buffers
//! ([`crate::server::store::blobfile::POOL`] of [`crate::server::store::blobfile::BUFFER`] bytes), whatever the file size. An [`Upload`] that is
//! dropped without [`Upload::commit`] removes everything it stored.
//!
//! Invariant (memory): what a source wrote that passes through here in buffers the server
//! owns is wiped when dropped, on success and on every failure: the message, the guided
//! answers, the file names and content types (queued, held while a file is written, and in
//! the envelope), and the envelope's JSON, which is serialised into a [`WipedBuf`] so that its
//! growth leaves no copy. Not wiped: the file bytes, which arrive as `Bytes` of the multipart
//! parser's buffer and are shared with the hashing thread, and age's own 64 KiB plaintext
//! chunk buffer (of each file and of the envelope).

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

use crate::day::exact_utc_now;
use crate::envelope::{Attachment, Envelope, Sealer, SourceInfo, Testimony, ENVELOPE_FORMAT};
use crate::export::{file_blob_name, ENVELOPE_BLOB};
use crate::ledger::BlobDigest;
use crate::server::store::{BlobWriter, Store, StoreError};
use crate::util::wipe::WipedBuf;

/// Messages queued between the handler and the worker; each holds at most one batch of body
/// chunks ([`BATCH_BYTES`]).
const CHANNEL_DEPTH: usize = 4;

/// Most attachments in one submission.
pub const MAX_FILES: u32 = 500;

/// Why an upload failed. Never carries plaintext, file names or message text.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Storing ciphertext failed.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// Encryption failed.
    #[error("encryption: {0}")]
    Seal(#[from] crate::envelope::SealError),
    /// Writing failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// Too many attachments.
    #[error("too many files")]
    TooManyFiles,
    /// The worker stopped (after an earlier error).
    #[error("upload worker stopped")]
    WorkerGone,
    /// The worker thread panicked or could not start.
    #[error("upload worker failed")]
    Worker,
}

enum Cmd {
    StartFile {
        name: Zeroizing<String>,
        content_type: Zeroizing<String>,
    },
    Data(Vec<Bytes>),
    EndFile,
    Commit {
        message: Zeroizing<String>,
        testimony: Box<Zeroizing<Testimony>>,
        source: Option<SourceInfo>,
        new_source: Option<[u8; 32]>,
        note: Option<(String, Vec<u8>)>,
        reply: oneshot::Sender<Result<(), UploadError>>,
    },
}

/// One submission being received.
pub struct Upload {
    tx: mpsc::Sender<Cmd>,
    worker: Option<tokio::task::JoinHandle<Result<(), UploadError>>>,
    files: u32,
    in_file: bool,
    /// Chunks not yet sent to the worker: batched so the worker wakes once per
    /// [`BATCH_BYTES`], not once per network read.
    batch: Vec<Bytes>,
    batch_len: usize,
}

/// Bytes handed to the worker at a time.
const BATCH_BYTES: usize = 256 * 1024;

impl Upload {
    /// Starts a submission: reserves an id and a worker.
    pub async fn start(
        store: Store,
        recipients: Arc<Vec<age::x25519::Recipient>>,
    ) -> Result<Upload, UploadError> {
        let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
        let s = store.clone();
        let id = tokio::task::spawn_blocking(move || s.begin_upload())
            .await
            .map_err(|_| UploadError::Worker)??;
        let worker = tokio::task::spawn_blocking(move || {
            let mut w = Worker {
                store,
                recipients,
                id,
                current: None,
                attachments: Vec::new(),
                blobs: Vec::new(),
                committed: false,
            };
            let result = w.run(rx);
            if !w.committed {
                // Aborted, failed before the commit, or dropped: leave nothing behind.
                if let Err(e) = w.store.abort_upload(&w.id) {
                    tracing::error!("removing an aborted upload failed: {e}");
                }
            }
            result
        });
        Ok(Upload {
            tx,
            worker: Some(worker),
            files: 0,
            in_file: false,
            batch: Vec::new(),
            batch_len: 0,
        })
    }

    async fn send(&mut self, cmd: Cmd) -> Result<(), UploadError> {
        if self.tx.send(cmd).await.is_err() {
            return Err(self.worker_error().await);
        }
        Ok(())
    }

    async fn worker_error(&mut self) -> UploadError {
        match self.worker.take() {
            Some(h) => match h.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => UploadError::WorkerGone,
                Err(_) => UploadError::Worker,
            },
            None => UploadError::WorkerGone,
        }
    }

    /// Starts attachment N+1. `name` and `content_type` are the browser's, kept only in the
    /// encrypted envelope (and wiped everywhere else).
    pub async fn start_file(
        &mut self,
        name: Zeroizing<String>,
        content_type: Zeroizing<String>,
    ) -> Result<(), UploadError> {
        if self.files >= MAX_FILES {
            return Err(UploadError::TooManyFiles);
        }
        self.files += 1;
        self.in_file = true;
        self.send(Cmd::StartFile { name, content_type }).await
    }

    /// Encrypts and stores the next bytes of the current file.
    pub async fn write(&mut self, data: Bytes) -> Result<(), UploadError> {
        self.batch_len += data.len();
        self.batch.push(data);
        if self.batch_len >= BATCH_BYTES {
            self.flush_batch().await?;
        }
        Ok(())
    }

    async fn flush_batch(&mut self) -> Result<(), UploadError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.batch_len = 0;
        let batch = std::mem::take(&mut self.batch);
        self.send(Cmd::Data(batch)).await
    }

    /// Ends the current file.
    pub async fn end_file(&mut self) -> Result<(), UploadError> {
        self.flush_batch().await?;
        self.in_file = false;
        self.send(Cmd::EndFile).await
    }

    /// Seals the envelope, commits and flushes. When this returns `Ok`, the submission is
    /// durable and a receipt may be shown. `new_source` is the lookup id of a source whose
    /// first submission this is: its record (`source`) is stored in the same commit.
    /// `testimony` (the guided answers and consent) is sealed inside the envelope only; `note`
    /// is the source's new consent note (reference, sealed to the source), when it changed.
    pub async fn commit(
        mut self,
        message: Zeroizing<String>,
        testimony: Zeroizing<Testimony>,
        source: Option<SourceInfo>,
        new_source: Option<[u8; 32]>,
        note: Option<(String, Vec<u8>)>,
    ) -> Result<(), UploadError> {
        if self.in_file {
            self.end_file().await?;
        }
        let (reply, rx) = oneshot::channel();
        self.send(Cmd::Commit {
            message,
            testimony: Box::new(testimony),
            source,
            new_source,
            note,
            reply,
        })
        .await?;
        match rx.await {
            Ok(r) => r,
            Err(_) => Err(self.worker_error().await),
        }
    }
}

struct Current {
    sealer: Sealer<BlobWriter>,
    /// Keeps the file key, to pad the file once its length is known.
    capture: crate::pad::KeyCapture,
    hasher: PlainHasher,
    name: Zeroizing<String>,
    content_type: Zeroizing<String>,
}

/// SHA-256 of a file's plaintext on its own thread, so hashing runs beside encryption on the
/// second core. It gets the same `Bytes` (reference-counted, not copied) the sealer encrypts.
struct PlainHasher {
    tx: std::sync::mpsc::SyncSender<Vec<Bytes>>,
    handle: std::thread::JoinHandle<String>,
}

impl PlainHasher {
    fn start() -> Result<PlainHasher, UploadError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Bytes>>(CHANNEL_DEPTH);
        let handle = std::thread::Builder::new()
            .name("plain-hash".into())
            .spawn(move || {
                use sha2::Digest;
                let mut h = sha2::Sha256::new();
                while let Ok(batch) = rx.recv() {
                    for b in batch {
                        h.update(&b);
                    }
                }
                hex::encode(h.finalize())
            })?;
        Ok(PlainHasher { tx, handle })
    }

    fn send(&self, batch: Vec<Bytes>) -> Result<(), UploadError> {
        self.tx.send(batch).map_err(|_| UploadError::Worker)
    }

    fn finish(self) -> Result<String, UploadError> {
        drop(self.tx);
        self.handle.join().map_err(|_| UploadError::Worker)
    }
}

struct Worker {
    store: Store,
    recipients: Arc<Vec<age::x25519::Recipient>>,
    id: String,
    current: Option<Current>,
    attachments: Vec<Attachment>,
    blobs: Vec<BlobDigest>,
    committed: bool,
}

impl Drop for Worker {
    /// The file names and content types of an upload that never reached its envelope.
    fn drop(&mut self) {
        wipe_attachments(&mut self.attachments);
    }
}

/// Overwrites what the browser said about each file.
fn wipe_attachments(attachments: &mut [Attachment]) {
    use zeroize::Zeroize;
    for a in attachments {
        a.name.zeroize();
        a.content_type.zeroize();
    }
}

impl Worker {
    fn run(&mut self, mut rx: mpsc::Receiver<Cmd>) -> Result<(), UploadError> {
        while let Some(cmd) = rx.blocking_recv() {
            match cmd {
                Cmd::StartFile { name, content_type } => {
                    self.end_file()?;
                    let n = self.attachments.len() as u16 + 1;
                    let writer = self.store.unpadded_writer(&self.id, n)?;
                    let capture = crate::pad::KeyCapture::new();
                    self.current = Some(Current {
                        sealer: Sealer::without_hashes_padded_later(
                            &self.recipients,
                            writer,
                            &capture,
                        )?,
                        capture,
                        hasher: PlainHasher::start()?,
                        name,
                        content_type,
                    });
                }
                Cmd::Data(batch) => {
                    if let Some(c) = self.current.as_mut() {
                        c.hasher.send(batch.clone())?;
                        for bytes in batch {
                            c.sealer.write_all(&bytes)?;
                        }
                    }
                }
                Cmd::EndFile => self.end_file()?,
                Cmd::Commit {
                    message,
                    testimony,
                    source,
                    new_source,
                    note,
                    reply,
                } => {
                    let result = self.commit(message, *testimony, source, new_source, note);
                    // A commit that failed and could not be undone keeps its ciphertext: a
                    // record may point to it. The next start reconciles it (see the store).
                    self.committed = matches!(
                        result,
                        Ok(()) | Err(UploadError::Store(StoreError::Uncertain(_)))
                    );
                    let _ = reply.send(result);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    fn end_file(&mut self) -> Result<(), UploadError> {
        let Some(c) = self.current.take() else {
            return Ok(());
        };
        let (writer, plain, _) = c.sealer.finish()?;
        writer.finish()?;
        let plain_sha256 = c.hasher.finish()?;
        let n = self.attachments.len() as u32 + 1;
        // Now that its length is known, the file is padded to its size bucket.
        let key = c.capture.take().ok_or(UploadError::Worker)?;
        let cipher = self.store.pad_blob(&self.id, n as u16, &key)?;
        let (mut name, mut content_type) = (c.name, c.content_type);
        self.attachments.push(Attachment {
            n,
            // Moved out of their `Zeroizing` without a copy; wiped with the envelope.
            name: std::mem::take(&mut *name),
            content_type: std::mem::take(&mut *content_type),
            size: plain.size,
            sha256: plain_sha256,
        });
        self.blobs.push(BlobDigest {
            name: file_blob_name(n),
            size: cipher.size,
            sha256: cipher.sha256,
        });
        Ok(())
    }

    fn commit(
        &mut self,
        mut message: Zeroizing<String>,
        mut testimony: Zeroizing<Testimony>,
        source: Option<SourceInfo>,
        new_source: Option<[u8; 32]>,
        note: Option<(String, Vec<u8>)>,
    ) -> Result<(), UploadError> {
        let record = match (new_source, &source) {
            (Some(lookup), Some(info)) => Some((lookup, info.clone())),
            _ => None,
        };
        self.end_file()?;
        let envelope = Envelope {
            format: ENVELOPE_FORMAT.to_owned(),
            id: self.id.clone(),
            received_at: exact_utc_now(),
            // Moved, not copied: the envelope holds the only copy until it is wiped below.
            message: std::mem::take(&mut *message),
            attachments: std::mem::take(&mut self.attachments),
            source,
            reviewers: self.recipients.iter().map(|r| r.to_string()).collect(),
            testimony: Some(std::mem::replace(&mut *testimony, Testimony::new(""))),
        };
        let mut json = WipedBuf::with_capacity(16 * 1024);
        let serialised = serde_json::to_writer(&mut json, &envelope);
        // The envelope's message, answers, file names and content types: overwritten before
        // the error, if any, is looked at.
        {
            use zeroize::Zeroize;
            let mut envelope = envelope;
            envelope.message.zeroize();
            if let Some(t) = envelope.testimony.as_mut() {
                t.zeroize();
            }
            wipe_attachments(&mut envelope.attachments);
        }
        serialised.map_err(std::io::Error::from)?;
        let json = json.as_slice();
        // Padded to its size bucket, so its size does not follow the message's length.
        let recipients: Vec<&dyn age::Recipient> = self
            .recipients
            .iter()
            .map(|r| r as &dyn age::Recipient)
            .collect();
        let sealed = Zeroizing::new(
            crate::pad::encrypt_padded(&recipients, json)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        );
        let cipher = self.store.write_blob(&self.id, 0, &sealed)?;
        let mut blobs = vec![BlobDigest {
            name: ENVELOPE_BLOB.to_owned(),
            size: cipher.size,
            sha256: cipher.sha256,
        }];
        blobs.append(&mut self.blobs);
        self.store.commit(&self.id, blobs, record, note)?;
        Ok(())
    }
}
