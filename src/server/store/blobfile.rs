//! Writing one ciphertext file: durable, with its size and SHA-256, at the speed of the disk.
//!
//! Invariants:
//! - Only ciphertext passes through here (the store's invariant). The file is new (created
//!   here, or taken from the store's pool of empty files by the caller; never over one that
//!   exists), mode 0600.
//! - [`BlobWriter::finish`] returns only after every byte is written and the file is fsynced;
//!   the size and SHA-256 it returns are of exactly the bytes in the file, in order.
//! - Memory is bounded whatever the file size: at most [`POOL`] buffers of [`BUFFER`] bytes
//!   per writer.
//! - A writer dropped without `finish` stops its threads before the drop returns; the caller
//!   removes the file (the store's abort).
//!
//! How: the thread that encrypts fills a buffer and hands it on; a hashing thread hashes it
//! and passes it to an I/O thread, which writes it and gives it back for reuse. So encryption,
//! hashing and the copy into the kernel run at the same time, on both cores.
//!
//! Every `SYNC_EVERY` bytes a writeback thread makes what is written so far durable
//! (`fdatasync`) and then tells the kernel it may drop those pages from its cache
//! (`posix_fadvise(DONTNEED)`). The final fsync before the receipt then waits only for the
//! last few MiB, and a large upload recycles a few MiB of page cache instead of taking 1 GiB
//! of fresh pages (which, on the development VM, cost more CPU than the encryption: README,
//! "Benchmark"). A drop has no reason to keep ciphertext cached: it is read again only when
//! exported.
//!
//! Measured and set aside: a version of this writer that wrote with `O_DIRECT` (no page-cache
//! copy at all; aligned buffers, the unaligned tail through the page cache) used less CPU but
//! reached only 250-330 MiB/s on the development VM's disk, against 500-560 MiB/s for buffered
//! writes with this writeback (`cargo bench --bench blob_writer`, on each version), and made
//! whole uploads slower there (4.0-5.9 s for 1 GiB against 3.3-3.4 s). It was not kept.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use sha2::Digest;

use crate::envelope::Digest256;
use crate::util::files::create_new_private_file;

/// Bytes per buffer, and per write.
pub const BUFFER: usize = 1024 * 1024;

/// Buffers per writer, in all three stages together.
pub const POOL: usize = 8;

/// Bytes written between two writeback requests.
const SYNC_EVERY: u64 = 16 * 1024 * 1024;

/// A buffer, allocated once at its full size and reused.
struct Buf {
    mem: Vec<u8>,
    len: usize,
}

impl Buf {
    fn new() -> Buf {
        Buf {
            mem: vec![0u8; BUFFER],
            len: 0,
        }
    }

    fn filled(&self) -> &[u8] {
        &self.mem[..self.len]
    }

    /// Copies as much of `data` as fits; returns how much.
    fn push(&mut self, data: &[u8]) -> usize {
        let n = (BUFFER - self.len).min(data.len());
        self.mem[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    fn is_full(&self) -> bool {
        self.len == BUFFER
    }
}

/// Writes one blob's ciphertext to its file. Callers MUST call [`BlobWriter::finish`] (after
/// the age stream's own `finish`): it writes the last bytes, fsyncs, and returns the size and
/// SHA-256 of everything written.
pub struct BlobWriter {
    /// The buffer being filled.
    buf: Option<Buf>,
    /// Buffers made so far (at most [`POOL`]).
    made: usize,
    /// To the hashing thread.
    tx: Option<SyncSender<Buf>>,
    /// Written buffers, back from the I/O thread.
    free: Receiver<Buf>,
    hasher: Option<JoinHandle<[u8; 32]>>,
    /// The I/O thread; gives the file back for the final fsync.
    io: Option<JoinHandle<io::Result<File>>>,
    size: u64,
    /// The file, for errors.
    path: PathBuf,
}

/// Why a writer's threads failed, with the file they were writing. Carried inside the
/// `io::Error` that [`BlobWriter`]'s methods return.
#[derive(Debug, thiserror::Error)]
#[error("ciphertext file {}: {why}", path.display())]
pub struct WriterFailed {
    /// The file being written.
    pub path: PathBuf,
    /// What failed.
    pub why: WriterFault,
}

/// What failed in a [`BlobWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriterFault {
    /// A writer thread panicked.
    #[error("a writer thread failed")]
    ThreadFailed,
    /// The writer was used after it stopped.
    #[error("the writer has stopped")]
    Stopped,
}

impl BlobWriter {
    /// Creates `path` (it must not exist), mode 0600, and starts the writer's threads.
    pub fn create(path: &Path) -> io::Result<BlobWriter> {
        Self::from_file(create_new_private_file(path)?, path)
    }

    /// Writes into `file`, new and empty at `path` (the store takes it from its pool, see
    /// [`super::pool`]), and starts the writer's threads.
    pub fn from_file(file: File, path: &Path) -> io::Result<BlobWriter> {
        let shown = path.to_path_buf();
        let (tx, hash_rx) = sync_channel::<Buf>(POOL);
        let (io_tx, io_rx) = sync_channel::<Buf>(POOL);
        let (free_tx, free) = sync_channel::<Buf>(POOL);
        let hasher = std::thread::Builder::new()
            .name("blob-hash".into())
            .spawn(move || {
                let mut h = sha2::Sha256::new();
                while let Ok(buf) = hash_rx.recv() {
                    h.update(buf.filled());
                    if io_tx.send(buf).is_err() {
                        // The I/O thread failed; `finish` reports its error.
                        break;
                    }
                }
                h.finalize().into()
            })?;
        let io = std::thread::Builder::new()
            .name("blob-io".into())
            .spawn(move || write_loop(file, &io_rx, &free_tx))?;
        Ok(BlobWriter {
            buf: None,
            made: 0,
            tx: Some(tx),
            free,
            hasher: Some(hasher),
            io: Some(io),
            size: 0,
            path: shown,
        })
    }

    /// A buffer to fill: a written one back from the I/O thread, a new one while fewer than
    /// [`POOL`] exist, or else the next one the I/O thread gives back.
    fn next_buf(&mut self) -> io::Result<Buf> {
        if let Ok(mut b) = self.free.try_recv() {
            b.len = 0;
            return Ok(b);
        }
        if self.made < POOL {
            self.made += 1;
            return Ok(Buf::new());
        }
        match self.free.recv() {
            Ok(mut b) => {
                b.len = 0;
                Ok(b)
            }
            Err(_) => Err(self.stopped()),
        }
    }

    /// Hands the current buffer to the hashing thread.
    fn send_buf(&mut self) -> io::Result<()> {
        let Some(buf) = self.buf.take() else {
            return Ok(());
        };
        if buf.len == 0 {
            self.buf = Some(buf);
            return Ok(());
        }
        let sent = match &self.tx {
            Some(tx) => tx.send(buf).is_ok(),
            None => false,
        };
        if sent {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    fn failed(&self, why: WriterFault) -> io::Error {
        io::Error::other(WriterFailed {
            path: self.path.clone(),
            why,
        })
    }

    /// The error of a writer whose threads stopped early: the I/O thread's own error.
    fn stopped(&mut self) -> io::Error {
        self.tx = None;
        match self.io.take().map(JoinHandle::join) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => self.failed(WriterFault::ThreadFailed),
            _ => self.failed(WriterFault::Stopped),
        }
    }

    /// Writes what is buffered, waits for the threads, fsyncs the file, and returns the size
    /// and SHA-256 of the ciphertext.
    pub fn finish(mut self) -> io::Result<Digest256> {
        self.send_buf()?;
        self.tx = None;
        let hash = self
            .hasher
            .take()
            .map(JoinHandle::join)
            .ok_or_else(|| self.failed(WriterFault::Stopped))?
            .map_err(|_| self.failed(WriterFault::ThreadFailed))?;
        let file = self
            .io
            .take()
            .map(JoinHandle::join)
            .ok_or_else(|| self.failed(WriterFault::Stopped))?
            .map_err(|_| self.failed(WriterFault::ThreadFailed))??;
        crate::server::failpoint::hit("blob.fsync")?;
        file.sync_all()?;
        // Durable and clean: the kernel may drop the rest of its cached pages.
        drop_cached(&file, 0, self.size);
        Ok(Digest256 {
            size: self.size,
            sha256: hex::encode(hash),
        })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.tx.is_none() {
            return Err(self.failed(WriterFault::Stopped));
        }
        let mut buf = match self.buf.take() {
            Some(b) => b,
            None => self.next_buf()?,
        };
        let n = buf.push(data);
        self.size += n as u64;
        let full = buf.is_full();
        self.buf = Some(buf);
        if full {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Not finished (an aborted upload): stop the threads before the store removes the
        // file. Closing the channel ends the hashing thread once it has passed on what it
        // holds, which ends the I/O thread; neither waits on this side.
        self.tx = None;
        if let Some(h) = self.hasher.take() {
            let _ = h.join();
        }
        if let Some(h) = self.io.take() {
            let _ = h.join();
        }
    }
}

/// The I/O thread: writes each buffer in order and gives it back; starts writeback every
/// [`SYNC_EVERY`] bytes. Returns the file for the final fsync.
fn write_loop(mut file: File, rx: &Receiver<Buf>, free: &SyncSender<Buf>) -> io::Result<File> {
    let mut writeback = Writeback::default();
    let mut offset = 0u64;
    while let Ok(buf) = rx.recv() {
        crate::server::failpoint::hit("blob.write")?;
        file.write_all(buf.filled())?;
        offset += buf.len as u64;
        writeback.wrote(&file, offset);
        // A full channel means the writer is finishing or gone: the buffer is not needed.
        let _ = free.try_send(buf);
    }
    writeback.finish();
    Ok(file)
}

/// Tells the kernel it may drop the cached pages of `file` in `[from, to)`. Advice only: the
/// pages must be clean (synced) to be dropped, and an error changes nothing we rely on.
fn drop_cached(file: &File, from: u64, to: u64) {
    if let Some(len) = std::num::NonZeroU64::new(to.saturating_sub(from)) {
        let _ = rustix::fs::fadvise(file, from, Some(len), rustix::fs::Advice::DontNeed);
    }
}

/// Every [`SYNC_EVERY`] bytes, asks a helper thread to make the file durable so far
/// (`fdatasync` on a clone of the handle) and then drop the synced pages from the cache. A
/// request is skipped while the previous one runs; the next covers its range.
#[derive(Default)]
struct Writeback {
    last: u64,
    thread: Option<(SyncSender<u64>, JoinHandle<()>)>,
}

impl Writeback {
    fn wrote(&mut self, file: &File, offset: u64) {
        if offset - self.last < SYNC_EVERY {
            return;
        }
        self.last = offset;
        if self.thread.is_none() {
            self.thread = file.try_clone().ok().and_then(|clone| {
                let (tx, rx) = sync_channel::<u64>(1);
                std::thread::Builder::new()
                    .name("blob-sync".into())
                    .spawn(move || {
                        let mut dropped = 0u64;
                        while let Ok(upto) = rx.recv() {
                            if clone.sync_data().is_ok() {
                                drop_cached(&clone, dropped, upto);
                                dropped = upto;
                            }
                        }
                    })
                    .ok()
                    .map(|h| (tx, h))
            });
        }
        if let Some((tx, _)) = &self.thread {
            let _ = tx.try_send(offset);
        }
    }

    fn finish(self) {
        if let Some((tx, h)) = self.thread {
            drop(tx);
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    /// Writes `data` in pieces, checks file, size and hash.
    fn roundtrip(dir: &Path, data: &[u8], piece: usize) {
        let path = dir.join(format!("blob-{}-{piece}", data.len()));
        let mut w = BlobWriter::create(&path).unwrap();
        for chunk in data.chunks(piece.max(1)) {
            w.write_all(chunk).unwrap();
        }
        let digest = w.finish().unwrap();
        assert_eq!(digest.size, data.len() as u64);
        assert_eq!(digest.sha256, hex::encode(sha2::Sha256::digest(data)));
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn sizes_around_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0, 1, BUFFER - 1, BUFFER, BUFFER + 1, 3 * BUFFER + 17] {
            roundtrip(dir.path(), &pattern(n), 65_552);
        }
    }

    #[test]
    fn more_than_the_pool_and_several_writebacks_in_odd_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let n = 2 * SYNC_EVERY as usize + (POOL + 3) * BUFFER + 12_345;
        roundtrip(dir.path(), &pattern(n), 70_001);
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        std::fs::write(&path, b"old").unwrap();
        assert!(BlobWriter::create(&path).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn dropped_writer_stops_its_threads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let mut w = BlobWriter::create(&path).unwrap();
        w.write_all(&pattern(5 * BUFFER)).unwrap();
        drop(w);
        // The file may hold some of the data; the store removes it. What matters is that the
        // drop returned (threads joined) and the file is closed and removable.
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn file_mode_is_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        BlobWriter::create(&path).unwrap().finish().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
