//! `witness-drop export`: committed submissions, as ciphertext, into a new export folder.
//!
//! Invariants:
//! - Export never overwrites: each submission folder is created new, each file with `O_EXCL`,
//!   and `export.json` is written last, next to complete folders only. Every blob's size and
//!   SHA-256 are checked against the record while it is copied; submissions are marked
//!   exported only after `export.json` is on disk.
//! - Nothing here handles plaintext.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::backend::{Backend, OperatorError};
use crate::day::Day;
use crate::envelope::HashingWriter;
use crate::export::{is_valid_blob_name, ExportedSubmission, Manifest, EXPORT_FORMAT, MANIFEST};
use crate::ledger::LedgerEntry;
use crate::server::store::SubmissionRecord;
use crate::util::files::{create_new_private_file, sync_dir};

/// What an export wrote.
#[derive(Debug)]
pub struct ExportReport {
    /// Submissions written.
    pub submissions: usize,
    /// Ciphertext bytes written.
    pub bytes: u64,
    /// The export folder.
    pub dir: PathBuf,
}

/// Writes every committed submission not yet exported (or all, with `all`) to `out`, then marks
/// them exported.
pub fn export(
    backend: &mut dyn Backend,
    out: &Path,
    all: bool,
) -> Result<ExportReport, OperatorError> {
    fs::create_dir_all(out).map_err(OperatorError::file(out))?;
    let manifest_path = out.join(MANIFEST);
    if manifest_path.exists() {
        return Err(OperatorError::ExportExists(out.to_path_buf()));
    }
    let chosen: Vec<(String, SubmissionRecord)> = backend
        .submissions()?
        .into_iter()
        .filter(|(_, r)| all || r.exported.is_none())
        .collect();
    // The head is read before the chain and the chain is cut at it, so a submission committed
    // meanwhile (the server may be running) cannot make the manifest disagree with itself.
    let head = backend.head()?;
    let ledger: Vec<LedgerEntry> = match (chosen.first(), &head) {
        (Some((_, r)), Some(h)) => backend
            .ledger_from(r.seq)?
            .into_iter()
            .take_while(|e| e.seq <= h.seq)
            .collect(),
        _ => Vec::new(),
    };
    let mut submissions = Vec::new();
    let mut bytes = 0u64;
    for (id, rec) in &chosen {
        let dir = out.join(id);
        fs::create_dir(&dir).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => OperatorError::FolderExists(dir.clone()),
            _ => OperatorError::File {
                path: dir.clone(),
                source: e,
            },
        })?;
        for (i, blob) in rec.blobs.iter().enumerate() {
            let damaged = || OperatorError::Damaged {
                id: id.clone(),
                blob: blob.name.clone(),
            };
            if !is_valid_blob_name(&blob.name) {
                return Err(damaged());
            }
            let path = dir.join(&blob.name);
            bytes += copy_checked(backend, id, i as u16, &path, blob, damaged)?;
        }
        sync_dir(&dir).map_err(OperatorError::file(&dir))?;
        let entry = ledger
            .iter()
            .find(|e| e.seq == rec.seq)
            .cloned()
            .ok_or_else(|| OperatorError::Damaged {
                id: id.clone(),
                blob: "ledger entry".into(),
            })?;
        submissions.push(ExportedSubmission {
            id: id.clone(),
            received_day: rec.day.clone(),
            blobs: rec.blobs.clone(),
            ledger: entry,
        });
    }
    let manifest = Manifest {
        format: EXPORT_FORMAT.to_owned(),
        exported_day: Day::today().to_string(),
        ledger_head: head,
        ledger,
        submissions,
    };
    write_manifest(out, &manifest_path, &manifest)?;
    let ids: Vec<String> = chosen.iter().map(|(id, _)| id.clone()).collect();
    if !ids.is_empty() {
        backend.mark_exported(&ids)?;
    }
    Ok(ExportReport {
        submissions: ids.len(),
        bytes,
        dir: out.to_path_buf(),
    })
}

/// Copies one blob into the new file `path`, fsyncs it, and checks size and SHA-256 against
/// the record.
fn copy_checked(
    backend: &mut dyn Backend,
    id: &str,
    blob: u16,
    path: &Path,
    listed: &crate::ledger::BlobDigest,
    damaged: impl Fn() -> OperatorError,
) -> Result<u64, OperatorError> {
    let at = OperatorError::file(path);
    let file = create_new_private_file(path).map_err(OperatorError::file(path))?;
    let mut w = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, file));
    backend.copy_blob(id, blob, &mut w).map_err(|e| match e {
        OperatorError::Output(source) => OperatorError::File {
            path: path.to_path_buf(),
            source,
        },
        other => other,
    })?;
    let (buf, digest) = w.finish();
    let file = buf.into_inner().map_err(|e| OperatorError::File {
        path: path.to_path_buf(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(at)?;
    if digest.size != listed.size || digest.sha256 != listed.sha256 {
        return Err(damaged());
    }
    Ok(digest.size)
}

/// Writes `export.json` through a temporary file, never over an existing one.
fn write_manifest(out: &Path, path: &Path, manifest: &Manifest) -> Result<(), OperatorError> {
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| OperatorError::File {
        path: path.to_path_buf(),
        source: e.into(),
    })?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".export.json.")
        .tempfile_in(out)
        .map_err(OperatorError::file(out))?;
    tmp.write_all(&json)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(OperatorError::file(tmp.path()))?;
    tmp.persist_noclobber(path)
        .map_err(|_| OperatorError::ExportExists(out.to_path_buf()))?;
    sync_dir(out).map_err(OperatorError::file(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::server::store::Store;

    fn commit_one(store: &Store, payload: &[u8]) -> String {
        let id = store.begin_upload().unwrap();
        let mut w = store.blob_writer(&id, 0).unwrap();
        w.write_all(payload).unwrap();
        w.finish().unwrap();
        let digest = crate::ledger::BlobDigest {
            name: "envelope.age".into(),
            size: payload.len() as u64,
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(payload)),
        };
        store.commit(&id, vec![digest], None, None).unwrap();
        id
    }

    #[test]
    fn export_writes_each_submission_once_and_never_overwrites() {
        let data = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut store = Store::open(data.path()).unwrap();
        let a = commit_one(&store, b"first");
        let r = export(&mut store, &out.path().join("e1"), false).unwrap();
        assert_eq!(r.submissions, 1);
        let b = commit_one(&store, b"second");
        let r = export(&mut store, &out.path().join("e2"), false).unwrap();
        assert_eq!(r.submissions, 1);
        assert!(out
            .path()
            .join("e2")
            .join(&b)
            .join("envelope.age")
            .is_file());
        assert!(!out.path().join("e2").join(&a).exists());
        // Same folder again: refused, nothing overwritten.
        assert!(matches!(
            export(&mut store, &out.path().join("e2"), true),
            Err(OperatorError::ExportExists(_))
        ));
        let r = export(&mut store, &out.path().join("e3"), true).unwrap();
        assert_eq!(r.submissions, 2);
        let m: Manifest =
            serde_json::from_slice(&fs::read(out.path().join("e3/export.json")).unwrap()).unwrap();
        assert_eq!(m.format, EXPORT_FORMAT);
        crate::ledger::verify_chain(&m.ledger).unwrap();
        assert_eq!(m.submissions.len(), 2);
    }

    #[test]
    fn export_detects_damaged_ciphertext() {
        let data = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let mut store = Store::open(data.path()).unwrap();
        let a = commit_one(&store, b"first");
        fs::write(data.path().join("blobs").join(&a).join("0.age"), b"First").unwrap();
        assert!(matches!(
            export(&mut store, &out.path().join("e"), false),
            Err(OperatorError::Damaged { .. })
        ));
        assert_eq!(Store::counts(&store).unwrap().not_exported, 1);
    }
}
