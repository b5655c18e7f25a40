//! Decrypting an export into a case folder against the reference: `witness-review decrypt` of a
//! one-submission export holding one large attachment, against `age -d -i KEY` of the same
//! `file-1.age` with its output fsynced, alternating, in the same run; medians of the runs.
//!
//! Run it with:
//!
//! ```text
//! cargo bench --bench decrypt                          # 1 GiB, 5 runs each
//! DECRYPT_SIZE=256MiB DECRYPT_RUNS=3 cargo bench --bench decrypt
//! ```
//!
//! The export is written into a temporary folder of the current folder's filesystem (the
//! package root under cargo), so both read it from the page cache after the first run; each
//! run writes to a new folder and both fsync what they write; before each timed run the disk
//! is synced and left a second, so that no run pays for deleting the one before. Needs
//! Debian's `age`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use age::secrecy::ExposeSecret;
use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};
use witness_drop::envelope::{Attachment, Envelope, Sealer, SourceInfo, ENVELOPE_FORMAT};
use witness_drop::export::{
    file_blob_name, new_id, LedgerHead, Manifest, ENVELOPE_BLOB, EXPORT_FORMAT, MANIFEST,
};
use witness_drop::ledger::{BlobDigest, LedgerEntry, GENESIS};
use witness_drop::util::size::{human_size, parse_size};

const DAY: &str = "2026-12-01";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("benchmark failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Seals `size` bytes of a repeating pattern (or `data`) into `path`; returns the blob digest
/// and the plaintext's SHA-256.
fn seal(
    r: &age::x25519::Recipient,
    path: &Path,
    size: u64,
    data: Option<&[u8]>,
) -> Result<(BlobDigest, String)> {
    let file = std::fs::File::create(path)?;
    let mut sealer = Sealer::new(std::slice::from_ref(r), file)?;
    let mut plain = Sha256::new();
    match data {
        Some(d) => {
            sealer.write_all(d)?;
            plain.update(d);
        }
        None => {
            let chunk: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8).collect();
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len() as u64) as usize;
                sealer.write_all(&chunk[..n])?;
                plain.update(&chunk[..n]);
                left -= n as u64;
            }
        }
    }
    let (file, _, cipher) = sealer.finish()?;
    file.sync_all()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((
        BlobDigest {
            name,
            size: cipher.size,
            sha256: cipher.sha256,
        },
        hex::encode(plain.finalize()),
    ))
}

/// Writes a one-submission export with one attachment of `size` bytes into `dir`.
fn build_export(dir: &Path, r: &age::x25519::Recipient, size: u64) -> Result<()> {
    let id = new_id().map_err(|e| anyhow::anyhow!("random: {e}"))?;
    let folder = dir.join(&id);
    std::fs::create_dir_all(&folder)?;
    let (file_blob, file_sha) = seal(r, &folder.join(file_blob_name(1)), size, None)?;
    let envelope = Envelope {
        format: ENVELOPE_FORMAT.into(),
        id: id.clone(),
        received_at: format!("{DAY}T10:00:00Z"),
        message: "benchmark".into(),
        attachments: vec![Attachment {
            n: 1,
            name: "large.bin".into(),
            content_type: "application/octet-stream".into(),
            size,
            sha256: file_sha,
        }],
        source: Some(SourceInfo {
            reference: new_id().map_err(|e| anyhow::anyhow!("random: {e}"))?,
            designation: "amber heron".into(),
            reply_recipient: age::x25519::Identity::generate().to_public().to_string(),
        }),
        reviewers: vec![r.to_string()],
        testimony: None,
    };
    let json = serde_json::to_vec(&envelope)?;
    let (env_blob, _) = seal(r, &folder.join(ENVELOPE_BLOB), 0, Some(&json))?;
    let blobs = vec![env_blob, file_blob];
    let entry = LedgerEntry::new(0, GENESIS, &id, DAY, blobs.clone());
    let manifest = Manifest {
        format: EXPORT_FORMAT.into(),
        exported_day: DAY.into(),
        ledger_head: Some(LedgerHead {
            seq: 0,
            hash: entry.hash.clone(),
        }),
        ledger: vec![entry.clone()],
        submissions: vec![witness_drop::export::ExportedSubmission {
            id,
            received_day: DAY.into(),
            blobs,
            ledger: entry,
        }],
    };
    std::fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(&manifest)?)?;
    Ok(())
}

/// Before each timed run: the previous run's output is deleted, so let the disk write back
/// and discard it first (`sync`, then a second), so no run pays for the one before.
fn settle() {
    rustix::fs::sync();
    std::thread::sleep(std::time::Duration::from_secs(1));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run() -> Result<()> {
    let size = match std::env::var("DECRYPT_SIZE") {
        Ok(s) => parse_size(&s).context("DECRYPT_SIZE")?,
        Err(_) => 1 << 30,
    };
    let runs: usize = match std::env::var("DECRYPT_RUNS") {
        Ok(s) => s.parse().context("DECRYPT_RUNS")?,
        Err(_) => 5,
    };
    if Command::new("age").arg("--version").output().is_err() {
        bail!("`age` is not installed (Debian: apt-get install age)");
    }
    let review = PathBuf::from(env!("CARGO_BIN_EXE_witness-review"));
    let tmp = tempfile::tempdir_in(".")?;
    let identity = age::x25519::Identity::generate();
    let key = tmp.path().join("key.txt");
    std::fs::write(&key, format!("{}\n", identity.to_string().expose_secret()))?;
    let export = tmp.path().join("export");
    println!("building a {} export...", human_size(size));
    build_export(&export, &identity.to_public(), size)?;
    let blob = std::fs::read_dir(&export)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .context("no submission folder")?
        .join(file_blob_name(1));

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..runs {
        let out = tmp.path().join(format!("age-out-{i}"));
        settle();
        let t = Instant::now();
        let st = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&key)
            .arg("-o")
            .arg(&out)
            .arg(&blob)
            .status()?;
        if !st.success() {
            bail!("age -d failed");
        }
        std::fs::File::open(&out)?.sync_all()?;
        theirs.push(t.elapsed().as_secs_f64());
        std::fs::remove_file(&out)?;

        let case = tmp.path().join(format!("case-{i}"));
        settle();
        let t = Instant::now();
        let st = Command::new(&review)
            .args(["decrypt", "--identity"])
            .arg(&key)
            .arg("--in")
            .arg(&export)
            .arg("--out")
            .arg(&case)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        if !st.success() {
            bail!("witness-review decrypt failed");
        }
        ours.push(t.elapsed().as_secs_f64());
        std::fs::remove_dir_all(&case)?;
        println!(
            "run {}: age -d + fsync {:.2} s, witness-review decrypt {:.2} s",
            i + 1,
            theirs[i],
            ours[i]
        );
    }
    if std::env::var_os("DECRYPT_KEEP").is_some() {
        println!("kept {}", tmp.keep().display());
    }
    let (a, o) = (median(theirs), median(ours));
    println!(
        "{}: median of {runs}: age -d + fsync {a:.2} s ({:.0} MiB/s), witness-review decrypt {o:.2} s ({:.0} MiB/s): ratio {:.2} (target at most 1.10)",
        human_size(size),
        size as f64 / a / 1048576.0,
        size as f64 / o / 1048576.0,
        o / a
    );
    Ok(())
}
