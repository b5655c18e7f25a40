//! Running `witness-review` and looking at what it did: [`TestCommand`], the output and folder
//! helpers every module uses, and the check for the reference `age` binary.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// What every failure of `witness-review` ends with.
const ERROR_PREFIX: &str = "witness-review: error: ";

/// At most this many paths of a folder are listed in a failure message.
const LISTING_LIMIT: usize = 200;

/// The binary, with a clean environment for passphrases and no stdin.
pub fn review() -> TestCommand {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_witness-review"));
    cmd.env_remove("WITNESS_REVIEW_PASSPHRASE")
        .stdin(Stdio::null());
    TestCommand {
        cmd,
        folders: Vec::new(),
    }
}

/// `witness-review decrypt --identity KEY --in EXPORT --out OUT`.
pub fn decrypt(key: &Path, export: &Path, out: &Path) -> TestCommand {
    let mut cmd = review();
    cmd.arg("decrypt")
        .arg("--identity")
        .arg(key)
        .arg("--in")
        .arg(export)
        .arg("--out")
        .arg(out)
        .show_folder(export)
        .show_folder(out);
    cmd
}

/// A `witness-review` command line that checks its own outcome, in the spirit of ripgrep's
/// `tests/util.rs`: when a command expected to succeed fails, or one expected to fail
/// succeeds or fails for another reason, the panic shows the command line, the folders the
/// test asked for (see [`TestCommand::show_folder`]), the exit status, stdout and stderr.
#[derive(Debug)]
pub struct TestCommand {
    cmd: Command,
    folders: Vec<PathBuf>,
}

impl TestCommand {
    pub fn arg<A: AsRef<OsStr>>(&mut self, arg: A) -> &mut TestCommand {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, A>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable, e.g. `WITNESS_REVIEW_PASSPHRASE` (removed otherwise).
    pub fn env<K: AsRef<OsStr>, V: AsRef<OsStr>>(&mut self, key: K, value: V) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Lists everything under `dir` (recursively, relative paths) in the failure message.
    pub fn show_folder<P: AsRef<Path>>(&mut self, dir: P) -> &mut TestCommand {
        self.folders.push(dir.as_ref().to_path_buf());
        self
    }

    /// Runs the command and returns what it did, whatever its exit status.
    #[track_caller]
    pub fn output(&mut self) -> Output {
        self.cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", self.cmd))
    }

    /// Runs the command and asserts that it succeeded.
    #[track_caller]
    pub fn ok(&mut self) -> Output {
        let o = self.output();
        if !o.status.success() {
            panic!(
                "{}",
                self.report(&o, "command failed but was expected to succeed")
            );
        }
        o
    }

    /// Runs the command and asserts that it failed, that stderr contains `needle` and that the
    /// last line of stderr is the one-line reason (`witness-review: error: ...`); lines before
    /// it, such as the `problem: ...` lines of `verify`, are allowed.
    #[track_caller]
    pub fn fails_with(&mut self, needle: &str) -> Output {
        let o = self.output();
        if o.status.success() {
            panic!(
                "{}",
                self.report(&o, "command succeeded but was expected to fail")
            );
        }
        let err = stderr(&o);
        if !err.contains(needle) {
            panic!("{}", self.report(&o, &format!("stderr lacks {needle:?}")));
        }
        // The final reason is one line.
        let last = err.lines().last().unwrap_or("");
        if !last.starts_with(ERROR_PREFIX) {
            let what = format!("the last line of stderr does not start with {ERROR_PREFIX:?}");
            panic!("{}", self.report(&o, &what));
        }
        o
    }

    /// Like [`TestCommand::fails_with`], but stderr must be exactly one line: the reason,
    /// `witness-review: error: ...`, containing `needle`.
    #[track_caller]
    pub fn fails_with_one_line(&mut self, needle: &str) -> Output {
        let o = self.fails_with(needle);
        if stderr(&o).lines().count() != 1 {
            panic!("{}", self.report(&o, "stderr is not one line"));
        }
        o
    }

    /// The failure message: what went wrong, then everything needed to see why.
    fn report(&self, o: &Output, what: &str) -> String {
        let mut msg = format!("\n\n==========\n{what}\n\ncommand: {:?}\n", self.cmd);
        for dir in &self.folders {
            let _ = write!(msg, "\nfolder {}:\n{}", dir.display(), folder_listing(dir));
        }
        let _ = write!(
            msg,
            "\nstatus: {}\n\nstdout:\n{}\n\nstderr:\n{}\n==========\n",
            o.status,
            stdout(o),
            stderr(o)
        );
        msg
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[cfg(unix)]
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// The entries of a case folder other than its own records (custody log, ledger, lock, trusted
/// keys, reading view): the submission folders and anything else a decrypt left.
pub fn decrypted_entries(case: &Path) -> Vec<String> {
    let own = [
        "custody.log",
        "ledger.jsonl",
        ".lock",
        "trusted-reviewers.txt",
        "index.html",
        "style.css",
    ];
    let mut names: Vec<String> = fs::read_dir(case)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| !own.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every path under `root`, relative, sorted (symbolic links are listed, not followed).
pub fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            out.insert(path.strip_prefix(root).unwrap().to_path_buf());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
            }
        }
    }
    out
}

/// The paths under `root` for a failure message, one a line, relative and sorted: folders end
/// in `/`, files show their size, symbolic links their target (not followed). Never panics.
fn folder_listing(root: &Path) -> String {
    match fs::symlink_metadata(root) {
        Err(e) => return format!("  ({e})\n"),
        Ok(m) if !m.is_dir() => return "  (not a folder)\n".to_owned(),
        Ok(_) => {}
    }
    let mut lines = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                lines.insert(format!("{}/ (cannot list: {e})", relative(root, &dir)));
                continue;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = relative(root, &path);
            let line = match fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => {
                    stack.push(path);
                    format!("{rel}/")
                }
                Ok(m) if m.file_type().is_symlink() => match fs::read_link(&path) {
                    Ok(target) => format!("{rel} -> {}", target.display()),
                    Err(_) => format!("{rel} -> ?"),
                },
                Ok(m) => format!("{rel} ({} bytes)", m.len()),
                Err(e) => format!("{rel} ({e})"),
            };
            lines.insert(line);
        }
    }
    if lines.is_empty() {
        return "  (empty)\n".to_owned();
    }
    let mut out = String::new();
    for line in lines.iter().take(LISTING_LIMIT) {
        let _ = writeln!(out, "  {line}");
    }
    if lines.len() > LISTING_LIMIT {
        let _ = writeln!(out, "  ... and {} more", lines.len() - LISTING_LIMIT);
    }
    out
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// True when the reference Go `age` binary is missing: the test then prints a SKIPPED line and
/// returns, unless `WITNESS_DROP_REQUIRE_TOOLS=1`, which makes a missing `age` a failure.
pub fn reference_age_missing(test: &str) -> bool {
    if Command::new("age").arg("--version").output().is_ok() {
        return false;
    }
    if std::env::var("WITNESS_DROP_REQUIRE_TOOLS").as_deref() == Ok("1") {
        panic!("reference age not installed and WITNESS_DROP_REQUIRE_TOOLS=1");
    }
    println!("SKIPPED: {test}: reference age not installed");
    true
}
