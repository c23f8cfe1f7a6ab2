//! The error type of osprof's fallible operations.

/// What can go wrong when talking to a driver.
///
/// ```
/// use osprof_core::drivers::DriverOptions;
/// use osprof_core::{Error, notifier};
///
/// match notifier::try_create("carrier-pigeon://", &DriverOptions::default()) {
///     Err(Error::DriverNotFound { connection_string }) => assert_eq!(connection_string, "carrier-pigeon://"),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The driver cannot do this: a write-only sink asked for a report, say.
    #[error(
        "the {driver} driver cannot {operation}; use a storage driver (such as file:// or redis://) to read traces back"
    )]
    Unsupported {
        /// The driver's name.
        driver: &'static str,
        /// What was asked of it.
        operation: &'static str,
    },
    /// No driver handles this connection string's scheme (OSProfiler's wording).
    #[error("Driver not found for connection string: {connection_string}")]
    DriverNotFound {
        /// The connection string as given.
        connection_string: String,
    },
    /// A scheme osprof knows, whose driver this build leaves out.
    #[error("the {scheme}:// driver is not built in: {remedy}")]
    NotBuiltIn {
        /// The connection string's scheme.
        scheme: &'static str,
        /// How to build it in.
        remedy: &'static str,
    },
    /// The driver's storage or transport failed.
    #[error("{driver} driver: {message}")]
    Driver {
        /// The driver's name.
        driver: &'static str,
        /// What went wrong, and what to do about it.
        message: String,
    },
}
