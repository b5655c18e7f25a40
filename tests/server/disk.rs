//! What a seized disk shows (issue 13): sizes padded to buckets, times at midnight, and no
//! file or folder born after the server started.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use age::secrecy::ExposeSecret;

use crate::util::*;

/// Every ciphertext file under `data/blobs`, by submission, sorted by name.
fn blob_files(server: &Server) -> Vec<(PathBuf, u64)> {
    let mut out = BTreeMap::new();
    for sub in std::fs::read_dir(server.data().join("blobs")).unwrap() {
        for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let f = f.unwrap();
            out.insert(f.path(), f.metadata().unwrap().len());
        }
    }
    out.into_iter().collect()
}

#[test]
fn files_and_envelopes_of_near_sizes_take_the_same_room_and_age_returns_the_exact_bytes() {
    let server = Server::start(Opts::default());
    let mut sent = Vec::new();
    for (i, n) in [1000usize, 1001, 1_234_567, 1_234_600]
        .into_iter()
        .enumerate()
    {
        let content = random_bytes(n);
        // Messages of different lengths within one bucket.
        let message = "m".repeat(10 + 300 * i);
        let (status, page) = post_multipart(
            &server,
            "/en/submit",
            Multipart::for_form(&server, "/en/submit")
                .text("message", message.as_bytes())
                .file("f.bin", &content),
        );
        assert_eq!(status, 200, "{page}");
        sent.push(content);
        // One submission at a time, so the folders can be told apart by order of arrival.
        let files = blob_files(&server);
        assert_eq!(files.len(), 2 * (i + 1), "{files:?}");
    }
    let export = server.export("export");
    let manifest: witness_drop::export::Manifest =
        serde_json::from_slice(&std::fs::read(export.join("export.json")).unwrap()).unwrap();
    let mut envelope_sizes = Vec::new();
    let mut file_sizes = BTreeMap::new();
    for sub in &manifest.submissions {
        envelope_sizes.push(sub.blobs[0].size);
        let cipher = export.join(&sub.id).join("file-1.age");
        let size = std::fs::metadata(&cipher).unwrap().len();
        assert_eq!(size, sub.blobs[1].size);
        // The stored file has the exported size.
        let stored = server.data().join("blobs").join(&sub.id).join("1.age");
        assert_eq!(std::fs::metadata(&stored).unwrap().len(), size);
        if require_tool("age", "files_and_envelopes_of_near_sizes") {
            let key = server.path().join("age-key.txt");
            std::fs::write(&key, server.identity.to_string().expose_secret()).unwrap();
            let o = Command::new("age")
                .arg("-d")
                .arg("-i")
                .arg(&key)
                .arg(&cipher)
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let i = sent.iter().position(|s| *s == o.stdout);
            assert!(i.is_some(), "age -d returns exactly one of the files sent");
            file_sizes.insert(o.stdout.len(), size);
        }
    }
    assert!(
        envelope_sizes.windows(2).all(|w| w[0] == w[1]),
        "envelopes of messages of 10 to 910 bytes: {envelope_sizes:?}"
    );
    if !file_sizes.is_empty() {
        assert_eq!(file_sizes[&1000], file_sizes[&1001], "{file_sizes:?}");
        assert_eq!(
            file_sizes[&1_234_567], file_sizes[&1_234_600],
            "{file_sizes:?}"
        );
    }
    // No unpadded file is left behind (`exported` is the export marker).
    for (p, _) in blob_files(&server) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.ends_with(".age") || name == "exported", "{name}");
    }
}

/// 00:00 UTC today.
fn midnight() -> std::time::SystemTime {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(now - now % 86_400)
}

#[test]
fn after_submissions_every_entry_of_the_data_folder_shows_midnight_not_the_time() {
    let server = Server::start(Opts::default());
    for i in 0..3 {
        let (status, page) = post_multipart(
            &server,
            "/en/submit",
            Multipart::for_form(&server, "/en/submit")
                .text("message", format!("testimony {i}").as_bytes())
                .file("f.bin", &random_bytes(5000)),
        );
        assert_eq!(status, 200, "{page}");
    }
    let midnight = midnight();
    let mut checked = 0;
    let mut stack = vec![server.data()];
    let mut wrong = Vec::new();
    while let Some(dir) = stack.pop() {
        // Each folder's own times before it is read (listing it sets its access time).
        for path in std::iter::once(dir.clone()) {
            let m = std::fs::symlink_metadata(&path).unwrap();
            if m.modified().unwrap() != midnight || m.accessed().unwrap() != midnight {
                wrong.push(path.clone());
            }
            checked += 1;
        }
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let m = entry.metadata().unwrap();
            if m.is_dir() {
                stack.push(entry.path());
            } else if m.is_file() {
                if m.modified().unwrap() != midnight || m.accessed().unwrap() != midnight {
                    wrong.push(entry.path());
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "{checked}");
    assert!(wrong.is_empty(), "not at midnight: {wrong:?}");
}

/// Every entry under `root` (itself included), each folder listed after its own metadata was
/// taken (listing a folder sets its access time): `(path, metadata)`.
fn entries_with_metadata(root: &std::path::Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        out.push((dir.clone(), std::fs::symlink_metadata(&dir).unwrap()));
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let m = std::fs::symlink_metadata(entry.path()).unwrap();
            if m.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((entry.path(), m));
            }
        }
    }
    out
}

#[test]
fn nothing_in_the_data_folder_is_born_after_the_start_and_every_time_shows_midnight() {
    use crate::source::{codename_of, get_with, import, login, post_form, token_in, write_reply};
    use std::time::{Duration, SystemTime};
    const TEST: &str =
        "nothing_in_the_data_folder_is_born_after_the_start_and_every_time_shows_midnight";
    let server = Server::start(Opts::default());
    if std::fs::metadata(server.data())
        .and_then(|m| m.created())
        .is_err()
    {
        if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
            panic!("{TEST}: birth times not supported here (WITNESS_DROP_REQUIRE_TOOLS=1)");
        }
        eprintln!("SKIPPED: {TEST}: birth times not supported here");
        return;
    }
    let up = SystemTime::now();
    // Birth times have nanoseconds, but leave no doubt about which side of `up` they fall.
    std::thread::sleep(Duration::from_millis(1100));

    // A first submission with an attachment (a folder, the envelope, the attachment unpadded
    // then padded, the source's record and the ledger entry, each through a temporary).
    let (status, page) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"first testimony")
            .file("photo.jpg", &random_bytes(20_000)),
    );
    assert_eq!(status, 200, "{page}");
    let codename = codename_of(&page);
    // An export (the exported marker), and a reply imported (a journal file).
    let out = server.decrypt(&server.export("e1"), "d1");
    let replies = write_reply(&server, &only_submission(&out), "a reply", "r");
    assert!(import(&server, &replies).contains("imported 1 reply"));
    // A follow-up from the inbox, with a file, and the reply deleted (its tombstone).
    let cookie = login(&server, &codename).0.expect("login");
    let inbox = get_with(&server, "/en/inbox", &cookie).text().unwrap();
    let (status, _) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token_in(&inbox, "/en/inbox/submit").as_bytes())
            .text("message", b"more")
            .file("more.txt", &random_bytes(3000)),
    );
    assert_eq!(status, 200);
    let reply_id = first_reply_id(&inbox);
    let del = format!("/en/inbox/replies/{reply_id}/delete");
    assert_eq!(
        post_form(&server, &del, &cookie, &token_in(&inbox, &del)).status(),
        303
    );
    server.export("e2");

    let midnight = midnight();
    let mut born_after = Vec::new();
    let mut not_midnight = Vec::new();
    let all = entries_with_metadata(&server.data());
    for (path, m) in &all {
        // Every entry, sled's own files included: none is left out.
        if m.created().unwrap() >= up {
            born_after.push(path.strip_prefix(server.data()).unwrap().to_owned());
        }
        if (m.is_file() || m.is_dir())
            && (m.modified().unwrap() != midnight || m.accessed().unwrap() != midnight)
        {
            not_midnight.push(path.strip_prefix(server.data()).unwrap().to_owned());
        }
    }
    let written = [
        "blobs",
        "journal/ledger/00000000000000000001.json",
        "journal/replies",
    ];
    for w in written {
        assert!(server.data().join(w).exists(), "{w}");
    }
    assert!(all.len() > 1000, "the pool is there: {}", all.len());
    // (Listing a folder sets its access time: only after the walk.)
    assert_eq!(server.blob_folders(), 2);
    assert!(
        born_after.is_empty(),
        "born after the start: {born_after:?}"
    );
    assert!(not_midnight.is_empty(), "not at midnight: {not_midnight:?}");
    // Everything came from the pool, as `check` says.
    let o = server.drop_cmd(&["check"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{said}");
    assert!(
        said.contains("0 created outside the pool since the server started"),
        "{said}"
    );
}
