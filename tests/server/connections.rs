//! Connections, tried as an attacker would with raw sockets: half-sent heads and idle
//! connections are closed, a client beyond the connection cap is served once the timeouts free
//! a slot, no response carries a `Date` header, SIGTERM with requests in flight exits within the
//! grace period and keeps the store, and trickled small form bodies are cut off.
//!
//! The server's limits (src/server/web/listener.rs and form_body.rs): a whole request head
//! within 10 s of the connection or of the previous answer, 10 s for a small form's body, 10 s
//! of grace after SIGTERM, and a connection cap of the open-file limit minus 64 minus 4 per
//! upload slot.

use std::io::Write;
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::util::*;

/// The server's header-read timeout, which is also its keep-alive idle timeout.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a small form's body may take.
const SMALL_FORM_DEADLINE: Duration = Duration::from_secs(10);
/// How long requests in flight may go on after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Lateness allowed on a busy test machine.
const MARGIN: Duration = Duration::from_secs(4);

/// A connection that has sent part of a request head and then nothing.
fn half_head(server: &Server) -> TcpStream {
    send_raw(
        server,
        format!(
            "GET /en/ HTTP/1.1\r\nHost: {}\r\nUser-Agent: slow",
            server.addr
        )
        .as_bytes(),
    )
}

fn still_open(s: &mut TcpStream) -> bool {
    !closed_within(s, Duration::from_millis(20))
}

fn until(t: Instant) -> Duration {
    t.saturating_duration_since(Instant::now())
}

#[test]
fn half_sent_heads_and_idle_kept_alive_connections_are_closed_while_health_answers() {
    let server = Server::start(Opts::default());
    let start = Instant::now();
    let mut held: Vec<TcpStream> = (0..50).map(|_| half_head(&server)).collect();
    // Connections that send nothing at all count the same.
    held.extend((0..10).map(|_| send_raw(&server, b"")));
    // One whole request, answered, then the connection kept alive and left idle.
    let mut idle = send_raw(
        &server,
        format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes(),
    );
    let res = read_response(&mut idle, Duration::from_secs(5)).expect("an answer");
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    let fds = server.open_fds();

    let asked = Instant::now();
    assert!(
        server.health(),
        "/health answers while 60 connections send no whole head"
    );
    let answered_in = asked.elapsed();
    assert!(answered_in < Duration::from_secs(2), "{answered_in:?}");

    // Not closed at once: the timeout closes them, not the first sight of a slow client.
    std::thread::sleep(Duration::from_secs(3));
    assert!(held.iter_mut().all(still_open));
    assert!(still_open(&mut idle));
    assert!(server.health());

    let deadline = start + HEADER_TIMEOUT + MARGIN;
    let closed = held
        .iter_mut()
        .map(|s| closed_within(s, until(deadline)))
        .filter(|&closed| closed)
        .count();
    let all_closed_after = start.elapsed();
    assert_eq!(
        closed, 60,
        "half-sent heads and silent connections closed by the server"
    );
    assert!(
        closed_within(&mut idle, until(deadline)),
        "the idle kept-alive connection is closed"
    );
    eprintln!(
        "{fds} descriptors with 61 connections open; /health answered in {answered_in:?}; \
         all 60 closed within {all_closed_after:.1?}"
    );
    assert!(server.health(), "the server goes on");
}

#[test]
fn beyond_the_connection_cap_a_client_waits_and_is_served_once_the_timeouts_free_a_slot() {
    let mut server = Server::start(Opts {
        max_concurrent_uploads: 1,
        ..Opts::default()
    });
    server.kill();
    // A limit that leaves no room for connections is refused at start, with the fix.
    let o = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 70 && exec \"$0\" \"$@\"")
        .arg(DROP)
        .args(["serve", "--config"])
        .arg(server.config())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "served with 70 descriptors");
    assert!(err.contains("LimitNOFILE") && err.contains("84"), "{err}");

    // 100 descriptors, 64 + 4 for the one upload slot kept: at most 32 connections.
    server.spawn_with_open_file_limit(100);
    let start = Instant::now();
    let _held: Vec<TcpStream> = (0..40).map(|_| half_head(&server)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let fds = server.open_fds();
    assert!(fds <= 100, "{fds} descriptors open");

    // The kernel takes the connection into the backlog; the server does not accept it while
    // the 32 slots are taken...
    let mut health = send_raw(
        &server,
        format!(
            "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    );
    assert!(
        read_response(&mut health, Duration::from_secs(3)).is_none(),
        "served beyond the connection cap"
    );
    // ...and serves it once the first 32 have timed out.
    let res = read_response(&mut health, until(start + HEADER_TIMEOUT + MARGIN))
        .expect("served once the timeouts freed slots");
    let waited = start.elapsed();
    assert!(
        res.starts_with("HTTP/1.1 200") && res.ends_with("ok"),
        "{res}"
    );
    eprintln!("{fds} of 100 descriptors open with the cap full; /health served after {waited:.1?}");
    assert!(server.is_running());
    assert!(server.health());
}

#[test]
fn no_response_carries_a_date_header() {
    let server = Server::start(Opts::default());
    let c = client();
    for path in [
        "/",
        "/en/",
        "/en/submit",
        "/en/login",
        "/health",
        "/robots.txt",
        "/static/style.css",
        "/en/nowhere",
    ] {
        let r = c.get(server.url(path)).send().unwrap();
        assert!(
            !r.headers().contains_key("date"),
            "{path}: {:?}",
            r.headers()
        );
    }
    let r = c.get(server.url("/en/nowhere")).send().unwrap();
    assert_eq!(r.status(), 404);
    // A refused POST (another site's origin).
    let r = c
        .post(server.url("/en/login"))
        .header("origin", "http://elsewhere.example")
        .body("")
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(!r.headers().contains_key("date"), "{:?}", r.headers());
    // Answers hyper writes itself: a malformed head, a head over the size cap.
    for (request, status) in [
        (
            "GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n".to_owned(),
            "400",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "a".repeat(20_000)
            ),
            "431",
        ),
    ] {
        let mut s = send_raw(&server, request.as_bytes());
        let res = read_response(&mut s, Duration::from_secs(5)).expect("an answer");
        assert!(res.starts_with(&format!("HTTP/1.1 {status}")), "{res}");
        assert!(!res.to_lowercase().contains("\r\ndate:"), "{res}");
    }
}

#[test]
fn sigterm_with_requests_in_flight_exits_within_the_grace_period_and_keeps_the_store() {
    let mut server = Server::start(Opts::default());
    let (status, body) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit").text("message", b"before the stop"),
    );
    assert_eq!(status, 200, "{body}");

    let _heads: Vec<TcpStream> = (0..5).map(|_| half_head(&server)).collect();
    // An upload that finishes after the signal: its receipt must still come.
    let grace = canary("grace");
    let (_, finishing) = Multipart::for_form(&server, "/en/submit")
        .text("message", grace.as_bytes())
        .file("a.bin", &random_bytes(200_000))
        .finish();
    let half = finishing.len() / 2;
    let mut finisher = start_raw_upload(&server, finishing.len(), &finishing[..half]);
    // An upload that goes on at about 80 KB/s, past the grace period, and never finishes.
    let (_, endless) = Multipart::for_form(&server, "/en/submit")
        .text("message", b"endless")
        .file("b.bin", &random_bytes(4 << 20))
        .finish();
    let mut trickle = start_raw_upload(&server, endless.len(), &endless[..8192]);
    let trickler = std::thread::spawn(move || {
        for piece in endless[8192..].chunks(2048) {
            if trickle.write_all(piece).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    });
    std::thread::sleep(Duration::from_millis(500));

    let stopped = Instant::now();
    server.sigterm();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        TcpStream::connect(server.addr).is_err(),
        "still accepting after SIGTERM"
    );
    finisher.write_all(&finishing[half..]).unwrap();
    assert_eq!(
        read_status(&mut finisher),
        200,
        "the upload in flight gets its receipt"
    );
    let status = server.wait_exit(until(stopped + SHUTDOWN_GRACE + MARGIN).as_secs_f64());
    let took = stopped.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "not stopped cleanly within {:?} of SIGTERM: {status:?}",
        SHUTDOWN_GRACE + MARGIN
    );
    eprintln!("exited {took:.1?} after SIGTERM");
    trickler.join().unwrap();

    // The store is intact: check passes, and both answered submissions export and decrypt.
    server.spawn();
    let o = server.drop_cmd(&["check"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let export = server.export("export");
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(export.join("export.json")).unwrap()).unwrap();
    assert_eq!(m["submissions"].as_array().unwrap().len(), 2, "{m}");
    let out = server.decrypt(&export, "decrypted");
    assert!(!files_containing(&out, grace.as_bytes()).is_empty());
}

#[test]
fn trickled_login_logout_and_delete_bodies_are_cut_off() {
    let server = Server::start(Opts::default());
    // A whole login form is read as before: a wrong codename gets the login page again.
    let token = form_token(&server, "/en/login");
    let r = client()
        .post(server.url("/en/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&codename=not+a+codename+at+all"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    let start = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let mut conns = Vec::new();
    for path in ["/en/login", "/en/logout", "/en/inbox/replies/ab/delete"] {
        let s = send_raw(
            &server,
            format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 300\r\n\r\ntoken=",
                server.addr
            )
            .as_bytes(),
        );
        let mut w = s.try_clone().unwrap();
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            // One byte a second: 300 bytes would take five minutes.
            while !done.load(Ordering::Relaxed) && w.write_all(b"a").is_ok() {
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        conns.push((path, s));
    }
    for (path, s) in &mut conns {
        let res = read_response(s, until(start + SMALL_FORM_DEADLINE + MARGIN));
        let res = res.unwrap_or_else(|| panic!("{path}: no answer within the deadline"));
        assert!(res.starts_with("HTTP/1.1 408"), "{path}: {res}");
        assert!(closed_within(s, Duration::from_secs(3)), "{path} kept open");
    }
    done.store(true, Ordering::Relaxed);
    eprintln!("trickled small forms cut off after {:.1?}", start.elapsed());
    assert!(start.elapsed() >= SMALL_FORM_DEADLINE - Duration::from_secs(1));
    assert!(server.health());
}
