//! Turns raw events into OSProfiler payloads (SPEC §2), on the delivery thread only.

use serde_json::{Map, Value};

use crate::id::Id;
use crate::record::{Info, Phase, RawEvent};

use super::timestamp;

/// How often the clock anchor (cycle counter to wall clock) is taken again, so that a
/// drifting cycle counter never skews timestamps for long.
const REANCHOR_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) struct PayloadBuilder {
    host: String,
    anchor: fastant::Anchor,
    anchored_at: std::time::Instant,
    /// The last base id and its text: consecutive events mostly share one trace.
    last_base: Option<(Id, String)>,
}

impl PayloadBuilder {
    pub(crate) fn new() -> PayloadBuilder {
        PayloadBuilder {
            host: crate::host::name().to_owned(),
            anchor: fastant::Anchor::new(),
            anchored_at: std::time::Instant::now(),
            last_base: None,
        }
    }

    pub(crate) fn build(&mut self, event: RawEvent) -> Value {
        if self.anchored_at.elapsed() >= REANCHOR_EVERY {
            self.anchor = fastant::Anchor::new();
            self.anchored_at = std::time::Instant::now();
        }
        let suffix = match event.phase {
            Phase::Start => "-start",
            Phase::Stop => "-stop",
        };
        let name = event.name.as_str();
        let mut full_name = String::with_capacity(name.len() + suffix.len());
        full_name.push_str(name);
        full_name.push_str(suffix);

        let mut payload = Map::with_capacity(6);
        payload.insert("name".into(), Value::String(full_name));
        payload.insert(
            "base_id".into(),
            Value::String(self.base_text(event.base_id)),
        );
        payload.insert("trace_id".into(), Value::String(event.trace_id.to_string()));
        payload.insert(
            "parent_id".into(),
            Value::String(event.parent_id.to_string()),
        );
        payload.insert(
            "timestamp".into(),
            Value::String(timestamp::format(event.at.as_unix_nanos(&self.anchor))),
        );
        payload.insert("info".into(), Value::Object(self.info(event.info)));
        Value::Object(payload)
    }

    fn base_text(&mut self, base_id: Id) -> String {
        match &self.last_base {
            Some((id, text)) if *id == base_id => text.clone(),
            _ => {
                let text = base_id.to_string();
                self.last_base = Some((base_id, text.clone()));
                text
            }
        }
    }

    /// The event's own info (moved, so every payload has a fresh map) plus `host`.
    fn info(&self, info: Option<Box<Info>>) -> Map<String, Value> {
        let mut map = match info.map(|info| *info) {
            None | Some(Info::Json(Value::Null)) => Map::with_capacity(1),
            Some(Info::Json(Value::Object(map))) => map,
            Some(Info::Json(other)) => Map::from_iter([("value".to_owned(), other)]),
            Some(Info::Failure { etype, message }) => Map::from_iter([
                ("etype".to_owned(), Value::String(etype.into_owned())),
                ("message".to_owned(), Value::String(message)),
            ]),
        };
        map.insert("host".into(), Value::String(self.host.clone()));
        map
    }
}
