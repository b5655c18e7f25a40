//! The case folder: the one folder on the offline computer into which every export is
//! decrypted, and which remembers what it has verified and everything done in it.
//!
//! ```text
//! OUT_DIR/index.html              the reading view ([`super::view`])
//! OUT_DIR/style.css               its stylesheet
//! OUT_DIR/custody.log             the custody log ([`super::custody`])
//! OUT_DIR/ledger.jsonl            every ledger entry this case folder has verified, one a line
//! OUT_DIR/trusted-reviewers.txt   the reviewer keys replies go to (from the key ceremony)
//! OUT_DIR/ID/index.html           one submission's reading view
//! OUT_DIR/ID/submission.json      the envelope plus what was verified ([`super::decrypt`])
//! OUT_DIR/ID/message.txt
//! OUT_DIR/ID/files/N-NAME         the evidentiary copy, byte for byte what the source sent
//! OUT_DIR/ID/working/N-NAME       a working copy without identifying metadata ([`super::clean`])
//! OUT_DIR/ID/replies/REPLY_ID.json a reply written to this submission's source ([`KeptReply`])
//! OUT_DIR/.partial-ID.XXXXXX/     a submission being decrypted; renamed to ID when complete
//! ```
//!
//! Invariants: a submission folder `OUT_DIR/ID` appears whole (by one rename) or not at all;
//! evidentiary files are never replaced; the files this module replaces (the reading view,
//! `ledger.jsonl`) are replaced atomically (a temporary file, fsynced, renamed over), and
//! `custody.log` is only ever appended to.

use serde::{Deserialize, Serialize};

/// The case folder's reading view, and each submission's.
pub const INDEX_HTML: &str = "index.html";
/// The reading view's stylesheet.
pub const STYLE_CSS: &str = "style.css";
/// The custody log.
pub const CUSTODY_LOG: &str = "custody.log";
/// The ledger entries the case folder has verified.
pub const LEDGER_FILE: &str = "ledger.jsonl";
/// The reviewer keys the case folder trusts for replies.
pub const TRUSTED_KEYS: &str = "trusted-reviewers.txt";
/// Working copies, inside a submission folder.
pub const WORKING_DIR: &str = "working";
/// Replies kept, inside a submission folder.
pub const REPLIES_DIR: &str = "replies";
/// Prefix of a submission folder being built.
pub const PARTIAL_PREFIX: &str = ".partial-";

/// A reply a reviewer wrote with `witness-review reply`, kept in the case folder
/// (`OUT_DIR/ID/replies/REPLY_ID.json`), where only the reviewers' offline computer has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptReply {
    /// The reply id (the server's id for it).
    pub id: String,
    /// The source's reference.
    pub reference: String,
    /// The day it was written (local), `YYYY-MM-DD`.
    pub day: String,
    /// The text as written.
    pub text: String,
    /// SHA-256 of the text, lower-case hex.
    pub text_sha256: String,
    /// Who can read it: the source's reply recipient first, then the reviewer keys.
    pub recipients: Vec<String>,
    /// The reply file written for `import-replies` (its file name).
    pub file: String,
}
