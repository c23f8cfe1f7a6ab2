//! Signed trace headers, named after OSProfiler's `osprofiler.web`: OSProfiler's
//! `X-Trace-Info` and `X-Trace-HMAC`, and W3C Trace Context signed for osprof.
//!
//! Only a caller that knows one of the service's HMAC keys can start a trace in it:
//! - `X-Trace-Info` carries `{"base_id", "parent_id"}` as URL-safe base64 of Python-style
//!   JSON, `X-Trace-HMAC` the lowercase hex HMAC of that base64 text ([`signed_unpack`]);
//! - or `traceparent` names the trace and the caller's span, and `tracestate` holds an
//!   `osprof` entry, `osprof=1:<expires>:<mac>`: `<expires>` the token's expiry in Unix
//!   seconds, `<mac>` the lowercase hex HMAC-SHA256 of `<traceparent>;<expires>` (the
//!   version-00 `traceparent` text), keyed with one of the service's keys
//!   ([`sign_tracestate`], with test vectors; [`signed_w3c_unpack`]). A token is refused
//!   [`CLOCK_SKEW`] seconds after it expires, or when it expires more than
//!   [`MAX_TOKEN_LIFETIME`] + `CLOCK_SKEW` seconds ahead. The W3C trace id is the 128 bits of
//!   `base_id` and the parent id the low 64 bits of the caller's span id, the mapping of the
//!   `otlp://` driver, so OpenTelemetry services and collectors see one trace. An unsigned
//!   `traceparent` (what any OpenTelemetry caller sends) never starts a trace.
//!
//! ```
//! use osprof_core::web;
//!
//! // Caller: signed headers for the current span.
//! let profiler = osprof_core::init("SECRET_KEY", None, None);
//! let headers = web::get_trace_id_headers();
//! osprof_core::clean();
//! // Callee: verifies them with its keys, then joins the trace.
//! let trace = web::signed_unpack(&headers[web::X_TRACE_INFO], &headers[web::X_TRACE_HMAC], &["SECRET_KEY"]).unwrap();
//! assert_eq!(trace["base_id"], profiler.base_id());
//! ```

mod w3c;

pub use w3c::{
    CLOCK_SKEW, MAX_TOKEN_LIFETIME, TOKEN_LIFETIME, TRACEPARENT, TRACESTATE, TRACESTATE_KEY,
    TraceParent, sign_tracestate, signed_w3c_headers, signed_w3c_unpack,
};

use crate::id::MAX_ID_LEN;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{PoisonError, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{Map, Value};

/// The header carrying the trace ids.
///
/// ```
/// use osprof_core::web::{X_TRACE_HMAC, X_TRACE_INFO, get_trace_id_headers};
///
/// osprof_core::init("key", None, None);
/// let headers = get_trace_id_headers();
/// assert!(headers.contains_key(X_TRACE_INFO) && headers.contains_key(X_TRACE_HMAC));
/// osprof_core::clean();
/// ```
pub const X_TRACE_INFO: &str = "X-Trace-Info";
/// The header carrying the HMAC of [`X_TRACE_INFO`].
///
/// ```
/// use osprof_core::web::{X_TRACE_HMAC, X_TRACE_INFO, signed_unpack};
///
/// // A server reads both headers and verifies them together.
/// fn trace_of(headers: &std::collections::HashMap<String, String>) -> Option<serde_json::Value> {
///     signed_unpack(headers.get(X_TRACE_INFO)?, headers.get(X_TRACE_HMAC)?, &["SECRET_KEY"])
/// }
/// assert!(trace_of(&Default::default()).is_none());
/// ```
pub const X_TRACE_HMAC: &str = "X-Trace-HMAC";

/// The longest `X-Trace-Info` accepted: ids are short, so anything longer is refused before
/// any decoding (and before any allocation that depends on it).
///
/// ```
/// use osprof_core::web::{MAX_TRACE_INFO_LEN, signed_unpack};
///
/// let oversized = "A".repeat(MAX_TRACE_INFO_LEN + 1);
/// assert!(signed_unpack(&oversized, "00", &["SECRET_KEY"]).is_none(), "refused before decoding");
/// ```
pub const MAX_TRACE_INFO_LEN: usize = 1024;

/// The HMAC digest that signs outgoing headers. Incoming ones are verified with either,
/// chosen by the length of the hex digest.
///
/// ```
/// use osprof_core::web::{HmacAlgorithm, signed_pack_with, signed_unpack};
///
/// let data = serde_json::json!({"base_id": "b", "parent_id": "p"});
/// let (info, hmac) = signed_pack_with(&data, "key", HmacAlgorithm::Sha256);
/// assert_eq!(hmac.len(), 64);
/// assert_eq!(signed_unpack(&info, &hmac, &["key"]).unwrap()["base_id"], "b");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HmacAlgorithm {
    /// HMAC-SHA1, as OSProfiler: the choice that Python services accept.
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
}

impl HmacAlgorithm {
    fn hex_len(self) -> usize {
        match self {
            HmacAlgorithm::Sha1 => 40,
            HmacAlgorithm::Sha256 => 64,
        }
    }

    fn from_hex_len(len: usize) -> Option<HmacAlgorithm> {
        [HmacAlgorithm::Sha1, HmacAlgorithm::Sha256]
            .into_iter()
            .find(|algorithm| algorithm.hex_len() == len)
    }

    fn digest(self, key: &str, data: &[u8]) -> Vec<u8> {
        match self {
            HmacAlgorithm::Sha1 => {
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
                    .expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            HmacAlgorithm::Sha256 => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
                    .expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    /// Constant-time check of `expected` against the HMAC of `data` under `key`.
    fn verify(self, key: &str, data: &[u8], expected: &[u8]) -> bool {
        match self {
            HmacAlgorithm::Sha1 => {
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes())
                    .expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.verify_slice(expected).is_ok()
            }
            HmacAlgorithm::Sha256 => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes())
                    .expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.verify_slice(expected).is_ok()
            }
        }
    }
}

/// Signs `data` with HMAC-SHA1 as OSProfiler does: `(X-Trace-Info, X-Trace-HMAC)`.
///
/// ```
/// let (info, hmac) = osprof_core::web::signed_pack(
///     &serde_json::json!({"base_id": "1", "parent_id": "2"}),
///     "secret",
/// );
/// assert_eq!(info, "eyJiYXNlX2lkIjogIjEiLCAicGFyZW50X2lkIjogIjIifQ==");
/// assert_eq!(hmac, "8fd628ea64e833b7894bb5e60bffbd0d391acf80");
/// ```
pub fn signed_pack(data: &Value, hmac_key: &str) -> (String, String) {
    signed_pack_with(data, hmac_key, HmacAlgorithm::Sha1)
}

/// [`signed_pack`] with a chosen digest.
///
/// ```
/// use osprof_core::web::{HmacAlgorithm, signed_pack, signed_pack_with};
///
/// let data = serde_json::json!({"base_id": "b", "parent_id": "p"});
/// assert_eq!(signed_pack_with(&data, "key", HmacAlgorithm::Sha1), signed_pack(&data, "key"));
/// ```
pub fn signed_pack_with(
    data: &Value,
    hmac_key: &str,
    algorithm: HmacAlgorithm,
) -> (String, String) {
    let info = URL_SAFE.encode(python_json(data));
    let hmac = to_hex(&algorithm.digest(hmac_key, info.as_bytes()));
    (info, hmac)
}

/// The lowercase hex HMAC-SHA1 of an `X-Trace-Info` text, as OSProfiler's `generate_hmac`.
///
/// ```
/// assert_eq!(
///     osprof_core::web::generate_hmac("eyJiYXNlX2lkIjogIjEiLCAicGFyZW50X2lkIjogIjIifQ==", "secret"),
///     "8fd628ea64e833b7894bb5e60bffbd0d391acf80",
/// );
/// ```
pub fn generate_hmac(data: &str, hmac_key: &str) -> String {
    to_hex(&HmacAlgorithm::Sha1.digest(hmac_key, data.as_bytes()))
}

/// Verifies and decodes a header pair; `None` for anything that is not a valid trace
/// signed with one of `hmac_keys`. The keys are tried in order and the first that matches
/// is added to the result as `hmac_key` (key rotation). Never panics.
///
/// ```
/// let (info, hmac) = osprof_core::web::signed_pack(
///     &serde_json::json!({"base_id": "b", "parent_id": "p"}),
///     "new-key",
/// );
/// let trace = osprof_core::web::signed_unpack(&info, &hmac, &["old-key", "new-key"]).unwrap();
/// assert_eq!(trace["hmac_key"], "new-key");
/// assert!(osprof_core::web::signed_unpack(&info, &hmac, &["other"]).is_none());
/// ```
pub fn signed_unpack(data: &str, hmac_data: &str, hmac_keys: &[&str]) -> Option<Value> {
    let hmac_data = hmac_data.trim();
    if data.len() > MAX_TRACE_INFO_LEN || hmac_data.is_empty() {
        return None;
    }
    let algorithm = HmacAlgorithm::from_hex_len(hmac_data.len())?;
    let expected = from_lower_hex(hmac_data)?;
    let key = hmac_keys
        .iter()
        .find(|key| algorithm.verify(key, data.as_bytes(), &expected))?;
    // After a match, a bad body rejects: no other key is tried, as in OSProfiler.
    let json = URL_SAFE.decode(data).ok()?;
    let Value::Object(mut fields) = serde_json::from_slice::<Value>(&json).ok()? else {
        return None;
    };
    // An id longer than osprof keeps would become a fresh UUID: refuse it instead.
    let id = |value: &Value| value.as_str().is_some_and(|id| id.len() <= MAX_ID_LEN);
    if !fields.get("base_id").is_some_and(id)
        || !fields.get("parent_id").is_none_or(id)
        || fields
            .keys()
            .any(|name| name != "base_id" && name != "parent_id")
    {
        return None;
    }
    fields.insert("hmac_key".into(), Value::String((*key).to_owned()));
    Some(Value::Object(fields))
}

/// The headers that continue the current trace in a callee: `X-Trace-Info` and
/// `X-Trace-HMAC` for OSProfiler callees, and, when the trace's ids are UUIDs,
/// [`signed_w3c_headers`] for W3C ones. Empty without a trace or with an empty key.
///
/// ```
/// osprof_core::init("SECRET_KEY", Some("base"), Some("parent"));
/// let headers = osprof_core::web::get_trace_id_headers();
/// let trace = osprof_core::web::signed_unpack(
///     &headers[osprof_core::web::X_TRACE_INFO],
///     &headers[osprof_core::web::X_TRACE_HMAC],
///     &["SECRET_KEY"],
/// )
/// .unwrap();
/// assert_eq!((trace["base_id"].as_str(), trace["parent_id"].as_str()), (Some("base"), Some("parent")));
/// osprof_core::clean();
/// ```
pub fn get_trace_id_headers() -> std::collections::HashMap<&'static str, String> {
    get_trace_id_headers_with(HmacAlgorithm::Sha1)
}

/// [`get_trace_id_headers`] signed with a chosen digest.
///
/// ```
/// use osprof_core::web::{HmacAlgorithm, X_TRACE_HMAC, get_trace_id_headers_with};
///
/// osprof_core::init("key", None, None);
/// let headers = get_trace_id_headers_with(HmacAlgorithm::Sha256);
/// assert_eq!(headers[X_TRACE_HMAC].len(), 64);
/// osprof_core::clean();
/// assert!(get_trace_id_headers_with(HmacAlgorithm::Sha256).is_empty(), "no trace, no headers");
/// ```
pub fn get_trace_id_headers_with(
    algorithm: HmacAlgorithm,
) -> std::collections::HashMap<&'static str, String> {
    let Some(profiler) = crate::get() else {
        return std::collections::HashMap::new();
    };
    if profiler.hmac_key().is_empty() {
        return std::collections::HashMap::new();
    }
    let data = Value::Object(Map::from_iter([
        (
            "base_id".to_owned(),
            Value::String(profiler.base_id().to_owned()),
        ),
        (
            "parent_id".to_owned(),
            Value::String(profiler.id().to_owned()),
        ),
    ]));
    let (info, hmac) = signed_pack_with(&data, profiler.hmac_key(), algorithm);
    let mut headers = signed_w3c_headers();
    headers.extend([(X_TRACE_INFO, info), (X_TRACE_HMAC, hmac)]);
    headers
}

/// JSON text as Python's `json.dumps` writes it by default: `", "` and `": "` separators and
/// non-ASCII characters escaped as `\uXXXX`, so that signatures match byte for byte.
/// The process-wide switch set by [`enable`] and [`disable`]: unset, on or off.
static SWITCH: AtomicU8 = AtomicU8::new(SWITCH_UNSET);
const SWITCH_UNSET: u8 = 0;
const SWITCH_ON: u8 = 1;
const SWITCH_OFF: u8 = 2;
/// The keys given to [`enable`]; empty when none were.
static KEYS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Turns trace headers on for every server layer in the process, overriding each
/// layer's own setting; non-empty `hmac_keys` also replace the layers' keys. OSProfiler's
/// `web.enable`.
///
/// ```
/// osprof_core::web::enable(["new-key", "old-key"]);
/// assert!(osprof_core::web::is_enabled(false));
/// assert_eq!(osprof_core::web::hmac_keys(&["layer-key".to_owned()]), ["new-key", "old-key"]);
/// osprof_core::web::disable();
/// assert!(!osprof_core::web::is_enabled(true));
/// ```
pub fn enable<I>(hmac_keys: I)
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    let keys: Vec<String> = hmac_keys.into_iter().map(Into::into).collect();
    *KEYS.write().unwrap_or_else(PoisonError::into_inner) = keys;
    SWITCH.store(SWITCH_ON, Ordering::Release);
}

/// Turns trace headers off for every server layer in the process: all requests are served
/// untraced. OSProfiler's `web.disable`.
///
/// ```
/// osprof_core::web::disable();
/// assert!(!osprof_core::web::is_enabled(true), "overrides a layer's own setting");
/// ```
pub fn disable() {
    SWITCH.store(SWITCH_OFF, Ordering::Release);
}

/// Whether a layer whose own setting is `instance` honours trace headers: the process-wide
/// switch when [`enable`] or [`disable`] was called, else `instance`.
///
/// ```
/// // Before `enable` or `disable`, each layer's own setting decides.
/// assert!(osprof_core::web::is_enabled(true));
/// assert!(!osprof_core::web::is_enabled(false));
/// ```
#[inline]
pub fn is_enabled(instance: bool) -> bool {
    match SWITCH.load(Ordering::Acquire) {
        SWITCH_ON => true,
        SWITCH_OFF => false,
        _ => instance,
    }
}

/// The keys a layer whose own keys are `instance` verifies with: those given to [`enable`],
/// when there were any, else `instance`.
///
/// ```
/// let own = ["layer-key".to_owned()];
/// assert_eq!(osprof_core::web::hmac_keys(&own), ["layer-key"]);
/// osprof_core::web::enable(["rotated-key"]);
/// assert_eq!(osprof_core::web::hmac_keys(&own), ["rotated-key"]);
/// ```
pub fn hmac_keys(instance: &[String]) -> Vec<String> {
    let global = KEYS.read().unwrap_or_else(PoisonError::into_inner);
    if global.is_empty() {
        instance.to_vec()
    } else {
        global.clone()
    }
}

/// Splits a comma-separated key list (the `hmac_keys` option) into trimmed, non-empty keys.
///
/// ```
/// assert_eq!(osprof_core::web::split_keys(" new, old ,,"), ["new", "old"]);
/// ```
pub fn split_keys(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|key| !key.is_empty())
        .map(str::to_owned)
        .collect()
}

fn python_json(value: &Value) -> Vec<u8> {
    /// Python puts `", "` between items, nothing before the first.
    fn separator<W: ?Sized + io::Write>(writer: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            writer.write_all(b", ")
        }
    }
    struct PythonFormatter;
    impl serde_json::ser::Formatter for PythonFormatter {
        fn begin_array_value<W: ?Sized + io::Write>(
            &mut self,
            writer: &mut W,
            first: bool,
        ) -> io::Result<()> {
            separator(writer, first)
        }
        fn begin_object_key<W: ?Sized + io::Write>(
            &mut self,
            writer: &mut W,
            first: bool,
        ) -> io::Result<()> {
            separator(writer, first)
        }
        fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
            writer.write_all(b": ")
        }
        fn write_string_fragment<W: ?Sized + io::Write>(
            &mut self,
            writer: &mut W,
            fragment: &str,
        ) -> io::Result<()> {
            for c in fragment.chars() {
                if c.is_ascii() {
                    writer.write_all(&[c as u8])?;
                } else {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        write!(writer, "\\u{unit:04x}")?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    value
        .serialize(&mut serializer)
        .expect("writing JSON to memory cannot fail");
    out
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| {
            [
                DIGITS[usize::from(byte >> 4)],
                DIGITS[usize::from(byte & 0xF)],
            ]
        })
        .map(char::from)
        .collect()
}

/// Decodes lowercase hex; uppercase and anything else is refused, as OSProfiler refuses it.
fn from_lower_hex(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => Some(digit(*high)? << 4 | digit(*low)?),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reproduces_osprofiler_vectors() {
        let (info, hmac) = signed_pack(&json!({"base_id": "1", "parent_id": "2"}), "secret");
        assert_eq!(info, "eyJiYXNlX2lkIjogIjEiLCAicGFyZW50X2lkIjogIjIifQ==");
        assert_eq!(hmac, "8fd628ea64e833b7894bb5e60bffbd0d391acf80");
        let data = json!({
            "base_id": "4e3e0ec6-2938-40b1-8504-09eb1d4b0dee",
            "parent_id": "1c089ea8-28fe-4f3d-8c00-f6daa2bc32f1",
        });
        let (info, hmac) = signed_pack(&data, "SECRET_KEY");
        assert_eq!(
            info,
            "eyJiYXNlX2lkIjogIjRlM2UwZWM2LTI5MzgtNDBiMS04NTA0LTA5ZWIxZDRiMGRlZSIsICJwYXJlbnRfaWQiOiAiMWMwODllYTgtMjhmZS00ZjNkLThjMDAtZjZkYWEyYmMzMmYxIn0="
        );
        assert_eq!(hmac, "00b4bd8cd15237f9eb7146fed4ed222b9893cc9d");
        let trace = signed_unpack(&info, &hmac, &["SECRET_KEY"]).unwrap();
        assert_eq!(trace["base_id"], data["base_id"]);
        assert_eq!(trace["hmac_key"], "SECRET_KEY");
    }

    #[test]
    fn matches_python_osprofiler_on_non_ascii_ids() {
        // From Python: osprofiler._utils.signed_pack({"base_id": "é😀", "parent_id": "x"}, "k")
        let (info, hmac) = signed_pack(&json!({"base_id": "é😀", "parent_id": "x"}), "k");
        assert_eq!(
            info,
            "eyJiYXNlX2lkIjogIlx1MDBlOVx1ZDgzZFx1ZGUwMCIsICJwYXJlbnRfaWQiOiAieCJ9"
        );
        assert_eq!(hmac, "1affa386c1520eea4fa80081a2cc15dd60fa25ac");
        assert_eq!(
            signed_unpack(&info, &hmac, &["k"]).unwrap()["base_id"],
            "é😀"
        );
    }

    #[test]
    fn sha256_round_trips_and_is_told_apart_by_length() {
        let data = json!({"base_id": "b", "parent_id": "p"});
        let (info, hmac) = signed_pack_with(&data, "k", HmacAlgorithm::Sha256);
        assert_eq!(hmac.len(), 64);
        assert_eq!(
            signed_unpack(&info, &hmac, &["k"]).unwrap()["parent_id"],
            "p"
        );
    }

    #[test]
    fn python_json_escapes_non_ascii() {
        assert_eq!(
            python_json(&json!({"a": "é😀", "b": [1, 2]})),
            br#"{"a": "\u00e9\ud83d\ude00", "b": [1, 2]}"#
        );
    }

    #[test]
    fn every_kind_of_bad_header_is_refused() {
        let good = json!({"base_id": "b", "parent_id": "p"});
        let (info, hmac) = signed_pack(&good, "key");
        let refused = |info: &str, hmac: &str| signed_unpack(info, hmac, &["key"]).is_none();
        // Tampered info or HMAC, truncated, wrong key, uppercase hex.
        assert!(refused(&info.replace('e', "f"), &hmac));
        assert!(refused(&info, &hmac.replace('8', "9")));
        assert!(refused(&info[..info.len() - 4], &hmac));
        assert!(refused(&info, &hmac[..39]));
        assert!(signed_unpack(&info, &hmac, &["other"]).is_none());
        assert!(refused(&info, &hmac.to_uppercase()));
        // Whitespace around the HMAC is trimmed, as in OSProfiler.
        assert!(!refused(&info, &format!("  {hmac}\n")));
        // Re-padded base64, signed correctly, still decodes to the same trace or is refused;
        // never a panic.
        let repadded = format!("{}=", info.trim_end_matches('='));
        let _ = signed_unpack(&repadded, &signed_pack_hmac(&repadded), &["key"]);
        // Extra JSON keys and non-object JSON, correctly signed: refused.
        for data in [
            json!({"base_id": "b", "parent_id": "p", "x": 1}),
            json!(["b"]),
            json!("b"),
            json!({"parent_id": "p"}),
            json!({"base_id": 1}),
            // Ids longer than osprof keeps.
            json!({"base_id": "b".repeat(MAX_ID_LEN + 1), "parent_id": "p"}),
            json!({"base_id": "b", "parent_id": "p".repeat(MAX_ID_LEN + 1)}),
        ] {
            let (info, hmac) = signed_pack(&data, "key");
            assert!(refused(&info, &hmac), "{data}");
        }
        let longest =
            json!({"base_id": "b".repeat(MAX_ID_LEN), "parent_id": "p".repeat(MAX_ID_LEN)});
        let (info, hmac) = signed_pack(&longest, "key");
        assert!(!refused(&info, &hmac), "ids of {MAX_ID_LEN} bytes are kept");
        // Not base64 at all, correctly signed.
        assert!(refused("%%%", &signed_pack_hmac("%%%")));
        // Oversized.
        let huge = "a".repeat(MAX_TRACE_INFO_LEN + 1);
        assert!(refused(&huge, &signed_pack_hmac(&huge)));
        assert!(refused("", ""));
    }

    fn signed_pack_hmac(info: &str) -> String {
        generate_hmac(info, "key")
    }
}
