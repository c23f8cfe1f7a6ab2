//! `osprof`: shows a stored trace as JSON, Graphviz DOT or an HTML page, and lists stored traces
//! as OSProfiler's `osprofiler trace` does, from any driver that reads back or from a saved report file.

#![forbid(unsafe_code)]

mod dot;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use osprof_core::drivers::DriverOptions;
use osprof_core::notifier::{self, Driver};
use osprof_core::report::Report;

/// Shows and lists osprof and OSProfiler traces.
#[derive(Debug, Parser)]
#[command(name = "osprof", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str =
    "Exit codes: 0 success, 1 trace not found or the store failed, 2 bad usage.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Stored traces.
    #[command(subcommand)]
    Trace(TraceCommand),
}

#[derive(Debug, Subcommand)]
enum TraceCommand {
    /// Shows one trace as its report.
    #[command(after_help = EXIT_CODES)]
    Show(Show),
    /// Lists stored traces, oldest first.
    #[command(after_help = EXIT_CODES)]
    List(List),
}

#[derive(Debug, Args)]
struct Store {
    /// Where traces are stored: file:///var/log/osprof.jsonl, redis://127.0.0.1:6379,
    /// redissentinel://host:26379, sqlite:///path/traces.db, postgresql://user@host/db or
    /// mysql://user@host/db.
    #[arg(long, value_name = "CS", env = "OSPROF_CONNECTION_STRING")]
    connection_string: Option<String>,
}

impl Store {
    /// The driver to read from; OSProfiler's `OSPROFILER_CONNECTION_STRING` as a fallback.
    fn driver(&self) -> Result<std::sync::Arc<dyn Driver>, Failure> {
        let connection_string = self
            .connection_string
            .clone()
            .or_else(|| std::env::var("OSPROFILER_CONNECTION_STRING").ok())
            .ok_or_else(|| {
                Failure::Usage(
                    "no connection string: pass --connection-string or set OSPROF_CONNECTION_STRING"
                        .into(),
                )
            })?;
        notifier::try_create(&connection_string, &DriverOptions::default())
            .map_err(|error| Failure::Store(error.to_string()))
    }
}

#[derive(Debug, Args)]
#[group(id = "format", required = true, multiple = false)]
struct Format {
    /// The report as JSON, indented by 2 spaces.
    #[arg(long, group = "format")]
    json: bool,
    /// The span tree as a Graphviz graph.
    #[arg(long, group = "format")]
    dot: bool,
    /// One self-contained HTML page (works offline): the tree with duration bars, a filter,
    /// and each span's payloads.
    #[arg(long, group = "format")]
    html: bool,
    /// The span tree as indented text, one span per line with its duration.
    #[arg(long, group = "format")]
    text: bool,
}

#[derive(Debug, Args)]
struct Show {
    /// A trace's base id (UUID), or the path of a report saved with `--json`.
    #[arg(value_name = "UUID|REPORT.json")]
    trace: String,
    #[command(flatten)]
    format: Format,
    /// Write to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    #[command(flatten)]
    store: Store,
}

#[derive(Debug, Args)]
struct List {
    /// Only traces that contain an error (needs `filter_error_trace` when they were stored).
    #[arg(long)]
    error_trace: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: Store,
}

/// Why a command failed; each kind has its exit code.
#[derive(Debug)]
enum Failure {
    NotFound(String),
    Store(String),
    Usage(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    osprof_sqlx::register_drivers();
    let outcome = match cli.command {
        Command::Trace(TraceCommand::Show(show)) => show_trace(&show),
        Command::Trace(TraceCommand::List(list)) => list_traces(&list),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::NotFound(message) | Failure::Store(message)) => {
            eprintln!("osprof: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("osprof: {message}");
            ExitCode::from(2)
        }
    }
}

fn show_trace(show: &Show) -> Result<(), Failure> {
    let path = PathBuf::from(&show.trace);
    let report = if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| Failure::Store(format!("cannot read {}: {error}", path.display())))?;
        Report::from_json(&text).map_err(|error| {
            Failure::Store(format!("{} is not a saved report: {error}", path.display()))
        })?
    } else {
        check_trace_id(&show.trace)?;
        show.store
            .driver()?
            .get_report(&show.trace)
            .map_err(|error| Failure::Store(error.to_string()))?
    };
    if report["children"].as_array().is_none_or(Vec::is_empty) {
        return Err(Failure::NotFound(format!(
            "Trace with UUID {} not found. Please check the trace id and the connection string.",
            show.trace
        )));
    }
    let mut output = if show.format.json {
        report.to_json(true)
    } else if show.format.html {
        osprof_core::report::to_html(&report)
    } else if show.format.text {
        let mut tree = osprof_core::report::text_tree(&report);
        tree.pop(); // the newline pushed below ends the last line
        tree
    } else {
        dot::render(&report)
    };
    output.push('\n');
    write_output(show.out.as_ref(), &output)
}

/// Refuses what cannot be a trace id before it reaches a store, where characters such as
/// `*` or `?` would be patterns.
fn check_trace_id(id: &str) -> Result<(), Failure> {
    let valid = !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if valid {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "`{id}` is neither a trace id (a UUID, or up to 255 letters, digits, `-`, `_`, `.` and `:`) nor a saved report file"
        )))
    }
}

fn list_traces(list: &List) -> Result<(), Failure> {
    let driver = list.store.driver()?;
    let traces = if list.error_trace {
        driver.list_error_traces()
    } else {
        driver.list_traces(&[])
    }
    .map_err(|error| Failure::Store(error.to_string()))?;
    let output = if list.json {
        serde_json::to_string_pretty(&traces).expect("a JSON value serialises") + "\n"
    } else {
        let mut table = format!("{:<36}  {}\n", "base_id", "timestamp");
        for trace in &traces {
            let field = |name: &str| trace[name].as_str().unwrap_or_default().to_owned();
            table.push_str(&format!(
                "{:<36}  {}\n",
                field("base_id"),
                field("timestamp")
            ));
        }
        table
    };
    write_output(None, &output)
}

fn write_output(out: Option<&PathBuf>, text: &str) -> Result<(), Failure> {
    match out {
        Some(path) => std::fs::write(path, text)
            .map_err(|error| Failure::Store(format!("cannot write {}: {error}", path.display()))),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`osprof ... | head`) is not an error worth reporting.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush());
            Ok(())
        }
    }
}
