//! One trace across two processes: a client calls the `api` service, which calls the
//! `inventory` service (this same program, started as a second process) over loopback. Both
//! services join the trace through signed headers and write to one `file://` sink; the
//! trace is then read back and printed as one tree.
//!
//! Run it with `cargo run -p http-chain`; it needs no server.

use std::path::PathBuf;
use std::process::Stdio;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use osprof_core::drivers::DriverOptions;
use osprof_core::{FutureExt, notifier};
use osprof_http::{TraceLayer, TraceMiddleware};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::TcpListener;

/// The key both services verify with, and the client signs with.
const HMAC_KEY: &str = "SECRET_KEY";

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("inventory") => {
            let events = PathBuf::from(
                args.next()
                    .ok_or("usage: http-chain inventory <events file>")?,
            );
            inventory(events).await
        }
        _ => api_and_client().await,
    }
}

/// Installs the shared sink: every process appends to the same file.
fn install_sink(events: &std::path::Path, service: &str) -> Result<(), Error> {
    let connection_string = format!("file://{}", events.display());
    let options = DriverOptions::new("http-chain", service);
    notifier::set_shared(notifier::try_create(&connection_string, &options)?);
    Ok(())
}

/// Serves `app` on an ephemeral loopback port; returns the port.
async fn serve(app: Router) -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(port)
}

/// The second process: prints its port, serves until its stdin closes, then delivers
/// what it recorded before exiting.
async fn inventory(events: PathBuf) -> Result<(), Error> {
    install_sink(&events, "inventory")?;
    let app = Router::new()
        .route("/flavors", get(list_flavors))
        .layer(TraceLayer::new([HMAC_KEY]));
    println!("{}", serve(app).await?);
    let mut stdin = tokio::io::stdin();
    stdin.read_to_end(&mut Vec::new()).await?;
    notifier::flush();
    Ok(())
}

#[osprof_core::trace(name = "db")]
async fn list_flavors() -> &'static str {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    r#"["m1.small", "m1.large"]"#
}

/// The first process: starts `inventory`, serves `api`, and plays the client.
async fn api_and_client() -> Result<(), Error> {
    let events = std::env::temp_dir().join(format!("http-chain-{}.jsonl", std::process::id()));
    install_sink(&events, "api")?;

    let mut inventory = tokio::process::Command::new(std::env::current_exe()?)
        .arg("inventory")
        .arg(&events)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut port = String::new();
    BufReader::new(inventory.stdout.take().ok_or("no stdout")?)
        .read_line(&mut port)
        .await?;
    let inventory_url = format!("http://127.0.0.1:{}/flavors", port.trim());

    let client = ClientBuilder::new(reqwest::Client::new())
        .with(TraceMiddleware::default())
        .build();
    let api = Router::new()
        .route("/servers", get(list_servers))
        .with_state((client.clone(), inventory_url))
        .layer(TraceLayer::new([HMAC_KEY]));
    let api_url = format!("http://127.0.0.1:{}/servers", serve(api).await?);

    // The client: starts the trace, as `openstack --os-profile SECRET_KEY` would.
    let base_id = async move {
        let base_id = osprof_core::init(HMAC_KEY, None, None).base_id().to_owned();
        let body = client.get(api_url).send().await?.text().await?;
        println!("GET /servers -> {body}");
        osprof_core::clean();
        Ok::<_, Error>(base_id)
    }
    .in_current_trace()
    .await?;

    // Close the second process's stdin: it flushes its events and exits.
    drop(inventory.stdin.take());
    let status = inventory.wait().await?;
    if !status.success() {
        return Err(format!("the inventory process failed: {status}").into());
    }
    notifier::flush();

    let report = notifier::get().get_report(&base_id)?;
    println!("Trace ID: {base_id}");
    print!("{}", osprof_core::report::text_tree(&report));
    let services = services_of(&report);
    std::fs::remove_file(&events)?;
    let roots = report["children"].as_array().map_or(0, Vec::len);
    if services != ["api", "inventory"] || roots != 1 {
        return Err("expected one tree with spans from both services".into());
    }
    Ok(())
}

async fn list_servers(
    State((client, inventory_url)): State<(ClientWithMiddleware, String)>,
) -> Result<String, String> {
    let flavors = client
        .get(inventory_url)
        .send()
        .await
        .map_err(|error| error.to_string())?
        .text()
        .await
        .map_err(|error| error.to_string())?;
    Ok(format!(r#"{{"servers": [], "flavors": {flavors}}}"#))
}

/// The services that wrote spans of `report`, sorted.
fn services_of(report: &serde_json::Value) -> Vec<String> {
    let mut services = std::collections::BTreeSet::new();
    let mut nodes = vec![report];
    while let Some(node) = nodes.pop() {
        if let Some(service) = node["info"]["service"].as_str() {
            services.insert(service.to_owned());
        }
        nodes.extend(node["children"].as_array().into_iter().flatten());
    }
    services.into_iter().collect()
}
