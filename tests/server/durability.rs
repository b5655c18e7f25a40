//! Crashes and cut-off uploads: nothing half-stored before the receipt, nothing lost after it.

use std::io::Write;

use crate::util::*;

fn exported_count(server: &Server, name: &str) -> usize {
    let export = server.export(name);
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("export.json")).unwrap()).unwrap();
    m["submissions"].as_array().unwrap().len()
}

fn partial_upload(server: &Server) -> std::net::TcpStream {
    let content = random_bytes(3 << 20);
    let (_, body) = Multipart::for_form(server, "/en/submit")
        .text("message", b"cut off")
        .file("part.bin", &content)
        .finish();
    // Announce the whole body, send two thirds of it.
    let mut s = start_raw_upload(server, body.len(), &body[..body.len() * 2 / 3]);
    s.flush().unwrap();
    s
}

#[test]
fn cut_off_upload_is_removed_at_once_and_never_exported() {
    let server = Server::start(Opts::default());
    let s = partial_upload(&server);
    assert!(
        wait_until(10, || server.blob_folders() == 1),
        "upload in progress is stored encrypted"
    );
    drop(s);
    assert!(
        wait_until(10, || server.blob_folders() == 0),
        "aborted upload removed at once"
    );
    assert_eq!(exported_count(&server, "export"), 0);
    assert!(server.health());
}

#[test]
fn crash_mid_upload_is_quarantined_at_restart_and_never_exported() {
    let mut server = Server::start(Opts::default());
    let _s = partial_upload(&server);
    assert!(wait_until(10, || server.blob_folders() == 1));
    server.kill();
    assert_eq!(
        server.blob_folders(),
        1,
        "the crash left a partial upload behind"
    );
    server.spawn();
    assert_eq!(server.blob_folders(), 0, "swept at start");
    let quarantined = std::fs::read_dir(server.data().join("quarantine"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(quarantined, 1, "kept in quarantine, not deleted");
    assert_eq!(exported_count(&server, "export"), 0);
    let o = server.drop_cmd(&["check"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("quarantine: 1 folder(s)"),
        "check lists it: {out}"
    );
}

#[test]
fn crash_right_after_the_receipt_loses_nothing() {
    let mut server = Server::start(Opts::default());
    let content = random_bytes(1 << 20);
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"keep me")
            .file("k.bin", &content),
    );
    assert_eq!(status, 200);
    server.kill();
    // Export with the server down (direct access), then again through a restarted server.
    let export = server.export("export-offline");
    let out = server.decrypt(&export, "out");
    let sub = only_submission(&out);
    assert_eq!(std::fs::read(sub.join("files/1-k.bin")).unwrap(), content);
    server.spawn();
    let o = server.drop_cmd(&[
        "export",
        "--all",
        "--out",
        server.path().join("again").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("exported 1 "));
}

#[test]
fn purge_removes_old_exported_submissions() {
    let server = Server::start(Opts::default());
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit").text("message", b"old"),
    );
    assert_eq!(status, 200);
    // Not exported yet: purge keeps it even with 0 days.
    let o = server.drop_cmd(&["purge", "--exported-older-than", "0"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("purged 0"));
    assert_eq!(exported_count(&server, "e1"), 1);
    // Received today, so "older than 0 days" does not include it either.
    let o = server.drop_cmd(&["purge", "--exported-older-than", "0"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("purged 0"));
    assert_eq!(server.blob_folders(), 1);
}
