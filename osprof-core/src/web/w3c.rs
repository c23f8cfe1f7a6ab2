//! Signed W3C Trace Context: `traceparent`, and an `osprof` entry in `tracestate` that proves
//! the caller knows one of the service's HMAC keys.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::{HmacAlgorithm, from_lower_hex, to_hex};

/// The W3C header naming the trace and the caller's span.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C header carrying vendors' entries, osprof's signature among them.
pub const TRACESTATE: &str = "tracestate";
/// The key of osprof's entry in `tracestate`.
pub const TRACESTATE_KEY: &str = "osprof";
/// How long a signature made by [`signed_w3c_headers`] stays valid, in seconds.
pub const TOKEN_LIFETIME: u64 = 300;
/// How far the caller's clock may be ahead of or behind the callee's, in seconds: a token
/// is taken until `CLOCK_SKEW` seconds after it expired.
pub const CLOCK_SKEW: u64 = 60;
/// The latest expiry accepted, in seconds from now (plus [`CLOCK_SKEW`]): a token that
/// claims to live longer is refused, so that a captured header cannot be replayed for long.
pub const MAX_TOKEN_LIFETIME: u64 = 3600;
/// The longest `tracestate` read: the W3C limit is 32 entries of at most 256 characters.
const MAX_TRACESTATE_LEN: usize = 8192;

/// A parsed `traceparent`: the 128-bit trace id, the caller's 64-bit span id and the flags.
///
/// ```
/// use osprof_core::web::TraceParent;
///
/// let parent = TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
/// assert_eq!(parent.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
/// assert_eq!(parent.to_string(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
/// assert!(TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01").is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id: osprof's `base_id` as a 128-bit number.
    pub trace_id: u128,
    /// The caller's span: the low 64 bits of its osprof span id.
    pub parent_id: u64,
    /// The trace flags (`01`: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Reads a `traceparent` header as the W3C recommendation says: version `00` exactly, a
    /// later version by its first four fields; lowercase hex only; an all-zero trace or
    /// parent id, and version `ff`, are invalid.
    pub fn parse(header: &str) -> Option<TraceParent> {
        let header = header.trim_matches([' ', '\t']);
        let bytes = header.as_bytes();
        if bytes.len() < 55 || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let version = u8::try_from(lower_hex(&header[..2])?).ok()?;
        if version == 0xff || (version == 0 && bytes.len() != 55) {
            return None;
        }
        if bytes.len() > 55 && bytes[55] != b'-' {
            return None;
        }
        let parent = TraceParent {
            trace_id: lower_hex(&header[3..35])?,
            parent_id: u64::try_from(lower_hex(&header[36..52])?).ok()?,
            flags: u8::try_from(lower_hex(&header[53..55])?).ok()?,
        };
        (parent.trace_id != 0 && parent.parent_id != 0).then_some(parent)
    }

    /// The trace id as osprof's `base_id`: the UUID text of its 128 bits.
    pub fn base_id(&self) -> String {
        uuid::Uuid::from_u128(self.trace_id)
            .hyphenated()
            .to_string()
    }

    /// The caller's span as an osprof `parent_id`: a UUID whose low 64 bits are the W3C
    /// parent id (`00000000-0000-8000-xxxx-xxxxxxxxxxxx`, a version-8 UUID, so that osprof
    /// keeps it as a number), which the `otlp://` driver maps back to the same W3C id.
    pub fn osprof_parent_id(&self) -> String {
        let value = (0x8000_u128 << 64) | u128::from(self.parent_id);
        uuid::Uuid::from_u128(value).hyphenated().to_string()
    }
}

/// The version-00 text of the header.
impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{:032x}-{:016x}-{:02x}",
            self.trace_id, self.parent_id, self.flags
        )
    }
}

/// Lowercase hex of up to 32 digits as a number; anything else is refused.
fn lower_hex(text: &str) -> Option<u128> {
    if text.is_empty() || text.len() > 32 {
        return None;
    }
    text.bytes().try_fold(0_u128, |value, c| {
        let digit = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        Some(value << 4 | u128::from(digit))
    })
}

/// The value of osprof's `tracestate` entry for `parent`, valid until `expires` (Unix
/// seconds), signed with `hmac_key`: `1:<expires>:<mac>`, where `<mac>` is the lowercase
/// hex HMAC-SHA256, keyed with `hmac_key`, of the ASCII text `<traceparent>;<expires>`, the
/// `traceparent` being the version-00 text of the ids and flags. `1` is the format's version.
///
/// Test vectors (so that another language can check its implementation):
///
/// ```
/// use osprof_core::web::{TraceParent, sign_tracestate};
///
/// let parent = TraceParent::parse("00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01").unwrap();
/// // HMAC-SHA256("SECRET_KEY", "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01;1764842400")
/// assert_eq!(
///     sign_tracestate(&parent, 1764842400, "SECRET_KEY"),
///     "1:1764842400:15012d2b6445fac0f8306df5f4d929bfa78594deb23ff6ad0201ab65093344a2",
/// );
/// ```
pub fn sign_tracestate(parent: &TraceParent, expires: u64, hmac_key: &str) -> String {
    let mac = HmacAlgorithm::Sha256.digest(hmac_key, signed_text(parent, expires).as_bytes());
    format!("1:{expires}:{}", to_hex(&mac))
}

fn signed_text(parent: &TraceParent, expires: u64) -> String {
    format!("{parent};{expires}")
}

/// The `traceparent` and `tracestate` headers that continue the current trace in a W3C
/// callee, signed with the trace's key for [`TOKEN_LIFETIME`] seconds: the trace id is the
/// 128 bits of `base_id`, the parent id the low 64 bits of the current span's id (the
/// mapping of the `otlp://` driver), flags `01` (sampled). Empty without a trace, with an
/// empty key, or when the ids are not UUIDs (W3C ids are numbers).
///
/// ```
/// use osprof_core::web::{TRACEPARENT, TRACESTATE, TraceParent, signed_w3c_headers};
///
/// let profiler = osprof_core::init("SECRET_KEY", Some("4e3e0ec6-2938-40b1-8504-09eb1d4b0dee"), None);
/// let headers = signed_w3c_headers();
/// let parent = TraceParent::parse(&headers[TRACEPARENT]).unwrap();
/// assert_eq!(parent.base_id(), profiler.base_id());
/// assert!(headers[TRACESTATE].starts_with("osprof=1:"));
/// osprof_core::clean();
/// ```
pub fn signed_w3c_headers() -> std::collections::HashMap<&'static str, String> {
    let mut headers = std::collections::HashMap::new();
    let Some(profiler) = crate::get() else {
        return headers;
    };
    let number = |id: &str| uuid::Uuid::try_parse(id).ok().map(|uuid| uuid.as_u128());
    let (Some(trace_id), Some(span_id)) = (number(profiler.base_id()), number(profiler.id()))
    else {
        return headers;
    };
    let parent_id = span_id as u64; // the low 64 bits, as the otlp:// driver maps span ids
    if profiler.hmac_key().is_empty() || trace_id == 0 || parent_id == 0 {
        return headers;
    }
    let parent = TraceParent {
        trace_id,
        parent_id,
        flags: 1,
    };
    let expires = unix_now() + TOKEN_LIFETIME;
    let state = sign_tracestate(&parent, expires, profiler.hmac_key());
    headers.insert(TRACEPARENT, parent.to_string());
    headers.insert(TRACESTATE, format!("{TRACESTATE_KEY}={state}"));
    headers
}

/// Seconds since the Unix epoch, by the system clock.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Verifies a W3C header pair at the time `now` (Unix seconds): `Some({"base_id",
/// "parent_id", "hmac_key"})`, as [`signed_unpack`](super::signed_unpack) gives, only when
/// `traceparent` is valid and `tracestate` holds an `osprof` entry signed over it with one
/// of `hmac_keys` (tried in order) that has not expired: at most [`CLOCK_SKEW`] seconds
/// past its expiry, and expiring at most [`MAX_TOKEN_LIFETIME`] + `CLOCK_SKEW` seconds from
/// `now`. `base_id` is the trace id's UUID and `parent_id` the caller's span as
/// [`TraceParent::osprof_parent_id`] writes it. Several `tracestate` headers are read
/// joined by commas. Never panics.
///
/// ```
/// use osprof_core::web::{TraceParent, sign_tracestate, signed_w3c_unpack};
///
/// let traceparent = "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01";
/// let parent = TraceParent::parse(traceparent).unwrap();
/// let tracestate = format!("vendor=x,osprof={}", sign_tracestate(&parent, 1_000_300, "new-key"));
/// let trace = signed_w3c_unpack(traceparent, &tracestate, &["old-key", "new-key"], 1_000_000).unwrap();
/// assert_eq!(trace["base_id"], "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee");
/// assert_eq!(trace["parent_id"], "00000000-0000-8000-8c00-f6daa2bc32f1");
/// assert_eq!(trace["hmac_key"], "new-key");
/// // Expired (beyond the allowed clock skew), or signed with another key: refused.
/// assert!(signed_w3c_unpack(traceparent, &tracestate, &["new-key"], 1_000_361).is_none());
/// assert!(signed_w3c_unpack(traceparent, &tracestate, &["other"], 1_000_000).is_none());
/// ```
pub fn signed_w3c_unpack(
    traceparent: &str,
    tracestate: &str,
    hmac_keys: &[&str],
    now: u64,
) -> Option<Value> {
    let parent = TraceParent::parse(traceparent)?;
    if tracestate.len() > MAX_TRACESTATE_LEN {
        return None;
    }
    let value = tracestate
        .split(',')
        .take(32)
        .map(|entry| entry.trim_matches([' ', '\t']))
        .find_map(|entry| entry.strip_prefix("osprof="))?;
    let mut fields = value.split(':');
    let (Some("1"), Some(expires), Some(mac), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    if expires.is_empty() || expires.len() > 20 || !expires.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let expires: u64 = expires.parse().ok()?;
    if now > expires.saturating_add(CLOCK_SKEW)
        || expires > now.saturating_add(MAX_TOKEN_LIFETIME + CLOCK_SKEW)
    {
        return None;
    }
    if mac.len() != 64 {
        return None;
    }
    let expected = from_lower_hex(mac)?;
    // Signed over the version-00 text, whatever version the caller wrote.
    let text = signed_text(&parent, expires);
    let key = hmac_keys
        .iter()
        .find(|key| HmacAlgorithm::Sha256.verify(key, text.as_bytes(), &expected))?;
    Some(Value::Object(Map::from_iter([
        ("base_id".to_owned(), Value::String(parent.base_id())),
        (
            "parent_id".to_owned(),
            Value::String(parent.osprof_parent_id()),
        ),
        ("hmac_key".to_owned(), Value::String((*key).to_owned())),
    ])))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACEPARENT: &str = "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01";

    fn state(expires: u64, key: &str) -> String {
        format!(
            "osprof={}",
            sign_tracestate(&TraceParent::parse(TRACEPARENT).unwrap(), expires, key)
        )
    }

    #[test]
    fn traceparents_are_read_as_the_recommendation_says() {
        for bad in [
            "",
            "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-0",
            "00-4E3E0EC6293840B1850409EB1D4B0DEE-8c00f6daa2bc32f1-01",
            "00-4e3e0ec6293840b1850409eb1d4b0dee-0000000000000000-01",
            "ff-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01",
            "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01-extra",
            "01-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01x",
            "00_4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01",
            "00-4e3e0ec6293840b1850409eb1d4b0de+-8c00f6daa2bc32f1-01",
            "0x-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
        let later = TraceParent::parse(
            "01-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-01-what-comes-next",
        )
        .unwrap();
        assert_eq!(later.to_string(), TRACEPARENT);
    }

    #[test]
    fn every_kind_of_bad_token_is_refused() {
        let now = 1_000_000;
        let good = state(now + 300, "key");
        let accepted = |parent: &str, state: &str, at: u64| {
            signed_w3c_unpack(parent, state, &["key"], at).is_some()
        };
        assert!(accepted(TRACEPARENT, &good, now));
        assert!(accepted(TRACEPARENT, &format!("a=1, {good} ,b=2"), now));
        // Expiry: allowed clock skew, then refused; too far ahead, refused.
        assert!(accepted(TRACEPARENT, &good, now + 300 + CLOCK_SKEW));
        assert!(!accepted(TRACEPARENT, &good, now + 300 + CLOCK_SKEW + 1));
        let far = state(now + MAX_TOKEN_LIFETIME + CLOCK_SKEW + 1, "key");
        assert!(!accepted(TRACEPARENT, &far, now));
        // Another trace, parent or flags than the ones signed.
        for other in [
            "00-4e3e0ec6293840b1850409eb1d4b0def-8c00f6daa2bc32f1-01",
            "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f2-01",
            "00-4e3e0ec6293840b1850409eb1d4b0dee-8c00f6daa2bc32f1-00",
        ] {
            assert!(!accepted(other, &good, now), "{other}");
        }
        // Every single character of the token changed.
        for at in "osprof=".len()..good.len() {
            let mut tampered = good.clone().into_bytes();
            tampered[at] = if tampered[at] == b'1' { b'2' } else { b'1' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(!accepted(TRACEPARENT, &tampered, now), "{tampered}");
        }
        // Malformed entries, no entry, the wrong key, an oversized header.
        let (_, mac) = good.rsplit_once(':').unwrap();
        for bad in [
            String::new(),
            "osprof=".to_owned(),
            "osprof=1:x:00".to_owned(),
            format!("osprof=2:{}:{mac}", now + 300),
            format!("osprof=1:{}:{}", now + 300, mac.to_uppercase()),
            format!("osprof=1:{}:{mac}:x", now + 300),
            format!("osprof=1:+{}:{mac}", now + 300),
            format!("other={}", &good["osprof=".len()..]),
            format!("{},{good}", "x=y,".repeat(2000)),
        ] {
            assert!(!accepted(TRACEPARENT, &bad, now), "{bad}");
        }
        assert!(signed_w3c_unpack(TRACEPARENT, &good, &["other"], now).is_none());
    }
}
