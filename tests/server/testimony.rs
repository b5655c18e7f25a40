//! Guided testimony and consent: the fields on both forms in every language, the answers in the
//! decrypted envelope only, the restrictive default, consent changed from the inbox, refusals,
//! the per-language texts (sizes, organisation names, large-file advice).

use crate::util::*;

const LANGS: [&str; 3] = ["en", "az", "ru"];

fn get(server: &Server, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut r = client().get(server.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    let r = r.send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// A first submission in `lang`; returns its codename.
fn first_submission(server: &Server, lang: &str, mp: Multipart) -> String {
    let (status, page) = post_multipart(server, &format!("/{lang}/submit"), mp);
    assert_eq!(status, 200, "{page}");
    let at = page.find("id=\"codename\">").expect("a codename") + 14;
    page[at..].split('<').next().unwrap().trim().to_owned()
}

/// Logs in on the `lang` pages; returns the session cookie.
fn login(server: &Server, lang: &str, codename: &str) -> String {
    login_in(server, lang, codename).0.expect("login failed")
}

/// The element that starts with `marker`, up to its closing tag.
fn section<'a>(page: &'a str, marker: &str) -> &'a str {
    let start = page.find(marker).unwrap_or_else(|| panic!("no {marker}"));
    let end = start + page[start..].find("</div>").unwrap();
    &page[start..end]
}

/// The follow-up form's token on an inbox page.
fn inbox_token(page: &str, lang: &str) -> String {
    let at = page
        .find(&format!("action=\"/{lang}/inbox/submit\""))
        .expect("the inbox has the follow-up form");
    let rest = &page[at..];
    let t = rest.find("name=\"token\" value=\"").unwrap() + 20;
    rest[t..].split('"').next().unwrap().to_owned()
}

/// Exports and decrypts everything not yet exported; returns each `submission.json`.
fn decrypted(server: &Server, name: &str) -> Vec<serde_json::Value> {
    let export = server.export(&format!("{name}-export"));
    let out = server.decrypt(&export, &format!("{name}-out"));
    std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("submission.json").is_file())
        .map(|p| {
            serde_json::from_slice(&std::fs::read(p.join("submission.json")).unwrap()).unwrap()
        })
        .collect()
}

/// Asserts every guided field of the SPEC is on the form in `page`, with its fixed values.
fn assert_guided_fields(page: &str, what: &str) {
    for name in ["message", "when", "where"] {
        assert!(page.contains(&format!("name=\"{name}\"")), "{what}: {name}");
    }
    for name in ["when", "where"] {
        assert!(
            page.contains(&format!("type=\"text\" id=\"{name}\" name=\"{name}\"")),
            "{what}: {name} is a text field"
        );
    }
    for name in ["who", "acts", "injuries", "witnesses", "complaints"] {
        assert!(
            page.contains(&format!("<textarea id=\"{name}\" name=\"{name}\"")),
            "{what}: {name} is a textarea"
        );
        assert!(
            page.contains(&format!("aria-describedby=\"{name}-hint\"")),
            "{what}: {name} has a hint"
        );
    }
    for (name, values) in [
        (
            "role",
            &["self", "witness", "relative", "lawyer", "other"][..],
        ),
        ("danger", &["no", "yes", "unsure"][..]),
        ("consent", &["records", "legal", "publish"][..]),
    ] {
        for v in values {
            assert!(
                page.contains(&format!(
                    "type=\"radio\" id=\"{name}-{v}\" name=\"{name}\" value=\"{v}\""
                )),
                "{what}: {name}={v}"
            );
            assert!(
                page.contains(&format!("<label for=\"{name}-{v}\">")),
                "{what}: label {name}-{v}"
            );
        }
    }
    assert!(
        page.contains("type=\"checkbox\" id=\"consent_name\" name=\"consent_name\" value=\"yes\""),
        "{what}: consent_name"
    );
    assert!(page.contains("name=\"files\" multiple"), "{what}: files");
    assert_eq!(
        page.matches("<details").count(),
        2,
        "{what}: two collapsible sections"
    );
    assert_eq!(
        page.matches("<legend>").count(),
        3,
        "{what}: a legend per radio group"
    );
    // The questions and consent follow the message, and come before the files.
    let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{what}: {s}"));
    assert!(
        at("name=\"message\"") < at("<details")
            && at("name=\"consent_name\"") < at("name=\"files\"")
    );
    // No message id left untranslated.
    for id in ["guided-", "consent-name-", "large-files-", "receipt-"] {
        assert!(
            !page.contains(&format!(">{id}")),
            "{what}: untranslated {id}"
        );
    }
}

#[test]
fn every_guided_field_is_on_the_submit_and_inbox_forms_in_every_language() {
    let server = Server::start(Opts::default());
    for lang in LANGS {
        let (status, page) = get(&server, &format!("/{lang}/submit"), None);
        assert_eq!(status, 200);
        let what = format!("/{lang}/submit");
        assert_guided_fields(&page, &what);
        // The most restrictive choice is preselected; skipping a question is a choice too.
        assert!(
            page.contains("name=\"consent\" value=\"records\" checked"),
            "{what}"
        );
        assert!(!page.contains("id=\"consent-keep\""), "{what}");
        assert!(
            page.contains("id=\"role-skip\" name=\"role\" value=\"\" checked"),
            "{what}"
        );
        assert!(
            page.contains("id=\"danger-skip\" name=\"danger\" value=\"\" checked"),
            "{what}"
        );

        let codename = first_submission(
            &server,
            lang,
            Multipart::for_form(&server, &format!("/{lang}/submit")).text("message", b"hello"),
        );
        let cookie = login(&server, lang, &codename);
        let (status, inbox) = get(&server, &format!("/{lang}/inbox"), Some(&cookie));
        assert_eq!(status, 200);
        let what = format!("/{lang}/inbox");
        assert_guided_fields(&inbox, &what);
        // A returning source sees their current choice (here the default of a submission
        // without answers), and the follow-up form starts at it.
        assert!(
            inbox.contains("id=\"consent-records\" name=\"consent\" value=\"records\" checked"),
            "{what}"
        );
        assert!(!inbox.contains("id=\"consent-keep\""), "{what}");
        assert!(
            inbox.contains("id=\"consent_name\" name=\"consent_name\" value=\"yes\" aria"),
            "{what}: the name box starts unticked"
        );
        let current = section(&inbox, "id=\"consent-current\"");
        assert_eq!(current.matches("<p>").count(), 2, "{what}: {current}");
        assert!(
            inbox.contains("id=\"large-files\""),
            "{what}: large-file advice"
        );
    }
}

#[test]
fn a_guided_submission_in_russian_reaches_the_reviewers_with_the_exact_values() {
    let server = Server::start(Opts::default());
    let when = "весной 2023 года, примерно в марте";
    let where_ = "Баку, отделение на окраине";
    let who = "двое в форме без знаков различия;\nстарший — «капитан»";
    let acts = "Держали три дня. Не давали спать.";
    let injuries = "Болит спина. Врача не было.";
    let witnesses = "Сосед по камере, его звали Р.";
    let complaints = "Адвокат писал жалобу, ответа нет.";
    let canary_text = canary("guided-ru");
    // Text fields in an order other than the form's, after the token.
    let mp = Multipart::for_form(&server, "/ru/submit")
        .text("complaints", complaints.as_bytes())
        .text("role", b"self")
        .text("danger", b"unsure")
        .text("who", who.as_bytes())
        .text("message", canary_text.as_bytes())
        .text("when", when.as_bytes())
        .text("where", where_.as_bytes())
        .text("acts", acts.as_bytes())
        .text("injuries", injuries.as_bytes())
        .text("witnesses", witnesses.as_bytes())
        .text("consent", b"legal")
        .text("consent_name", b"yes");
    let (status, page) = post_multipart(&server, "/ru/submit", mp);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"codename\""));
    // The receipt confirms the choice in Russian.
    assert!(
        page.contains("также это можно передавать юристам"),
        "{page}"
    );
    assert!(page.contains("Мы можем использовать ваше имя"), "{page}");

    // Nothing of the answers is on the server's disk or in its log in plaintext.
    for needle in [who, acts, &canary_text[..]] {
        assert!(
            files_containing(server.path(), needle.as_bytes()).is_empty(),
            "plaintext on disk: {needle}"
        );
    }

    let subs = decrypted(&server, "ru");
    assert_eq!(subs.len(), 1);
    let t = &subs[0]["testimony"];
    assert_eq!(
        *t,
        serde_json::json!({
            "format": "witness-drop-testimony/1",
            "lang": "ru",
            "role": "self",
            "when": when,
            "where": where_,
            "who": who,
            "acts": acts,
            "injuries": injuries,
            "witnesses": witnesses,
            "complaints": complaints,
            "danger": "unsure",
            "consent": "legal",
            "consent_name": true,
        })
    );
    assert_eq!(subs[0]["message"], canary_text.as_str());
}

#[test]
fn a_submission_without_answers_carries_the_most_restrictive_consent() {
    let server = Server::start(Opts::default());
    // What an old form, or a client that sends only the message, posts.
    let (status, page) = post_multipart(
        &server,
        "/az/submit",
        Multipart::for_form(&server, "/az/submit").text("message", b"only the message"),
    );
    assert_eq!(status, 200, "{page}");
    // What a browser sends when nothing was touched: the preselected and skipped choices.
    let (status, _) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"untouched form")
            .text("when", b"")
            .text("who", b"  ")
            .text("role", b"")
            .text("danger", b"")
            .text("consent", b"records"),
    );
    assert_eq!(status, 200);
    let subs = decrypted(&server, "default");
    assert_eq!(subs.len(), 2);
    for s in subs {
        let lang = if s["message"] == "only the message" {
            "az"
        } else {
            "en"
        };
        assert_eq!(
            s["testimony"],
            serde_json::json!({
                "format": "witness-drop-testimony/1",
                "lang": lang,
                "consent": "records",
                "consent_name": false,
            }),
            "unanswered questions are absent, consent is explicit"
        );
    }
}

#[test]
fn consent_changed_from_the_inbox_travels_alone_and_keeping_it_sends_none() {
    let server = Server::start(Opts::default());
    let codename = first_submission(
        &server,
        "en",
        Multipart::for_form(&server, "/en/submit").text("message", b"first"),
    );
    assert_eq!(decrypted(&server, "first").len(), 1);
    let cookie = login(&server, "en", &codename);
    let (_, inbox) = get(&server, "/en/inbox", Some(&cookie));

    // A follow-up with only a new consent: no message, no file.
    let token = inbox_token(&inbox, "en");
    let (status, page) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token.as_bytes())
            .text("message", b"")
            .text("consent", b"publish")
            .text("consent_name", b"yes"),
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"receipt\"") && !page.contains("id=\"codename\""));
    assert!(page.contains("Your new choice is stored safely"), "{page}");
    assert!(
        page.contains("it may also be published"),
        "the receipt says the new choice: {page}"
    );
    let subs = decrypted(&server, "changed");
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["message"], "");
    assert_eq!(subs[0]["testimony"]["consent"], "publish");
    assert_eq!(subs[0]["testimony"]["consent_name"], true);

    // The inbox now shows the new choice, and the form starts at it.
    let (_, inbox) = get(&server, "/en/inbox", Some(&cookie));
    let current = section(&inbox, "id=\"consent-current\"");
    assert!(current.contains("it may also be published"), "{current}");
    assert!(current.contains("We may use your name"), "{current}");
    assert!(inbox.contains("value=\"publish\" checked"), "{inbox}");
    assert!(inbox.contains("value=\"yes\" checked"), "{inbox}");
    assert!(!inbox.contains("id=\"consent-keep\""));
    // The server keeps it sealed to the source's own key: nothing readable on disk.
    let notes: Vec<_> = std::fs::read_dir(server.data().join("journal/consent"))
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(notes.len(), 1, "one note for the one source");
    let note = String::from_utf8_lossy(&notes[0]).to_string();
    assert!(
        !note.contains("publish") && !note.contains("consent\""),
        "{note}"
    );

    // Sending back the choice already made, and nothing else, is nothing to send.
    let (status, page) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token.as_bytes())
            .text("message", b"")
            .text("consent", b"publish")
            .text("consent_name", b"yes"),
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Nothing to send"), "{page}");

    // Back to the most restrictive choice, alone again.
    let (status, _) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token.as_bytes())
            .text("consent", b"records"),
    );
    assert_eq!(status, 200);
    let subs = decrypted(&server, "restricted");
    assert_eq!(subs[0]["testimony"]["consent"], "records");
    assert_eq!(subs[0]["testimony"]["consent_name"], false);
    let (_, inbox) = get(&server, "/en/inbox", Some(&cookie));
    assert!(inbox.contains("value=\"records\" checked"), "{inbox}");
    assert!(!inbox.contains("value=\"yes\" checked"), "{inbox}");
    assert!(section(&inbox, "id=\"consent-current\"").contains("We will not use your name"));

    // A source whose note is gone (one from before notes existed) is told the page cannot
    // show the choice, and the form keeps it unless they choose again.
    for e in std::fs::read_dir(server.data().join("journal/consent")).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let (_, inbox) = get(&server, "/en/inbox", Some(&cookie));
    assert!(inbox.contains("cannot show your earlier choice"), "{inbox}");
    assert!(
        inbox.contains("id=\"consent-keep\" name=\"consent\" value=\"\" checked"),
        "{inbox}"
    );
    assert!(!inbox.contains("value=\"records\" checked"), "{inbox}");

    // A message that keeps the earlier choice carries no consent at all, so it cannot undo
    // the choice that stands.
    let (status, page) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token.as_bytes())
            .text("message", b"one more thing")
            .text("consent", b""),
    );
    assert_eq!(status, 200);
    assert!(page.contains("stays as it was"), "{page}");
    let subs = decrypted(&server, "kept");
    let t = subs[0]["testimony"].as_object().unwrap();
    assert!(
        !t.contains_key("consent") && !t.contains_key("consent_name"),
        "{t:?}"
    );

    // Keeping the choice and sending nothing else is still nothing to send.
    let (status, page) = post_followup(
        &server,
        "en",
        &cookie,
        Multipart::new()
            .text("token", token.as_bytes())
            .text("message", b"")
            .text("consent", b""),
    );
    assert_eq!(status, 400);
    assert!(page.contains("Nothing to send"), "{page}");
}

#[test]
fn a_choice_outside_the_fixed_set_is_refused_with_the_localised_400_page() {
    let server = Server::start(Opts::default());
    for (name, value) in [
        ("role", "boss"),
        ("danger", "maybe"),
        ("consent", "everything"),
        ("consent_name", "on"),
    ] {
        let (status, page) = post_multipart(
            &server,
            "/ru/submit",
            Multipart::for_form(&server, "/ru/submit")
                .text("message", b"hello")
                .text(name, value.as_bytes()),
        );
        assert_eq!(status, 400, "{name}={value}");
        assert!(page.contains("Не удалось прочитать форму"), "{page}");
    }
    assert!(decrypted(&server, "none").is_empty(), "nothing was stored");
}

#[test]
fn an_oversized_answer_is_refused_with_the_413_page() {
    let server = Server::start(Opts::default());
    // One answer over its own cap.
    let (status, page) = post_multipart(
        &server,
        "/en/submit",
        Multipart::for_form(&server, "/en/submit")
            .text("message", b"hello")
            .text("acts", &vec![b'a'; 64 * 1024 + 1]),
    );
    assert_eq!(status, 413);
    assert!(page.contains("Your message and your answers"), "{page}");
    // Answers within their caps that, with the message, pass the message cap.
    let (status, page) = post_multipart(
        &server,
        "/az/submit",
        Multipart::for_form(&server, "/az/submit")
            .text("message", &vec![b'm'; 500 * 1024])
            .text("who", &vec![b'w'; 10 * 1024])
            .text("acts", &vec![b'a'; 10 * 1024]),
    );
    assert_eq!(status, 413);
    assert!(page.contains("Mesaj və suallara cavablarınız"), "{page}");
    assert!(decrypted(&server, "none").is_empty(), "nothing was stored");
}

#[test]
fn sizes_and_the_organisation_name_follow_the_page_language() {
    let mut server = Server::start(Opts {
        max_upload_bytes: 1 << 30,
        ..Opts::default()
    });
    server.kill();
    let mut config = std::fs::read_to_string(server.config()).unwrap();
    config.push_str(
        "org_name = \"Prison Voices\"\norg_name_az = \"Həbsxana Səsləri\"\norg_name_ru = \"Голоса\"\n",
    );
    std::fs::write(server.config(), config).unwrap();
    server.spawn();
    for (lang, size, org) in [
        ("en", "1\u{a0}GiB", "Prison Voices"),
        ("az", "1\u{a0}GB", "Həbsxana Səsləri"),
        ("ru", "1\u{a0}ГБ", "Голоса"),
    ] {
        let (_, page) = get(&server, &format!("/{lang}/submit"), None);
        assert!(page.contains(size), "{lang}: {size}");
        let (_, landing) = get(&server, &format!("/{lang}/"), None);
        assert!(landing.contains(&format!("<h1>{org}:")), "{lang}: {org}");
        // The login page says the codename is English words.
        let (_, login) = get(&server, &format!("/{lang}/login"), None);
        let english = ["English words", "ingiliscə sözlər", "Английские слова"];
        assert!(
            english.iter().any(|w| login.contains(w)),
            "{lang}: login hint"
        );
    }
}

#[test]
fn the_receipt_and_the_413_page_advise_one_large_file_at_a_time() {
    let server = Server::start(Opts {
        max_upload_bytes: 64 * 1024,
        ..Opts::default()
    });
    for (lang, words) in [
        ("en", "one at a time"),
        ("az", "bir-bir"),
        ("ru", "по одному"),
    ] {
        let path = format!("/{lang}/submit");
        let (status, page) = post_multipart(
            &server,
            &path,
            Multipart::for_form(&server, &path).text("message", b"hi"),
        );
        assert_eq!(status, 200);
        assert!(
            page.contains("id=\"large-files\"") && page.contains(words),
            "{lang} receipt"
        );
        let (status, page) = post_multipart(
            &server,
            &path,
            Multipart::for_form(&server, &path).file("big.bin", &vec![0u8; 70 * 1024]),
        );
        assert_eq!(status, 413);
        assert!(
            page.contains("id=\"large-files\"") && page.contains(words),
            "{lang} 413"
        );
    }
}
