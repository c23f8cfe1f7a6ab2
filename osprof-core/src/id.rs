//! Trace and span ids: 128-bit values on the traced thread, formatted only on delivery.
//!
//! Ids osprof makes are random UUID4s. Ids that arrive from outside (headers, RPC, `init`)
//! are kept as their UUID value when they are canonical lowercase hyphenated UUIDs of a
//! version other than 0; any other text is interned and stands for itself through a
//! synthetic version-0 value, so that it prints back byte for byte.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::ascii::{QuotedUuid, push_uuid};

/// A trace or span id: `Copy`, so the traced thread never touches a reference count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Id(u128);

const VERSION_MASK: u128 = 0xF << 76;
const VARIANT_MASK: u128 = 0x3 << 62;
/// The longest id osprof keeps as given, in bytes: a signed header with a longer one is
/// refused, and elsewhere a longer one is replaced by a fresh UUID. It is also the size of
/// the id columns of OSProfiler's SQL table.
pub(crate) const MAX_ID_LEN: usize = 255;
/// The memory that remembered non-UUID ids may take, counted as their text plus
/// [`TEXT_ID_OVERHEAD`] each; past it, new ones are replaced by fresh UUIDs, so that a flood
/// of odd ids (from anyone holding a key) cannot grow the process without bound.
pub(crate) const MAX_TEXT_ID_BYTES: usize = 16 << 20;
/// What one remembered id costs besides its text: its two map entries and its `Arc`.
const TEXT_ID_OVERHEAD: usize = 96;

#[derive(Default)]
struct TextIds {
    by_text: HashMap<Arc<str>, Id>,
    by_id: HashMap<Id, Arc<str>>,
    /// What the remembered ids take, as [`MAX_TEXT_ID_BYTES`] counts it.
    bytes: usize,
}

impl TextIds {
    /// The id of `text`, remembered now if it is new; `None` when it does not fit the budget.
    fn intern(&mut self, text: &str) -> Option<Id> {
        if let Some(id) = self.by_text.get(text) {
            return Some(*id);
        }
        let cost = text.len() + TEXT_ID_OVERHEAD;
        if self.bytes + cost > MAX_TEXT_ID_BYTES {
            return None;
        }
        // Version 0 never occurs in the UUIDs `Id::parse` keeps: the synthetic values are ours.
        let id = Id((self.by_id.len() as u128 + 1) & !VERSION_MASK);
        let text: Arc<str> = Arc::from(text);
        self.by_text.insert(text.clone(), id);
        self.by_id.insert(id, text);
        self.bytes += cost;
        Some(id)
    }
}

/// Says once, through `tracing`, why an id was replaced by a fresh UUID.
fn warn_replaced(warned: &AtomicBool, why: &str) {
    if !warned.swap(true, Ordering::Relaxed) {
        tracing::warn!("osprof replaced an id by a fresh UUID: {why} (said once)");
    }
}

fn text_ids() -> std::sync::MutexGuard<'static, TextIds> {
    static TEXT_IDS: OnceLock<Mutex<TextIds>> = OnceLock::new();
    TEXT_IDS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

impl Id {
    /// The all-zero id: a placeholder that is never delivered.
    pub(crate) const NIL: Id = Id(0);

    /// A fresh random UUID4 from `fastrand`'s thread-local generator, seeded once per thread
    /// (no system call per id).
    #[inline]
    pub(crate) fn random() -> Id {
        Id::from_random(fastrand::u128(..))
    }

    /// The UUID4 made of the random bits `random` (its version and variant bits are set).
    #[inline(always)]
    pub(crate) fn from_random(random: u128) -> Id {
        Id(as_uuid4(random))
    }

    /// Reads an id given as text, so that it prints back exactly as written.
    pub(crate) fn parse(text: &str) -> Id {
        if let Ok(uuid) = uuid::Uuid::try_parse(text) {
            let value = uuid.as_u128();
            if value & VERSION_MASK != 0 && uuid.hyphenated().to_string() == text {
                return Id(value);
            }
        }
        static WARNED_LONG: AtomicBool = AtomicBool::new(false);
        static WARNED_FULL: AtomicBool = AtomicBool::new(false);
        if text.len() > MAX_ID_LEN {
            warn_replaced(
                &WARNED_LONG,
                &format!("it is longer than {MAX_ID_LEN} bytes"),
            );
            return Id::random();
        }
        text_ids().intern(text).unwrap_or_else(|| {
            warn_replaced(
                &WARNED_FULL,
                &format!("the non-UUID ids kept so far fill their {MAX_TEXT_ID_BYTES}-byte budget"),
            );
            Id::random()
        })
    }

    pub(crate) fn is_text(self) -> bool {
        self.0 & VERSION_MASK == 0
    }

    /// Appends the id's text to `out`; no allocation for UUIDs.
    pub(crate) fn push_to(self, out: &mut String) {
        if self.is_text()
            && let Some(text) = text_ids().by_id.get(&self)
        {
            out.push_str(text);
            return;
        }
        push_uuid(out, self.0);
    }

    /// The id's text as a JSON string, if it is a UUID (ids given as text from outside are
    /// not).
    pub(crate) fn quoted_uuid(self) -> Option<QuotedUuid> {
        (!self.is_text()).then(|| QuotedUuid::new(self.0))
    }

    /// Appends the id as a JSON string, escaped as `serde_json` escapes it.
    pub(crate) fn push_json_to(self, out: &mut String) {
        if let Some(uuid) = self.quoted_uuid() {
            return uuid.push_to(out);
        }
        // Only ids given as text from outside can hold characters that need escaping.
        let mut text = String::new();
        self.push_to(&mut text);
        out.push_str(&serde_json::to_string(&text).expect("strings serialise"));
    }
}

/// Sets the version (4) and variant (RFC 4122) bits of a random 128-bit value.
fn as_uuid4(random: u128) -> u128 {
    (random & !VERSION_MASK & !VARIANT_MASK) | (0x4 << 76) | (0x2 << 62)
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(36);
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_as_the_uuid_crate_prints_them() {
        let mut ids: Vec<Id> = (0..64).map(|_| Id::random()).collect();
        ids.push(Id::parse("4e3e0ec6-2938-40b1-8504-09eb1d4b0dee"));
        ids.push(Id::parse("ffffffff-ffff-4fff-bfff-ffffffffffff"));
        for id in ids {
            let expected = uuid::Uuid::from_u128(id.0).hyphenated().to_string();
            let (mut plain, mut json) = (String::new(), String::new());
            id.push_to(&mut plain);
            id.push_json_to(&mut json);
            assert_eq!(plain, expected);
            assert_eq!(json, format!("\"{expected}\""));
        }
        let mut json = String::new();
        Id::parse("not \"a\" uuid").push_json_to(&mut json);
        assert_eq!(json, r#""not \"a\" uuid""#);
    }

    #[test]
    fn remembered_ids_stay_within_their_memory_budget() {
        let mut table = TextIds::default();
        let long = |n: usize| format!("{n:0>255}");
        let fits = MAX_TEXT_ID_BYTES / (255 + TEXT_ID_OVERHEAD);
        for n in 0..fits {
            assert!(table.intern(&long(n)).is_some(), "id {n} of {fits}");
        }
        assert!(table.intern(&long(fits)).is_none(), "over the budget");
        assert_eq!(
            table.intern(&long(0)),
            table.intern(&long(0)),
            "known ids still resolve"
        );
        assert!(table.bytes <= MAX_TEXT_ID_BYTES);
    }

    #[test]
    fn an_id_longer_than_kept_becomes_a_fresh_uuid() {
        let kept = "k".repeat(MAX_ID_LEN);
        assert_eq!(Id::parse(&kept).to_string(), kept);
        let replaced = Id::parse(&"k".repeat(MAX_ID_LEN + 1)).to_string();
        assert_eq!(
            uuid::Uuid::parse_str(&replaced).unwrap().get_version_num(),
            4
        );
    }

    #[test]
    fn random_ids_are_lowercase_uuid4() {
        for _ in 0..1000 {
            let text = Id::random().to_string();
            let uuid = uuid::Uuid::parse_str(&text).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{text}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{text}");
            assert_eq!(text, text.to_lowercase());
            assert_eq!(text.len(), 36);
        }
    }

    #[test]
    fn parse_keeps_text_verbatim() {
        let canonical = "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee";
        assert!(!Id::parse(canonical).is_text());
        assert_eq!(Id::parse(canonical).to_string(), canonical);
        for text in [
            "1",
            "",
            "4E3E0EC6-2938-40B1-8504-09EB1D4B0DEE",
            "4e3e0ec6293840b1850409eb1d4b0dee",
            "00000000-0000-0000-0000-000000000001",
        ] {
            let id = Id::parse(text);
            assert!(id.is_text(), "{text}");
            assert_eq!(id.to_string(), text);
            assert_eq!(Id::parse(text), id, "the same text gives the same id");
        }
        assert_ne!(Id::parse("a"), Id::parse("b"));
    }
}
