//! What the flood benchmark prints: one line per attack, and the summary against the targets of
//! issue 10 (item 8), each `met` or `NOT met` with the figures that decided it.
//!
//! Part of the flood benchmark, `cargo bench --bench flood [-- --seconds N]` (see `main.rs`).

use std::time::Duration;

use crate::attacks::{Attack, Check, Figures, BURST, UPLOADS, UPLOAD_BYTES};
use crate::sample::Peaks;
use crate::sources::{self, Attempt, IN_INBOX, SUBMIT_LIMIT};
use crate::wire::STORED;
use crate::MIB;

/// Target: the server's peak resident memory, under every attack.
pub const TARGET_RSS: u64 = 256 * MIB;

/// One attack's run and what was measured meanwhile.
pub struct Phase {
    pub attack: Attack,
    /// The server's memory, descriptors and CPU time.
    pub peaks: Peaks,
    /// The server's resident memory once the attack was in full swing, before the sources
    /// started (bytes): what the attack itself holds.
    pub rss_ready: u64,
    /// The real source's submissions.
    pub source: Vec<Attempt>,
    /// The returning source's logins.
    pub returning: Vec<Attempt>,
    /// The attack's own figures.
    pub figures: Figures,
    /// From the attack's start to the end of its last request.
    pub took: Duration,
    /// How the server exited during the attack, if it did.
    pub exited: Option<String>,
}

fn mib(b: u64) -> f64 {
    b as f64 / MIB as f64
}

/// The attack's line.
pub fn line(p: &Phase) -> String {
    let src = sources::Figures::of(&p.source, STORED);
    let ret = sources::Figures::of(&p.returning, IN_INBOX);
    let cpu = p
        .peaks
        .cpu
        .map_or_else(|| "?".to_owned(), |c| format!("{c:.1} s"));
    let mut out = format!(
        "{} {}: server peak RSS {:.1} MiB (at the start {:.1} MiB, in full swing before the sources {:.1} MiB), peak fds {}, CPU {cpu} in {:.0} s",
        p.attack.number(),
        p.attack.name(),
        mib(p.peaks.rss),
        mib(p.peaks.rss_start),
        mib(p.rss_ready),
        p.peaks.fds,
        p.took.as_secs_f64()
    );
    out.push_str(&format!(
        " | real source, 1 MiB: {} of {} stored, max {:.2} s, median {:.2} s ({}), longest without a receipt {:.1} s{}",
        src.ok,
        src.tried,
        src.max,
        src.median,
        src.tally,
        src.longest_wait.0.as_secs_f64(),
        if src.longest_wait.1 { " (none at the end)" } else { "" }
    ));
    out.push_str(&format!(
        " | returning source: {} of {} logins reached the inbox, max {:.2} s ({})",
        ret.ok, ret.tried, ret.max, ret.tally
    ));
    out.push_str(&format!(" | attack: {}", p.figures.text));
    if let Some(status) = &p.exited {
        out.push_str(&format!(" | SERVER EXITED ({status}), restarted"));
    }
    out
}

/// A target's verdict: `Some(true)` met, `Some(false)` not met, `None` not measured.
struct Verdict {
    met: Option<bool>,
    why: String,
}

/// The summary lines, the last one counting the targets met.
pub fn summary(phases: &[Phase]) -> Vec<String> {
    let verdicts = [
        ("peak RSS <= 256 MiB throughout", memory(phases)),
        (
            "the real source's 1 MiB submission succeeds within 120 s under every attack",
            real_source(phases),
        ),
        ("24 logins at once all succeed", logins(phases)),
        (
            "32 concurrent 32 MiB uploads all stored within 256 MiB",
            uploads(phases),
        ),
    ];
    let mut out = vec!["summary against the targets of issue 10 (default config):".to_owned()];
    let mut met = 0;
    let mut measured = 0;
    for (target, v) in &verdicts {
        let word = match v.met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "not measured",
        };
        if let Some(m) = v.met {
            measured += 1;
            met += usize::from(m);
        }
        out.push(format!("  {target}: {word} ({})", v.why));
    }
    out.push(format!(
        "targets: {met} of {measured} measured met{}",
        if measured < verdicts.len() {
            format!(" ({} not measured)", verdicts.len() - measured)
        } else {
            String::new()
        }
    ));
    out
}

fn memory(phases: &[Phase]) -> Verdict {
    let Some(top) = phases.iter().max_by_key(|p| p.peaks.rss) else {
        return Verdict {
            met: None,
            why: "no attack ran".to_owned(),
        };
    };
    let over: Vec<String> = phases
        .iter()
        .filter(|p| p.peaks.rss > TARGET_RSS)
        .map(|p| format!("{} {:.1} MiB", p.attack.name(), mib(p.peaks.rss)))
        .collect();
    let exited: Vec<&str> = phases
        .iter()
        .filter(|p| p.exited.is_some())
        .map(|p| p.attack.name())
        .collect();
    let mut why = format!(
        "highest {:.1} MiB, during the {}",
        mib(top.peaks.rss),
        top.attack.name()
    );
    if !over.is_empty() {
        why.push_str(&format!("; over the target: {}", over.join(", ")));
    }
    if !exited.is_empty() {
        why.push_str(&format!(
            "; the server exited during: {}",
            exited.join(", ")
        ));
    }
    if phases.iter().any(|p| !p.peaks.hwm_reset) {
        why.push_str("; VmHWM could not be reset, so some peaks count from the server's start");
    }
    Verdict {
        met: Some(over.is_empty() && exited.is_empty()),
        why,
    }
}

fn real_source(phases: &[Phase]) -> Verdict {
    if phases.is_empty() {
        return Verdict {
            met: None,
            why: "no attack ran".to_owned(),
        };
    }
    let limit = SUBMIT_LIMIT.as_secs_f64();
    let mut failed = Vec::new();
    let mut worst = 0.0f64;
    for p in phases {
        let f = sources::Figures::of(&p.source, STORED);
        worst = worst.max(f.max);
        if f.tried == 0 || f.ok < f.tried || f.max > limit {
            failed.push(format!(
                "{}: {} of {} stored ({}), max {:.1} s",
                p.attack.name(),
                f.ok,
                f.tried,
                f.tally,
                f.max
            ));
        }
    }
    if failed.is_empty() {
        Verdict {
            met: Some(true),
            why: format!("every submission stored, the slowest in {worst:.2} s"),
        }
    } else {
        Verdict {
            met: Some(false),
            why: failed.join("; "),
        }
    }
}

fn logins(phases: &[Phase]) -> Verdict {
    let Some(bursts) = phases.iter().find_map(|p| match &p.figures.check {
        Check::Logins(b) => Some(b),
        _ => None,
    }) else {
        return Verdict {
            met: None,
            why: "the login burst did not run".to_owned(),
        };
    };
    let worst = bursts.iter().copied().min().unwrap_or(0);
    let all = bursts.iter().all(|n| *n == BURST) && !bursts.is_empty();
    Verdict {
        met: Some(all),
        why: format!(
            "{} bursts, worst {worst} of {BURST} reached the inbox",
            bursts.len()
        ),
    }
}

fn uploads(phases: &[Phase]) -> Verdict {
    let Some((phase, rounds)) = phases.iter().find_map(|p| match &p.figures.check {
        Check::Uploads(r) => Some((p, r)),
        _ => None,
    }) else {
        return Verdict {
            met: None,
            why: "the concurrent uploads did not run".to_owned(),
        };
    };
    let worst = rounds.iter().map(|(n, _)| *n).min().unwrap_or(0);
    let all = !rounds.is_empty() && rounds.iter().all(|(n, _)| *n == UPLOADS);
    let within = phase.peaks.rss <= TARGET_RSS && phase.exited.is_none();
    let slowest = rounds
        .iter()
        .map(|(_, d)| d.as_secs_f64())
        .fold(0.0, f64::max);
    Verdict {
        met: Some(all && within),
        why: format!(
            "{} rounds of {UPLOADS} × {} MiB, worst {worst} of {UPLOADS} stored, slowest round {slowest:.1} s, peak RSS {:.1} MiB",
            rounds.len(),
            UPLOAD_BYTES as u64 / MIB,
            mib(phase.peaks.rss)
        ),
    }
}
