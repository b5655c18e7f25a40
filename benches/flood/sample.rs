//! The server's resources during one attack, from `/proc`: peak resident memory (`VmHWM`,
//! reset when the attack starts, and `VmRSS` sampled every 100 ms), peak open descriptors
//! (entries of /proc/PID/fd, sampled), and CPU time.
//!
//! Part of the flood benchmark, `cargo bench --bench flood [-- --seconds N]` (see `main.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::common::procfs::{read_cpu_ticks, read_status_kib, reset_peak_rss, CLOCK_TICKS_PER_SEC};

/// Interval of the samples.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

/// What the server used during one attack.
pub struct Peaks {
    /// Resident memory when the attack started, bytes.
    pub rss_start: u64,
    /// Peak resident memory, bytes: `VmHWM` and the largest sample.
    pub rss: u64,
    /// Whether `VmHWM` could be reset (otherwise it is the peak since the server started).
    pub hwm_reset: bool,
    /// Most open descriptors sampled.
    pub fds: usize,
    /// CPU time (user + system), seconds.
    pub cpu: Option<f64>,
}

/// Samples the server from [`Sampler::start`] to [`Sampler::finish`].
pub struct Sampler {
    pid: u32,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(u64, usize)>,
    rss_start: u64,
    hwm_reset: bool,
    cpu_before: Option<u64>,
}

impl Sampler {
    /// Resets the server's `VmHWM` and starts sampling.
    pub fn start(pid: u32) -> Sampler {
        let hwm_reset = reset_peak_rss(pid);
        let rss_start = read_status_kib(pid, "VmRSS:").unwrap_or(0) * 1024;
        let cpu_before = read_cpu_ticks(pid);
        let stop = Arc::new(AtomicBool::new(false));
        let handle = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let (mut rss, mut fds) = (0u64, 0usize);
                loop {
                    if let Some(kib) = read_status_kib(pid, "VmRSS:") {
                        rss = rss.max(kib * 1024);
                    }
                    if let Some(n) = open_descriptors(pid) {
                        fds = fds.max(n);
                    }
                    if stop.load(Ordering::Relaxed) {
                        return (rss, fds);
                    }
                    thread::sleep(SAMPLE_INTERVAL);
                }
            })
        };
        Sampler {
            pid,
            stop,
            handle,
            rss_start,
            hwm_reset,
            cpu_before,
        }
    }

    /// The server's resident memory now, bytes.
    pub fn rss_now(&self) -> u64 {
        read_status_kib(self.pid, "VmRSS:").unwrap_or(0) * 1024
    }

    /// Stops sampling; the peaks since [`Sampler::start`].
    pub fn finish(self) -> Peaks {
        let hwm = read_status_kib(self.pid, "VmHWM:").unwrap_or(0) * 1024;
        let cpu_after = read_cpu_ticks(self.pid);
        self.stop.store(true, Ordering::Relaxed);
        let (sampled, fds) = self.handle.join().unwrap_or((0, 0));
        let cpu = match (self.cpu_before, cpu_after) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / CLOCK_TICKS_PER_SEC),
            _ => None,
        };
        Peaks {
            rss_start: self.rss_start,
            rss: hwm.max(sampled),
            hwm_reset: self.hwm_reset,
            fds,
            cpu,
        }
    }
}

/// Open descriptors of `pid`: the entries of /proc/PID/fd.
pub fn open_descriptors(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|dir| dir.count())
}

/// The soft and hard limits on open descriptors of `pid` (`Max open files` of
/// /proc/PID/limits).
pub fn descriptor_limits(pid: u32) -> Option<(String, String)> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut words = line["Max open files".len()..].split_whitespace();
    Some((words.next()?.to_owned(), words.next()?.to_owned()))
}
