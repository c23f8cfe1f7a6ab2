//! Turns raw events into OSProfiler payloads (SPEC §2), on the delivery thread only.
//!
//! One payload object is kept and refilled in place for each event: its keys, and the
//! capacity of its strings, are reused, so a payload costs almost no allocation.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::timestamp::TimestampWriter;
use crate::id::Id;
use crate::record::{Info, Phase, RawEvent};

/// How often the clock anchor (cycle counter to wall clock) is taken again, so that a
/// drifting cycle counter never skews timestamps for long.
const REANCHOR_EVERY: Duration = Duration::from_secs(10);
/// How many payloads pass between two looks at the wall clock for re-anchoring.
const CLOCK_LOOK_EVERY: u32 = 4096;

pub(crate) struct PayloadBuilder {
    host: String,
    anchor: fastant::Anchor,
    anchored_at: Instant,
    since_clock_look: u32,
    timestamps: TimestampWriter,
    /// `{name, base_id, trace_id, parent_id, timestamp, info}`, refilled per event.
    payload: Value,
    /// The base id whose text `payload` holds: consecutive events mostly share a trace.
    base_id: Option<Id>,
    /// `{"host": ...}`, the info of most events, kept aside while an event has its own.
    plain_info: Option<Value>,
}

impl PayloadBuilder {
    pub(crate) fn new() -> PayloadBuilder {
        let host = crate::host::name().to_owned();
        let mut payload = Map::with_capacity(6);
        for key in ["name", "base_id", "trace_id", "parent_id", "timestamp"] {
            payload.insert(key.into(), Value::String(String::with_capacity(48)));
        }
        payload.insert("info".into(), plain_info(&host));
        PayloadBuilder {
            host,
            anchor: fastant::Anchor::new(),
            anchored_at: Instant::now(),
            since_clock_look: 0,
            timestamps: TimestampWriter::default(),
            payload: Value::Object(payload),
            base_id: None,
            plain_info: None,
        }
    }

    /// Fills the payload with `event` and returns it; valid until the next call.
    pub(crate) fn fill(&mut self, event: RawEvent) -> &Value {
        self.since_clock_look += 1;
        if self.since_clock_look >= CLOCK_LOOK_EVERY {
            self.since_clock_look = 0;
            if self.anchored_at.elapsed() >= REANCHOR_EVERY {
                self.anchor = fastant::Anchor::new();
                self.anchored_at = Instant::now();
            }
        }
        let unix_nanos = event.at.as_unix_nanos(&self.anchor);
        let Value::Object(payload) = &mut self.payload else {
            unreachable!("the payload is built as an object")
        };
        let mut fields = payload.values_mut();
        let mut next_text = || match fields.next() {
            Some(Value::String(text)) => text,
            _ => unreachable!("the first five fields are strings"),
        };
        let (name, base_id, trace_id, parent_id, timestamp) = (
            next_text(),
            next_text(),
            next_text(),
            next_text(),
            next_text(),
        );
        let info = fields.next().expect("the sixth field is info");

        name.clear();
        name.push_str(event.name());
        name.push_str(match event.phase {
            Phase::Start => "-start",
            Phase::Stop => "-stop",
        });
        if self.base_id.as_ref() != Some(&event.base_id) {
            base_id.clear();
            event.base_id.push_to(base_id);
            self.base_id = Some(event.base_id);
        }
        trace_id.clear();
        event.trace_id.push_to(trace_id);
        parent_id.clear();
        event.parent_id.push_to(parent_id);
        self.timestamps.write(unix_nanos, timestamp);
        match event.extra.and_then(|extra| extra.info) {
            None => {
                if let Some(plain) = self.plain_info.take() {
                    *info = plain;
                }
            }
            Some(own) => {
                let own = with_host(own, &self.host);
                let previous = std::mem::replace(info, own);
                if self.plain_info.is_none() && is_plain(&previous) {
                    self.plain_info = Some(previous);
                }
            }
        }
        &self.payload
    }
}

fn plain_info(host: &str) -> Value {
    Value::Object(Map::from_iter([(
        "host".to_owned(),
        Value::String(host.to_owned()),
    )]))
}

fn is_plain(info: &Value) -> bool {
    info.as_object().is_some_and(|map| map.len() == 1)
}

/// The event's own info (moved: every payload gets a fresh map) with `host` set.
fn with_host(info: Info, host: &str) -> Value {
    let mut map = match info {
        Info::Json(Value::Object(map)) => map,
        Info::Json(Value::Null) => Map::with_capacity(1),
        Info::Json(other) => Map::from_iter([("value".to_owned(), other)]),
        Info::Failure { etype, message } => Map::from_iter([
            ("etype".to_owned(), Value::String(etype.into_owned())),
            ("message".to_owned(), Value::String(message)),
        ]),
    };
    map.insert("host".into(), Value::String(host.to_owned()));
    Value::Object(map)
}
