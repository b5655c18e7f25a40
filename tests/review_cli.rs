//! End-to-end tests of the `witness-review` binary on synthetic exports.
//!
//! Exports are built here without the server, from the crate's own building blocks (the
//! `Sealer` that encrypts submissions, `LedgerEntry::new` for the chain, `Manifest` for
//! `export.json`), so these tests run with `--no-default-features`. Each test works in its
//! own temporary folder and asserts what a reviewer would check: exit status, files written,
//! their bytes and modes, and that nothing escapes the output folder or is overwritten.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};
use witness_drop::envelope::{Attachment, Envelope, Sealer, SourceInfo, ENVELOPE_FORMAT};
use witness_drop::export::{
    file_blob_name, new_id, LedgerHead, Manifest, ENVELOPE_BLOB, EXPORT_FORMAT, MANIFEST,
};
use witness_drop::ledger::{BlobDigest, LedgerEntry, GENESIS};
use witness_drop::review::decrypt::DecryptedSubmission;

const DAY: &str = "2026-11-29";

// ---------------------------------------------------------------------------------------------
// Helpers

/// The binary, with a clean environment for passphrases and no stdin.
fn review() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_witness-review"));
    c.env_remove("WITNESS_REVIEW_PASSPHRASE")
        .stdin(Stdio::null());
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run witness-review")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(
        o.status.success(),
        "expected success\nstdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

fn assert_fails_with(o: &Output, needle: &str) {
    assert!(
        !o.status.success(),
        "expected failure\nstdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
    assert!(
        stderr(o).contains(needle),
        "stderr lacks {needle:?}:\n{}",
        stderr(o)
    );
    // The final reason is one line.
    let last = stderr(o).lines().last().unwrap_or("").to_owned();
    assert!(last.starts_with("witness-review: error: "), "{last}");
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// Runs `keygen --no-passphrase` and returns the recipient it printed.
fn keygen_plain(path: &Path) -> age::x25519::Recipient {
    let o = run(review()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(path));
    assert_ok(&o);
    recipient_from(&o)
}

fn recipient_from(o: &Output) -> age::x25519::Recipient {
    let out = stdout(o);
    let line = out
        .lines()
        .find(|l| l.starts_with("age1"))
        .unwrap_or_else(|| panic!("no age1 line in {out:?}"));
    line.parse().unwrap()
}

/// One submission to put in a synthetic export.
struct Sub {
    message: String,
    files: Vec<(String, Vec<u8>)>,
    /// Lets a test write an envelope that lies about its attachments.
    tamper_envelope: Option<fn(&mut Envelope)>,
}

impl Sub {
    fn new(message: &str, files: Vec<(&str, Vec<u8>)>) -> Sub {
        Sub {
            message: message.to_owned(),
            files: files.into_iter().map(|(n, b)| (n.to_owned(), b)).collect(),
            tamper_envelope: None,
        }
    }
}

/// What a test needs to know about the export it built.
struct Built {
    dir: PathBuf,
    ids: Vec<String>,
    manifest: Manifest,
}

fn seal(recipients: &[age::x25519::Recipient], data: &[u8], path: &Path) -> BlobDigest {
    let file = fs::File::create(path).unwrap();
    let mut s = Sealer::new(recipients, file).unwrap();
    for chunk in data.chunks(10_000) {
        s.write_all(chunk).unwrap();
    }
    let (file, _plain, cipher) = s.finish().unwrap();
    file.sync_all().unwrap();
    BlobDigest {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        size: cipher.size,
        sha256: cipher.sha256,
    }
}

/// Writes an export of `subs`, encrypted to `recipients`, into `dir`.
fn build_export(dir: &Path, recipients: &[age::x25519::Recipient], subs: &[Sub]) -> Built {
    fs::create_dir_all(dir).unwrap();
    let mut ledger: Vec<LedgerEntry> = Vec::new();
    let mut submissions = Vec::new();
    let mut ids = Vec::new();
    for (i, sub) in subs.iter().enumerate() {
        let id = new_id().unwrap();
        let folder = dir.join(&id);
        fs::create_dir(&folder).unwrap();
        let mut attachments = Vec::new();
        let mut file_blobs = Vec::new();
        for (k, (name, bytes)) in sub.files.iter().enumerate() {
            let n = u32::try_from(k + 1).unwrap();
            file_blobs.push(seal(recipients, bytes, &folder.join(file_blob_name(n))));
            attachments.push(Attachment {
                n,
                name: name.clone(),
                content_type: "application/octet-stream".into(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
            });
        }
        let mut envelope = Envelope {
            format: ENVELOPE_FORMAT.into(),
            id: id.clone(),
            received_at: format!("{DAY}T10:11:12Z"),
            message: sub.message.clone(),
            attachments,
            source: Some(SourceInfo {
                reference: "ref-1".into(),
                designation: "amber heron".into(),
                reply_recipient: age::x25519::Identity::generate().to_public().to_string(),
            }),
            reviewers: vec![],
        };
        if let Some(f) = sub.tamper_envelope {
            f(&mut envelope);
        }
        let json = serde_json::to_vec(&envelope).unwrap();
        let mut blobs = vec![seal(recipients, &json, &folder.join(ENVELOPE_BLOB))];
        blobs.extend(file_blobs);
        let prev = ledger.last().map_or(GENESIS.to_owned(), |e| e.hash.clone());
        let entry = LedgerEntry::new(i as u64, &prev, &id, DAY, blobs.clone());
        ledger.push(entry.clone());
        submissions.push(witness_drop::export::ExportedSubmission {
            id: id.clone(),
            received_day: DAY.into(),
            blobs,
            ledger: entry,
        });
        ids.push(id);
    }
    let manifest = Manifest {
        format: EXPORT_FORMAT.into(),
        exported_day: DAY.into(),
        ledger_head: ledger.last().map(|e| LedgerHead {
            seq: e.seq,
            hash: e.hash.clone(),
        }),
        ledger,
        submissions,
    };
    write_manifest(dir, &manifest);
    Built {
        dir: dir.to_path_buf(),
        ids,
        manifest,
    }
}

fn write_manifest(dir: &Path, m: &Manifest) {
    fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(m).unwrap()).unwrap();
}

/// Re-hashes the whole chain after a test edited entries, as a capable attacker would, and
/// copies the entries into the submissions.
fn rechain(m: &mut Manifest) {
    let mut prev = GENESIS.to_owned();
    for e in &mut m.ledger {
        *e = LedgerEntry::new(e.seq, &prev, &e.id, &e.day, e.blobs.clone());
        prev = e.hash.clone();
    }
    for s in &mut m.submissions {
        if let Some(e) = m.ledger.iter().find(|e| e.seq == s.ledger.seq) {
            s.ledger = e.clone();
        }
    }
    m.ledger_head = m.ledger.last().map(|e| LedgerHead {
        seq: e.seq,
        hash: e.hash.clone(),
    });
}

fn decrypt(key: &Path, export: &Path, out: &Path) -> Output {
    run(review()
        .arg("decrypt")
        .arg("--identity")
        .arg(key)
        .arg("--in")
        .arg(export)
        .arg("--out")
        .arg(out))
}

fn verify(export: &Path) -> Output {
    run(review().arg("verify").arg("--in").arg(export))
}

/// Every path under `root`, relative, sorted (symbolic links are listed, not followed).
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            out.insert(path.strip_prefix(root).unwrap().to_path_buf());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// A small export with one ordinary submission and a key for it.
fn simple_setup(tmp: &Path) -> (PathBuf, Built) {
    let key = tmp.join("key.txt");
    let r = keygen_plain(&key);
    let built = build_export(
        &tmp.join("export"),
        &[r],
        &[
            Sub::new("first", vec![("a.txt", b"alpha".to_vec())]),
            Sub::new("second", vec![("b.bin", vec![7u8; 70_000])]),
        ],
    );
    (key, built)
}

// ---------------------------------------------------------------------------------------------
// keygen

#[test]
fn keygen_without_passphrase_writes_0600_file_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("reviewer.txt");
    let o = run(review()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&key));
    assert_ok(&o);
    let r = recipient_from(&o);
    assert!(stdout(&o).contains("keys/recipients.txt"));

    let text = fs::read_to_string(&key).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# created: 20") && lines[0].ends_with('Z'));
    assert_eq!(lines[1], format!("# public key: {r}"));
    let id: age::x25519::Identity = lines[2].parse().unwrap();
    assert_eq!(id.to_public().to_string(), r.to_string());
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    // Everything printed on stdout is valid in a recipients file.
    witness_drop::keys::parse_recipients(&stdout(&o), "stdout").unwrap();

    let again = run(review()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&key));
    assert_fails_with(&again, "already exists");
    assert_eq!(
        fs::read_to_string(&key).unwrap(),
        text,
        "key was overwritten"
    );
}

/// The one test that pays for scrypt: a passphrase-protected identity from keygen decrypts an
/// export with the right passphrase and is refused, in one line, with a wrong one.
#[test]
fn keygen_with_passphrase_protects_the_key_and_decrypt_uses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("reviewer.age");
    let pass = "correct horse battery staple";
    let o = run(review()
        .env("WITNESS_REVIEW_PASSPHRASE", pass)
        .args(["keygen", "--out"])
        .arg(&key));
    assert_ok(&o);
    let r = recipient_from(&o);
    let text = fs::read_to_string(&key).unwrap();
    assert!(
        text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{text}"
    );
    assert!(!text.contains("AGE-SECRET-KEY"));
    #[cfg(unix)]
    assert_eq!(mode(&key), 0o600);

    let built = build_export(
        &tmp.path().join("export"),
        &[r],
        &[Sub::new("hello", vec![("x.txt", b"x".to_vec())])],
    );
    let out = tmp.path().join("out");

    let wrong = run(review()
        .env("WITNESS_REVIEW_PASSPHRASE", "not it")
        .arg("decrypt")
        .arg("--identity")
        .arg(&key)
        .arg("--in")
        .arg(&built.dir)
        .arg("--out")
        .arg(&out));
    assert_fails_with(&wrong, "wrong passphrase");
    assert_eq!(stderr(&wrong).lines().count(), 1, "{}", stderr(&wrong));
    assert!(!out.exists());

    let ok = run(review()
        .env("WITNESS_REVIEW_PASSPHRASE", pass)
        .arg("decrypt")
        .arg("--identity")
        .arg(&key)
        .arg("--in")
        .arg(&built.dir)
        .arg("--out")
        .arg(&out));
    assert_ok(&ok);
    let id = &built.ids[0];
    assert_eq!(
        fs::read_to_string(out.join(id).join("message.txt")).unwrap(),
        "hello"
    );
    assert_eq!(fs::read(out.join(id).join("files/1-x.txt")).unwrap(), b"x");
}

#[test]
fn keygen_refuses_an_empty_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("k");
    let o = run(review()
        .env("WITNESS_REVIEW_PASSPHRASE", "")
        .args(["keygen", "--out"])
        .arg(&key));
    assert_fails_with(&o, "passphrase is empty");
    assert!(!key.exists());
}

#[test]
fn reference_age_decrypts_with_a_keygen_identity() {
    if Command::new("age").arg("--version").output().is_err() {
        if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("reference age not installed and WITNESS_DROP_REQUIRE_TOOLS=1");
        }
        println!(
            "SKIPPED: reference_age_decrypts_with_a_keygen_identity: reference age not installed"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let content: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let built = build_export(
        &tmp.path().join("export"),
        &[r],
        &[Sub::new("for age", vec![("doc.pdf", content.clone())])],
    );
    let folder = built.dir.join(&built.ids[0]);
    let o = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(folder.join("file-1.age"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.stdout, content);
    let o = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(folder.join("envelope.age"))
        .output()
        .unwrap();
    assert!(o.status.success());
    let env: Envelope = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(env.message, "for age");
}

// ---------------------------------------------------------------------------------------------
// decrypt

#[test]
fn decrypt_writes_byte_identical_files_with_safe_distinct_names_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let long = format!("{}.pdf", "n".repeat(1000));
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("../../evil.txt", b"evil".to_vec()),
        ("/etc/passwd", b"root:x:0:0".to_vec()),
        ("C:\\Windows\\system32\\x.dll", b"MZ".to_vec()),
        (".hidden", b"hidden".to_vec()),
        ("..", b"dotdot".to_vec()),
        ("", b"empty name".to_vec()),
        ("invoice\u{202E}gpj.exe", b"not an image".to_vec()),
        ("nul\0byte\n.txt", b"nul".to_vec()),
        ("same.txt", b"first same".to_vec()),
        ("same.txt", b"second same".to_vec()),
        ("CON", b"device".to_vec()),
        (long.as_str(), b"long".to_vec()),
        ("big.bin", big.clone()),
        ("zero.txt", Vec::new()),
        ("Фото şəkil.jpg", b"\xff\xd8\xff".to_vec()),
    ];
    let originals: Vec<Vec<u8>> = hostile.iter().map(|(_, b)| b.clone()).collect();
    let root = tmp.path().join("a").join("b");
    let built = build_export(
        &root.join("export"),
        &[r],
        &[
            Sub::new("Salam,\nthis is my testimony.\n", hostile),
            Sub::new("no files here", vec![]),
        ],
    );
    let out = root.join("out");
    let before = tree(tmp.path());

    let o = decrypt(&key, &built.dir, &out);
    assert_ok(&o);
    assert!(
        stdout(&o).contains("decrypted 2 submission(s), 15 file(s)"),
        "{}",
        stdout(&o)
    );

    // Nothing appeared outside OUT_DIR.
    let after = tree(tmp.path());
    let outside: Vec<_> = after
        .difference(&before)
        .filter(|p| !p.starts_with("a/b/out"))
        .collect();
    assert!(outside.is_empty(), "written outside OUT_DIR: {outside:?}");

    let id = &built.ids[0];
    let sub_dir = out.join(id);
    assert_eq!(
        fs::read_to_string(sub_dir.join("message.txt")).unwrap(),
        "Salam,\nthis is my testimony.\n"
    );
    let record: DecryptedSubmission =
        serde_json::from_slice(&fs::read(sub_dir.join("submission.json")).unwrap()).unwrap();
    assert_eq!(record.envelope.id, *id);
    assert!(record.verified.ciphertext_sha256_ok && record.verified.plaintext_sha256_ok);
    assert_eq!(record.verified.ledger_entry.seq, 0);
    assert_eq!(
        record.verified.ledger_entry.hash,
        built.manifest.ledger[0].hash
    );
    assert_eq!(record.verified.export_day, DAY);
    assert!(record.verified.problems.is_empty());
    assert_eq!(record.verified.files.len(), 15);

    // Exactly one regular file per attachment, directly in files/, distinct names, N- prefix,
    // and the bytes of the original.
    let files_dir = sub_dir.join("files");
    let mut names = BTreeSet::new();
    for entry in fs::read_dir(&files_dir).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file());
        names.insert(entry.file_name().into_string().unwrap());
    }
    assert_eq!(names.len(), 15, "{names:?}");
    for (k, original) in originals.iter().enumerate() {
        let n = k + 1;
        let written = &record.verified.files[k];
        assert_eq!(written.n as usize, n);
        let name = written.path.strip_prefix("files/").unwrap();
        assert!(name.starts_with(&format!("{n}-")), "{name}");
        assert!(names.contains(name), "{name} not on disk");
        assert!(name.len() <= 170);
        assert!(
            !name.chars().any(|c| c.is_control() || c == '\u{202E}'),
            "{name:?}"
        );
        assert_eq!(&fs::read(files_dir.join(name)).unwrap(), original, "{name}");
        #[cfg(unix)]
        assert_eq!(mode(&files_dir.join(name)), 0o600);
    }
    assert!(names.contains("1-evil.txt"));
    assert!(names.contains("2-passwd"));
    assert!(names.contains("4-hidden"));
    assert!(names.contains("7-invoicegpj.exe"));
    assert!(names.contains("9-same.txt") && names.contains("10-same.txt"));
    assert!(names.contains("11-_CON"));
    #[cfg(unix)]
    {
        assert_eq!(mode(&sub_dir), 0o700);
        assert_eq!(mode(&files_dir), 0o700);
        assert_eq!(mode(&sub_dir.join("submission.json")), 0o600);
    }

    let empty = out.join(&built.ids[1]);
    assert_eq!(
        fs::read_to_string(empty.join("message.txt")).unwrap(),
        "no files here"
    );
    assert_eq!(fs::read_dir(empty.join("files")).unwrap().count(), 0);

    // A second run into the same OUT_DIR overwrites nothing, even files the reviewer edited.
    fs::write(sub_dir.join("message.txt"), "reviewer notes").unwrap();
    fs::write(files_dir.join("1-evil.txt"), "changed by reviewer").unwrap();
    let snapshot = tree(&out);
    let again = decrypt(&key, &built.dir, &out);
    assert_ok(&again);
    assert!(
        stderr(&again).contains("already decrypted, not overwriting"),
        "{}",
        stderr(&again)
    );
    assert!(stdout(&again).contains("decrypted 0 submission(s)"));
    assert!(stdout(&again).contains("2 skipped"));
    assert_eq!(tree(&out), snapshot);
    assert_eq!(
        fs::read_to_string(sub_dir.join("message.txt")).unwrap(),
        "reviewer notes"
    );
    assert_eq!(
        fs::read_to_string(files_dir.join("1-evil.txt")).unwrap(),
        "changed by reviewer"
    );
}

#[test]
fn decrypt_with_the_wrong_key_fails_and_leaves_no_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let other = tmp.path().join("other.txt");
    keygen_plain(&other);
    let out = tmp.path().join("out");
    let o = decrypt(&other, &built.dir, &out);
    assert_fails_with(&o, "not encrypted to your key");
    // The claimed folders were released, so a run with the right key can still write them.
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0);
}

#[test]
fn attachment_that_does_not_match_its_envelope_is_not_written() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let mut sub = Sub::new(
        "m",
        vec![("good.txt", b"good".to_vec()), ("bad.txt", b"bad".to_vec())],
    );
    sub.tamper_envelope = Some(|e: &mut Envelope| {
        e.attachments[1].sha256 = hex::encode(Sha256::digest(b"something else"));
    });
    let built = build_export(&tmp.path().join("export"), &[r], &[sub]);
    let out = tmp.path().join("out");
    let o = decrypt(&key, &built.dir, &out);
    assert_fails_with(&o, "attachment 2 does not match");
    let sub_dir = out.join(&built.ids[0]);
    let names: Vec<String> = fs::read_dir(sub_dir.join("files"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["1-good.txt".to_owned()],
        "no partial or bad file kept"
    );
    let record: DecryptedSubmission =
        serde_json::from_slice(&fs::read(sub_dir.join("submission.json")).unwrap()).unwrap();
    assert!(!record.verified.plaintext_sha256_ok);
    assert!(record.verified.ciphertext_sha256_ok);
    assert_eq!(record.verified.problems.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// verify

#[test]
fn verify_accepts_an_intact_export_and_prints_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let o = verify(&built.dir);
    assert_ok(&o);
    let head = &built.manifest.ledger[1].hash;
    assert!(
        stdout(&o).contains(&format!(
            "2 submissions, 4 blobs verified, ledger head seq 1 hash {head}"
        )),
        "{}",
        stdout(&o)
    );
}

#[test]
fn verify_fails_on_one_changed_ciphertext_byte_and_decrypt_refuses() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, built) = simple_setup(tmp.path());
    let blob = built.dir.join(&built.ids[1]).join("file-1.age");
    let mut bytes = fs::read(&blob).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&blob, bytes).unwrap();

    let o = verify(&built.dir);
    assert_fails_with(&o, "file-1.age does not match its sha256");
    assert!(stdout(&o).contains("2 submissions, 3 blobs verified"));

    let out = tmp.path().join("out");
    let o = decrypt(&key, &built.dir, &out);
    assert_fails_with(&o, "refusing to decrypt anything");
    assert!(
        !out.exists(),
        "decrypt wrote something from a failed export"
    );
}

#[test]
fn verify_fails_on_a_removed_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    fs::remove_dir_all(built.dir.join(&built.ids[0])).unwrap();
    let o = verify(&built.dir);
    assert_fails_with(&o, "folder is missing");
}

#[test]
fn verify_fails_on_a_reordered_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let mut m = built.manifest.clone();
    m.ledger.swap(0, 1);
    write_manifest(&built.dir, &m);
    let o = verify(&built.dir);
    assert_fails_with(&o, "ledger");
    assert!(stderr(&o).contains("problem: ledger: "), "{}", stderr(&o));
}

#[test]
fn verify_reports_every_problem_not_only_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    // Three independent problems: an unlisted file, a reordered submission list, a truncated
    // blob.
    fs::write(built.dir.join(&built.ids[0]).join("extra.exe"), b"x").unwrap();
    let blob = built.dir.join(&built.ids[1]).join("envelope.age");
    let bytes = fs::read(&blob).unwrap();
    fs::write(&blob, &bytes[..bytes.len() - 1]).unwrap();
    let mut m = built.manifest.clone();
    m.submissions.swap(0, 1);
    write_manifest(&built.dir, &m);
    let o = verify(&built.dir);
    let err = stderr(&o);
    assert_fails_with(&o, "unlisted file extra.exe");
    assert!(err.contains("submissions were reordered"), "{err}");
    assert!(err.contains("envelope.age is"), "{err}");
}

#[cfg(unix)]
#[test]
fn verify_refuses_a_symlinked_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let blob = built.dir.join(&built.ids[0]).join("file-1.age");
    let moved = tmp.path().join("elsewhere.age");
    fs::rename(&blob, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &blob).unwrap();
    let o = verify(&built.dir);
    assert_fails_with(&o, "not a regular file");
}

#[test]
fn verify_refuses_an_unknown_format() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let mut m = built.manifest.clone();
    m.format = "witness-drop-export/2".into();
    write_manifest(&built.dir, &m);
    assert_fails_with(&verify(&built.dir), "expected witness-drop-export/1");
}

#[test]
fn hostile_id_in_export_json_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.txt");
    let r = keygen_plain(&key);
    let root = tmp.path().join("a").join("b");
    let built = build_export(
        &root.join("export"),
        &[r],
        &[Sub::new("m", vec![("f", b"f".to_vec())])],
    );
    // A capable attacker renames the submission and rebuilds a consistent chain.
    let mut m = built.manifest.clone();
    m.submissions[0].id = "../../evil".into();
    m.ledger[0].id = "../../evil".into();
    rechain(&mut m);
    write_manifest(&built.dir, &m);

    let o = verify(&built.dir);
    assert_fails_with(&o, "invalid id");
    assert!(
        stderr(&o).contains("invalid id ../../evil: refusing"),
        "{}",
        stderr(&o)
    );

    let out = root.join("out");
    let o = decrypt(&key, &built.dir, &out);
    assert_fails_with(&o, "refusing to decrypt anything");
    assert!(!out.exists());
    assert!(!tmp.path().join("a").join("evil").exists());
    assert!(!tmp.path().join("evil").exists());
}

#[test]
fn hostile_blob_name_in_export_json_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let mut m = built.manifest.clone();
    m.submissions[0].blobs[1].name = "../../../key.txt".into();
    m.ledger[0].blobs[1].name = "../../../key.txt".into();
    rechain(&mut m);
    write_manifest(&built.dir, &m);
    let o = verify(&built.dir);
    assert_fails_with(&o, "blob 2 is ../../../key.txt, expected file-1.age");
}
