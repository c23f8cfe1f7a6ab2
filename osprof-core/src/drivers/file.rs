//! `file://`: one OSProfiler payload per line in a local file, readable back.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::Value;

use super::{DriverOptions, LineWriter, first_of_each_trace, only};
use crate::Error;
use crate::notifier::{Batch, Driver};

/// Appends each payload, with `project` and `service` added, as one JSON line to a file: the
/// embedded storage for a single machine, no server needed. It reads traces back too.
///
/// Lines are appended a batch at a time with `O_APPEND`, so several processes can share one
/// file. A line that is not a whole payload (cut short by a crash mid-write, or any other
/// bytes, valid UTF-8 or not) is skipped when reading, counted in
/// [`skipped_lines`](FileDriver::skipped_lines) and reported through `tracing`.
///
/// ```
/// use osprof_core::drivers::{DriverOptions, FileDriver};
/// use osprof_core::notifier::Driver;
///
/// let path = std::env::temp_dir().join(format!("osprof-doc-{}.jsonl", std::process::id()));
/// let driver = FileDriver::open(&path, &DriverOptions::new("nova", "api")).unwrap();
/// osprof_core::notifier::set(driver);
///
/// let profiler = osprof_core::init("SECRET_KEY", None, None);
/// drop(osprof_core::Trace::new("wsgi", None));
/// osprof_core::clean();
/// osprof_core::notifier::flush();
///
/// let report = osprof_core::notifier::get().get_report(profiler.base_id()).unwrap();
/// assert_eq!(report["children"][0]["info"]["name"], "wsgi");
/// assert_eq!(report["children"][0]["info"]["project"], "nova");
/// # std::fs::remove_file(path).unwrap();
/// ```
#[derive(Debug)]
pub struct FileDriver {
    path: PathBuf,
    file: Mutex<File>,
    lines: LineWriter,
    /// The lines of the batch being written, reused.
    buffer: Mutex<String>,
    /// Lines skipped by the last read, as not being a payload.
    skipped: AtomicU64,
}

impl FileDriver {
    /// Opens (creating if missing) the file at `path` for appending. Fails with a message
    /// naming the path when it cannot be written.
    ///
    /// ```
    /// use osprof_core::drivers::{DriverOptions, FileDriver};
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-open-{}.jsonl", std::process::id()));
    /// assert!(FileDriver::open(&path, &DriverOptions::new("nova", "api")).is_ok());
    /// # std::fs::remove_file(&path).unwrap();
    /// let error = FileDriver::open("/no/such/directory/events.jsonl", &DriverOptions::default()).unwrap_err();
    /// assert!(error.to_string().contains("/no/such/directory/events.jsonl"));
    /// ```
    pub fn open(path: impl AsRef<Path>, options: &DriverOptions) -> Result<FileDriver, Error> {
        let path = path.as_ref().to_owned();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| Error::Driver {
                driver: "file",
                message: format!(
                    "cannot open {} for appending: {error}; check that its directory exists and is writable",
                    path.display()
                ),
            })?;
        Ok(FileDriver {
            path,
            file: Mutex::new(file),
            lines: LineWriter::new(options),
            buffer: Mutex::new(String::new()),
            skipped: AtomicU64::new(0),
        })
    }

    /// The driver of a `file://<path>` connection string.
    pub(crate) fn create(
        connection_string: &str,
        options: &DriverOptions,
    ) -> Result<Arc<dyn Driver>, Error> {
        let path = connection_string
            .strip_prefix("file://")
            .filter(|path| !path.is_empty())
            .ok_or_else(|| Error::Driver {
                driver: "file",
                message: format!(
                    "`{connection_string}` names no file; write file:///absolute/path/events.jsonl"
                ),
            })?;
        Ok(Arc::new(FileDriver::open(path, options)?))
    }

    /// The file this driver writes.
    ///
    /// ```
    /// use osprof_core::drivers::{DriverOptions, FileDriver};
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-path-{}.jsonl", std::process::id()));
    /// let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    /// assert_eq!(driver.path(), path);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn push_line(&self, buffer: &mut String, payload_json: &str) {
        self.lines.push(buffer, payload_json);
        buffer.push('\n');
    }

    fn write(&self, lines: &str) -> Result<(), Error> {
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(lines.as_bytes())
            .map_err(|error| Error::Driver {
                driver: "file",
                message: format!("cannot append to {}: {error}", self.path.display()),
            })
    }

    /// How many lines the last read of the file skipped because they were not a payload
    /// (torn by a crash mid-write, not UTF-8, not a JSON object).
    ///
    /// ```
    /// use osprof_core::drivers::{DriverOptions, FileDriver};
    /// use osprof_core::notifier::Driver;
    ///
    /// let path = std::env::temp_dir().join(format!("osprof-skip-{}.jsonl", std::process::id()));
    /// std::fs::write(&path, b"{\"name\": \"wsgi-st\xc3\n").unwrap();
    /// let driver = FileDriver::open(&path, &DriverOptions::default()).unwrap();
    /// assert!(driver.list_traces(&[]).unwrap().is_empty());
    /// assert_eq!(driver.skipped_lines(), 1);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn skipped_lines(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Every stored event that passes `keep` (a cheap test on the raw line), in file order.
    /// Lines that are not a payload are skipped and counted, whatever bytes they hold.
    fn events(&self, keep: impl Fn(&str) -> bool) -> Result<Vec<Value>, Error> {
        let cannot_read = |error: std::io::Error| Error::Driver {
            driver: "file",
            message: format!("cannot read {}: {error}", self.path.display()),
        };
        let file = File::open(&self.path).map_err(cannot_read)?;
        let mut events = Vec::new();
        let mut skipped = 0u64;
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(cannot_read)?;
            let Ok(line) = std::str::from_utf8(&line) else {
                skipped += 1;
                continue;
            };
            if line.trim().is_empty() || !keep(line) {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(event @ Value::Object(_)) => events.push(event),
                _ => skipped += 1,
            }
        }
        self.skipped.store(skipped, Ordering::Relaxed);
        if skipped > 0 {
            tracing::warn!(
                path = %self.path.display(),
                skipped,
                "osprof skipped lines of its file store that are not whole payloads (a write cut short by a crash, or other bytes)"
            );
        }
        Ok(events)
    }
}

fn text<'a>(event: &'a Value, field: &str) -> Option<&'a str> {
    event.get(field).and_then(Value::as_str)
}

impl Driver for FileDriver {
    fn notify(&self, payload: &Value) -> Result<(), Error> {
        let mut line = String::new();
        self.push_line(&mut line, &payload.to_string());
        self.write(&line)
    }

    fn notify_batch(&self, batch: &mut Batch<'_>) -> Result<(), Error> {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        buffer.clear();
        while let Some(json) = batch.next_json() {
            self.push_line(&mut buffer, json);
        }
        self.write(&buffer)
    }

    fn get_report(&self, base_id: &str) -> Result<crate::report::Report, Error> {
        let events = self.events(|line| line.contains(base_id))?;
        Ok(crate::report::build(
            events
                .into_iter()
                .filter(|event| text(event, "base_id") == Some(base_id)),
        ))
    }

    fn list_traces(&self, fields: &[&str]) -> Result<Vec<Value>, Error> {
        let fields = if fields.is_empty() {
            &["base_id", "timestamp"][..]
        } else {
            fields
        };
        Ok(first_of_each_trace(self.events(|_| true)?)
            .iter()
            .map(|event| only(event, fields))
            .collect())
    }

    fn list_error_traces(&self) -> Result<Vec<Value>, Error> {
        let failed = |event: &Value| {
            event
                .get("info")
                .and_then(|info| info.get("etype"))
                .is_some()
        };
        let failed_events = self.events(|_| true)?.into_iter().filter(failed);
        Ok(first_of_each_trace(failed_events)
            .iter()
            .map(|event| only(event, &["base_id", "timestamp"]))
            .collect())
    }

    fn name(&self) -> &'static str {
        "file"
    }
}
