//! A submission end to end: HTTP upload, export while serving, decrypt offline.

use std::process::Command;

use crate::util::*;

#[test]
fn message_and_files_round_trip_byte_identical() {
    let server = Server::start(Opts::default());
    let big = random_bytes(5 * 1024 * 1024 + 123);
    let small = b"a small text file\n".to_vec();
    let message = "What happened in the cell, in my own words.\nSecond line: \u{0259}\u{0442}";
    let form = reqwest::blocking::multipart::Form::new()
        .text("token", form_token(&server, "/en/submit"))
        .text("message", message)
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(big.clone())
                .file_name("photo 1.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        )
        .part(
            "files",
            reqwest::blocking::multipart::Part::bytes(small.clone()).file_name("notes.txt"),
        );
    let r = client()
        .post(server.url("/en/submit"))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().unwrap();
    assert!(page.contains("id=\"receipt\""), "{page}");

    // Export while the server runs (through the admin socket).
    let export = server.export("export-1");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("export.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "witness-drop-export/1");
    let subs = manifest["submissions"].as_array().unwrap();
    assert_eq!(subs.len(), 1);
    let id = subs[0]["id"].as_str().unwrap();
    assert_eq!(subs[0]["received_day"].as_str().unwrap().len(), 10);
    for name in ["envelope.age", "file-1.age", "file-2.age"] {
        assert!(export.join(id).join(name).is_file(), "{name}");
    }

    // Nothing is exported twice.
    let o = server.drop_cmd(&[
        "export",
        "--out",
        server.path().join("export-2").to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("exported 0 "));

    let out = server.decrypt(&export, "decrypted");
    let sub = out.join(id);
    assert_eq!(
        std::fs::read_to_string(sub.join("message.txt")).unwrap(),
        message
    );
    assert_eq!(std::fs::read(sub.join("files/1-photo 1.jpg")).unwrap(), big);
    assert_eq!(std::fs::read(sub.join("files/2-notes.txt")).unwrap(), small);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sub.join("submission.json")).unwrap()).unwrap();
    let atts = json["attachments"].as_array().unwrap();
    assert_eq!(atts[0]["name"], "photo 1.jpg");
    assert_eq!(atts[0]["content_type"], "image/jpeg");
    assert_eq!(atts[0]["size"], big.len() as u64);
    use sha2::Digest;
    assert_eq!(atts[0]["sha256"], hex::encode(sha2::Sha256::digest(&big)));
    assert_eq!(atts[1]["name"], "notes.txt");

    // The export verifies without a key.
    let o = Command::new(REVIEW)
        .args(["verify", "--in"])
        .arg(&export)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn reference_age_decrypts_every_exported_file() {
    if !require_tool("age", "reference_age_decrypts_every_exported_file") {
        return;
    }
    let server = Server::start(Opts::default());
    let content = random_bytes(300_000);
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"for the reference tool")
            .file("evidence.bin", &content),
    );
    assert_eq!(status, 200);
    let export = server.export("export");
    let sub = std::fs::read_dir(&export)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    let run = |file: &str| {
        let o = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(server.key())
            .arg(sub.join(file))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "age -d {file}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    assert_eq!(run("file-1.age"), content);
    let env: serde_json::Value = serde_json::from_slice(&run("envelope.age")).unwrap();
    assert_eq!(env["message"], "for the reference tool");
    assert_eq!(env["attachments"][0]["name"], "evidence.bin");
    assert!(env["received_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn hostile_file_names_stay_inside_the_output_folder() {
    let server = Server::start(Opts::default());
    let long = "A".repeat(1000);
    let names: Vec<String> = vec![
        "../../x".into(),
        "/etc/passwd".into(),
        "..\\..\\windows\\system32\\evil.dll".into(),
        "invoice\u{202E}fdp.exe".into(),
        "tab\there.txt".into(),
        "%00nul%0a.txt".into(),
        long.clone(),
        "same.txt".into(),
        "same.txt".into(),
        ".bashrc".into(),
        "..".into(),
    ];
    let mut mp = Multipart::for_form(&server, "/en/submit").text("message", b"names");
    for (i, n) in names.iter().enumerate() {
        mp = mp.file(n, format!("content {i}").as_bytes());
    }
    let (status, body) = post_multipart(&server, "/en/submit", mp);
    assert_eq!(status, 200, "{body}");
    let export = server.export("export");
    let before = tree(server.path());
    let out = server.decrypt(&export, "out");
    let sub = only_submission(&out);
    let files: Vec<_> = std::fs::read_dir(sub.join("files"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(
        files.len(),
        names.len(),
        "every attachment lands, none overwritten"
    );
    for (i, _) in names.iter().enumerate() {
        let prefix = format!("{}-", i + 1);
        let f = files
            .iter()
            .find(|f| f.file_name().to_string_lossy().starts_with(&prefix))
            .unwrap_or_else(|| panic!("no file {prefix}*"));
        let name = f.file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains('/') && !name.contains('\\') && !name.contains('\u{202E}'),
            "{name}"
        );
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(name.len() <= 255, "{}", name.len());
        assert_eq!(
            std::fs::read(f.path()).unwrap(),
            format!("content {i}").as_bytes()
        );
    }
    // Nothing appeared outside OUT_DIR.
    let after: Vec<_> = tree(server.path())
        .into_iter()
        .filter(|p| !p.starts_with("out"))
        .collect();
    let before: Vec<_> = before
        .into_iter()
        .filter(|p| !p.starts_with("out"))
        .collect();
    assert_eq!(before, after);
    // Decrypting again into the same folder overwrites nothing.
    let stamp = std::fs::read(sub.join("message.txt")).unwrap();
    let _ = Command::new(REVIEW)
        .args(["decrypt", "--identity"])
        .arg(server.key())
        .arg("--in")
        .arg(&export)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(std::fs::read(sub.join("message.txt")).unwrap(), stamp);
    assert_eq!(
        std::fs::read_dir(sub.join("files")).unwrap().count(),
        names.len()
    );
}

#[test]
fn verify_detects_a_changed_byte_in_a_real_export() {
    let server = Server::start(Opts::default());
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"m")
            .file("f.bin", &random_bytes(70_000)),
    );
    assert_eq!(status, 200);
    let export = server.export("export");
    let verify = || {
        Command::new(REVIEW)
            .args(["verify", "--in"])
            .arg(&export)
            .output()
            .unwrap()
    };
    assert!(verify().status.success());
    let sub = only_submission(&export);
    let path = sub.join("file-1.age");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let o = verify();
    assert!(!o.status.success());
}
