//! The trace-integrity stress: many tokio tasks, each running a random tree of traced async
//! and sync functions, and a checker that every trace holds exactly the tree its task meant
//! to build.
//!
//! A task starts its trace the way users write it (a bare `init`/`clean` in a plain
//! `tokio::spawn`, or [`FutureExt::in_new_trace`]) or never starts one. Inside, children run
//! in sequence or joined, in spawned tasks (with the trace handed over, or a plain
//! `tokio::spawn` that must record nothing), or in `select!` branches that are cancelled,
//! with random `yield_now` and sleeps between. Every traced function takes its node's id as
//! its one shown argument, so the checker can map each recorded span back to the plan.
//!
//! Used by the seeded test in `tests/trace_integrity.rs` and the `soak` binary.
//! [`hung_store`] serves the tests of stores that hang (`tests/hung_*.rs`), and
//! [`otlp_receiver`] those of the `otlp://` driver.

pub mod hung_store;
pub mod otlp_receiver;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use osprof_core::{FutureExt, trace};
use serde_json::Value;

/// How a node's function is called by its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// `node_async(id).await` in the parent's future.
    Await,
    /// `node_sync(id)`: a sync `#[trace]` function; its children are sync too.
    Sync,
    /// `osprof_core::tokio::spawn(node_async(id)).await`: the trace is handed over.
    SpawnCarried,
    /// `tokio::spawn(node_async(id)).await`: a plain task, which must record nothing.
    SpawnPlain,
    /// A `select!` branch that opens its span, waits forever and is cancelled.
    Cancelled,
}

/// How a task starts its trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// `init` and `clean` inside a plain `tokio::spawn`.
    BareInit,
    /// `tokio::spawn(root.in_new_trace(..))`.
    NewTrace,
    /// No trace: nothing the task runs is recorded.
    Untraced,
}

/// A pause before a node's children run.
#[derive(Clone, Copy, Debug)]
enum Pause {
    None,
    Yield,
    Sleep(u64),
}

#[derive(Debug)]
struct Node {
    call: Call,
    pause: Pause,
    /// Whether the children run concurrently (`join_all`) rather than one after another.
    joined: bool,
    children: Vec<u64>,
    parent: Option<u64>,
}

/// One task's plan: its nodes by id, the root first.
#[derive(Debug)]
struct Plan {
    start: Start,
    base_id: String,
    root: u64,
    nodes: HashMap<u64, Node>,
}

impl Plan {
    fn random(rng: &mut fastrand::Rng, task: u64, base_id: String) -> Plan {
        let start = match rng.u8(0..10) {
            0..=4 => Start::BareInit,
            5..=7 => Start::NewTrace,
            _ => Start::Untraced,
        };
        let mut plan = Plan {
            start,
            base_id,
            root: task << 16,
            nodes: HashMap::new(),
        };
        plan.grow(rng, plan.root, Call::Await, None, 0);
        plan
    }

    fn grow(
        &mut self,
        rng: &mut fastrand::Rng,
        id: u64,
        call: Call,
        parent: Option<u64>,
        depth: u32,
    ) {
        let pause = match rng.u8(0..4) {
            0 => Pause::None,
            1 | 2 => Pause::Yield,
            _ => Pause::Sleep(rng.u64(0..300)),
        };
        let joined = call != Call::Sync && rng.bool();
        self.nodes.insert(
            id,
            Node {
                call,
                pause,
                joined,
                children: Vec::new(),
                parent,
            },
        );
        if depth >= 5 || call == Call::Cancelled {
            return;
        }
        let count = if depth < 2 {
            rng.usize(1..=3)
        } else {
            rng.usize(0..=2)
        };
        for _ in 0..count {
            let child = (id & !0xffff) | (self.nodes.len() as u64);
            let child_call = if call == Call::Sync {
                Call::Sync
            } else {
                match rng.u8(0..12) {
                    0..=4 => Call::Await,
                    5..=7 => Call::Sync,
                    8 | 9 => Call::SpawnCarried,
                    10 => Call::SpawnPlain,
                    _ => Call::Cancelled,
                }
            };
            self.nodes.get_mut(&id).unwrap().children.push(child);
            self.grow(rng, child, child_call, Some(id), depth + 1);
        }
    }

    /// The spans the trace must hold: each node's id with its parent node's id, for every
    /// node that runs inside the trace.
    fn expected(&self) -> BTreeMap<u64, Option<u64>> {
        let mut expected = BTreeMap::new();
        if self.start == Start::Untraced {
            return expected;
        }
        let mut stack = vec![self.root];
        while let Some(id) = stack.pop() {
            let node = &self.nodes[&id];
            expected.insert(id, node.parent);
            stack.extend(
                node.children
                    .iter()
                    .filter(|child| self.nodes[child].call != Call::SpawnPlain),
            );
        }
        expected
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

async fn pause(pause: Pause) {
    match pause {
        Pause::None => {}
        Pause::Yield => tokio::task::yield_now().await,
        Pause::Sleep(micros) => tokio::time::sleep(Duration::from_micros(micros)).await,
    }
}

fn call(plan: &Arc<Plan>, id: u64) -> BoxFuture {
    let plan = plan.clone();
    match plan.nodes[&id].call {
        Call::Await => Box::pin(node_async(id, plan)),
        Call::Sync => Box::pin(async move { node_sync(id, &plan) }),
        Call::SpawnCarried => Box::pin(async move {
            osprof_core::tokio::spawn(node_async(id, plan))
                .await
                .unwrap();
        }),
        Call::SpawnPlain => Box::pin(async move {
            tokio::spawn(node_async(id, plan)).await.unwrap();
        }),
        Call::Cancelled => Box::pin(async move {
            tokio::select! {
                biased;
                () = node_cancelled(id) => unreachable!("never completes"),
                () = std::future::ready(()) => {}
            }
        }),
    }
}

#[trace(skip(plan))]
async fn node_async(id: u64, plan: Arc<Plan>) {
    let node = &plan.nodes[&id];
    pause(node.pause).await;
    if node.joined {
        futures_util::future::join_all(node.children.iter().map(|&child| call(&plan, child))).await;
    } else {
        for &child in &node.children {
            call(&plan, child).await;
        }
    }
}

#[trace(skip(plan))]
fn node_sync(id: u64, plan: &Plan) {
    for &child in &plan.nodes[&id].children {
        node_sync(child, plan);
    }
}

#[trace]
async fn node_cancelled(id: u64) {
    let _ = id;
    std::future::pending::<()>().await;
}

/// Every payload delivered, by base id.
static EVENTS: Mutex<Vec<Value>> = Mutex::new(Vec::new());

fn install_sink() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        osprof_core::notifier::set(|payload: &Value| EVENTS.lock().unwrap().push(payload.clone()));
    });
}

/// What one round found.
#[derive(Debug, Default)]
pub struct Report {
    /// Tasks run.
    pub tasks: u64,
    /// Traces whose tree was checked.
    pub traces: u64,
    /// Payloads checked.
    pub events: u64,
    /// What was wrong, one line each.
    pub failures: Vec<String>,
}

impl Report {
    /// Adds `other`'s counts and failures to this one.
    pub fn add(&mut self, other: Report) {
        self.tasks += other.tasks;
        self.traces += other.traces;
        self.events += other.events;
        self.failures.extend(other.failures);
    }
}

/// Runs `tasks` random tasks on `runtime`, all at once, and checks every payload.
pub fn round(runtime: &tokio::runtime::Runtime, seed: u64, tasks: u64) -> Report {
    install_sink();
    let mut rng = fastrand::Rng::with_seed(seed);
    let plans: Vec<Arc<Plan>> = (0..tasks)
        .map(|task| {
            let base_id = format!("{:08x}-0000-4000-8000-{:012x}", seed as u32, task);
            Arc::new(Plan::random(&mut rng, task + 1, base_id))
        })
        .collect();
    runtime.block_on(async {
        let handles: Vec<_> = plans
            .iter()
            .map(|plan| {
                let plan = plan.clone();
                let root = plan.root;
                match plan.start {
                    Start::BareInit => tokio::spawn(async move {
                        osprof_core::init("SECRET_KEY", Some(&plan.base_id), None);
                        node_async(root, plan.clone()).await;
                        osprof_core::clean();
                    }),
                    Start::NewTrace => {
                        let base_id = plan.base_id.clone();
                        tokio::spawn(node_async(root, plan).in_new_trace(
                            "SECRET_KEY",
                            Some(&base_id),
                            None,
                        ))
                    }
                    Start::Untraced => tokio::spawn(node_async(root, plan)),
                }
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    osprof_core::notifier::flush();
    let events = std::mem::take(&mut *EVENTS.lock().unwrap());
    check(&plans, &events)
}

/// Checks the payloads of one round against the plans.
fn check(plans: &[Arc<Plan>], events: &[Value]) -> Report {
    let mut report = Report {
        tasks: plans.len() as u64,
        events: events.len() as u64,
        ..Report::default()
    };
    let mut by_base: HashMap<&str, Vec<&Value>> = HashMap::new();
    for event in events {
        by_base
            .entry(event["base_id"].as_str().unwrap_or(""))
            .or_default()
            .push(event);
    }
    for plan in plans {
        let trace = by_base.remove(plan.base_id.as_str()).unwrap_or_default();
        if plan.start == Start::Untraced {
            if !trace.is_empty() {
                report.failures.push(format!(
                    "untraced task {} recorded {} events",
                    plan.base_id,
                    trace.len()
                ));
            }
            continue;
        }
        report.traces += 1;
        if let Err(failure) = check_trace(plan, &trace) {
            report.failures.push(format!(
                "trace {} ({:?}): {failure}",
                plan.base_id, plan.start
            ));
        }
    }
    for (base_id, events) in by_base {
        report.failures.push(format!(
            "{} events of trace {base_id}, which no task started",
            events.len()
        ));
    }
    report
}

/// One span as its start and stop payloads gave it.
struct Span {
    node: u64,
    parent: String,
    stopped: bool,
}

fn check_trace(plan: &Plan, events: &[&Value]) -> Result<(), String> {
    let mut spans: HashMap<&str, Span> = HashMap::new();
    for event in events {
        let name = event["name"].as_str().ok_or("no name")?;
        let id = event["trace_id"].as_str().ok_or("no trace_id")?;
        let parent = event["parent_id"].as_str().ok_or("no parent_id")?;
        if name.ends_with("-start") {
            let args = event["info"]["function"]["args"]
                .as_str()
                .ok_or_else(|| format!("start without args: {event}"))?;
            let node = args
                .trim_start_matches('(')
                .trim_end_matches(",)")
                .parse()
                .map_err(|_| format!("args {args}"))?;
            let span = Span {
                node,
                parent: parent.to_owned(),
                stopped: false,
            };
            if spans.insert(id, span).is_some() {
                return Err(format!("span {id} started twice"));
            }
        } else {
            let span = spans
                .get_mut(id)
                .ok_or_else(|| format!("stop without a start: {event}"))?;
            if span.stopped {
                return Err(format!("span {id} stopped twice"));
            }
            if span.parent != parent {
                return Err(format!("stop of {id} names another parent"));
            }
            span.stopped = true;
        }
    }
    let mut recorded = BTreeMap::new();
    for (id, span) in &spans {
        if !span.stopped {
            return Err(format!("span {id} (node {:#x}) never stopped", span.node));
        }
        let parent_node = if span.parent == plan.base_id {
            None
        } else {
            let parent = spans
                .get(span.parent.as_str())
                .ok_or_else(|| format!("span {id}'s parent {} is not in the trace", span.parent))?;
            Some(parent.node)
        };
        if recorded.insert(span.node, parent_node).is_some() {
            return Err(format!("node {:#x} recorded twice", span.node));
        }
    }
    let expected = plan.expected();
    if recorded != expected {
        // The first few of each, enough to find the task's node in the plan.
        let missing: Vec<_> = expected
            .keys()
            .filter(|k| !recorded.contains_key(k))
            .take(5)
            .collect();
        let extra: Vec<_> = recorded
            .keys()
            .filter(|k| !expected.contains_key(k))
            .take(5)
            .collect();
        let moved: Vec<_> = recorded
            .iter()
            .filter(|(k, v)| expected.get(k).is_some_and(|e| e != *v))
            .take(5)
            .collect();
        return Err(format!(
            "tree differs: missing {missing:x?}, extra {extra:x?}, wrong parent {moved:x?}"
        ));
    }
    Ok(())
}
