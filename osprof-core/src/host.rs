//! The machine's hostname, read once: every payload's `info.host`.

use std::sync::OnceLock;

pub(crate) fn name() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| gethostname::gethostname().to_string_lossy().into_owned())
}
