//! RPC hand-off over a real TCP socket: the caller puts `{hmac_key, base_id, parent_id}` in
//! each request's context map, as OpenStack services do in their RPC request context; the
//! server continues the trace from it, so the callee's spans hang under the caller's.
//!
//! Run it with `cargo run -p rpc-tcp`.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use osprof_core::{Trace, TraceSnapshot, notifier};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One call on the wire: a JSON line.
#[derive(Serialize, Deserialize)]
struct Request {
    method: String,
    args: Vec<i64>,
    /// The request context: user, project, ... and `trace_info` when the caller is traced.
    context: Map<String, Value>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    notifier::set(move |event: &Value| sink.lock().expect("no sink panics").push(event.clone()));

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let server = std::thread::spawn(move || serve(listener));

    let profiler = osprof_core::init("SECRET_KEY", None, None);
    let total = {
        let _call = Trace::new("rpc", Some(json!({"method": "sum"})));
        call(&address, "sum", vec![1, 2, 3])?
    };
    osprof_core::clean();
    server.join().map_err(|_| "the server panicked")??;
    notifier::flush();

    println!("sum -> {total}");
    println!("Trace ID: {}", profiler.base_id());
    let report = osprof_core::report::build(events.lock().expect("no sink panics").clone());
    print!("{}", osprof_core::report::text_tree(&report));
    let call_span = &report["children"][0];
    if call_span["children"][0]["info"]["name"] != "compute" {
        return Err("the server's span is not under the caller's".into());
    }
    Ok(())
}

/// Sends one request with the current trace in its context, and reads the result.
fn call(address: &std::net::SocketAddr, method: &str, args: Vec<i64>) -> std::io::Result<i64> {
    let mut context = Map::new();
    context.insert("project_id".into(), json!("demo"));
    if let Some(trace) = TraceSnapshot::current() {
        context.insert("trace_info".into(), serde_json::to_value(trace)?);
    }
    let request = Request {
        method: method.to_owned(),
        args,
        context,
    };
    let mut stream = TcpStream::connect(address)?;
    writeln!(stream, "{}", serde_json::to_string(&request)?)?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    Ok(serde_json::from_str(&reply)?)
}

/// Handles one connection: continues the caller's trace, if any, for the call's duration.
fn serve(listener: TcpListener) -> std::io::Result<()> {
    let (stream, _) = listener.accept()?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line)?;
    let request: Request = serde_json::from_str(&line)?;
    let trace: Option<TraceSnapshot> = request
        .context
        .get("trace_info")
        .and_then(|info| serde_json::from_value(info.clone()).ok());
    if let Some(trace) = &trace {
        trace.resume();
    }
    let result = compute(&request.method, &request.args);
    osprof_core::clean();
    writeln!(&stream, "{result}")
}

#[osprof_core::trace(name = "compute")]
fn compute(method: &str, args: &[i64]) -> i64 {
    match method {
        "sum" => args.iter().sum(),
        _ => 0,
    }
}
