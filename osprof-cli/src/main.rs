//! `osprof`: shows a stored trace as JSON, Graphviz DOT or an HTML page, lists stored traces
//! as OSProfiler's `osprofiler trace` does, from any driver that reads back or from a saved
//! report file, and compares two traces.

#![forbid(unsafe_code)]

mod dot;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use osprof_core::drivers::DriverOptions;
use osprof_core::notifier::{self, Driver};
use osprof_core::report::Report;

/// Shows, lists and compares osprof and OSProfiler traces.
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
    /// Compares two traces: spans aligned by their path of functions or names, with counts
    /// and durations in both, the biggest regressions first.
    #[command(after_help = EXIT_CODES)]
    Diff(Diff),
}

#[derive(Debug, Args)]
struct Store {
    /// Where traces are stored: file:///var/log/osprof.jsonl, redis://127.0.0.1:6379,
    /// redissentinel://host:26379, sqlite:///path/traces.db, postgresql://user@host/db,
    /// mysql://user@host/db, or messaging:// (the queue of --transport-url; `show` and `diff` only).
    #[arg(long, value_name = "CS", env = "OSPROF_CONNECTION_STRING")]
    connection_string: Option<String>,
    /// How long to wait for the store to connect and answer, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = seconds)]
    socket_timeout: Duration,
    /// The broker of messaging://, e.g. rabbit://user:password@host:5672/ (default: the
    /// OSPROF_TRANSPORT_URL variable, else amqp://guest:guest@127.0.0.1:5672/%2f).
    #[arg(long, value_name = "URL")]
    transport_url: Option<String>,
    /// How long messaging:// waits for more of the trace's events after the last one came,
    /// in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = seconds)]
    idle_timeout: Duration,
}

/// A positive number of seconds, such as `1` or `0.5`.
fn seconds(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0 && *seconds <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("`{text}` is not a number of seconds from 0.001 to 86400"))
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
        let mut options = DriverOptions::default();
        options.socket_timeout = self.socket_timeout;
        options.transport_url.clone_from(&self.transport_url);
        options.idle_timeout = self.idle_timeout;
        notifier::try_create(&connection_string, &options)
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
    /// One self-contained HTML page (works offline): the span tree with the critical path
    /// open, search, a flame view, totals per name and function, each span's payloads.
    #[arg(long, group = "format")]
    html: bool,
    /// The span tree as indented text, one span per line with its duration.
    #[arg(long, group = "format")]
    text: bool,
    /// Collapsed stacks (`root;child;leaf <µs>`, time spent in the leaf itself) for flame
    /// graphs: inferno, flamegraph.pl, speedscope.
    #[arg(long, group = "format")]
    folded: bool,
    /// Chrome trace-event JSON, for Perfetto (ui.perfetto.dev) or chrome://tracing: one
    /// process per service and host.
    #[arg(long, group = "format")]
    chrome: bool,
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
    /// With --dot, also render the graph into FILE with Graphviz's `dot`, as PDF, or as the
    /// format FILE's extension names (svg, png, ...).
    #[arg(long, value_name = "FILE")]
    render_dot: Option<PathBuf>,
    #[command(flatten)]
    store: Store,
}

#[derive(Debug, Args)]
struct Diff {
    /// The trace compared against: a base id (UUID), or the path of a report saved with `--json`.
    #[arg(value_name = "BEFORE")]
    before: String,
    /// The trace compared, as BEFORE.
    #[arg(value_name = "AFTER")]
    after: String,
    /// Print the comparison as JSON instead of a table.
    #[arg(long, group = "diff_format")]
    json: bool,
    /// Print the comparison as one self-contained HTML page.
    #[arg(long, group = "diff_format")]
    html: bool,
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
        Command::Trace(TraceCommand::Diff(diff)) => diff_traces(&diff),
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
    if show.render_dot.is_some() && !show.format.dot {
        return Err(Failure::Usage(
            "--render-dot renders the --dot output: add --dot".into(),
        ));
    }
    let report = read_report(&show.trace, &show.store)?;
    let mut output = if show.format.json {
        report.to_json(true)
    } else if show.format.html {
        osprof_core::report::to_html(&report)
    } else if show.format.text {
        let mut tree = osprof_core::report::text_tree(&report);
        tree.pop(); // the newline pushed below ends the last line
        tree
    } else if show.format.chrome {
        osprof_core::report::chrome_trace(&report).to_string()
    } else if show.format.folded {
        let mut stacks = osprof_core::report::folded(&report);
        stacks.pop(); // the newline pushed below ends the last line
        stacks
    } else {
        let graph = dot::render(&report);
        if let Some(file) = &show.render_dot {
            render_dot(&graph, file)?;
        }
        graph
    };
    output.push('\n');
    write_output(show.out.as_ref(), &output)
}

/// The report of `trace`: a saved report file, else a trace id read from the store.
fn read_report(trace: &str, store: &Store) -> Result<Report, Failure> {
    let path = PathBuf::from(trace);
    let report = if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| Failure::Store(format!("cannot read {}: {error}", path.display())))?;
        Report::from_json(&text).map_err(|error| {
            Failure::Store(format!("{} is not a saved report: {error}", path.display()))
        })?
    } else {
        check_trace_id(trace)?;
        store
            .driver()?
            .get_report(trace)
            .map_err(|error| Failure::Store(error.to_string()))?
    };
    if report["children"].as_array().is_none_or(Vec::is_empty) {
        return Err(Failure::NotFound(format!(
            "Trace with UUID {trace} not found. Please check the trace id and the connection string."
        )));
    }
    Ok(report)
}

fn diff_traces(diff: &Diff) -> Result<(), Failure> {
    let before = read_report(&diff.before, &diff.store)?;
    let after = read_report(&diff.after, &diff.store)?;
    let compared = osprof_core::report::diff(&before, &after);
    let output = if diff.json {
        format!("{:#}\n", compared.to_json())
    } else if diff.html {
        compared.to_html()
    } else {
        compared.to_text()
    };
    write_output(diff.out.as_ref(), &output)
}

/// Renders `graph` into `file` with Graphviz's `dot`, in the format of `file`'s extension
/// (PDF when it has none, as OSProfiler renders).
fn render_dot(graph: &str, file: &Path) -> Result<(), Failure> {
    let format = file
        .extension()
        .and_then(|extension| extension.to_str())
        .unwrap_or("pdf");
    let failed =
        |reason: String| Failure::Store(format!("cannot render {}: {reason}", file.display()));
    let mut dot = std::process::Command::new("dot")
        .arg(format!("-T{format}"))
        .arg("-o")
        .arg(file)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            failed(format!(
                "cannot run Graphviz's `dot` ({error}); install Graphviz (the graphviz package)"
            ))
        })?;
    if let Some(mut input) = dot.stdin.take() {
        input
            .write_all(graph.as_bytes())
            .map_err(|error| failed(format!("cannot write to `dot`: {error}")))?;
    }
    let finished = dot
        .wait_with_output()
        .map_err(|error| failed(format!("`dot` failed: {error}")))?;
    if finished.status.success() {
        Ok(())
    } else {
        Err(failed(format!(
            "`dot -T{format}` said: {}",
            String::from_utf8_lossy(&finished.stderr).trim()
        )))
    }
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
