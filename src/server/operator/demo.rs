//! `witness-drop demo`: a throw-away installation in one folder, for trying the drop.
//!
//! Invariant: the demo's reviewer identity is marked as a demo in its recipients file
//! ([`DEMO_MARKER`]), and `serve` and `check` refuse a file so marked, so a demo key can never
//! guard real testimony. An identity already in the folder is kept, never overwritten.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;

use crate::keys::DEMO_MARKER;
use crate::server::config::{Config, ConfigError};
use crate::util::files::create_new_private_file;

/// Why the demo folder could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A file or folder of the demo could not be written.
    #[error("cannot write {}: {source}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The demo's configuration did not load (for example a bad `--listen` address).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> DemoError + '_ {
    move |source| DemoError::File {
        path: path.to_path_buf(),
        source,
    }
}

/// A prepared demo: its configuration and what to tell the person trying it.
#[derive(Debug)]
pub struct Demo {
    /// The demo's configuration (its recipients file is marked as a demo).
    pub config: Config,
    /// Lines to print before serving: what to open, and the export and decrypt commands.
    pub instructions: Vec<String>,
}

/// Creates `dir` with a throw-away reviewer identity (kept if it exists), its marked recipients
/// file, a configuration serving on `listen` and a data folder.
pub fn prepare(dir: &Path, listen: &str) -> Result<Demo, DemoError> {
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir).map_err(at(&keys_dir))?;
    let dir = dir.canonicalize().map_err(at(dir))?;
    let identity_path = dir.join("reviewer-identity.txt");
    let recipients_path = dir.join("keys").join("recipients.txt");
    if !identity_path.exists() {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let mut f = create_new_private_file(&identity_path).map_err(at(&identity_path))?;
        writeln!(
            f,
            "# witness-drop DEMO reviewer identity: throw-away, never for real testimony\n# public key: {recipient}\n{}",
            identity.to_string().expose_secret()
        )
        .map_err(at(&identity_path))?;
        std::fs::write(
            &recipients_path,
            format!("{DEMO_MARKER}\n# The demo's throw-away reviewer key. `serve` and `check` refuse this file.\n{recipient}\n"),
        )
        .map_err(at(&recipients_path))?;
    }
    let config_path = dir.join("witness-drop.toml");
    std::fs::write(
        &config_path,
        format!(
            "# witness-drop demo configuration (throw-away)\nlisten = \"{listen}\"\ndata_dir = \"data\"\nrecipients = \"keys/recipients.txt\"\norg_name = \"witness-drop demo\"\n"
        ),
    )
    .map_err(at(&config_path))?;
    let config = Config::load(Some(&config_path))?;
    let d = dir.display();
    let mut instructions = vec![format!(
        "witness-drop demo in {d} (throw-away reviewer key: never use it for real testimony)"
    )];
    if config.listen.port() == 0 {
        // The system picks the port when the socket is bound; `serve` prints it.
        instructions.push("  1. Open the address on the `witness-drop listening on` line below, and send a message with a file or two.".into());
    } else {
        instructions.push(format!(
            "  1. Open http://{}/ and send a message with a file or two.",
            config.listen
        ));
    }
    instructions.extend([
        "  2. In another terminal, export what arrived (works while this server runs):".into(),
        format!("       cargo run --release --bin witness-drop -- export --config {d}/witness-drop.toml --out {d}/export-1"),
        "  3. Decrypt it as a reviewer would, on the offline machine:".into(),
        format!("       cargo run --release --bin witness-review -- decrypt --identity {d}/reviewer-identity.txt --in {d}/export-1 --out {d}/decrypted"),
        "  Stop with Ctrl-C.".into(),
    ]);
    Ok(Demo {
        config,
        instructions,
    })
}
