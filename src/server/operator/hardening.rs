//! Host checks for `witness-drop check`: can the host copy the server's memory to disk?
//!
//! The server holds a submission's plaintext only in memory, for as long as it takes to encrypt
//! it. Two things on a host can still put that memory on a disk, where a seizure finds it:
//! swap that is not encrypted, and core dumps. [`warnings`] reports each as one sentence that
//! says what to do.
//!
//! Invariant: these are warnings, never errors. They only read `/proc`; a file that cannot be
//! read becomes a warning that the check could not be made, never a silent pass. Every decision
//! is made by a pure function over the text of those files, so it is tested on sample text.
//!
//! The deployment (deploy/witness-drop.service) also keeps the service's own memory out of swap
//! (`MemorySwapMax=0`) and forbids core dumps (`LimitCORE=0`); these checks look at the host and
//! at the process that runs them, and deploy/README.md says how to fix what they report.

use std::path::Path;

const PROC_SWAPS: &str = "/proc/swaps";
const PROC_LIMITS: &str = "/proc/self/limits";
const PROC_CORE_PATTERN: &str = "/proc/sys/kernel/core_pattern";

/// One active swap area, as listed in `/proc/swaps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwapArea {
    /// The device or file, as the kernel prints it (a space appears as `\040`).
    pub name: String,
    /// `partition` or `file`.
    pub kind: String,
}

/// What a swap area's name tells about where swapped memory ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapStorage {
    /// zram: compressed RAM, never on a disk.
    InMemory,
    /// A device-mapper device, taken to be dm-crypt.
    Encrypted,
    /// A swap file: encrypted only if its file system is, which `/proc/swaps` does not say.
    File,
    /// A plain disk partition.
    Unencrypted,
}

/// Parses the text of `/proc/swaps`: one line per active swap area after a header line.
pub fn parse_swaps(text: &str) -> Vec<SwapArea> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let name = fields.next()?;
            let kind = fields.next()?;
            if name == "Filename" {
                return None;
            }
            Some(SwapArea {
                name: name.to_owned(),
                kind: kind.to_owned(),
            })
        })
        .collect()
}

/// Classifies a swap area by its name. This is a heuristic, because the kernel does not say
/// whether a device is encrypted:
/// - `/dev/zram*` is compressed memory: swapped pages never reach a disk.
/// - `/dev/mapper/*` and `/dev/dm-*` are device-mapper devices. Encrypted swap on Debian is
///   dm-crypt (`/etc/crypttab` with the `swap` option, or LVM on LUKS), and the kernel lists it
///   under one of these names, so they count as encrypted. A device-mapper device that is *not*
///   encrypted (a plain LVM volume on an unencrypted disk) is therefore misjudged: the guide
///   says so, and says how to check (`cryptsetup status`).
/// - A swap file (`kind == "file"`) lives on a file system that may or may not be on an
///   encrypted volume; that cannot be told from here, so it is reported as such.
/// - Anything else (`/dev/sda2`, `/dev/vda3`, `/dev/nvme0n1p3`, …) is a plain partition.
pub fn classify_swap(area: &SwapArea) -> SwapStorage {
    let name = area.name.as_str();
    if name.starts_with("/dev/zram") {
        SwapStorage::InMemory
    } else if name.starts_with("/dev/mapper/") || name.starts_with("/dev/dm-") {
        SwapStorage::Encrypted
    } else if area.kind == "file" {
        SwapStorage::File
    } else {
        SwapStorage::Unencrypted
    }
}

/// Warnings for the active swap areas listed in `swaps` (the text of `/proc/swaps`).
pub fn swap_warnings(swaps: &str) -> Vec<String> {
    parse_swaps(swaps)
        .iter()
        .filter_map(|area| match classify_swap(area) {
            SwapStorage::InMemory | SwapStorage::Encrypted => None,
            SwapStorage::File => Some(format!(
                "swap file {} is active: unless its file system is on an encrypted volume, memory holding testimony can be written to disk in plaintext; use encrypted swap or none (deploy/README.md, \"Swap and core dumps\")",
                area.name
            )),
            SwapStorage::Unencrypted => Some(format!(
                "swap on {} is active and not encrypted: memory holding testimony can be written to disk in plaintext; use encrypted swap or none (deploy/README.md, \"Swap and core dumps\")",
                area.name
            )),
        })
        .collect()
}

/// The soft `RLIMIT_CORE` of a process from the text of its `/proc/PID/limits`: `Some(None)`
/// for unlimited, `Some(Some(bytes))` otherwise, `None` when the line is missing or malformed.
pub fn core_soft_limit(limits: &str) -> Option<Option<u64>> {
    let rest = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max core file size"))?;
    match rest.split_whitespace().next()? {
        "unlimited" => Some(None),
        n => n.parse().ok().map(Some),
    }
}

/// Where the kernel sends a core dump, from `/proc/sys/kernel/core_pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreTarget {
    /// No dump is kept: an empty pattern, `|/bin/false`, `|/bin/true`, `/dev/null` (the kernel
    /// writes dumps only to regular files).
    Disabled,
    /// Piped to systemd-coredump, which stores nothing for a process whose core limit is 0.
    SystemdCoredump,
    /// Piped to another program, which receives the memory whatever the core limit (the kernel
    /// does not apply `RLIMIT_CORE` to pipes).
    Pipe(String),
    /// Written to a file (the pattern is a path, relative to the crashing process's folder).
    File(String),
}

/// Classifies the text of `/proc/sys/kernel/core_pattern`.
pub fn core_target(core_pattern: &str) -> CoreTarget {
    let pattern = core_pattern.trim();
    if let Some(command) = pattern.strip_prefix('|') {
        let program = command.split_whitespace().next().unwrap_or("");
        let base = program.rsplit('/').next().unwrap_or(program);
        match base {
            "" | "false" | "true" => CoreTarget::Disabled,
            "systemd-coredump" => CoreTarget::SystemdCoredump,
            _ => CoreTarget::Pipe(program.to_owned()),
        }
    } else if pattern.is_empty() || pattern == "/dev/null" {
        CoreTarget::Disabled
    } else {
        CoreTarget::File(pattern.to_owned())
    }
}

/// A warning when a crash of this process could put its memory into a core dump.
///
/// The decision, from the process's soft core limit (`limits`: the text of
/// `/proc/self/limits`) and the kernel's `core_pattern`:
/// - a disabled pattern: no dump, whatever the limit;
/// - a file pattern or systemd-coredump: a dump only when the soft limit is not 0 (the kernel
///   applies the limit to files, and systemd-coredump honours it);
/// - any other pipe: a dump whatever the limit, since the kernel hands the memory to the
///   program without looking at the limit;
/// - a limit that cannot be read counts as not 0.
///
/// The process is the one running `check`, so its limit is the operator's shell's; the service
/// gets its own from `LimitCORE=0` in the unit. The pattern is the same for both.
pub fn core_dump_warning(limits: &str, core_pattern: &str) -> Option<String> {
    let limit_is_zero = core_soft_limit(limits) == Some(Some(0));
    let fix = "set LimitCORE=0 for the service and disable core dumps on the host (deploy/README.md, \"Swap and core dumps\")";
    match core_target(core_pattern) {
        CoreTarget::Disabled => None,
        CoreTarget::SystemdCoredump | CoreTarget::File(_) if limit_is_zero => None,
        CoreTarget::SystemdCoredump => Some(format!(
            "core dumps are enabled (core size limit not 0, kernel.core_pattern pipes to systemd-coredump): a crash would store memory holding testimony on disk; {fix}"
        )),
        CoreTarget::File(pattern) => Some(format!(
            "core dumps are enabled (core size limit not 0, kernel.core_pattern = {pattern}): a crash would write memory holding testimony to disk; {fix}"
        )),
        CoreTarget::Pipe(program) => Some(format!(
            "kernel.core_pattern pipes core dumps to {program}, which receives a crashed process's memory whatever its core size limit; {fix}"
        )),
    }
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(Path::new(path)).map_err(|e| format!("cannot read {path}: {e}"))
}

/// Every warning about this host, from `/proc`. Empty when swap is off, in memory or
/// encrypted, and core dumps are off.
pub fn warnings() -> Vec<String> {
    let mut out = Vec::new();
    match read(PROC_SWAPS) {
        Ok(swaps) => out.extend(swap_warnings(&swaps)),
        Err(e) => out.push(format!(
            "cannot tell whether swap is encrypted ({e}): check it by hand with `swapon --show`"
        )),
    }
    match (read(PROC_LIMITS), read(PROC_CORE_PATTERN)) {
        (Ok(limits), Ok(pattern)) => out.extend(core_dump_warning(&limits, &pattern)),
        (Err(e), _) | (_, Err(e)) => out.push(format!(
            "cannot tell whether core dumps are enabled ({e}): check `ulimit -c` and /proc/sys/kernel/core_pattern by hand"
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

    fn limits(core_soft: &str) -> String {
        format!(
            "Limit                     Soft Limit           Hard Limit           Units     \n\
             Max cpu time              unlimited            unlimited            seconds   \n\
             Max core file size        {core_soft:<20} unlimited            bytes     \n\
             Max open files            1024                 524288               files     \n"
        )
    }

    #[test]
    fn no_swap_no_warning() {
        assert!(swap_warnings(HEADER).is_empty());
        assert!(swap_warnings("").is_empty());
    }

    #[test]
    fn swap_areas_are_classified() {
        let text = format!(
            "{HEADER}/dev/sda3                               partition\t1048572\t\t0\t\t-2\n\
             /dev/dm-1                               partition\t2097148\t\t0\t\t-3\n\
             /dev/mapper/cryptswap                   partition\t2097148\t\t0\t\t-4\n\
             /dev/zram0                              partition\t4194300\t\t0\t\t100\n\
             /swap\\040file                           file\t\t2097148\t\t0\t\t-5\n"
        );
        let areas = parse_swaps(&text);
        let kinds: Vec<SwapStorage> = areas.iter().map(classify_swap).collect();
        assert_eq!(
            kinds,
            [
                SwapStorage::Unencrypted,
                SwapStorage::Encrypted,
                SwapStorage::Encrypted,
                SwapStorage::InMemory,
                SwapStorage::File
            ]
        );
        let w = swap_warnings(&text);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("/dev/sda3") && w[0].contains("not encrypted"));
        assert!(w[1].contains("/swap\\040file") && w[1].contains("swap file"));
    }

    #[test]
    fn only_encrypted_or_zram_swap_is_quiet() {
        let text = format!(
            "{HEADER}/dev/dm-0 partition 1 0 -2\n/dev/zram0 partition 1 0 100\n/dev/mapper/sda3_crypt partition 1 0 -3\n"
        );
        assert!(swap_warnings(&text).is_empty());
    }

    #[test]
    fn core_limit_is_read() {
        assert_eq!(core_soft_limit(&limits("0")), Some(Some(0)));
        assert_eq!(core_soft_limit(&limits("unlimited")), Some(None));
        assert_eq!(core_soft_limit(&limits("4096")), Some(Some(4096)));
        assert_eq!(core_soft_limit("Limit Soft Hard\n"), None);
        assert_eq!(core_soft_limit(&limits("lots")), None);
    }

    #[test]
    fn core_patterns_are_classified() {
        assert_eq!(core_target("core\n"), CoreTarget::File("core".into()));
        assert_eq!(
            core_target("/var/crash/core.%e.%p\n"),
            CoreTarget::File("/var/crash/core.%e.%p".into())
        );
        assert_eq!(
            core_target("|/lib/systemd/systemd-coredump %P %u %g %s %t %c %h\n"),
            CoreTarget::SystemdCoredump
        );
        assert_eq!(
            core_target("|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E\n"),
            CoreTarget::Pipe("/usr/share/apport/apport".into())
        );
        for off in [
            "",
            "\n",
            "|/bin/false\n",
            "|/usr/bin/false",
            "|/bin/true",
            "/dev/null",
        ] {
            assert_eq!(core_target(off), CoreTarget::Disabled, "{off:?}");
        }
    }

    #[test]
    fn core_dump_decisions() {
        // Debian's defaults: pattern "core", soft limit 0: no dump.
        assert_eq!(core_dump_warning(&limits("0"), "core\n"), None);
        // A limit lets the kernel write the file.
        let w = core_dump_warning(&limits("unlimited"), "core\n").unwrap();
        assert!(
            w.contains("core dumps are enabled") && w.contains("LimitCORE=0"),
            "{w}"
        );
        // systemd-coredump honours a zero limit.
        let sd = "|/lib/systemd/systemd-coredump %P %u %g %s %t %c %h\n";
        assert_eq!(core_dump_warning(&limits("0"), sd), None);
        assert!(core_dump_warning(&limits("unlimited"), sd).is_some());
        // Any other pipe receives the memory whatever the limit.
        let w = core_dump_warning(&limits("0"), "|/usr/libexec/abrt-hook-ccpp %s %c %p\n").unwrap();
        assert!(w.contains("abrt-hook-ccpp"), "{w}");
        // A disabled pattern needs no limit.
        assert_eq!(
            core_dump_warning(&limits("unlimited"), "|/bin/false\n"),
            None
        );
        // An unreadable limit is not taken as 0.
        assert!(core_dump_warning("garbage", "core\n").is_some());
    }

    #[test]
    fn this_host_can_be_checked() {
        // Whatever this machine is, the wrapper returns sentences, not a panic.
        for w in warnings() {
            assert!(!w.is_empty());
        }
    }
}
