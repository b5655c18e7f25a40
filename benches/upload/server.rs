//! The upload benchmark's server config: the shared one ([`crate::common::server`]) with room
//! for the test file and eight upload slots.

use std::path::Path;

use anyhow::{anyhow, Result};

use crate::MIB;

/// Writes the config: `max_upload_bytes` is the test file's size plus 16 MiB.
pub fn write_config(path: &Path, dir: &Path, recipients: &Path, size: u64) -> Result<()> {
    let max_upload = size
        .checked_add(16 * MIB)
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| anyhow!("size too large for max_upload_bytes"))?;
    let mut extra = toml::Table::new();
    extra.insert("max_upload_bytes".into(), max_upload.into());
    extra.insert("max_concurrent_uploads".into(), 8i64.into());
    crate::common::server::write_config(path, dir, recipients, extra)
}
