//! Running the cleaner in a child process, so that a hostile attachment costs at most that
//! process.
//!
//! Invariant: the parent opens the input itself ([`open_regular_file`]: no symbolic link) and
//! hands the child only that open file, as its standard input; the child gets no path, no
//! environment, and limits on its memory, core dumps and file writes before it parses a byte.
//! It answers on its standard output with one line of JSON (a `WorkerReply`) followed by
//! the working copy's bytes. The parent kills it at the deadline ([`CleanError::TimedOut`]),
//! takes any other end than a well-formed reply as [`CleanError::Malformed`], and only then
//! creates the output ([`create_new_private_file`]: never over anything, mode 0600). On any
//! failure after that the file it created is removed: no partial working copy is ever left.

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{clean_bytes, malformed, CleanError, Cleaned, Kind, MAX_CLEAN_BYTES};
use crate::util::files::{create_new_private_file, open_regular_file, read_capped, Capped};

/// The hidden subcommand of `witness-review` that runs [`run_worker`].
pub const WORKER_SUBCOMMAND: &str = "clean-worker";

/// Address space the worker may use (its input, the parse, the copy).
const WORKER_MEMORY_BYTES: u64 = 4 << 30;

/// The most the parent reads from the worker: the reply line and a working copy, which is
/// never much larger than its original.
const MAX_REPLY_BYTES: u64 = 2 * MAX_CLEAN_BYTES + (1 << 20);

/// How often the parent looks whether the worker has finished.
const POLL: Duration = Duration::from_millis(5);

/// The first line the worker writes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WorkerReply {
    /// Cleaned; the working copy follows the line.
    Cleaned(Cleaned),
    /// [`CleanError::Unsupported`].
    Unsupported,
    /// [`CleanError::TooLarge`].
    TooLarge(u64),
    /// [`CleanError::Malformed`] (the reason; the kind is the one asked for).
    Malformed(String),
    /// Reading failed.
    Io(String),
}

/// Makes the working copy of `input` (a file of `kind`) at `output` in a child process:
/// `exe clean-worker --kind KIND`, `exe` being the `witness-review` binary. The child is
/// killed after `deadline`. `output` must not exist; it is created only when the child
/// succeeded, and it is never left behind half-written.
pub fn working_copy(
    exe: &Path,
    kind: Kind,
    input: &Path,
    output: &Path,
    deadline: Duration,
) -> Result<Cleaned, CleanError> {
    let (file, meta) = open_regular_file(input)?;
    if meta.len() > MAX_CLEAN_BYTES {
        return Err(CleanError::TooLarge(meta.len()));
    }
    let mut child = Command::new(exe)
        .arg(WORKER_SUBCOMMAND)
        .arg("--kind")
        .arg(kind.as_str())
        .env_clear()
        .stdin(Stdio::from(file))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(io::Error::other("the cleaning worker has no output").into());
    };
    let reader = std::thread::spawn(move || read_capped(stdout, MAX_REPLY_BYTES));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return Err(CleanError::TimedOut);
        }
        std::thread::sleep(POLL);
    };
    let reply = match reader.join() {
        Ok(Ok(Capped::Whole(bytes))) => bytes,
        Ok(Ok(Capped::TooLarge)) => {
            return Err(malformed(
                kind,
                "the cleaner wrote more than a working copy can be",
            ))
        }
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(io::Error::other("reading the cleaner's answer failed").into()),
    };
    if !status.success() {
        return Err(malformed(kind, crash_reason(&status)));
    }
    let Some(newline) = reply.iter().position(|&b| b == b'\n') else {
        return Err(malformed(kind, "the cleaner stopped without an answer"));
    };
    let answer: WorkerReply = serde_json::from_slice(&reply[..newline])
        .map_err(|_| malformed(kind, "the cleaner's answer was not understood"))?;
    let cleaned = match answer {
        WorkerReply::Cleaned(c) => c,
        WorkerReply::Unsupported => return Err(CleanError::Unsupported),
        WorkerReply::TooLarge(n) => return Err(CleanError::TooLarge(n)),
        WorkerReply::Malformed(why) => return Err(malformed(kind, why)),
        WorkerReply::Io(why) => return Err(io::Error::other(why).into()),
    };
    write_new(output, &reply[newline + 1..])?;
    Ok(cleaned)
}

/// [`working_copy`] without the child process: reads `input` (no symbolic link, capped),
/// cleans it here and writes `output` the same way. For tests and for tools that run it in a
/// process of their own; a decrypt uses [`working_copy`].
pub fn working_copy_in_process(
    kind: Kind,
    input: &Path,
    output: &Path,
) -> Result<Cleaned, CleanError> {
    let (file, meta) = open_regular_file(input)?;
    if meta.len() > MAX_CLEAN_BYTES {
        return Err(CleanError::TooLarge(meta.len()));
    }
    let data = match read_capped(file, MAX_CLEAN_BYTES)? {
        Capped::Whole(d) => d,
        Capped::TooLarge => return Err(CleanError::TooLarge(meta.len())),
    };
    let (copy, cleaned) = clean_bytes(kind, &data)?;
    let copy = zeroize::Zeroizing::new(copy);
    write_new(output, &copy)?;
    Ok(cleaned)
}

/// Creates `output` (never over anything, mode 0600), writes `bytes` and syncs; on failure the
/// file just created is removed.
fn write_new(output: &Path, bytes: &[u8]) -> Result<(), CleanError> {
    let mut file = create_new_private_file(output)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(output);
        return Err(e.into());
    }
    Ok(())
}

/// The worker: limits itself, reads its standard input (at most [`MAX_CLEAN_BYTES`]), cleans
/// it as `kind` (the name given on the command line) and writes its reply to standard output.
/// Returns an error only when standard output cannot be written.
pub fn run_worker(kind: &str) -> io::Result<()> {
    limit_self();
    let reply = match Kind::from_name(kind) {
        None => (WorkerReply::Unsupported, None),
        Some(kind) => match read_capped(io::stdin().lock(), MAX_CLEAN_BYTES) {
            Ok(Capped::TooLarge) => (WorkerReply::TooLarge(MAX_CLEAN_BYTES + 1), None),
            Err(e) => (WorkerReply::Io(e.to_string()), None),
            Ok(Capped::Whole(data)) => match clean_bytes(kind, &data) {
                Ok((copy, cleaned)) => (WorkerReply::Cleaned(cleaned), Some(copy)),
                Err(CleanError::Unsupported) => (WorkerReply::Unsupported, None),
                Err(CleanError::TooLarge(n)) => (WorkerReply::TooLarge(n), None),
                Err(CleanError::Malformed { why, .. }) => (WorkerReply::Malformed(why), None),
                Err(e) => (WorkerReply::Io(e.to_string()), None),
            },
        },
    };
    let mut line = serde_json::to_vec(&reply.0).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut out = io::stdout().lock();
    out.write_all(&line)?;
    if let Some(copy) = reply.1 {
        out.write_all(&copy)?;
    }
    out.flush()
}

/// No core dump (it would hold decrypted testimony), no file written, bounded memory. Each
/// limit is best effort: a system that refuses one still gets the others.
fn limit_self() {
    #[cfg(unix)]
    {
        use rustix::process::{setrlimit, Resource, Rlimit};
        let cap = |n: u64| Rlimit {
            current: Some(n),
            maximum: Some(n),
        };
        let _ = setrlimit(Resource::Core, cap(0));
        let _ = setrlimit(Resource::Fsize, cap(0));
        let _ = setrlimit(Resource::As, cap(WORKER_MEMORY_BYTES));
    }
}

fn crash_reason(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!(
                "the cleaner crashed (signal {signal}): the file is built to break it, or damaged"
            );
        }
    }
    match status.code() {
        Some(code) => format!(
            "the cleaner failed (exit status {code}): the file is built to break it, or damaged"
        ),
        None => "the cleaner failed".to_owned(),
    }
}
