//! `witness-review keygen`: the identity file it writes, with and without a passphrase, and that
//! the reference `age` reads it.

use std::fs;
use std::process::Command;

use witness_drop::envelope::Envelope;

use crate::fixtures::{build_export, keygen_plain, recipient_from, Sub};
#[cfg(unix)]
use crate::util::mode;
use crate::util::{decrypt, reference_age_missing, review, stderr, stdout};

#[test]
fn keygen_without_passphrase_writes_0600_file_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("reviewer.txt");
    let o = review()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&key)
        .show_folder(tmp.path())
        .ok();
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

    review()
        .args(["keygen", "--no-passphrase", "--out"])
        .arg(&key)
        .show_folder(tmp.path())
        .fails_with("already exists");
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
    let o = review()
        .env("WITNESS_REVIEW_PASSPHRASE", pass)
        .args(["keygen", "--out"])
        .arg(&key)
        .show_folder(tmp.path())
        .ok();
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

    let wrong = decrypt(&key, &built.dir, &out)
        .env("WITNESS_REVIEW_PASSPHRASE", "not it")
        .fails_with("wrong passphrase");
    assert_eq!(stderr(&wrong).lines().count(), 1, "{}", stderr(&wrong));
    assert!(!out.exists());

    decrypt(&key, &built.dir, &out)
        .env("WITNESS_REVIEW_PASSPHRASE", pass)
        .ok();
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
    review()
        .env("WITNESS_REVIEW_PASSPHRASE", "")
        .args(["keygen", "--out"])
        .arg(&key)
        .show_folder(tmp.path())
        .fails_with("passphrase is empty");
    assert!(!key.exists());
}

#[test]
fn reference_age_decrypts_with_a_keygen_identity() {
    if reference_age_missing("reference_age_decrypts_with_a_keygen_identity") {
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
