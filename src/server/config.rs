//! One [`Config`], loaded from TOML and `WITNESS_DROP_*` environment variables, validated at
//! start-up.
//!
//! Invariant: a `Config` that exists is usable: every value was checked, and every error names
//! the key and says what to put there. Relative paths in a config file are taken relative to
//! that file's folder (so `deploy/witness-drop.toml` works from anywhere); defaults and
//! environment values are relative to the working directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::util::size::parse_size;

/// The default config file, read from the working directory when present.
pub const DEFAULT_CONFIG_FILE: &str = "witness-drop.toml";

/// The largest `max_concurrent_uploads` accepted. Each upload holds a thread of tokio's blocking
/// pool (512 threads) for as long as it runs, and derivations, store lookups and flushes need
/// that pool too: at 64 uploads seven eighths of it stay free, so a login or a commit never
/// waits for a thread. Memory sets a similar bound: at about 25 MiB per upload in flight, 64
/// uploads take some 1.6 GiB, all a host of the recommended 2 GB can give.
pub const MAX_CONCURRENT_UPLOADS_LIMIT: usize = 64;

// Uploads leave at least seven eighths of tokio's 512 blocking threads free.
const _: () = assert!(MAX_CONCURRENT_UPLOADS_LIMIT <= 512 / 8);

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Address of the source interface.
    pub listen: SocketAddr,
    /// sled database and instance secrets.
    pub data_dir: PathBuf,
    /// Reviewer public keys.
    pub recipients: PathBuf,
    /// Largest submission, all files together, in bytes.
    pub max_upload_bytes: u64,
    /// Uploads at once; beyond it a "busy, try again" page.
    pub max_concurrent_uploads: usize,
    /// Uploads are refused ("full, try later") before the data folder's disk would fall below
    /// this many free bytes, so the database and committed submissions always have room.
    pub min_free_bytes: u64,
    /// The onion address (`…onion`), if the drop is published as one.
    pub onion_address: Option<String>,
    /// The organisation's name, shown on pages.
    pub org_name: String,
    /// The organisation's name on Azerbaijani pages (default: `org_name`).
    pub org_name_az: String,
    /// The organisation's name on Russian pages (default: `org_name`).
    pub org_name_ru: String,
    /// The file this was loaded from, if any.
    pub source_file: Option<PathBuf>,
}

/// Why the configuration is not usable. Each message names the key and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a value of the wrong type.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("config key `{key}` (or WITNESS_DROP_{env}): {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Its environment variable suffix.
        env: String,
        /// What is wrong and what to do.
        message: String,
    },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    recipients: Option<PathBuf>,
    max_upload_bytes: Option<SizeValue>,
    max_concurrent_uploads: Option<i64>,
    min_free_bytes: Option<SizeValue>,
    onion_address: Option<String>,
    org_name: Option<String>,
    org_name_az: Option<String>,
    org_name_ru: Option<String>,
}

/// A size as a number of bytes or a string such as `"1GiB"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SizeValue {
    Bytes(i64),
    Text(String),
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        env: key.to_uppercase(),
        message: message.into(),
    }
}

/// A size key: bytes, or a number with a unit; `default` when absent.
fn size(
    key: &'static str,
    value: Option<SizeValue>,
    default: u64,
    example: &str,
) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(SizeValue::Bytes(n)) => {
            u64::try_from(n).map_err(|_| invalid(key, "must not be negative"))
        }
        Some(SizeValue::Text(t)) => parse_size(&t).ok_or_else(|| {
            invalid(
                key,
                format!("`{t}` is not a size: write bytes or a unit, for example \"{example}\""),
            )
        }),
    }
}

impl Config {
    /// Loads `path`, or `witness-drop.toml` in the working directory when `path` is `None` and
    /// that file exists, then applies environment overrides and validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let default = Path::new(DEFAULT_CONFIG_FILE);
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None if default.is_file() => Some(default.to_path_buf()),
            None => None,
        };
        let mut raw = match &file {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                toml::from_str::<RawConfig>(&text).map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    message: e.message().to_owned(),
                })?
            }
            None => RawConfig::default(),
        };
        // Paths from the file are relative to the file's folder.
        if let Some(base) = file.as_ref().and_then(|f| f.parent()) {
            for p in [&mut raw.data_dir, &mut raw.recipients]
                .into_iter()
                .flatten()
            {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Self::apply_env(&mut raw, |k| std::env::var(k).ok())?;
        Self::validate(raw, file)
    }

    fn apply_env(
        raw: &mut RawConfig,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let var = |key: &str| get(&format!("WITNESS_DROP_{}", key.to_uppercase()));
        if let Some(v) = var("listen") {
            raw.listen = Some(v);
        }
        if let Some(v) = var("data_dir") {
            raw.data_dir = Some(v.into());
        }
        if let Some(v) = var("recipients") {
            raw.recipients = Some(v.into());
        }
        if let Some(v) = var("max_upload_bytes") {
            raw.max_upload_bytes = Some(SizeValue::Text(v));
        }
        if let Some(v) = var("max_concurrent_uploads") {
            let n = v.trim().parse().map_err(|_| {
                invalid(
                    "max_concurrent_uploads",
                    "must be a whole number, for example 8",
                )
            })?;
            raw.max_concurrent_uploads = Some(n);
        }
        if let Some(v) = var("min_free_bytes") {
            raw.min_free_bytes = Some(SizeValue::Text(v));
        }
        if let Some(v) = var("onion_address") {
            raw.onion_address = Some(v);
        }
        if let Some(v) = var("org_name") {
            raw.org_name = Some(v);
        }
        if let Some(v) = var("org_name_az") {
            raw.org_name_az = Some(v);
        }
        if let Some(v) = var("org_name_ru") {
            raw.org_name_ru = Some(v);
        }
        Ok(())
    }

    fn validate(raw: RawConfig, source_file: Option<PathBuf>) -> Result<Config, ConfigError> {
        let listen_text = raw.listen.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            invalid(
                "listen",
                format!("`{listen_text}` is not an address and port, for example 127.0.0.1:8080"),
            )
        })?;
        let max_upload_bytes = size("max_upload_bytes", raw.max_upload_bytes, 1 << 30, "1GiB")?;
        let min_free_bytes = size("min_free_bytes", raw.min_free_bytes, 256 << 20, "256MiB")?;
        if max_upload_bytes < 1024 {
            return Err(invalid(
                "max_upload_bytes",
                "must be at least 1KiB (the default is 1GiB)",
            ));
        }
        let max_concurrent_uploads = match raw.max_concurrent_uploads {
            None => 8,
            Some(n) => match usize::try_from(n) {
                Ok(n) if (1..=MAX_CONCURRENT_UPLOADS_LIMIT).contains(&n) => n,
                _ => {
                    return Err(invalid(
                        "max_concurrent_uploads",
                        format!(
                            "must be between 1 and {MAX_CONCURRENT_UPLOADS_LIMIT} (the default is 8): \
                             each upload holds a thread of the server's blocking pool and about 25 MiB \
                             of memory"
                        ),
                    ))
                }
            },
        };
        let onion_address = match raw.onion_address.map(|s| s.trim().to_ascii_lowercase()) {
            None => None,
            Some(s) if s.is_empty() => None,
            Some(s) => {
                let host = s
                    .strip_prefix("http://")
                    .unwrap_or(&s)
                    .trim_end_matches('/');
                let label = host.strip_suffix(".onion").unwrap_or("");
                let ok = label.len() == 56
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
                if !ok {
                    return Err(invalid(
                        "onion_address",
                        "must be a v3 onion address: 56 letters and digits followed by .onion (see /var/lib/tor/witness-drop/hostname)",
                    ));
                }
                Some(host.to_owned())
            }
        };
        let org_name = raw
            .org_name
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "witness-drop".to_owned());
        let check_name = |key: &'static str, name: &str| {
            if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
                return Err(invalid(
                    key,
                    "must be 1 to 100 characters, without control characters",
                ));
            }
            Ok(())
        };
        check_name("org_name", &org_name)?;
        let org_name_az = raw
            .org_name_az
            .map_or_else(|| org_name.clone(), |s| s.trim().to_owned());
        check_name("org_name_az", &org_name_az)?;
        let org_name_ru = raw
            .org_name_ru
            .map_or_else(|| org_name.clone(), |s| s.trim().to_owned());
        check_name("org_name_ru", &org_name_ru)?;
        Ok(Config {
            listen,
            data_dir: raw.data_dir.unwrap_or_else(|| PathBuf::from("./data")),
            recipients: raw
                .recipients
                .unwrap_or_else(|| PathBuf::from("keys/recipients.txt")),
            max_upload_bytes,
            max_concurrent_uploads,
            min_free_bytes,
            onion_address,
            org_name,
            org_name_az,
            org_name_ru,
            source_file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "t".into(),
            message: e.message().to_owned(),
        })?;
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::apply_env(&mut raw, |k| {
            env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone())
        })?;
        Config::validate(raw, None)
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = from("", &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.recipients, PathBuf::from("keys/recipients.txt"));
        assert_eq!(c.max_upload_bytes, 1 << 30);
        assert_eq!(c.max_concurrent_uploads, 8);
        assert_eq!(c.onion_address, None);
        assert_eq!(c.org_name, "witness-drop");
    }

    #[test]
    fn env_overrides_file() {
        let c = from(
            "listen = \"127.0.0.1:9000\"\nmax_upload_bytes = \"10MiB\"\n",
            &[
                ("WITNESS_DROP_LISTEN", "127.0.0.1:9001"),
                ("WITNESS_DROP_MAX_CONCURRENT_UPLOADS", "3"),
            ],
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9001);
        assert_eq!(c.max_upload_bytes, 10 << 20);
        assert_eq!(c.max_concurrent_uploads, 3);
    }

    #[test]
    fn max_concurrent_uploads_is_capped_where_the_blocking_pool_stays_healthy() {
        let n = MAX_CONCURRENT_UPLOADS_LIMIT;
        let c = from(&format!("max_concurrent_uploads = {n}"), &[]).unwrap();
        assert_eq!(c.max_concurrent_uploads, n);
        for text in [
            format!("max_concurrent_uploads = {}", n + 1),
            "max_concurrent_uploads = 512".to_owned(),
            "max_concurrent_uploads = 1024".to_owned(),
            "max_concurrent_uploads = -1".to_owned(),
        ] {
            let e = from(&text, &[]).unwrap_err().to_string();
            assert!(
                e.contains("max_concurrent_uploads") && e.contains(&format!("between 1 and {n}")),
                "{text}: {e}"
            );
        }
        let e = from("", &[("WITNESS_DROP_MAX_CONCURRENT_UPLOADS", "1024")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("WITNESS_DROP_MAX_CONCURRENT_UPLOADS"), "{e}");
    }

    #[test]
    fn organisation_names_per_language_default_to_org_name_and_take_env_overrides() {
        let c = from("org_name = \"Justice Watch\"\n", &[]).unwrap();
        assert_eq!(
            (c.org_name_az.as_str(), c.org_name_ru.as_str()),
            ("Justice Watch", "Justice Watch")
        );
        let c = from(
            "org_name = \"Justice Watch\"\norg_name_az = \"Ədalət Nəzarəti\"\n",
            &[("WITNESS_DROP_ORG_NAME_RU", "Надзор за справедливостью")],
        )
        .unwrap();
        assert_eq!(c.org_name_az, "Ədalət Nəzarəti");
        assert_eq!(c.org_name_ru, "Надзор за справедливостью");
        let e = from("org_name_ru = \"\"", &[]).unwrap_err().to_string();
        assert!(e.contains("org_name_ru"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        for (text, key) in [
            ("listen = \"nowhere\"", "listen"),
            ("max_upload_bytes = \"lots\"", "max_upload_bytes"),
            ("max_concurrent_uploads = 0", "max_concurrent_uploads"),
            ("onion_address = \"example.com\"", "onion_address"),
        ] {
            let e = from(text, &[]).unwrap_err().to_string();
            assert!(e.contains(key), "{e}");
        }
        let e = from("colour = 1", &[]).unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
    }
}
