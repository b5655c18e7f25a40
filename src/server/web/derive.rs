//! Codename derivations (Argon2id, 64 MiB each) behind a bounded limit, off the async threads.
//!
//! Invariant: at most [`MAX_DERIVATIONS`] derivations run at once, whatever the flood, so
//! logins and first submissions use at most that many times 64 MiB beyond the server's own
//! memory; the codename is moved into the blocking task and dropped (zeroised) there.

use std::time::Duration;

use zeroize::Zeroizing;

use super::{blocking, AppState, WebError};
use crate::server::codename::{self, Derived};

/// Argon2id derivations at once (64 MiB each).
pub const MAX_DERIVATIONS: usize = 2;

/// How long a first submission waits for a derivation slot before "busy".
const DERIVATION_WAIT: Duration = Duration::from_secs(120);

/// Whether a request waits for a free derivation slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wait {
    /// Queue for a slot, up to two minutes: a first submission, which has already arrived.
    Queue,
    /// Answer "busy" at once: a login, which the source can simply repeat.
    No,
}

/// Derives the lookup id and reply identity of `normalised` behind the derivation limit.
pub async fn derive_limited(
    st: &AppState,
    normalised: Zeroizing<String>,
    wait: Wait,
) -> Result<Derived, WebError> {
    let permit = match wait {
        Wait::Queue => {
            match tokio::time::timeout(DERIVATION_WAIT, st.derivations.clone().acquire_owned())
                .await
            {
                Ok(Ok(p)) => p,
                _ => return Err(WebError::Busy),
            }
        }
        Wait::No => st
            .derivations
            .clone()
            .try_acquire_owned()
            .map_err(|_| WebError::Busy)?,
    };
    let secret = st.secret.clone();
    blocking("derivation", move || {
        let _permit = permit;
        codename::derive(&normalised, &secret)
    })
    .await
}
