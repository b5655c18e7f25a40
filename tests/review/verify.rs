//! `witness-review verify`: an intact export passes with its summary; a changed, missing,
//! reordered, symlinked or hostile part fails, every problem is reported, and `decrypt` then
//! refuses to write anything.

use std::fs;
use std::path::Path;

use crate::fixtures::{build_export, keygen_plain, rechain, simple_setup, write_manifest, Sub};
use crate::util::{decrypt, decrypted_entries, review, stderr, stdout, TestCommand};

fn verify(export: &Path) -> TestCommand {
    let mut cmd = review();
    cmd.arg("verify")
        .arg("--in")
        .arg(export)
        .show_folder(export);
    cmd
}

/// Re-hashes the whole chain after a test edited entries, as a capable attacker would, and
/// copies the entries into the submissions.
#[test]
fn verify_accepts_an_intact_export_and_prints_the_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let o = verify(&built.dir).ok();
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

    let o = verify(&built.dir).fails_with("file-1.age does not match its sha256");
    assert!(stdout(&o).contains("2 submissions, 3 blobs verified"));

    // Decrypt reads the ciphertext once, checking each hash as it decrypts: the altered
    // submission is not kept at all, the other one is.
    let out = tmp.path().join("out");
    decrypt(&key, &built.dir, &out).fails_with("1 submission(s) could not be decrypted");
    assert_eq!(decrypted_entries(&out), vec![built.ids[0].clone()]);
}

#[test]
fn verify_fails_on_a_removed_submission() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    fs::remove_dir_all(built.dir.join(&built.ids[0])).unwrap();
    verify(&built.dir).fails_with("folder is missing");
}

#[test]
fn verify_fails_on_a_reordered_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let mut m = built.manifest.clone();
    m.ledger.swap(0, 1);
    write_manifest(&built.dir, &m);
    let o = verify(&built.dir).fails_with("ledger");
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
    let o = verify(&built.dir).fails_with("unlisted file extra.exe");
    let err = stderr(&o);
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
    verify(&built.dir).fails_with("not a regular file");
}

#[test]
fn verify_refuses_an_unknown_format() {
    let tmp = tempfile::tempdir().unwrap();
    let (_key, built) = simple_setup(tmp.path());
    let mut m = built.manifest.clone();
    m.format = "witness-drop-export/2".into();
    write_manifest(&built.dir, &m);
    verify(&built.dir).fails_with("expected witness-drop-export/1");
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

    let o = verify(&built.dir).fails_with("invalid id");
    assert!(
        stderr(&o).contains("invalid id ../../evil: refusing"),
        "{}",
        stderr(&o)
    );

    let out = root.join("out");
    decrypt(&key, &built.dir, &out).fails_with("refusing to decrypt anything");
    assert!(decrypted_entries(&out).is_empty());
    let log = fs::read_to_string(out.join("custody.log")).unwrap();
    assert!(log.contains("\"event\":\"export_refused\""), "{log}");
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
    verify(&built.dir).fails_with("blob 2 is ../../../key.txt, expected file-1.age");
}
