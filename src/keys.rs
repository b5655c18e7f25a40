//! Reviewer recipients (`keys/recipients.txt`): load, validate, refuse secret keys.
//!
//! Invariant: what this module returns holds public keys only. A file that contains anything
//! that looks like a secret key is refused as a whole, so a reviewer who pastes the wrong line
//! learns at once and the server never runs with a key that could decrypt submissions.

use std::path::Path;

/// A comment line that marks a recipients file made by `witness-drop demo`. `serve` and `check`
/// refuse a file that carries it, so a throw-away demo key never guards real testimony.
pub const DEMO_MARKER: &str = "# witness-drop-demo: THROW-AWAY DEMO KEY, NEVER FOR REAL TESTIMONY";

/// The reviewers' public keys.
#[derive(Clone)]
pub struct Recipients {
    /// Every recipient, in file order.
    pub list: Vec<age::x25519::Recipient>,
    /// True when the file carries [`DEMO_MARKER`].
    pub demo: bool,
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipients")
            .field("count", &self.list.len())
            .field("demo", &self.demo)
            .finish()
    }
}

/// Why a recipients file was refused. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file holds a secret key.
    #[error("{path} line {line} holds a SECRET key (AGE-SECRET-KEY-…): remove it from the server at once and put only the public `age1…` line here; treat that secret key as exposed")]
    SecretKey {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
    /// A line is not an age X25519 recipient.
    #[error("{path} line {line} is not an age recipient: each line must be one `age1…` public key (from `witness-review keygen`) or a `#` comment")]
    Malformed {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
    },
    /// No recipient at all.
    #[error("no reviewer key in {path}: run `witness-review keygen` on the offline machine and put the `age1…` line it prints here")]
    Empty {
        /// The file.
        path: String,
    },
    /// A demo file where a real one is required.
    #[error("{path} is a throw-away demo key file: make real reviewer keys with `witness-review keygen` (see keys/README.md)")]
    Demo {
        /// The file.
        path: String,
    },
}

/// Parses a recipients file's text. `path` only names the file in errors.
pub fn parse_recipients(text: &str, path: &str) -> Result<Recipients, KeysError> {
    let mut list = Vec::new();
    let mut demo = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        // Checked before comments: a secret key in a comment is still a secret key on disk.
        if raw.to_ascii_uppercase().contains("AGE-SECRET-KEY-") {
            return Err(KeysError::SecretKey {
                path: path.to_owned(),
                line,
            });
        }
        let trimmed = raw.trim();
        if trimmed == DEMO_MARKER {
            demo = true;
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.parse::<age::x25519::Recipient>() {
            Ok(r) => list.push(r),
            Err(_) => {
                return Err(KeysError::Malformed {
                    path: path.to_owned(),
                    line,
                })
            }
        }
    }
    if list.is_empty() {
        return Err(KeysError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Recipients { list, demo })
}

/// Reads and parses a recipients file; refuses a demo file unless `allow_demo`.
pub fn load_recipients(path: &Path, allow_demo: bool) -> Result<Recipients, KeysError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| KeysError::Read {
        path: shown.clone(),
        source,
    })?;
    let r = parse_recipients(&text, &shown)?;
    if r.demo && !allow_demo {
        return Err(KeysError::Demo { path: shown });
    }
    Ok(r)
}

/// The recipients file as the server uses it: re-read when it changes, so each submission is
/// encrypted to the keys in the file *when it arrives* (SPEC, "Reviewer keys"). A change that
/// makes the file invalid (a secret key, a bad line, no key) is refused: the previous keys stay
/// in force and the error is logged once per change.
pub struct LiveRecipients {
    path: std::path::PathBuf,
    allow_demo: bool,
    state: std::sync::Mutex<LiveState>,
}

struct LiveState {
    stamp: Option<(std::time::SystemTime, u64)>,
    current: std::sync::Arc<Vec<age::x25519::Recipient>>,
}

fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl LiveRecipients {
    /// Loads the file now; fails as [`load_recipients`] does.
    pub fn load(path: &Path, allow_demo: bool) -> Result<LiveRecipients, KeysError> {
        let st = stamp(path);
        let r = load_recipients(path, allow_demo)?;
        Ok(LiveRecipients {
            path: path.to_path_buf(),
            allow_demo,
            state: std::sync::Mutex::new(LiveState {
                stamp: st,
                current: std::sync::Arc::new(r.list),
            }),
        })
    }

    /// The recipients in force now.
    pub fn current(&self) -> std::sync::Arc<Vec<age::x25519::Recipient>> {
        let mut state = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = stamp(&self.path);
        if now.is_some() && now != state.stamp {
            state.stamp = now;
            match load_recipients(&self.path, self.allow_demo) {
                Ok(r) => {
                    tracing::info!("recipients file changed: now {} reviewer key(s)", r.list.len());
                    state.current = std::sync::Arc::new(r.list);
                }
                Err(e) => tracing::error!(
                    "recipients file changed but is refused, still using the previous {} key(s): {e}",
                    state.current.len()
                ),
            }
        }
        state.current.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    #[test]
    fn accepts_keys_and_comments() {
        let text = format!("# reviewers\n\n{}\n  {}  \n", key(), key());
        let r = parse_recipients(&text, "r.txt").unwrap();
        assert_eq!(r.list.len(), 2);
        assert!(!r.demo);
    }

    #[test]
    fn refuses_secret_keys_even_in_comments() {
        let sk = "AGE-SECRET-KEY-QQQQ";
        for text in [format!("{}\n{sk}\n", key()), format!("{}\n# {sk}\n", key())] {
            match parse_recipients(&text, "r.txt") {
                Err(KeysError::SecretKey { line: 2, .. }) => {}
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn names_the_malformed_line() {
        let text = format!("# a\n{}\nage1notakey\n", key());
        match parse_recipients(&text, "r.txt") {
            Err(e @ KeysError::Malformed { line: 3, .. }) => {
                assert!(e.to_string().contains("line 3"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_empty_and_demo() {
        assert!(matches!(
            parse_recipients("# only comments\n", "r.txt"),
            Err(KeysError::Empty { .. })
        ));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.txt");
        std::fs::write(&p, format!("{DEMO_MARKER}\n{}\n", key())).unwrap();
        assert!(matches!(
            load_recipients(&p, false),
            Err(KeysError::Demo { .. })
        ));
        assert!(load_recipients(&p, true).unwrap().demo);
    }

    #[test]
    fn live_recipients_follow_valid_changes_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.txt");
        let (k1, k2) = (key(), key());
        std::fs::write(&p, format!("{k1}\n")).unwrap();
        let live = LiveRecipients::load(&p, false).unwrap();
        assert_eq!(live.current().len(), 1);
        std::fs::write(&p, format!("{k1}\n{k2}\n")).unwrap();
        assert_eq!(live.current().len(), 2);
        std::fs::write(&p, format!("{k1}\nAGE-SECRET-KEY-XYZ\n")).unwrap();
        assert_eq!(live.current().len(), 2, "an invalid change is refused");
    }
}
