//! What a seized disk shows (issue 13): sizes padded to buckets.

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
