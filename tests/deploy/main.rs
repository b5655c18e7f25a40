#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The deployment files in deploy/ are what the tests check: tor accepts the torrc, systemd
//! accepts the unit and rates its sandbox at 2.0 or lower, `witness-drop check` accepts the
//! production config, and install.sh passes shellcheck. A test whose tool is missing prints
//! a SKIPPED line, or fails when WITNESS_DROP_REQUIRE_TOOLS=1 (CI).
#![cfg(feature = "server")]

#[path = "../util/mod.rs"]
mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file)
}

fn read(file: &str) -> String {
    std::fs::read_to_string(deploy(file)).unwrap()
}

fn show(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Replaces the one line that starts with `prefix`; panics unless there is exactly one.
fn replace_line(text: &str, prefix: &str, with: &str) -> String {
    let hits = text.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(hits, 1, "expected one line starting with {prefix:?}");
    text.lines()
        .map(|l| if l.starts_with(prefix) { with } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Active (non-comment, non-blank) lines of a config file.
fn active_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn torrc_has_the_required_settings_each_explained() {
    let text = read("torrc");
    let active = active_lines(&text);
    for want in [
        "SocksPort 0",
        "SafeLogging 1",
        "ExitRelay 0",
        "ORPort 0",
        "HiddenServiceDir /var/lib/tor/witness-drop/",
        "HiddenServicePort 80 127.0.0.1:8080",
        "HiddenServiceVersion 3",
        "HiddenServicePoWDefensesEnabled 1",
    ] {
        assert!(active.contains(&want), "deploy/torrc lacks `{want}`");
    }
    // Every setting has a comment right above it.
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if !l.trim().is_empty() && !l.starts_with('#') {
            assert!(
                i > 0 && lines[i - 1].starts_with('#'),
                "deploy/torrc line {} has no comment above it: {l}",
                i + 1
            );
        }
    }
    assert!(text.contains("cat /var/lib/tor/witness-drop/hostname"));
}

#[test]
fn tor_verifies_the_torrc() {
    if !util::require_tool("tor", "tor_verifies_the_torrc") {
        return;
    }
    // tempfile creates the folder with mode 0700, which tor demands for its folders.
    let dir = tempfile::tempdir().unwrap();
    let hs = dir.path().join("hs");
    let data = dir.path().join("data");
    for d in [&hs, &data] {
        std::fs::create_dir(d).unwrap();
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    }
    let text = read("torrc");
    let text = replace_line(
        &text,
        "HiddenServiceDir ",
        &format!("HiddenServiceDir {}/", hs.display()),
    );
    let text = replace_line(
        &text,
        "HiddenServicePort ",
        "HiddenServicePort 80 127.0.0.1:18089",
    );
    let text = format!("{text}DataDirectory {}\n", data.display());
    let torrc = dir.path().join("torrc");
    std::fs::write(&torrc, text).unwrap();
    let empty_defaults = dir.path().join("defaults");
    std::fs::write(&empty_defaults, "").unwrap();

    let out = Command::new("tor")
        .arg("--verify-config")
        .arg("--defaults-torrc")
        .arg(&empty_defaults)
        .arg("-f")
        .arg(&torrc)
        .output()
        .unwrap();
    assert!(out.status.success(), "tor --verify-config: {}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Configuration was valid"), "{}", show(&out));

    // What tor makes of it: no SOCKS port, the proof-of-work defence on.
    let out = Command::new("tor")
        .arg("--defaults-torrc")
        .arg(&empty_defaults)
        .arg("-f")
        .arg(&torrc)
        .args(["--dump-config", "short"])
        .output()
        .unwrap();
    assert!(out.status.success(), "tor --dump-config: {}", show(&out));
    let effective = String::from_utf8_lossy(&out.stdout);
    for want in [
        "SocksPort 0",
        "HiddenServicePoWDefensesEnabled 1",
        "HiddenServicePort 80 127.0.0.1:18089",
    ] {
        assert!(
            effective.lines().any(|l| l.trim() == want),
            "tor's effective config lacks `{want}`:\n{effective}"
        );
    }
}

#[test]
fn the_unit_has_the_required_settings() {
    let text = read("witness-drop.service");
    let active = active_lines(&text);
    for want in [
        "ExecStart=/usr/local/bin/witness-drop serve --config /etc/witness-drop/witness-drop.toml",
        "User=witness-drop",
        "StateDirectory=witness-drop",
        "StateDirectoryMode=0700",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectControlGroups=yes",
        "MemoryDenyWriteExecute=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "IPAddressDeny=any",
        "IPAddressAllow=localhost",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=",
        "UMask=0077",
        "LimitCORE=0",
        "MemorySwapMax=0",
        "Restart=on-failure",
    ] {
        assert!(
            active.contains(&want),
            "deploy/witness-drop.service lacks `{want}`"
        );
    }
}

/// The value of the one active `key=` line of the unit.
fn unit_value<'a>(active: &[&'a str], key: &str) -> &'a str {
    let hits: Vec<&str> = active
        .iter()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "deploy/witness-drop.service: one `{key}=` line expected"
    );
    hits[0]
}

/// A systemd memory size (`768M`, `1G`, bytes) in MiB.
fn mib(value: &str) -> u64 {
    let (n, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("not a size: {value}"));
    match unit {
        "" => n >> 20,
        "K" => n >> 10,
        "M" => n,
        "G" => n << 10,
        _ => panic!("unexpected unit in {value}"),
    }
}

#[test]
fn the_unit_limits_open_files_and_memory_with_room_for_the_default_config() {
    let text = read("witness-drop.service");
    let active = active_lines(&text);
    let nofile: u64 = unit_value(&active, "LimitNOFILE").parse().unwrap();
    assert!(
        nofile >= 4096,
        "LimitNOFILE={nofile}: a flood of connections needs more than that"
    );
    let high = mib(unit_value(&active, "MemoryHigh"));
    let max = mib(unit_value(&active, "MemoryMax"));
    // The guide's sizing (section 18) for the default config: the server, 2 derivations of
    // 64 MiB, 25 MiB per upload in flight, sessions.
    let default_uploads = 8;
    let worst = 30 + 2 * 64 + 25 * default_uploads + 10;
    assert!(
        worst < high && high < max,
        "MemoryHigh={high}M and MemoryMax={max}M must leave room above {worst} MiB"
    );
    let guide = read("README.md");
    for needle in ["LimitNOFILE=", "MemoryHigh=", "MemoryMax="] {
        assert!(guide.contains(needle), "the guide explains {needle}");
    }
}

#[test]
fn systemd_accepts_the_unit_and_rates_it_at_most_2() {
    let test = "systemd_accepts_the_unit_and_rates_it_at_most_2";
    if !util::require_tool("systemd-analyze", test) {
        return;
    }
    // `verify` checks that ExecStart's binary exists: point it at the one cargo built.
    let dir = tempfile::tempdir().unwrap();
    let text = read("witness-drop.service").replace(
        "ExecStart=/usr/local/bin/witness-drop ",
        &format!("ExecStart={} ", util::DROP),
    );
    assert!(text.contains(util::DROP));
    let unit = dir.path().join("witness-drop.service");
    std::fs::write(&unit, text).unwrap();

    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=false"])
        .arg(&unit)
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}",
        show(&out)
    );
    assert!(
        !stderr.contains("witness-drop.service"),
        "systemd-analyze verify complains: {}",
        show(&out)
    );

    // The score of the unit as shipped. --threshold makes systemd-analyze itself fail above 2.0.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--threshold=20", "--no-pager"])
        .arg(deploy("witness-drop.service"))
        .env("SYSTEMD_COLORS", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let score: f64 = stdout
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for witness-drop.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in the output: {}", show(&out)));
    println!("systemd-analyze security: exposure {score:.1} for deploy/witness-drop.service");
    assert!(
        score <= 2.0,
        "exposure {score} is above 2.0: {}",
        show(&out)
    );
    assert!(
        out.status.success(),
        "systemd-analyze security: {}",
        show(&out)
    );
}

fn check_with(recipients: &Path, data_dir: &Path) -> Output {
    let mut cmd = Command::new(util::DROP);
    cmd.arg("check")
        .arg("--config")
        .arg(deploy("witness-drop.toml"));
    // Only the two overrides below: no stray WITNESS_DROP_* from the caller's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("WITNESS_DROP_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("WITNESS_DROP_RECIPIENTS", recipients)
        .env("WITNESS_DROP_DATA_DIR", data_dir)
        .current_dir(data_dir.parent().unwrap())
        .output()
        .unwrap()
}

#[test]
fn the_production_config_has_every_key() {
    let text = read("witness-drop.toml");
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(table["listen"].as_str(), Some("127.0.0.1:8080"));
    assert_eq!(table["data_dir"].as_str(), Some("/var/lib/witness-drop"));
    assert_eq!(
        table["recipients"].as_str(),
        Some("/etc/witness-drop/recipients.txt")
    );
    assert_eq!(table["max_upload_bytes"].as_str(), Some("1GiB"));
    assert_eq!(table["max_concurrent_uploads"].as_integer(), Some(8));
    assert!(table["org_name"].as_str().is_some());
    // The operator (or install.sh) fills in the onion address: present, commented out.
    assert!(text
        .lines()
        .any(|l| l.starts_with("# onion_address = \"(filled in by install.sh")));
}

#[test]
fn check_accepts_the_production_config() {
    let dir = tempfile::tempdir().unwrap();
    let recipients = dir.path().join("recipients.txt");
    let key = age::x25519::Identity::generate().to_public().to_string();
    std::fs::write(&recipients, format!("# reviewer A (test)\n{key}\n")).unwrap();
    let data = dir.path().join("data");
    let out = check_with(&recipients, &data);
    assert!(out.status.success(), "check: {}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("config: ok"), "{}", show(&out));
    assert!(stdout.contains("reviewer keys: 1 in"), "{}", show(&out));
    assert!(
        stdout.contains("ready to serve on 127.0.0.1:8080"),
        "{}",
        show(&out)
    );
    // Host warnings (swap, core dumps) are printed, never fatal.
    for l in stdout.lines().filter(|l| l.contains("warning")) {
        assert!(l.starts_with("warning: "), "{l}");
    }
    print!("{stdout}");

    // With the onion address filled in, as install.sh does.
    let onion = format!("{}.onion", "a".repeat(56));
    let text = read("witness-drop.toml").replace(
        "# onion_address = \"(filled in by install.sh from /var/lib/tor/witness-drop/hostname)\"",
        &format!("onion_address = \"{onion}\""),
    );
    assert!(text.contains(&onion));
    let config = dir.path().join("witness-drop.toml");
    std::fs::write(&config, text).unwrap();
    let out = Command::new(util::DROP)
        .arg("check")
        .arg("--config")
        .arg(&config)
        .env("WITNESS_DROP_RECIPIENTS", &recipients)
        .env("WITNESS_DROP_DATA_DIR", &data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check with onion_address: {}",
        show(&out)
    );
}

#[test]
fn check_refuses_the_production_config_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let recipients = dir.path().join("recipients.txt");
    std::fs::write(
        &recipients,
        "# witness-drop reviewer keys\n# one age1… line per reviewer\n\n",
    )
    .unwrap();
    let out = check_with(&recipients, &dir.path().join("data"));
    assert!(
        !out.status.success(),
        "check passed with no key: {}",
        show(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no reviewer key") && stderr.contains("witness-review keygen"),
        "unclear message: {}",
        show(&out)
    );
}

#[test]
fn check_warns_about_core_dumps_but_passes() {
    use witness_drop::server::operator::hardening::{core_target, CoreTarget};

    let dir = tempfile::tempdir().unwrap();
    let recipients = dir.path().join("recipients.txt");
    let key = age::x25519::Identity::generate().to_public().to_string();
    std::fs::write(&recipients, format!("{key}\n")).unwrap();
    // Raise the soft core limit as far as the hard limit allows, then run check.
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -S -c "$(ulimit -H -c)" && ulimit -c && exec "$0" check --config "$1""#)
        .arg(util::DROP)
        .arg(deploy("witness-drop.toml"))
        .env("WITNESS_DROP_RECIPIENTS", &recipients)
        .env("WITNESS_DROP_DATA_DIR", dir.path().join("data"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "check must pass with warnings: {}",
        show(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let limit = stdout.lines().next().unwrap_or("");
    let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
    let dumps_possible = match core_target(&pattern) {
        CoreTarget::Disabled => false,
        CoreTarget::Pipe(_) => true,
        CoreTarget::File(_) | CoreTarget::SystemdCoredump => limit != "0",
    };
    let warned = stdout
        .lines()
        .any(|l| l.starts_with("warning: ") && l.contains("core"));
    assert_eq!(
        warned,
        dumps_possible,
        "soft core limit {limit}, core_pattern {:?}: {}",
        pattern.trim(),
        show(&out)
    );
    assert!(stdout.contains("ready to serve"), "{}", show(&out));
}

#[test]
fn install_sh_passes_bash_n_and_shellcheck() {
    let script = deploy("install.sh");
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#!/usr/bin/env bash\n"));
    assert!(text.contains("\nset -euo pipefail\n"));
    // Nothing is fetched from anywhere but Debian's archive.
    for banned in ["curl", "wget", "| sh", "|sh", "| bash", "git clone"] {
        assert!(!text.contains(banned), "install.sh contains `{banned}`");
    }
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&script).unwrap().permissions());
    assert!(mode & 0o111 != 0, "install.sh is not executable");

    let out = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(out.status.success(), "bash -n: {}", show(&out));

    if !util::require_tool("shellcheck", "install_sh_passes_bash_n_and_shellcheck") {
        return;
    }
    let out = Command::new("shellcheck").arg(&script).output().unwrap();
    assert!(out.status.success(), "shellcheck: {}", show(&out));
}
