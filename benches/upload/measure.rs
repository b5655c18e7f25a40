//! Measurement: the server's memory (VmHWM, sampled VmRSS) and CPU time from `/proc` around
//! one upload (read with [`crate::common::procfs`]), the reference `age -r` timing, and the
//! `sync` before each timed step.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::client::{upload, Target};
use crate::common::procfs::{read_cpu_ticks, read_status_kib, reset_peak_rss, CLOCK_TICKS_PER_SEC};
use crate::common::server::Server;
use crate::{KIB, MIB};

/// Interval of the VmRSS sampler.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// Figures of one upload.
pub struct UploadFigures {
    /// First byte sent to full response received.
    pub total: Duration,
    /// Last byte sent to full response received.
    pub after_body: Duration,
    /// Server CPU time (user + sys) during the upload, seconds.
    server_cpu: Option<f64>,
    /// The benchmark's own CPU time (the client) during the upload, seconds.
    client_cpu: Option<f64>,
    /// Largest VmRSS sampled before the last byte was sent.
    pub streaming_peak: u64,
    /// Peak RSS over the whole upload (VmHWM reset just before it, and the samples).
    pub peak: u64,
    /// Whether VmHWM could be reset (otherwise `peak` is the peak since the server started).
    hwm_reset: bool,
    /// The response body (the receipt).
    pub body: Vec<u8>,
}

impl UploadFigures {
    /// The figures as one line of the printed table.
    pub fn line(&self, size: u64) -> String {
        let secs = self.total.as_secs_f64();
        let cpu = |v: Option<f64>| v.map_or_else(|| "?".to_owned(), |v| format!("{v:.2} s"));
        format!(
            "{secs:.2} s ({:.1} MiB/s), after the last byte {:.2} s, CPU server {} client {}, peak RSS streaming {:.1} MiB, whole upload {:.1} MiB{}",
            size as f64 / MIB as f64 / secs,
            self.after_body.as_secs_f64(),
            cpu(self.server_cpu),
            cpu(self.client_cpu),
            self.streaming_peak as f64 / MIB as f64,
            self.peak as f64 / MIB as f64,
            if self.hwm_reset { "" } else { " (since the server started)" }
        )
    }
}

/// One upload with its memory and CPU figures. Fails unless the answer is 200.
pub fn measured_upload(
    server: &mut Server,
    target: &Target,
    file_path: &Path,
    size: u64,
) -> Result<UploadFigures> {
    let pid = server.child.id();
    // Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS.
    let hwm_reset = reset_peak_rss(pid);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || sample_rss(pid, &stop))
    };
    let cpu_before = read_cpu_ticks(pid);
    let client_before = read_cpu_ticks(std::process::id());
    let result = upload(&server.addr, target, file_path, size);
    let client_after = read_cpu_ticks(std::process::id());
    let cpu_after = read_cpu_ticks(pid);
    let hwm = read_status_kib(pid, "VmHWM:").map(|kib| kib * KIB);
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap_or_default();
    let timing = match result {
        Ok(timing) => timing,
        Err(e) => {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(e.context(format!("the server exited during the upload ({status})")));
            }
            return Err(e);
        }
    };
    let streaming_peak = samples
        .iter()
        .filter(|(at, _)| *at <= timing.body_sent)
        .map(|(_, b)| *b)
        .max()
        .unwrap_or(0);
    let sampled_max = samples.iter().map(|(_, b)| *b).max();
    let peak = match (hwm, sampled_max) {
        (Some(a), Some(b)) => a.max(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => bail!("could not read the server's memory from /proc/{pid}/status"),
    };
    let ticks = |before: Option<u64>, after: Option<u64>| {
        Some(after?.saturating_sub(before?) as f64 / CLOCK_TICKS_PER_SEC)
    };
    Ok(UploadFigures {
        total: timing.total,
        after_body: timing.after_body,
        server_cpu: ticks(cpu_before, cpu_after),
        client_cpu: ticks(client_before, client_after),
        streaming_peak,
        peak,
        hwm_reset,
        body: timing.body,
    })
}

/// Samples VmRSS every 100 ms until `stop`; returns (when, bytes) pairs.
fn sample_rss(pid: u32, stop: &AtomicBool) -> Vec<(Instant, u64)> {
    let mut samples = Vec::new();
    loop {
        if let Some(kib) = read_status_kib(pid, "VmRSS:") {
            samples.push((Instant::now(), kib * KIB));
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        thread::sleep(SAMPLE_INTERVAL);
    }
    samples
}

/// Times of one `age -r` run.
pub struct AgeTiming {
    /// Until `age` exited: its output is written but may still be only in the page cache.
    pub exited: Duration,
    /// Until its output was on the disk (`age`, then fsync of the output file): what the
    /// server's receipt promises for the upload.
    pub on_disk: Duration,
}

/// Times `age -r RECIPIENT -o OUT FILE` and the fsync of OUT; `None` when `age` is not
/// installed.
pub fn time_reference_age(
    recipient: &str,
    input: &Path,
    output: &Path,
    keep: bool,
) -> Result<Option<AgeTiming>> {
    let started = Instant::now();
    let status = Command::new("age")
        .arg("-r")
        .arg(recipient)
        .arg("-o")
        .arg(output)
        .arg(input)
        .stdin(Stdio::null())
        .status();
    let exited = started.elapsed();
    match status {
        Ok(status) if status.success() => {
            File::open(output)
                .and_then(|f| f.sync_all())
                .context("syncing the output of `age -r`")?;
            let on_disk = started.elapsed();
            // Free the disk space at once (only the time matters), unless asked to keep.
            if !keep {
                let _ = std::fs::remove_file(output);
            }
            Ok(Some(AgeTiming { exited, on_disk }))
        }
        Ok(status) => bail!("the reference `age -r` failed ({status})"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context("running the reference `age`"),
    }
}

/// Writes all dirty pages back (`sync`) before a timed step, so no step pays for the
/// previous one's writeback. Not timed.
pub fn settle() {
    let _ = Command::new("sync").status();
}
