//! What the keygen, verify and decrypt tests start from: a reviewer key made by `keygen`, and
//! synthetic exports built without the server from the crate's own building blocks (the
//! `Sealer` that encrypts submissions, `LedgerEntry::new` for the chain, `Manifest` for
//! `export.json`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest, Sha256};
use witness_drop::envelope::{Attachment, Envelope, Sealer, SourceInfo, ENVELOPE_FORMAT};
use witness_drop::export::{
    file_blob_name, new_id, LedgerHead, Manifest, ENVELOPE_BLOB, EXPORT_FORMAT, MANIFEST,
};
use witness_drop::ledger::{BlobDigest, LedgerEntry, GENESIS};

use crate::util::{review, stdout};

pub const DAY: &str = "2026-11-29";

/// Runs `keygen --no-passphrase` and returns the recipient it printed.
pub fn keygen_plain(path: &Path) -> age::x25519::Recipient {
    let mut cmd = review();
    cmd.args(["keygen", "--no-passphrase", "--out"]).arg(path);
    if let Some(parent) = path.parent() {
        cmd.show_folder(parent);
    }
    let o = cmd.ok();
    recipient_from(&o)
}

pub fn recipient_from(o: &Output) -> age::x25519::Recipient {
    let out = stdout(o);
    let line = out
        .lines()
        .find(|l| l.starts_with("age1"))
        .unwrap_or_else(|| panic!("no age1 line in {out:?}"));
    line.parse().unwrap()
}

/// One submission to put in a synthetic export.
pub struct Sub {
    pub message: String,
    pub files: Vec<(String, Vec<u8>)>,
    /// Lets a test write an envelope that lies about its attachments.
    pub tamper_envelope: Option<fn(&mut Envelope)>,
}

impl Sub {
    pub fn new(message: &str, files: Vec<(&str, Vec<u8>)>) -> Sub {
        Sub {
            message: message.to_owned(),
            files: files.into_iter().map(|(n, b)| (n.to_owned(), b)).collect(),
            tamper_envelope: None,
        }
    }
}

/// What a test needs to know about the export it built.
pub struct Built {
    pub dir: PathBuf,
    pub ids: Vec<String>,
    pub manifest: Manifest,
}

fn seal(recipients: &[age::x25519::Recipient], data: &[u8], path: &Path) -> BlobDigest {
    let file = fs::File::create(path).unwrap();
    let mut s = Sealer::new(recipients, file).unwrap();
    for chunk in data.chunks(10_000) {
        s.write_all(chunk).unwrap();
    }
    let (file, _plain, cipher) = s.finish().unwrap();
    file.sync_all().unwrap();
    BlobDigest {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        size: cipher.size,
        sha256: cipher.sha256,
    }
}

/// Writes an export of `subs`, encrypted to `recipients`, into `dir`.
pub fn build_export(dir: &Path, recipients: &[age::x25519::Recipient], subs: &[Sub]) -> Built {
    fs::create_dir_all(dir).unwrap();
    let mut ledger: Vec<LedgerEntry> = Vec::new();
    let mut submissions = Vec::new();
    let mut ids = Vec::new();
    for (i, sub) in subs.iter().enumerate() {
        let id = new_id().unwrap();
        let folder = dir.join(&id);
        fs::create_dir(&folder).unwrap();
        let mut attachments = Vec::new();
        let mut file_blobs = Vec::new();
        for (k, (name, bytes)) in sub.files.iter().enumerate() {
            let n = u32::try_from(k + 1).unwrap();
            file_blobs.push(seal(recipients, bytes, &folder.join(file_blob_name(n))));
            attachments.push(Attachment {
                n,
                name: name.clone(),
                content_type: "application/octet-stream".into(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
            });
        }
        let mut envelope = Envelope {
            format: ENVELOPE_FORMAT.into(),
            id: id.clone(),
            received_at: format!("{DAY}T10:11:12Z"),
            message: sub.message.clone(),
            attachments,
            source: Some(SourceInfo {
                reference: "ref-1".into(),
                designation: "amber heron".into(),
                reply_recipient: age::x25519::Identity::generate().to_public().to_string(),
            }),
            reviewers: vec![],
            testimony: None,
        };
        if let Some(f) = sub.tamper_envelope {
            f(&mut envelope);
        }
        let json = serde_json::to_vec(&envelope).unwrap();
        let mut blobs = vec![seal(recipients, &json, &folder.join(ENVELOPE_BLOB))];
        blobs.extend(file_blobs);
        let prev = ledger.last().map_or(GENESIS.to_owned(), |e| e.hash.clone());
        let entry = LedgerEntry::new(i as u64, &prev, &id, DAY, blobs.clone());
        ledger.push(entry.clone());
        submissions.push(witness_drop::export::ExportedSubmission {
            id: id.clone(),
            received_day: DAY.into(),
            blobs,
            ledger: entry,
        });
        ids.push(id);
    }
    let manifest = Manifest {
        format: EXPORT_FORMAT.into(),
        exported_day: DAY.into(),
        ledger_head: ledger.last().map(|e| LedgerHead {
            seq: e.seq,
            hash: e.hash.clone(),
        }),
        ledger,
        submissions,
    };
    write_manifest(dir, &manifest);
    Built {
        dir: dir.to_path_buf(),
        ids,
        manifest,
    }
}

pub fn write_manifest(dir: &Path, m: &Manifest) {
    fs::write(dir.join(MANIFEST), serde_json::to_vec_pretty(m).unwrap()).unwrap();
}

/// A small export with two ordinary submissions and a key for them.
pub fn simple_setup(tmp: &Path) -> (PathBuf, Built) {
    let key = tmp.join("key.txt");
    let r = keygen_plain(&key);
    let built = build_export(
        &tmp.join("export"),
        &[r],
        &[
            Sub::new("first", vec![("a.txt", b"alpha".to_vec())]),
            Sub::new("second", vec![("b.bin", vec![7u8; 70_000])]),
        ],
    );
    (key, built)
}

/// Recomputes the ledger chain of `m` from its entries' contents, as a forger would.
pub fn rechain(m: &mut Manifest) {
    let mut prev = GENESIS.to_owned();
    for e in &mut m.ledger {
        *e = LedgerEntry::new(e.seq, &prev, &e.id, &e.day, e.blobs.clone());
        prev = e.hash.clone();
    }
    for s in &mut m.submissions {
        if let Some(e) = m.ledger.iter().find(|e| e.seq == s.ledger.seq) {
            s.ledger = e.clone();
        }
    }
    m.ledger_head = m.ledger.last().map(|e| LedgerHead {
        seq: e.seq,
        hash: e.hash.clone(),
    });
}

/// Writes into `dir` the export the server would have made of submissions `range` of `built`
/// (their blob folders and the ledger from the first of them to the last), as if the earlier
/// ones had been exported before.
pub fn part_of(built: &Built, range: std::ops::Range<usize>, dir: &Path) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let mut m = built.manifest.clone();
    m.submissions = m.submissions[range.clone()].to_vec();
    m.ledger = m.ledger[range.clone()].to_vec();
    m.ledger_head = m.ledger.last().map(|e| LedgerHead {
        seq: e.seq,
        hash: e.hash.clone(),
    });
    for id in &built.ids[range] {
        fs::create_dir(dir.join(id)).unwrap();
        for entry in fs::read_dir(built.dir.join(id)).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), dir.join(id).join(entry.file_name())).unwrap();
        }
    }
    write_manifest(dir, &m);
    dir.to_path_buf()
}

/// Replaces the envelope of submission `index` in the export at `dir` by one with `message`,
/// sealed to `recipients` (public keys), and recomputes the chain: an export that passes
/// `verify` on its own.
pub fn forge_envelope(
    dir: &Path,
    index: usize,
    recipients: &[age::x25519::Recipient],
    message: &str,
) {
    let mut m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
    let id = m.submissions[index].id.clone();
    let envelope = Envelope {
        format: ENVELOPE_FORMAT.into(),
        id: id.clone(),
        received_at: format!("{DAY}T10:11:12Z"),
        message: message.into(),
        attachments: vec![],
        source: None,
        reviewers: vec![],
        testimony: None,
    };
    let path = dir.join(&id).join(ENVELOPE_BLOB);
    fs::remove_file(&path).unwrap();
    for entry in fs::read_dir(dir.join(&id)).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let blob = seal(recipients, &serde_json::to_vec(&envelope).unwrap(), &path);
    m.submissions[index].blobs = vec![blob.clone()];
    let seq = m.submissions[index].ledger.seq;
    if let Some(e) = m.ledger.iter_mut().find(|e| e.seq == seq) {
        e.blobs = vec![blob];
    }
    rechain(&mut m);
    write_manifest(dir, &m);
}
