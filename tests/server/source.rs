//! Returning sources: codenames, login, replies, follow-ups.

use std::process::Command;

use age::secrecy::ExposeSecret;

use crate::util::*;

/// The codename on a receipt page.
pub(crate) fn codename_of(receipt: &str) -> String {
    let at = receipt
        .find("id=\"codename\">")
        .expect("receipt shows a codename")
        + 14;
    receipt[at..].split('<').next().unwrap().trim().to_owned()
}

fn first_submission(server: &Server, message: &str) -> String {
    let (status, page) = post_multipart(
        server,
        "/en/submit",
        Multipart::for_form(server, "/en/submit").text("message", message.as_bytes()),
    );
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("only way"),
        "the receipt says the codename is the only way back"
    );
    codename_of(&page)
}

/// Logs in on the English pages ([`login_in`]).
pub(crate) fn login(server: &Server, codename: &str) -> (Option<String>, String) {
    login_in(server, "en", codename)
}

pub(crate) fn get_with(server: &Server, path: &str, cookie: &str) -> reqwest::blocking::Response {
    client()
        .get(server.url(path))
        .header("cookie", cookie)
        .send()
        .unwrap()
}

pub(crate) fn token_in(page: &str, action: &str) -> String {
    let at = page
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form {action}"));
    let rest = &page[at..];
    let t = rest.find("name=\"token\" value=\"").unwrap() + 20;
    rest[t..].split('"').next().unwrap().to_owned()
}

pub(crate) fn post_form(
    server: &Server,
    path: &str,
    cookie: &str,
    token: &str,
) -> reqwest::blocking::Response {
    client()
        .post(server.url(path))
        .header("cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", urlencode(token)))
        .send()
        .unwrap()
}

pub(crate) fn write_reply(
    server: &Server,
    sub: &std::path::Path,
    text: &str,
    out: &str,
) -> std::path::PathBuf {
    let msg = server.path().join(format!("{out}.txt"));
    std::fs::write(&msg, text).unwrap();
    let dir = server.path().join(out);
    let o = Command::new(REVIEW)
        .args(["reply", "--identity"])
        .arg(server.key())
        .arg("--submission")
        .arg(sub)
        .arg("--message")
        .arg(&msg)
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "reply: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    dir
}

pub(crate) fn import(server: &Server, dir: &std::path::Path) -> String {
    let o = server.drop_cmd(&["import-replies", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Mixes case and spacing the way a person retyping it might.
fn retype(codename: &str) -> String {
    codename
        .split(' ')
        .enumerate()
        .map(|(i, w)| {
            if i % 2 == 0 {
                w.to_uppercase()
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("  \n ")
        + "  "
}

#[test]
fn the_whole_loop_codename_reply_login_followup() {
    let server = Server::start(Opts::default());
    let codename = first_submission(&server, "first testimony");
    assert_eq!(codename.split(' ').count(), 7);
    let export = server.export("e1");
    let out = server.decrypt(&export, "d1");
    let sub = only_submission(&out);
    let env: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sub.join("submission.json")).unwrap()).unwrap();
    let reference = env["source"]["reference"].as_str().unwrap().to_owned();
    let designation = env["source"]["designation"].as_str().unwrap().to_owned();
    assert_eq!(designation.split(' ').count(), 2);
    assert!(env["source"]["reply_recipient"]
        .as_str()
        .unwrap()
        .starts_with("age1"));

    let reply_text = "Thank you. Can you tell us the date you were moved?";
    let replies = write_reply(&server, &sub, reply_text, "replies");
    let report = import(&server, &replies);
    assert!(report.contains("imported 1 reply"), "{report}");
    assert!(import(&server, &replies).contains("already imported"));

    let (cookie, _) = login(&server, &retype(&codename));
    let cookie = cookie.expect("login with retyped codename");
    assert!(!cookie
        .to_lowercase()
        .contains(&codename.split(' ').next().unwrap().to_lowercase()));
    let inbox = get_with(&server, "/en/inbox", &cookie).text().unwrap();
    assert!(inbox.contains(reply_text), "{inbox}");

    // A follow-up through the inbox form.
    let token = token_in(&inbox, "/en/inbox/submit");
    let (status, page) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token.as_bytes())
            .text("message", b"the date was in March")
            .file("more.txt", b"more"),
    );
    assert_eq!(status, 200);
    assert!(page.contains("id=\"receipt\"") && !page.contains("id=\"codename\""));
    let export2 = server.export("e2");
    let out2 = server.decrypt(&export2, "d2");
    let sub2 = only_submission(&out2);
    let env2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sub2.join("submission.json")).unwrap()).unwrap();
    assert_eq!(env2["source"]["reference"], reference.as_str());
    assert_eq!(env2["source"]["designation"], designation.as_str());
    assert_eq!(env2["message"], "the date was in March");

    // Delete the reply, then log out.
    let reply_id = first_reply_id(&inbox);
    let del = format!("/en/inbox/replies/{reply_id}/delete");
    let r = post_form(&server, &del, &cookie, &token_in(&inbox, &del));
    assert_eq!(r.status(), 303);
    let inbox = get_with(&server, "/en/inbox", &cookie).text().unwrap();
    assert!(!inbox.contains(reply_text) && inbox.contains("id=\"no-replies\""));
    let r = post_form(
        &server,
        "/en/logout",
        &cookie,
        &token_in(&inbox, "/en/logout"),
    );
    assert_eq!(r.status(), 303);
    assert!(r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = get_with(&server, "/en/inbox", &cookie);
    assert_eq!(r.status(), 303, "logged out");
    assert_eq!(r.headers().get("location").unwrap(), "/en/login");
}

#[test]
fn reply_files_open_with_reference_age_for_source_and_reviewer() {
    if !require_tool(
        "age",
        "reply_files_open_with_reference_age_for_source_and_reviewer",
    ) {
        return;
    }
    let server = Server::start(Opts::default());
    let codename = first_submission(&server, "hello");
    let out = server.decrypt(&server.export("e"), "d");
    let replies = write_reply(&server, &only_submission(&out), "a reply", "r");
    let file = std::fs::read_dir(&replies)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // The source's identity, derived as the server does (the test plays the source's device).
    let secret = witness_drop::server::secrets::InstanceSecret::load(&server.data()).unwrap();
    let norm = witness_drop::server::codename::normalise(&codename).unwrap();
    let derived = witness_drop::server::codename::derive(&norm, &secret).unwrap();
    let source_key = server.path().join("source.key");
    std::fs::write(
        &source_key,
        format!(
            "{}\n",
            witness_drop::server::codename::identity_line(&derived.reply_identity).expose_secret()
        ),
    )
    .unwrap();
    for key in [&source_key, &server.key()] {
        let o = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(key)
            .arg(&file)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), "a reply");
    }
}

#[test]
fn bad_codenames_are_refused_alike_and_sources_are_isolated() {
    let server = Server::start(Opts::default());
    let a = first_submission(&server, "source a");
    let b = first_submission(&server, "source b");
    let (none, wrong) = login(&server, "abacus abacus abacus abacus abacus abacus abacus");
    assert!(none.is_none());
    let (none, empty) = login(&server, "   ");
    assert!(none.is_none());
    let (none, long) = login(&server, &"word ".repeat(200));
    assert!(none.is_none());
    for page in [&wrong, &empty, &long] {
        assert!(page.contains("id=\"login-failed\""));
        assert!(!page.contains("abacus"), "the input is not echoed");
    }
    assert!(server.health());

    // A reply to A only.
    let out = server.decrypt(&server.export("e"), "d");
    let sub_a = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("message.txt").is_file())
        .find(|p| std::fs::read_to_string(p.join("message.txt")).unwrap() == "source a")
        .unwrap();
    let replies = write_reply(&server, &sub_a, "for A only", "r");
    import(&server, &replies);
    let reply_id = std::fs::read_dir(&replies)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    let reply_id = reply_id
        .to_str()
        .unwrap()
        .trim_end_matches(".age")
        .rsplit('-')
        .next()
        .unwrap()
        .to_owned();

    let cookie_b = login(&server, &b).0.unwrap();
    let inbox_b = get_with(&server, "/en/inbox", &cookie_b).text().unwrap();
    assert!(!inbox_b.contains("for A only"));
    // B has a reply of its own, so a valid delete token of B's session; B uses it on A's
    // reply id: the store only deletes under B's reference.
    let sub_b = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("message.txt").is_file())
        .find(|p| std::fs::read_to_string(p.join("message.txt")).unwrap() == "source b")
        .unwrap();
    import(&server, &write_reply(&server, &sub_b, "for B", "rb"));
    let inbox_b = get_with(&server, "/en/inbox", &cookie_b).text().unwrap();
    assert!(inbox_b.contains("for B") && !inbox_b.contains("for A only"));
    let own_id = first_reply_id(&inbox_b);
    let own_token = token_in(&inbox_b, &format!("/en/inbox/replies/{own_id}/delete"));
    let r = post_form(
        &server,
        &format!("/en/inbox/replies/{reply_id}/delete"),
        &cookie_b,
        &own_token,
    );
    assert_eq!(r.status(), 404);
    // A guessed id does no better.
    let guess = "0123456789abcdef0123456789abcdef";
    let r = post_form(
        &server,
        &format!("/en/inbox/replies/{guess}/delete"),
        &cookie_b,
        &own_token,
    );
    assert_eq!(r.status(), 404);
    let cookie_a = login(&server, &a).0.unwrap();
    assert!(get_with(&server, "/en/inbox", &cookie_a)
        .text()
        .unwrap()
        .contains("for A only"));
    // Without a session, no inbox and no deletion.
    assert_eq!(
        client()
            .get(server.url("/en/inbox"))
            .send()
            .unwrap()
            .status(),
        303
    );
}

/// Posts a login body as it is.
fn post_login(server: &Server, content_type: &str, body: String) -> reqwest::blocking::Response {
    client()
        .post(server.url("/en/login"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .unwrap()
}

#[test]
fn login_bodies_are_read_as_browsers_send_them_and_refused_over_the_cap() {
    const FORM: &str = "application/x-www-form-urlencoded";
    const CAP: usize = 8 * 1024;
    let server = Server::start(Opts::default());
    let codename = first_submission(&server, "encoded login");
    // As a browser encodes a pasted codename: `+` for spaces, the line break as %0D%0A.
    let typed = format!("{}\r\n", codename.to_uppercase())
        .replace(' ', "+")
        .replace("\r\n", "%0D%0A");
    let token = form_token(&server, "/en/login");
    let body = format!("token={}&codename={typed}", urlencode(&token));
    let r = post_login(&server, FORM, body.clone());
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers().get("location").unwrap(), "/en/inbox");

    // A field sent twice, or another content type: the 400 page, as with axum's `Form`.
    let r = post_login(&server, FORM, format!("{body}&codename=x"));
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("<html"));
    let r = post_login(&server, "text/plain", body);
    assert_eq!(r.status(), 400);

    // A body of exactly the cap is read (an over-long codename: the failed page, no
    // derivation); one byte more is refused with the 400 page.
    let token = form_token(&server, "/en/login");
    let prefix = format!("token={}&codename=", urlencode(&token));
    let at_cap = format!("{prefix}{}", "a".repeat(CAP - prefix.len()));
    let r = post_login(&server, FORM, at_cap.clone());
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("id=\"login-failed\""));
    let r = post_login(&server, FORM, format!("{at_cap}a"));
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(server.health());
}

#[test]
fn codenames_keys_and_replies_never_reach_disk_logs_or_cookies() {
    let server = Server::start(Opts::default());
    let codename = first_submission(&server, "x");
    let reply_text = canary("reply");
    let out = server.decrypt(&server.export("e"), "d");
    let replies = write_reply(&server, &only_submission(&out), &reply_text, "r");
    import(&server, &replies);
    let cookie = login(&server, &codename).0.unwrap();
    assert!(get_with(&server, "/en/inbox", &cookie)
        .text()
        .unwrap()
        .contains(&reply_text));
    let secret = witness_drop::server::secrets::InstanceSecret::load(&server.data()).unwrap();
    let norm = witness_drop::server::codename::normalise(&codename).unwrap();
    let derived = witness_drop::server::codename::derive(&norm, &secret).unwrap();
    let key_line = witness_drop::server::codename::identity_line(&derived.reply_identity)
        .expose_secret()
        .to_owned();
    let log = std::fs::read_to_string(server.log()).unwrap();
    for needle in [
        codename.as_str(),
        norm.as_str(),
        key_line.as_str(),
        &key_line.to_lowercase(),
        reply_text.as_str(),
    ] {
        assert!(
            files_containing(&server.data(), needle.as_bytes()).is_empty(),
            "on disk"
        );
        assert!(files_containing(&server.path().join("tmp"), needle.as_bytes()).is_empty());
        assert!(!log.contains(needle), "in the log");
        assert!(!cookie.contains(needle));
    }
    let first_word = codename.split(' ').next().unwrap();
    assert!(!log.contains(first_word) || first_word.len() < 4);
}

/// Sessions one source may hold (`MAX_SESSIONS_PER_SOURCE` in src/server/web/session.rs).
const MAX_SESSIONS_PER_SOURCE: usize = 4;

/// The server's peak resident memory so far, in KiB.
fn peak_kib(server: &Server) -> u64 {
    let pid = server.child.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn a_burst_of_24_logins_at_once_all_reach_the_inbox_within_the_memory_limit() {
    let server = Server::start(Opts::default());
    // Six sources, each logging in as often as it may hold sessions: every session survives
    // the burst, so each login's cookie must open the inbox afterwards.
    let codenames: Vec<String> = (0..24 / MAX_SESSIONS_PER_SOURCE)
        .map(|i| first_submission(&server, &format!("source {i}")))
        .collect();
    let logins: Vec<(String, String)> = codenames
        .iter()
        .flat_map(|c| (0..MAX_SESSIONS_PER_SOURCE).map(move |_| c.clone()))
        .map(|c| (form_token(&server, "/en/login"), c))
        .collect();
    assert_eq!(logins.len(), 24);
    let started = std::time::Instant::now();
    let barrier = std::sync::Barrier::new(logins.len());
    let answers: Vec<(u16, Option<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = logins
            .iter()
            .map(|(token, codename)| {
                let url = server.url("/en/login");
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let r = client()
                        .post(url)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(format!(
                            "token={}&codename={}",
                            urlencode(token),
                            urlencode(codename)
                        ))
                        .send()
                        .unwrap();
                    let cookie = r
                        .headers()
                        .get("set-cookie")
                        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
                    (r.status().as_u16(), cookie)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let took = started.elapsed();
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(
        statuses.iter().all(|s| *s == 303),
        "every login succeeds: {statuses:?}"
    );
    for (_, cookie) in &answers {
        let r = get_with(&server, "/en/inbox", cookie.as_deref().unwrap());
        assert_eq!(r.status(), 200, "each session opens the inbox");
        assert!(r.text().unwrap().contains("action=\"/en/logout\""));
    }
    assert!(took.as_secs() < 60, "the burst took {took:?}");
    let hwm_kib = peak_kib(&server);
    // 2 derivations of 64 MiB at most, plus the server itself; the queue adds next to nothing.
    assert!(hwm_kib < 256 * 1024, "peak memory {hwm_kib} KiB");
    println!(
        "login burst: 24 logins at once, all in the inbox after {:.1} s; server peak memory {} MiB",
        took.as_secs_f64(),
        hwm_kib / 1024
    );
    assert!(server.health());
}

#[test]
fn a_source_logging_in_again_and_again_replaces_its_own_oldest_session_and_logs_no_one_else_out() {
    let server = Server::start(Opts::default());
    let a = first_submission(&server, "source a");
    let b = first_submission(&server, "source b");
    let cookie_b = login(&server, &b).0.unwrap();
    let extra = 3;
    let cookies_a: Vec<String> = (0..MAX_SESSIONS_PER_SOURCE + extra)
        .map(|_| login(&server, &a).0.unwrap())
        .collect();
    let in_inbox = |cookie: &str| get_with(&server, "/en/inbox", cookie).status() == 200;
    let (replaced, kept) = cookies_a.split_at(extra);
    for c in replaced {
        let r = get_with(&server, "/en/inbox", c);
        assert_eq!(r.status(), 303, "A's oldest sessions were replaced");
        assert_eq!(r.headers().get("location").unwrap(), "/en/login");
    }
    assert!(kept.iter().all(|c| in_inbox(c)), "A's newest sessions work");
    assert!(in_inbox(&cookie_b), "B is still logged in");
}

#[test]
fn import_replies_reports_refusals_and_fails_on_them() {
    let server = Server::start(Opts::default());
    first_submission(&server, "hello");
    let out = server.decrypt(&server.export("e"), "d");
    let dir = write_reply(&server, &only_submission(&out), "a reply", "r");
    std::fs::write(dir.join("notes.txt"), "not a reply").unwrap();
    let unknown = format!("reply-{}-{}.age", "ab".repeat(16), "cd".repeat(16));
    std::fs::copy(
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".age"))
            .unwrap(),
        dir.join(&unknown),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("reply-{}-{}.age", "ab".repeat(16), "ef".repeat(16))),
        b"junk",
    )
    .unwrap();
    let o = server.drop_cmd(&["import-replies", dir.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        !o.status.success(),
        "refusals make the command fail: {stdout}"
    );
    assert!(
        stdout.contains("refused notes.txt: not a reply file name"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("refused {unknown}: no source with this reference")),
        "{stdout}"
    );
    assert!(stdout.contains("not a valid age reply"), "{stdout}");
    assert!(stdout.contains("imported 1 reply, refused 3"), "{stdout}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn a_lost_database_is_refused_then_rebuilt_by_check_repair_and_nothing_is_lost() {
    let mut server = Server::start(Opts::default());
    let codename = first_submission(&server, "first testimony");
    let out = server.decrypt(&server.export("e1"), "d1");
    let reply_text = "We have read it. Thank you for trusting us.";
    let replies = write_reply(&server, &only_submission(&out), reply_text, "replies");
    assert!(import(&server, &replies).contains("imported 1 reply"));
    // Two more, not yet exported, each from a new source.
    let second = first_submission(&server, "second testimony");
    small_submission_works(&server);
    server.sigterm();
    assert!(server.wait_exit(20.0).is_some_and(|s| s.success()));

    std::fs::remove_dir_all(server.data().join("db")).unwrap();
    let o = server.drop_cmd(&["check"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "check must fail without the database");
    assert!(
        err.contains("missing") && err.contains("check --repair") && err.lines().count() == 1,
        "{err}"
    );
    let o = server.drop_cmd(&["check", "--repair"]);
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(said.contains("rebuilt from the journal"), "{said}");
    assert!(
        said.contains("3 submission(s), 3 source(s), 3 ledger entries"),
        "{said}"
    );
    assert!(said.contains("ready to serve"), "{said}");

    server.spawn();
    // What was exported stays exported; the two others come now; all three verify.
    let e2 = server.export("e2");
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(e2.join("export.json")).unwrap()).unwrap();
    assert_eq!(listed["submissions"].as_array().unwrap().len(), 2);
    let all = server.path().join("e3");
    let o = Command::new(DROP)
        .args(["export", "--all", "--config"])
        .arg(server.config())
        .arg("--out")
        .arg(&all)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(REVIEW)
        .args(["verify", "--in"])
        .arg(&all)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let decrypted = server.decrypt(&all, "d3");
    assert_eq!(
        std::fs::read_dir(&decrypted)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().join("submission.json").is_file())
            .count(),
        3
    );
    // Both sources log in; the first reads the reply.
    let (cookie, page) = login(&server, &codename);
    let inbox = get_with(&server, "/en/inbox", &cookie.expect(&page))
        .text()
        .unwrap();
    assert!(inbox.contains(reply_text), "{inbox}");
    assert!(login(&server, &second).0.is_some());
}
