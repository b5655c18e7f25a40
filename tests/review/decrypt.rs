//! `witness-review decrypt`: the files it writes (bytes, names, modes), that nothing escapes the
//! output folder or is overwritten, and what it does with a wrong key or a lying envelope.

use std::collections::BTreeSet;
use std::fs;

use sha2::{Digest, Sha256};
use witness_drop::envelope::Envelope;
use witness_drop::review::decrypt::DecryptedSubmission;

use crate::fixtures::{build_export, keygen_plain, simple_setup, Sub, DAY};
#[cfg(unix)]
use crate::util::mode;
use crate::util::{decrypt, decrypted_entries, stderr, stdout, tree};

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

    let o = decrypt(&key, &built.dir, &out).ok();
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
    let again = decrypt(&key, &built.dir, &out).ok();
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
    decrypt(&other, &built.dir, &out).fails_with("not encrypted to your key");
    // Nothing was kept, so a run with the right key can still write them.
    assert!(
        decrypted_entries(&out).is_empty(),
        "{:?}",
        decrypted_entries(&out)
    );
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
    decrypt(&key, &built.dir, &out).fails_with("attachment 2 does not match");
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
