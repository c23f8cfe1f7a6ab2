//! The machine's hostname, read once: every payload's `info.host`.

use std::sync::OnceLock;

static HOST: OnceLock<String> = OnceLock::new();

pub(crate) fn name() -> &'static str {
    HOST.get_or_init(|| gethostname::gethostname().to_string_lossy().into_owned())
}

/// Names the host in payloads instead of the machine's hostname; false if payloads have
/// been built already (the name cannot change after that).
pub(crate) fn set(name: &str) -> bool {
    HOST.set(name.to_owned()).is_ok()
}
