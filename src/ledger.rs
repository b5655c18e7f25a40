//! The ledger: a hash chain over committed submissions.
//!
//! Invariant: an entry names only what is already public in an export (the submission id, the
//! day it was received, and the SHA-256 and size of each ciphertext blob), so the chain reveals
//! nothing that the export does not. Each entry's hash covers the previous entry's hash, so
//! removing, reordering or altering a committed submission breaks the chain.
//!
//! The hashed text is deliberately plain so anyone can recompute it by hand (README, "The
//! ledger"): the lines below, each ending in `\n`, hashed with SHA-256 and written in lower-case hex.
//!
//! ```text
//! witness-drop-ledger/1
//! seq 7
//! prev <64 hex digits of the previous entry's hash, or 64 zeros for the first entry>
//! id <submission id>
//! day 2026-11-29
//! blob envelope.age <size in bytes> <sha256 hex>
//! blob file-1.age <size in bytes> <sha256 hex>
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// First line of the hashed text; changes if the construction ever does.
pub const LEDGER_FORMAT: &str = "witness-drop-ledger/1";

/// One stored ciphertext blob, as the export and the ledger describe it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobDigest {
    /// `envelope.age` or `file-N.age`.
    pub name: String,
    /// Size of the ciphertext in bytes.
    pub size: u64,
    /// SHA-256 of the ciphertext, lower-case hex.
    pub sha256: String,
}

/// One link of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Position in the chain, from 0, without gaps.
    pub seq: u64,
    /// Hash of the entry before, or [`GENESIS`].
    pub prev: String,
    /// The submission id.
    pub id: String,
    /// Day received, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The submission's ciphertext blobs in order: envelope first, then files.
    pub blobs: Vec<BlobDigest>,
    /// SHA-256 of [`LedgerEntry::hashed_text`], lower-case hex.
    pub hash: String,
}

/// Why a chain does not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    /// An entry's stored hash is not the hash of its contents.
    #[error("ledger entry {seq} does not match its hash: it was altered")]
    BadHash {
        /// The entry's position.
        seq: u64,
    },
    /// An entry does not point at the entry before it.
    #[error("ledger entry {seq} does not follow entry {prev_seq}: entries were removed, reordered or altered")]
    Broken {
        /// The entry's position.
        seq: u64,
        /// The position of the entry listed before it.
        prev_seq: u64,
    },
    /// Sequence numbers are not consecutive.
    #[error("ledger entry {seq} comes after entry {prev_seq}: entries were removed or reordered")]
    Gap {
        /// The entry's position.
        seq: u64,
        /// The position of the entry listed before it.
        prev_seq: u64,
    },
    /// The first entry of a chain from the start does not start from [`GENESIS`].
    #[error("ledger entry 0 does not start the chain")]
    BadGenesis,
}

impl LedgerEntry {
    /// Builds the entry that follows `prev_hash` and computes its hash.
    pub fn new(seq: u64, prev_hash: &str, id: &str, day: &str, blobs: Vec<BlobDigest>) -> Self {
        let mut entry = LedgerEntry {
            seq,
            prev: prev_hash.to_owned(),
            id: id.to_owned(),
            day: day.to_owned(),
            blobs,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        entry
    }

    /// The exact text whose SHA-256 is the entry's hash (see the module comment).
    pub fn hashed_text(&self) -> String {
        let mut text = format!(
            "{LEDGER_FORMAT}\nseq {}\nprev {}\nid {}\nday {}\n",
            self.seq, self.prev, self.id, self.day
        );
        for blob in &self.blobs {
            text.push_str(&format!(
                "blob {} {} {}\n",
                blob.name, blob.size, blob.sha256
            ));
        }
        text
    }

    /// Recomputes the hash from the entry's contents.
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.hashed_text().as_bytes()))
    }

    /// Checks the entry's own hash.
    pub fn check(&self) -> Result<(), LedgerError> {
        if self.compute_hash() == self.hash {
            Ok(())
        } else {
            Err(LedgerError::BadHash { seq: self.seq })
        }
    }
}

/// Checks a run of consecutive entries: each hash, each link, no gaps. An entry with `seq` 0
/// must start from [`GENESIS`].
pub fn verify_chain(entries: &[LedgerEntry]) -> Result<(), LedgerError> {
    for (i, entry) in entries.iter().enumerate() {
        entry.check()?;
        if entry.seq == 0 && entry.prev != GENESIS {
            return Err(LedgerError::BadGenesis);
        }
        if i > 0 {
            let before = &entries[i - 1];
            if entry.seq != before.seq.wrapping_add(1) {
                return Err(LedgerError::Gap {
                    seq: entry.seq,
                    prev_seq: before.seq,
                });
            }
            if entry.prev != before.hash {
                return Err(LedgerError::Broken {
                    seq: entry.seq,
                    prev_seq: before.seq,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<LedgerEntry> {
        let mut out: Vec<LedgerEntry> = Vec::new();
        for seq in 0..n {
            let prev = out.last().map_or(GENESIS.to_owned(), |e| e.hash.clone());
            let blobs = vec![BlobDigest {
                name: "envelope.age".into(),
                size: 100 + seq,
                sha256: hex::encode([seq as u8; 32]),
            }];
            out.push(LedgerEntry::new(
                seq,
                &prev,
                &format!("id{seq}"),
                "2026-11-29",
                blobs,
            ));
        }
        out
    }

    #[test]
    fn a_built_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(()));
    }

    #[test]
    fn hash_is_sha256_of_the_documented_text() {
        let e = &chain(1)[0];
        let text = format!(
            "witness-drop-ledger/1\nseq 0\nprev {GENESIS}\nid id0\nday 2026-11-29\nblob envelope.age 100 {}\n",
            hex::encode([0u8; 32])
        );
        assert_eq!(e.hashed_text(), text);
        assert_eq!(e.hash, hex::encode(Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn tampering_is_detected() {
        let mut c = chain(4);
        c[2].blobs[0].size += 1;
        assert_eq!(verify_chain(&c), Err(LedgerError::BadHash { seq: 2 }));

        let mut c = chain(4);
        c.swap(1, 2);
        assert!(verify_chain(&c).is_err());

        let mut c = chain(4);
        c.remove(2);
        assert_eq!(
            verify_chain(&c),
            Err(LedgerError::Gap {
                seq: 3,
                prev_seq: 1
            })
        );

        // Rebuilding a later entry with correct hash but dropping one still breaks the link.
        let mut c = chain(4);
        let e3 = c[3].clone();
        c[3] = LedgerEntry::new(2, &c[1].hash, "forged", "2026-11-29", e3.blobs);
        c.remove(2);
        let next = LedgerEntry::new(3, &"f".repeat(64), "x", "2026-11-29", vec![]);
        c.push(next);
        assert!(verify_chain(&c).is_err());
    }
}
