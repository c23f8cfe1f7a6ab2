//! A query's bound parameters, one JSON value each, for spans that record them.
//!
//! sqlx keeps bound values only in each driver's encoded form, behind private fields; the
//! one public view of them is the arguments' `Debug` text. Each driver's text is read here
//! (SQLite's value list, PostgreSQL's binary wire format, MySQL's binary protocol values)
//! and decoded per value. The text is read into the span's info only: it is never logged.
//! Anything not understood becomes a placeholder naming its type, never an error.
//!
//! Each value is judged alone: lists of bytes are kept as bytes, not text, and a text value
//! longer than [`MAX_TEXT_LEN`] is `"<too large>"` while the values beside it are shown
//! (a blob is `"<N bytes>"` whatever its size). Only arguments past [`MAX_LIST_BYTES`] of
//! bytes or [`MAX_DEBUG_LEN`] of other text are all placeholders, so that recording
//! parameters never costs a query more than a bounded copy of its data.

use std::fmt;

use serde_json::{Map, Value};
use sqlx::Arguments;
use sqlx::mysql::MySqlArguments;
use sqlx::postgres::PgArguments;
use sqlx::sqlite::SqliteArguments;

/// A driver's bound arguments, rendered one JSON value per parameter.
///
/// Implemented for SQLite, PostgreSQL and MySQL arguments. Integers and floats become
/// numbers, text becomes strings, `NULL` becomes `null`; binary values and types without a
/// readable form become placeholders such as `"<3 bytes>"` or `"<Timestamptz>"`, and the
/// values of a query whose arguments are too large to read (a big blob) `"<too large>"`.
///
/// ```
/// use osprof_sqlx::ParamValues;
/// use serde_json::json;
/// use sqlx::Arguments;
///
/// let mut arguments = sqlx::sqlite::SqliteArguments::default();
/// arguments.add(42_i64).unwrap();
/// arguments.add("it's \"quoted\"").unwrap();
/// arguments.add(Option::<i32>::None).unwrap();
/// assert_eq!(
///     arguments.param_values(),
///     json!({"1": 42, "2": "it's \"quoted\"", "3": null})
/// );
/// ```
pub trait ParamValues {
    /// `{"1": <first value>, "2": <second value>, ...}`, keyed by placeholder position.
    ///
    /// ```
    /// use osprof_sqlx::ParamValues;
    /// use sqlx::Arguments;
    ///
    /// let mut arguments = sqlx::postgres::PgArguments::default();
    /// arguments.add(7_i32).unwrap();
    /// arguments.add("text").unwrap();
    /// assert_eq!(arguments.param_values(), serde_json::json!({"1": 7, "2": "text"}));
    /// ```
    fn param_values(&self) -> Value;
}

impl ParamValues for SqliteArguments {
    fn param_values(&self) -> Value {
        keyed(self.len(), debug_text(self).as_ref().map(sqlite_values))
    }
}

impl ParamValues for PgArguments {
    fn param_values(&self) -> Value {
        keyed(self.len(), debug_text(self).as_ref().map(postgres_values))
    }
}

impl ParamValues for MySqlArguments {
    fn param_values(&self) -> Value {
        keyed(self.len(), debug_text(self).as_ref().map(mysql_values))
    }
}

/// The longest text value shown, in bytes: a longer one is `"<too large>"`, the others
/// are shown whatever their neighbours' size.
const MAX_TEXT_LEN: usize = 4 * 1024;
/// The most `Debug` text kept from one query's arguments, besides byte lists and the text
/// values cut by [`MAX_TEXT_LEN`]: the types and the small values.
const MAX_DEBUG_LEN: usize = 64 * 1024;
/// The most bytes of byte lists (PostgreSQL's and MySQL's encoded values, SQLite's blobs)
/// kept from one query's arguments: beyond, every value is `"<too large>"`.
const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;

/// A driver's arguments as their `Debug` text, read so that no value's size decides
/// another's: each list of bytes (`[1, 2, 3]`) is kept as bytes and written `[#k]` (the
/// `k`-th list), and a string literal longer than [`MAX_TEXT_LEN`] is written `TooLarge`.
#[derive(Default)]
struct DebugText {
    text: String,
    lists: Vec<Vec<u8>>,
    /// The bytes in `lists`.
    list_bytes: usize,
    state: ReadState,
    /// A list held a number that is not a byte: the text cannot be trusted.
    spoiled: bool,
}

#[derive(Default)]
enum ReadState {
    #[default]
    Text,
    /// Just past a `[`: a list of bytes if a digit follows.
    ListStart,
    /// Inside a list of bytes, with the number being read.
    List(Option<u32>),
    /// Inside a string literal, `"` and what follows it so far (`None` once too long).
    Literal { kept: Option<String>, escaped: bool },
}

impl DebugText {
    fn push(&mut self, c: char) -> fmt::Result {
        match &mut self.state {
            ReadState::Text => match c {
                '[' => self.state = ReadState::ListStart,
                '"' => {
                    self.state = ReadState::Literal {
                        kept: Some(String::from('"')),
                        escaped: false,
                    }
                }
                c => self.text.push(c),
            },
            ReadState::ListStart => match c.to_digit(10) {
                Some(digit) => {
                    self.text.push_str(&format!("[#{}", self.lists.len()));
                    self.lists.push(Vec::new());
                    self.state = ReadState::List(Some(digit));
                }
                None => {
                    self.text.push('[');
                    self.state = ReadState::Text;
                    return self.push(c);
                }
            },
            ReadState::List(number) => match (c, c.to_digit(10)) {
                (_, Some(digit)) => {
                    *number = Some(number.unwrap_or(0).saturating_mul(10).saturating_add(digit));
                }
                (',' | ']', None) => {
                    if let Some(number) = number.take() {
                        let list = self.lists.last_mut().expect("a list is open");
                        match u8::try_from(number) {
                            Ok(byte) => list.push(byte),
                            Err(_) => self.spoiled = true,
                        }
                        self.list_bytes += 1;
                        if self.list_bytes > MAX_LIST_BYTES {
                            return Err(fmt::Error);
                        }
                    }
                    if c == ']' {
                        self.text.push(']');
                        self.state = ReadState::Text;
                    }
                }
                (' ', None) => {}
                _ => self.spoiled = true,
            },
            ReadState::Literal { kept, escaped } => {
                let closed = !*escaped && c == '"';
                *escaped = !*escaped && c == '\\';
                if let Some(literal) = kept {
                    literal.push(c);
                    if literal.len() > MAX_TEXT_LEN + 2 && !closed {
                        *kept = None;
                    }
                }
                if closed {
                    match kept.take() {
                        Some(literal) => self.text.push_str(&literal),
                        None => self.text.push_str("TooLarge"),
                    }
                    self.state = ReadState::Text;
                }
            }
        }
        if self.text.len() > MAX_DEBUG_LEN {
            return Err(fmt::Error);
        }
        Ok(())
    }

    /// A cursor just past the first `marker` in the text.
    fn after(&self, marker: &str) -> Option<Cursor<'_>> {
        Cursor::after(&self.text, &self.lists, marker)
    }
}

impl fmt::Write for DebugText {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        text.chars().try_for_each(|c| self.push(c))
    }
}

/// `arguments`' `Debug` text, or `None` when it holds more than the bounds allow (formatting
/// stops there) or cannot be trusted.
fn debug_text(arguments: &impl fmt::Debug) -> Option<DebugText> {
    let mut text = DebugText::default();
    fmt::write(&mut text, format_args!("{arguments:?}")).ok()?;
    (!text.spoiled).then_some(text)
}

/// Numbers the values from 1. Arguments too large to read are placeholders
/// (`"<too large>"`); so are all of them when the text could not be read (a count that
/// disagrees with the driver's): a wrong value is worse than none.
fn keyed(count: usize, values: Option<Option<Vec<Value>>>) -> Value {
    let values = match values {
        None => vec![Value::from("<too large>"); count],
        Some(values) => values
            .filter(|values| values.len() == count)
            .unwrap_or_else(|| vec![Value::from("<unreadable>"); count]),
    };
    let map: Map<String, Value> = values
        .into_iter()
        .enumerate()
        .map(|(index, value)| ((index + 1).to_string(), value))
        .collect();
    Value::Object(map)
}

/// `SqliteArguments { values: SqliteArgumentsBuffer([Int(1), Text("a"), Null]) }`.
fn sqlite_values(debug: &DebugText) -> Option<Vec<Value>> {
    let mut cursor = debug.after("SqliteArgumentsBuffer([")?;
    let mut values = Vec::new();
    while !cursor.eat("]") {
        let kind = cursor.ident()?;
        let value = if kind == "Null" {
            Value::Null
        } else {
            cursor.expect("(")?;
            let value = match kind {
                "Int" | "Int64" => Value::from(cursor.token().parse::<i64>().ok()?),
                "Double" => float(cursor.token().parse::<f64>().ok()?),
                "Text" | "TextSlice" if cursor.eat("TooLarge") => Value::from("<too large>"),
                "Text" | "TextSlice" => Value::from(cursor.string()?),
                "Blob" => bytes_placeholder(cursor.byte_list()?.len()),
                _ => {
                    cursor.skip_balanced(')')?;
                    values.push(Value::from(format!("<{kind}>")));
                    cursor.eat(", ");
                    continue;
                }
            };
            cursor.expect(")")?;
            value
        };
        values.push(value);
        cursor.eat(", ");
    }
    Some(values)
}

/// `PgArguments { types: [PgTypeInfo(Int4), ...], buffer: PgArgumentBuffer { buffer: [..], .. } }`:
/// each value in the buffer is a big-endian `i32` length (`-1` for `NULL`) and its bytes.
fn postgres_values(debug: &DebugText) -> Option<Vec<Value>> {
    let mut cursor = debug.after("types: [")?;
    let mut types = Vec::new();
    while !cursor.eat("]") {
        cursor.expect("PgTypeInfo(")?;
        types.push(cursor.ident()?.to_owned());
        cursor.skip_balanced(')')?;
        cursor.eat(", ");
    }
    let buffer = debug.after("PgArgumentBuffer { buffer: [")?.byte_list()?;
    let mut rest = buffer.as_slice();
    let mut values = Vec::with_capacity(types.len());
    for kind in &types {
        let (length, tail) = rest.split_first_chunk::<4>()?;
        let length = i32::from_be_bytes(*length);
        if length < 0 {
            values.push(Value::Null);
            rest = tail;
            continue;
        }
        let (bytes, tail) = tail.split_at_checked(usize::try_from(length).ok()?)?;
        values.push(postgres_value(kind, bytes));
        rest = tail;
    }
    Some(values)
}

fn postgres_value(kind: &str, bytes: &[u8]) -> Value {
    let number = match (kind, bytes.len()) {
        ("Bool", 1) => return Value::Bool(bytes[0] != 0),
        ("Int2", 2) => Some(Value::from(i16::from_be_bytes([bytes[0], bytes[1]]))),
        ("Int4", 4) => bytes
            .try_into()
            .ok()
            .map(i32::from_be_bytes)
            .map(Value::from),
        ("Int8", 8) => bytes
            .try_into()
            .ok()
            .map(i64::from_be_bytes)
            .map(Value::from),
        ("Oid", 4) => bytes
            .try_into()
            .ok()
            .map(u32::from_be_bytes)
            .map(Value::from),
        ("Float4", 4) => bytes
            .try_into()
            .ok()
            .map(|b| float(f64::from(f32::from_be_bytes(b)))),
        ("Float8", 8) => bytes.try_into().ok().map(f64::from_be_bytes).map(float),
        _ => None,
    };
    if let Some(number) = number {
        return number;
    }
    match kind {
        "Text" | "Varchar" | "Bpchar" | "Name" | "Unknown" | "Json" | "Char" => text(bytes),
        // jsonb's binary form is a version byte, then the text.
        "Jsonb" if bytes.first() == Some(&1) => text(&bytes[1..]),
        "Uuid" => match uuid_text(bytes) {
            Some(uuid) => Value::from(uuid),
            None => Value::from(format!("<{kind}>")),
        },
        "Bytea" => bytes_placeholder(bytes.len()),
        _ => Value::from(format!("<{kind}>")),
    }
}

fn uuid_text(bytes: &[u8]) -> Option<String> {
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// `MySqlArguments { values: [..], types: [MySqlTypeInfo { type: LongLong, flags: .., .. }],
/// null_bitmap: NullBitMap { bytes: [..], length: n } }`: values in the binary protocol's
/// encoding, nothing for a `NULL`.
fn mysql_values(debug: &DebugText) -> Option<Vec<Value>> {
    let buffer = debug.after("values: [")?.byte_list()?;
    let nulls = debug.after("NullBitMap { bytes: [")?.byte_list()?;
    let mut cursor = debug.after("types: [")?;
    let mut types = Vec::new();
    while !cursor.eat("]") {
        cursor.expect("MySqlTypeInfo {")?;
        let fields = cursor.skip_balanced('}')?;
        let kind = Cursor::after(fields, &[], "type: ")?.ident()?.to_owned();
        types.push((kind, fields.contains("UNSIGNED")));
        cursor.eat(", ");
    }
    let mut rest = buffer.as_slice();
    let mut values = Vec::with_capacity(types.len());
    for (index, (kind, unsigned)) in types.iter().enumerate() {
        if nulls
            .get(index / 8)
            .is_some_and(|byte| byte & (1 << (index % 8)) != 0)
        {
            values.push(Value::Null);
            continue;
        }
        let (value, tail) = mysql_value(kind, *unsigned, rest)?;
        values.push(value);
        rest = tail;
    }
    Some(values)
}

/// One value and what follows it; `None` when its length cannot be known.
fn mysql_value<'a>(kind: &str, unsigned: bool, bytes: &'a [u8]) -> Option<(Value, &'a [u8])> {
    macro_rules! int {
        ($signed:ty, $unsigned:ty) => {{
            let (head, tail) = bytes.split_first_chunk()?;
            let value = if unsigned {
                Value::from(<$unsigned>::from_le_bytes(*head))
            } else {
                Value::from(<$signed>::from_le_bytes(*head))
            };
            Some((value, tail))
        }};
    }
    match kind {
        "Tiny" => int!(i8, u8),
        "Short" | "Year" => int!(i16, u16),
        "Long" | "Int24" => int!(i32, u32),
        "LongLong" => int!(i64, u64),
        "Float" => {
            let (head, tail) = bytes.split_first_chunk()?;
            Some((float(f64::from(f32::from_le_bytes(*head))), tail))
        }
        "Double" => {
            let (head, tail) = bytes.split_first_chunk()?;
            Some((float(f64::from_le_bytes(*head)), tail))
        }
        // Dates and times: a length byte, then that many bytes.
        "Date" | "Time" | "Datetime" | "Timestamp" => {
            let (length, tail) = bytes.split_first()?;
            let (_, tail) = tail.split_at_checked(usize::from(*length))?;
            Some((Value::from(format!("<{kind}>")), tail))
        }
        // Everything else travels as a length-encoded string.
        _ => {
            let (length, tail) = length_encoded(bytes)?;
            let (value, tail) = tail.split_at_checked(length)?;
            let value = match std::str::from_utf8(value) {
                Ok(text) if !kind.contains("Blob") => bounded(text),
                _ => bytes_placeholder(value.len()),
            };
            Some((value, tail))
        }
    }
}

/// MySQL's length-encoded integer.
fn length_encoded(bytes: &[u8]) -> Option<(usize, &[u8])> {
    let (first, tail) = bytes.split_first()?;
    let width = match first {
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        0xfb | 0xff => return None,
        short => return Some((usize::from(*short), tail)),
    };
    let (raw, tail) = tail.split_at_checked(width)?;
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(raw);
    Some((usize::try_from(u64::from_le_bytes(le)).ok()?, tail))
}

fn text(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => bounded(text),
        Err(_) => bytes_placeholder(bytes.len()),
    }
}

/// A text value, or `"<too large>"` beyond [`MAX_TEXT_LEN`].
fn bounded(text: &str) -> Value {
    if text.len() > MAX_TEXT_LEN {
        Value::from("<too large>")
    } else {
        Value::from(text)
    }
}

/// A number, or its text when JSON cannot hold it (NaN, infinities).
fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map_or_else(|| Value::from(value.to_string()), Value::Number)
}

fn bytes_placeholder(len: usize) -> Value {
    Value::from(format!("<{len} bytes>"))
}

/// Reads `Debug` text left to right; `[#k]` is the `k`-th of `lists` (see [`DebugText`]).
struct Cursor<'a> {
    rest: &'a str,
    lists: &'a [Vec<u8>],
}

impl<'a> Cursor<'a> {
    /// A cursor just past the first `marker` in `text`.
    fn after(text: &'a str, lists: &'a [Vec<u8>], marker: &str) -> Option<Cursor<'a>> {
        let start = text.find(marker)? + marker.len();
        Some(Cursor {
            rest: &text[start..],
            lists,
        })
    }

    fn eat(&mut self, prefix: &str) -> bool {
        match self.rest.strip_prefix(prefix) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, prefix: &str) -> Option<()> {
        self.eat(prefix).then_some(())
    }

    fn ident(&mut self) -> Option<&'a str> {
        let end = self
            .rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let (ident, rest) = self.rest.split_at(end);
        self.rest = rest;
        (!ident.is_empty()).then_some(ident)
    }

    /// Up to the next `,`, `)` or `]`.
    fn token(&mut self) -> &'a str {
        let end = self.rest.find([',', ')', ']']).unwrap_or(self.rest.len());
        let (token, rest) = self.rest.split_at(end);
        self.rest = rest;
        token.trim()
    }

    /// A list of bytes, `[#k]` or `[]` (the `[` already read, or about to be).
    fn byte_list(&mut self) -> Option<Vec<u8>> {
        self.eat("[");
        if self.eat("]") {
            return Some(Vec::new());
        }
        self.expect("#")?;
        let index: usize = self.token().parse().ok()?;
        self.expect("]")?;
        self.lists.get(index).cloned()
    }

    /// A Rust string literal as `Debug` writes it.
    fn string(&mut self) -> Option<String> {
        let mut chars = self.rest.strip_prefix('"')?.char_indices();
        let mut out = String::new();
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    self.rest = &self.rest[at + 2..];
                    return Some(out);
                }
                '\\' => match chars.next()?.1 {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    '0' => out.push('\0'),
                    'u' => {
                        let mut hex = String::new();
                        chars.next().filter(|(_, c)| *c == '{')?;
                        for (_, c) in chars.by_ref() {
                            if c == '}' {
                                break;
                            }
                            hex.push(c);
                        }
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        None
    }

    /// Skips to just past the `close` that balances an already-open bracket, stepping over
    /// string literals; returns what was skipped.
    fn skip_balanced(&mut self, close: char) -> Option<&'a str> {
        let start = self.rest;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        for (at, c) in start.char_indices() {
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth > 0 => depth -= 1,
                c if c == close => {
                    self.rest = &start[at + c.len_utf8()..];
                    return Some(&start[..at]);
                }
                _ => {}
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sqlite_values_of_every_kind() {
        let mut arguments = SqliteArguments::default();
        arguments.add(7_i32).unwrap();
        arguments.add(-8_i64).unwrap();
        arguments.add(1.5_f64).unwrap();
        arguments.add(f64::NAN).unwrap();
        arguments.add("tab\t, quote\" ) ] bracket \u{1}").unwrap();
        arguments.add(String::from("owned")).unwrap();
        arguments.add(vec![1_u8, 2, 3]).unwrap();
        arguments.add(Option::<String>::None).unwrap();
        arguments.add(true).unwrap();
        assert_eq!(
            arguments.param_values(),
            json!({
                "1": 7, "2": -8, "3": 1.5, "4": "NaN",
                "5": "tab\t, quote\" ) ] bracket \u{1}", "6": "owned",
                "7": "<3 bytes>", "8": null, "9": 1,
            })
        );
    }

    #[test]
    fn postgres_values_decode_the_wire_format() {
        let mut arguments = PgArguments::default();
        arguments.add(7_i16).unwrap();
        arguments.add(-8_i32).unwrap();
        arguments.add(9_000_000_000_i64).unwrap();
        arguments.add(2.5_f32).unwrap();
        arguments.add(-0.25_f64).unwrap();
        arguments.add(false).unwrap();
        arguments.add("é \"text\"").unwrap();
        arguments.add(vec![0_u8; 5]).unwrap();
        arguments.add(Option::<i64>::None).unwrap();
        assert_eq!(
            arguments.param_values(),
            json!({
                "1": 7, "2": -8, "3": 9_000_000_000_i64, "4": 2.5, "5": -0.25, "6": false,
                "7": "é \"text\"", "8": "<5 bytes>", "9": null,
            })
        );
    }

    #[test]
    fn mysql_values_decode_the_binary_protocol() {
        let mut arguments = MySqlArguments::default();
        arguments.add(-7_i8).unwrap();
        arguments.add(300_i16).unwrap();
        arguments.add(-70_000_i32).unwrap();
        arguments.add(u64::MAX).unwrap();
        arguments.add(Option::<i32>::None).unwrap();
        arguments.add(0.5_f32).unwrap();
        arguments.add(1e300_f64).unwrap();
        arguments.add("x".repeat(300)).unwrap();
        arguments.add(vec![1_u8, 2]).unwrap();
        arguments.add("after").unwrap();
        assert_eq!(
            arguments.param_values(),
            json!({
                "1": -7, "2": 300, "3": -70_000, "4": u64::MAX, "5": null, "6": 0.5,
                "7": 1e300, "8": "x".repeat(300), "9": "<2 bytes>", "10": "after",
            })
        );
    }

    /// One large value never hides the others: each driver, a large text and a large blob
    /// between small values.
    #[test]
    fn each_value_is_judged_alone() {
        let large_text = "x\"".repeat(MAX_TEXT_LEN);
        let expected = json!({
            "1": 1, "2": "<too large>", "3": "small", "4": "<1048576 bytes>", "5": "last",
        });
        let mut sqlite = SqliteArguments::default();
        let mut postgres = PgArguments::default();
        let mut mysql = MySqlArguments::default();
        macro_rules! add_all {
            ($arguments:ident) => {
                $arguments.add(1_i32).unwrap();
                $arguments.add(large_text.as_str()).unwrap();
                $arguments.add("small").unwrap();
                $arguments.add(vec![7_u8; 1 << 20]).unwrap();
                $arguments.add("last").unwrap();
            };
        }
        add_all!(sqlite);
        add_all!(postgres);
        add_all!(mysql);
        assert_eq!(sqlite.param_values(), expected);
        assert_eq!(postgres.param_values(), expected);
        assert_eq!(mysql.param_values(), expected);
        // A text value just within the bound is shown whole.
        let mut arguments = PgArguments::default();
        arguments.add("y".repeat(MAX_TEXT_LEN)).unwrap();
        assert_eq!(
            arguments.param_values(),
            json!({"1": "y".repeat(MAX_TEXT_LEN)})
        );
    }

    #[test]
    fn arguments_past_the_bounds_are_all_placeholders() {
        let mut arguments = SqliteArguments::default();
        arguments.add(vec![7_u8; MAX_LIST_BYTES + 1]).unwrap();
        arguments.add(1_i32).unwrap();
        assert_eq!(
            arguments.param_values(),
            json!({"1": "<too large>", "2": "<too large>"})
        );
    }

    /// `Debug` text as the drivers' arguments would write it.
    fn read(text: &str) -> DebugText {
        let mut debug = DebugText::default();
        fmt::Write::write_str(&mut debug, text).unwrap();
        debug
    }

    #[test]
    fn unreadable_text_gives_placeholders_not_errors() {
        assert_eq!(
            keyed(
                2,
                Some(sqlite_values(&read("SqliteArguments { something: else }")))
            ),
            json!({"1": "<unreadable>", "2": "<unreadable>"})
        );
        assert_eq!(
            keyed(1, Some(postgres_values(&read("types: [PgTypeInfo(Int4)]")))),
            json!({"1": "<unreadable>"})
        );
        assert_eq!(keyed(0, Some(mysql_values(&read("")))), json!({}));
    }
}
