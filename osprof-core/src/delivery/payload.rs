//! Turns raw events into OSProfiler's notification payloads, on the delivery thread only.
//!
//! One payload object is kept and refilled in place for each event: its keys, and the
//! capacity of its strings, are reused, so a payload costs almost no allocation.

use std::time::Duration;

use serde_json::{Map, Value};

use super::timestamp::{TimestampWriter, micros_in_second};
use crate::ascii::{self, QuotedUuid};
use crate::clock::WallClock;
use crate::id::Id;
use crate::record::{Event, Info, Phase};

/// How often the clock anchor (cycle counter to wall clock) is taken again, so that a
/// drifting cycle counter never skews timestamps for long, and the tick length is measured
/// over an ever longer baseline.
const REANCHOR_EVERY: Duration = Duration::from_secs(1);
/// How many payloads pass between two looks at the wall clock for re-anchoring.
const CLOCK_LOOK_EVERY: u32 = 4096;

pub(crate) struct PayloadBuilder {
    host: String,
    wall_clock: WallClock,
    since_clock_look: u32,
    /// The latest time given to an event, and its instant: times of later instants never go
    /// back (see `unix_nanos`).
    last_unix_nanos: u64,
    /// The instant `last_unix_nanos` stamps.
    last_at: crate::clock::Instant,
    timestamps: TimestampWriter,
    /// `{name, base_id, trace_id, parent_id, timestamp, info}`, refilled per event.
    payload: Value,
    /// The base, span and parent ids whose text `payload` holds: consecutive events mostly
    /// share a trace, a leaf's stop follows its start, and siblings share a parent.
    payload_ids: [Option<Id>; 3],
    /// `{"host": ...}`, the info of most events, kept aside while an event has its own.
    plain_info: Option<Value>,
    /// For [`write_json`](Self::write_json), by phase: the text of the last payload.
    texts: [PayloadText; 2],
    /// For `write_json`: the last span id, and its text if it is a UUID (a leaf's stop
    /// follows its start).
    span_id: Option<Id>,
    span_uuid: Option<QuotedUuid>,
    /// For `write_json`: the last parent id and its text, in quotes (siblings share it).
    parent_id: IdText,
    /// `","info":{"host":"..."}}`, the end of most payloads' text.
    plain_tail: String,
}

/// The JSON text of a payload, what it was made of, and where its span id and its
/// timestamp's microseconds are. The next payload of the same phase mostly has the same
/// name, base id and parent, in the same second, and no info of its own: then only its span
/// id and microseconds differ, and they are written over in place.
#[derive(Default)]
struct PayloadText {
    text: String,
    /// Before `span_at`: `{"name":...,"base_id":...,"trace_id":` of these two.
    name: String,
    base_id: Option<Id>,
    /// Where the span id's text starts.
    span_at: usize,
    /// The span id written there.
    span_id: Option<Id>,
    /// After the span id: `,"parent_id":...,"timestamp":"%Y-%m-%dT%H:%M:%S.` of these two.
    parent_id: Option<Id>,
    second: u64,
    /// Where the timestamp's six digits of microseconds are.
    micros_at: usize,
    /// Whether `text` ends with the plain tail (`","info":{"host":...}}`).
    plain: bool,
}

/// An id and its text as a JSON string.
#[derive(Default)]
struct IdText {
    id: Option<Id>,
    text: String,
}

impl IdText {
    fn of(&mut self, id: Id) -> &str {
        if self.id != Some(id) {
            self.id = Some(id);
            self.text.clear();
            id.push_json_to(&mut self.text);
        }
        &self.text
    }
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
            wall_clock: WallClock::new(),
            since_clock_look: 0,
            last_unix_nanos: 0,
            last_at: crate::clock::Instant::ZERO,
            timestamps: TimestampWriter::default(),
            payload: Value::Object(payload),
            payload_ids: [None; 3],
            plain_info: None,
            texts: Default::default(),
            span_id: None,
            span_uuid: None,
            parent_id: IdText::default(),
            plain_tail: format!(
                "\",\"info\":{}}}",
                serde_json::to_string(&plain_info(crate::host::name()))
                    .expect("a map of strings serialises")
            ),
        }
    }

    /// The clock that converts event instants to wall-clock time.
    pub(crate) fn wall_clock(&self) -> &WallClock {
        &self.wall_clock
    }

    /// The wall-clock time of an instant. A new anchor can map a tick a microsecond or so
    /// earlier than the old one did, which would stamp an event before the one it follows:
    /// so an instant at or after the latest one converted is never stamped before it. An
    /// earlier instant that arrives late (a span with nothing inside it is handed over at its
    /// stop, its start with it, after other threads' later events) keeps its own time:
    /// holding it to the latest stamp would shorten the span.
    fn unix_nanos(&mut self, at: crate::clock::Instant) -> u64 {
        self.since_clock_look += 1;
        if self.since_clock_look >= CLOCK_LOOK_EVERY {
            self.since_clock_look = 0;
            if self.wall_clock.anchor_age() >= REANCHOR_EVERY {
                self.wall_clock = WallClock::new();
            }
        }
        let unix_nanos = self.wall_clock.unix_nanos(at);
        if at < self.last_at {
            return unix_nanos;
        }
        let unix_nanos = unix_nanos.max(self.last_unix_nanos);
        self.last_at = at;
        self.last_unix_nanos = unix_nanos;
        unix_nanos
    }

    /// Writes `event` as the JSON text of its payload and returns it (valid until the next
    /// call): byte for byte what `serde_json::to_string` gives for [`fill`](Self::fill)'s
    /// value, without building the value. Drivers that store text use this.
    ///
    /// Consecutive payloads share most of their text (a trace's base id, a start's name, a
    /// sibling's parent), so the last payload's text of the same phase is kept and only
    /// what differs is written again: mostly the span id and the microseconds, in place.
    pub(crate) fn write_json(&mut self, mut event: Event) -> &str {
        let unix_nanos = self.unix_nanos(event.at());
        let second = unix_nanos / 1_000_000_000;
        let micros = micros_in_second(unix_nanos);
        let info = event.take_info();
        let phase = event.phase();
        let payload = &mut self.texts[phase as usize];
        let same_head = payload.name == event.name() && payload.base_id == Some(event.base_id);
        if !same_head {
            // Unset until the text is whole: an unwind from here on leaves nothing to reuse.
            payload.base_id = None;
            payload.text.clear();
            payload.text.push_str("{\"name\":");
            let suffix = match phase {
                Phase::Start => "-start",
                Phase::Stop => "-stop",
            };
            push_json_string(&mut payload.text, event.name(), suffix);
            payload.text.push_str(",\"base_id\":");
            event.base_id.push_json_to(&mut payload.text);
            payload.text.push_str(",\"trace_id\":");
            payload.name.clear();
            payload.name.push_str(event.name());
            payload.base_id = Some(event.base_id);
            payload.span_at = payload.text.len();
        }
        let span_id = event.raw.span_id;
        if self.span_id != Some(span_id) {
            self.span_id = Some(span_id);
            self.span_uuid = span_id.quoted_uuid();
        }
        let span_uuid = self.span_uuid.as_ref();
        let same_rest = same_head
            && info.is_none()
            && payload.plain
            && payload.parent_id == Some(event.raw.parent_id)
            && payload.second == second;
        // A UUID's text has a fixed length: one can be written over another.
        let written_uuid = payload.span_id.is_some_and(|id| !id.is_text());
        if same_rest
            && written_uuid
            && let Some(text) = span_uuid
        {
            if payload.span_id != Some(span_id) {
                text.overwrite(&mut payload.text, payload.span_at);
            }
            ascii::overwrite_six_digits(&mut payload.text, payload.micros_at, micros);
        } else {
            let plain = info.is_none();
            payload.plain = false; // until the text is whole, as `base_id` above
            let text = &mut payload.text;
            text.truncate(payload.span_at);
            match span_uuid {
                Some(uuid) => uuid.push_to(text),
                None => span_id.push_json_to(text),
            }
            text.push_str(",\"parent_id\":");
            text.push_str(self.parent_id.of(event.raw.parent_id));
            text.push_str(",\"timestamp\":\"");
            text.push_str(self.timestamps.prefix(unix_nanos));
            payload.micros_at = text.len();
            ascii::push_six_digits(text, micros);
            match info {
                None => text.push_str(&self.plain_tail),
                Some(own) => {
                    text.push_str("\",\"info\":");
                    let info = with_host(own, &self.host);
                    text.push_str(&serde_json::to_string(&info).expect("JSON values serialise"));
                    text.push('}');
                }
            }
            payload.parent_id = Some(event.raw.parent_id);
            payload.second = second;
            payload.plain = plain;
        }
        payload.span_id = Some(span_id);
        &payload.text
    }

    /// Fills the payload with `event` and returns it; valid until the next call.
    pub(crate) fn fill(&mut self, mut event: Event) -> &Value {
        let unix_nanos = self.unix_nanos(event.at());
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
        name.push_str(match event.phase() {
            Phase::Start => "-start",
            Phase::Stop => "-stop",
        });
        let ids = [event.base_id, event.raw.span_id, event.raw.parent_id];
        for ((id, text), held) in ids
            .into_iter()
            .zip([base_id, trace_id, parent_id])
            .zip(&mut self.payload_ids)
        {
            if *held != Some(id) {
                *held = Some(id);
                text.clear();
                id.push_to(text);
            }
        }
        self.timestamps.write(unix_nanos, timestamp);
        match event.take_info() {
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

/// Appends `text` followed by `suffix` as one JSON string, escaped as serde_json does.
fn push_json_string(out: &mut String, text: &str, suffix: &str) {
    let needs_escape = |text: &str| text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
    if needs_escape(text) || needs_escape(suffix) {
        let joined = [text, suffix].concat();
        out.push_str(&serde_json::to_string(&joined).expect("strings serialise"));
    } else {
        out.push('"');
        out.push_str(text);
        out.push_str(suffix);
        out.push('"');
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
    let mut map = info_map(info);
    map.insert("host".into(), Value::String(host.to_owned()));
    Value::Object(map)
}

/// The event's own info as the map of a payload's `info`.
fn info_map(info: Info) -> Map<String, Value> {
    match info {
        Info::Json(Value::Object(map)) => map,
        Info::Json(Value::Null) => Map::with_capacity(1),
        Info::Json(other) => Map::from_iter([("value".to_owned(), other)]),
        Info::Failure { etype, message } => Map::from_iter([
            ("etype".to_owned(), Value::String(etype.into_owned())),
            ("message".to_owned(), Value::String(message)),
        ]),
        Info::Function { user, path, args } => {
            let mut function = Map::with_capacity(3);
            function.insert("name".into(), Value::String(path.to_owned()));
            if let Some(args) = args {
                function.insert("args".into(), Value::String(args));
                function.insert("kwargs".into(), Value::String("{}".to_owned()));
            }
            let mut map = user.unwrap_or_default();
            map.insert("function".into(), Value::Object(function));
            map
        }
        Info::Result(result) => Map::from_iter([(
            "function".to_owned(),
            Value::Object(Map::from_iter([(
                "result".to_owned(),
                Value::String(result),
            )])),
        )]),
        Info::Added { base, added } => {
            let mut map = base.map(|base| info_map(*base)).unwrap_or_default();
            map.extend(added);
            map
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::__private::FnSite;
    use crate::record::{Detail, Name, RawEvent, What};

    fn event(name: Name, ids: [&str; 3], detail: Detail) -> Event {
        let [base_id, span_id, parent_id] = ids.map(Id::parse);
        Event {
            base_id,
            raw: RawEvent::now(span_id, parent_id, What::new(Phase::Start, &name, detail)),
        }
    }

    fn info(info: Info) -> Detail {
        Detail::from_info(Some(info))
    }

    #[test]
    fn json_text_is_what_serde_json_makes_of_the_value() {
        static SITE: FnSite = FnSite::new("traced");
        let mut builder = PayloadBuilder::new();
        let uuid = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
        let cases = [
            event("rpc".into(), [uuid, uuid, uuid], Detail::None),
            event(
                "with \"quotes\" \\ and\nlines".to_owned().into(),
                ["b\"ase", "t\\r", "p\u{1}"],
                Detail::None,
            ),
            event(
                "db".into(),
                ["1", "2", "3"],
                info(Info::Json(
                    json!({"db": {"statement": "SELECT \"x\""}, "n": [1, 2.5, null]}),
                )),
            ),
            event(
                "odd".into(),
                [uuid, "x", "y"],
                info(Info::Json(json!("just text"))),
            ),
            event(
                "failed".into(),
                [uuid, "x", "y"],
                info(Info::Failure {
                    etype: "panic".into(),
                    message: "bad \"thing\"".into(),
                }),
            ),
            event(
                "fn".into(),
                [uuid, "x", "y"],
                info(Info::Function {
                    user: Some(Map::from_iter([("k".to_owned(), json!("v"))])),
                    path: "crate::m::f",
                    args: Some("(1, \"a\")".to_owned()),
                }),
            ),
            event(
                "fn".into(),
                [uuid, "x", "y"],
                info(Info::Function {
                    user: None,
                    path: "crate::m::inline",
                    args: None,
                }),
            ),
            event(
                "res".into(),
                [uuid, "x", "y"],
                info(Info::Result("Ok(4)".to_owned())),
            ),
            event("ünïcode ✓".into(), [uuid, "ids ✓", "y"], Detail::None),
            event(
                "traced".into(),
                [uuid, "x", "y"],
                Detail::Function(SITE.resolve("crate::m::traced::__osprof_here")),
            ),
        ];
        // Twice, the second time backwards: the kept text must follow every change.
        for event in cases.iter().chain(cases.iter().rev()).cloned() {
            let expected = serde_json::to_string(builder.fill(event.clone())).unwrap();
            let text = builder.write_json(event);
            assert_eq!(text, expected);
            let _: Value = serde_json::from_str(text).unwrap();
        }
        // The same span's events a second and a half apart: the kept text of the parent
        // and the second must follow the second.
        let later = event("rpc".into(), [uuid, uuid, uuid], Detail::None);
        let mut earlier = later.clone();
        earlier.raw.at = builder
            .wall_clock()
            .before(later.at(), Duration::from_millis(1500));
        for event in [earlier, later] {
            let expected = serde_json::to_string(builder.fill(event.clone())).unwrap();
            assert_eq!(builder.write_json(event), expected);
        }
    }

    #[test]
    fn json_text_of_siblings_is_what_serde_json_makes_of_the_value() {
        // Siblings' payloads are mostly written over in place: each change must show.
        let mut builder = PayloadBuilder::new();
        let base = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
        let parent = "0b6cbd5c-b9a6-4b58-9d5e-4c0f2a2e4f37";
        // Times from the start of a second two seconds ago, 10 µs apart.
        let now = crate::clock::Instant::now();
        let now_nanos = builder.wall_clock().unix_nanos(now);
        let second_start = now_nanos - now_nanos % 1_000_000_000 - 2_000_000_000;
        let at = |nanos_into_second: u64| {
            let back = now_nanos - (second_start + nanos_into_second);
            builder.wall_clock().before(now, Duration::from_nanos(back))
        };
        let mut events = Vec::new();
        let query = Some(json!({"db": {"statement": "SELECT 1"}}));
        let uuid = || Id::random().to_string();
        // Each span differs from the one before in one thing, said on its right.
        let spans = [
            ("db", base, uuid(), parent, None, 0),
            ("db", base, uuid(), parent, None, 0), // span id
            ("db", base, "x1".into(), parent, None, 0), // span id given as text
            ("db", base, uuid(), parent, None, 0), // span id as a UUID again
            ("db", base, uuid(), parent, None, 1), // second
            ("db", base, uuid(), "x-parent", None, 1), // parent
            ("db", base, uuid(), "x-parent", query, 1), // info of its own
            ("db", base, uuid(), "x-parent", None, 1), // no info of its own
            ("rpc", base, uuid(), "x-parent", None, 1), // name
            ("rpc", parent, uuid(), "x-parent", None, 1), // base id
        ];
        for (index, (name, base_id, span_id, parent_id, own_info, second)) in
            spans.into_iter().enumerate()
        {
            for phase in [Phase::Start, Phase::Stop] {
                let detail = match &own_info {
                    Some(value) => info(Info::Json(value.clone())),
                    None => Detail::None,
                };
                let [base_id, span_id, parent_id] =
                    [base_id, span_id.as_str(), parent_id].map(Id::parse);
                let what = What::new(phase, &name.into(), detail);
                let mut raw = RawEvent::now(span_id, parent_id, what);
                let nanos = second * 1_000_000_000 + (index as u64 + 1) * 10_000;
                raw.at = at(nanos + phase as u64 * 5_000);
                events.push(Event { base_id, raw });
            }
        }
        for event in events {
            let expected = serde_json::to_string(builder.fill(event.clone())).unwrap();
            assert_eq!(builder.write_json(event), expected);
        }
    }
}
