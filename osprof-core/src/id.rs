//! Trace and span ids: kept as raw 128-bit values on the traced thread, formatted on delivery.

use std::fmt;
use std::sync::Arc;

/// A trace or span id.
///
/// Ids osprof makes are UUID4 values held as a `u128`, so the traced thread never formats
/// them. Ids that arrive from outside (headers, RPC, `init`) are parsed back to that form when
/// they are canonical lowercase hyphenated UUIDs; anything else is kept as text, verbatim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Id {
    Uuid(u128),
    Text(Arc<str>),
}

impl Id {
    /// Reads an id given as text, keeping it byte for byte as it was written.
    pub(crate) fn parse(text: &str) -> Id {
        match uuid::Uuid::try_parse(text) {
            // Only the canonical form prints back to the same text.
            Ok(uuid) if uuid.hyphenated().to_string() == text => Id::Uuid(uuid.as_u128()),
            _ => Id::Text(Arc::from(text)),
        }
    }

    /// A fresh random UUID4 from `fastrand`'s thread-local generator, seeded once per thread
    /// (no system call per id).
    pub(crate) fn random() -> Id {
        Id::Uuid(as_uuid4(fastrand::u128(..)))
    }
}

/// Sets the version (4) and variant (RFC 4122) bits of a random 128-bit value.
pub(crate) fn as_uuid4(random: u128) -> u128 {
    const VERSION_MASK: u128 = 0xF << 76;
    const VARIANT_MASK: u128 = 0x3 << 62;
    (random & !VERSION_MASK & !VARIANT_MASK) | (0x4 << 76) | (0x2 << 62)
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Uuid(value) => fmt::Display::fmt(&uuid::Uuid::from_u128(*value).hyphenated(), f),
            Id::Text(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(matches!(Id::parse(canonical), Id::Uuid(_)));
        assert_eq!(Id::parse(canonical).to_string(), canonical);
        for text in [
            "1",
            "",
            "4E3E0EC6-2938-40B1-8504-09EB1D4B0DEE",
            "4e3e0ec6293840b1850409eb1d4b0dee",
        ] {
            assert_eq!(Id::parse(text), Id::Text(Arc::from(text)));
            assert_eq!(Id::parse(text).to_string(), text);
        }
    }
}
