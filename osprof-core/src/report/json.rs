//! JSON text of reports, written and read without recursion: a report nests one level per
//! span, and a trace can be a million calls deep, where `serde_json`'s recursive writer,
//! reader and destructor would overflow the stack (its reader also stops at 128 levels).

use std::io::{self, Write};

use serde_json::{Map, Value};

/// Indentation stops growing at this depth, so that the indented text of a deep trace grows
/// linearly with its size, not with the square of its depth. Shallower values are laid out
/// exactly as `serde_json::to_string_pretty` lays them out.
const MAX_INDENT_LEVELS: usize = 16;

/// Writes `value` as JSON text: compact, or indented by two spaces per level.
pub(crate) fn write(value: &Value, out: &mut impl Write, pretty: bool) -> io::Result<()> {
    Writer::new(out, pretty).value(value)
}

/// JSON text written a piece at a time, laid out as [`write`] lays out a whole value: a
/// report's text can be written from its spans without making the value first.
pub(crate) struct Writer<W> {
    out: W,
    pretty: bool,
    /// Containers open.
    depth: usize,
    /// Whether the innermost open container has no item yet.
    first: bool,
}

/// A container being written, with the items still to write.
enum Container<'a> {
    Array(std::slice::Iter<'a, Value>),
    Object(serde_json::map::Iter<'a>),
}

impl<W: Write> Writer<W> {
    pub(crate) fn new(out: W, pretty: bool) -> Writer<W> {
        Writer {
            out,
            pretty,
            depth: 0,
            first: true,
        }
    }

    /// Opens an object (`b'{'`) or an array (`b'['`).
    pub(crate) fn open(&mut self, bracket: u8) -> io::Result<()> {
        self.out.write_all(&[bracket])?;
        self.depth += 1;
        self.first = true;
        Ok(())
    }

    /// Closes the innermost container (`b'}'` or `b']'`); an empty one is written `{}` or `[]`.
    pub(crate) fn close(&mut self, bracket: u8) -> io::Result<()> {
        self.depth -= 1;
        if !self.first {
            self.newline()?;
        }
        self.first = false;
        self.out.write_all(&[bracket])
    }

    /// Starts an object's item: its key.
    pub(crate) fn key(&mut self, key: &str) -> io::Result<()> {
        self.item()?;
        self.text(key)?;
        self.out.write_all(if self.pretty { b": " } else { b":" })
    }

    /// Starts an array's item.
    pub(crate) fn item(&mut self) -> io::Result<()> {
        if !std::mem::replace(&mut self.first, false) {
            self.out.write_all(b",")?;
        }
        self.newline()
    }

    /// Writes a string, escaped as `serde_json` escapes it.
    pub(crate) fn text(&mut self, text: &str) -> io::Result<()> {
        // Most keys and values need no escape: copied whole, they are written several times
        // faster than through a serializer.
        let plain = |byte: &u8| *byte >= 0x20 && *byte != b'"' && *byte != b'\\';
        if !text.as_bytes().iter().all(plain) {
            return Ok(serde_json::to_writer(&mut self.out, text)?);
        }
        self.out.write_all(b"\"")?;
        self.out.write_all(text.as_bytes())?;
        self.out.write_all(b"\"")
    }

    pub(crate) fn number(&mut self, number: i64) -> io::Result<()> {
        write!(self.out, "{number}")
    }

    /// Writes a whole value, however deeply it nests.
    pub(crate) fn value(&mut self, value: &Value) -> io::Result<()> {
        let mut stack: Vec<Container<'_>> = Vec::new();
        if let Some(container) = self.begin(value)? {
            stack.push(container);
        }
        while let Some(container) = stack.last_mut() {
            let next = match container {
                Container::Array(items) => items.next().map(|item| (None, item)),
                Container::Object(entries) => entries.next().map(|(key, item)| (Some(key), item)),
            };
            let Some((key, item)) = next else {
                let bracket = match container {
                    Container::Array(_) => b']',
                    Container::Object(_) => b'}',
                };
                stack.pop();
                self.close(bracket)?;
                continue;
            };
            match key {
                Some(key) => self.key(key)?,
                None => self.item()?,
            }
            if let Some(container) = self.begin(item)? {
                stack.push(container);
            }
        }
        Ok(())
    }

    /// Writes a scalar or an empty container whole, or opens a container and returns it.
    fn begin<'a>(&mut self, value: &'a Value) -> io::Result<Option<Container<'a>>> {
        match value {
            Value::Array(items) if !items.is_empty() => {
                self.open(b'[')?;
                Ok(Some(Container::Array(items.iter())))
            }
            Value::Object(map) if !map.is_empty() => {
                self.open(b'{')?;
                Ok(Some(Container::Object(map.iter())))
            }
            Value::String(text) => {
                self.text(text)?;
                Ok(None)
            }
            // `serde_json` writes these without recursion.
            scalar => {
                serde_json::to_writer(&mut self.out, scalar)?;
                Ok(None)
            }
        }
    }

    fn newline(&mut self) -> io::Result<()> {
        if self.pretty {
            const SPACES: &[u8] = &[b' '; 2 * MAX_INDENT_LEVELS];
            self.out.write_all(b"\n")?;
            self.out
                .write_all(&SPACES[..2 * self.depth.min(MAX_INDENT_LEVELS)])?;
        }
        Ok(())
    }
}

/// JSON text that is not a report, and where.
#[derive(Debug, thiserror::Error)]
#[error("{problem} at line {line} column {column}")]
pub struct ParseError {
    problem: String,
    line: usize,
    column: usize,
}

/// Reads JSON text into a value, however deeply it nests.
pub(crate) fn parse(text: &str) -> Result<Value, ParseError> {
    let mut parser = Parser { text, at: 0 };
    let mut stack: Vec<Open> = Vec::new();
    let parsed = parser.document(&mut stack);
    if parsed.is_err() {
        // The values read so far may nest deeply: take them apart without recursion.
        for open in stack {
            dismantle(match open {
                Open::Array(items) => Value::Array(items),
                Open::Object(map, _) => Value::Object(map),
            });
        }
    }
    parsed
}

/// A container being read: its items so far, and for an object the key of the next item.
enum Open {
    Array(Vec<Value>),
    Object(Map<String, Value>, String),
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl Parser<'_> {
    fn document(&mut self, stack: &mut Vec<Open>) -> Result<Value, ParseError> {
        loop {
            // A value: a scalar or an empty container is read whole, a container is opened.
            let mut value = match self.next_byte()? {
                b'[' if self.peek_after_blank() == Some(b']') => {
                    self.at += 1;
                    Value::Array(Vec::new())
                }
                b'[' => {
                    stack.push(Open::Array(Vec::new()));
                    continue;
                }
                b'{' if self.peek_after_blank() == Some(b'}') => {
                    self.at += 1;
                    Value::Object(Map::new())
                }
                b'{' => {
                    let key = self.key()?;
                    stack.push(Open::Object(Map::new(), key));
                    continue;
                }
                b'"' => Value::String(self.string()?),
                b'-' | b'0'..=b'9' => self.number()?,
                b't' => self.literal("true", Value::Bool(true))?,
                b'f' => self.literal("false", Value::Bool(false))?,
                b'n' => self.literal("null", Value::Null)?,
                _ => return Err(self.error_before("expected a value")),
            };
            // Put it in its container; each closing bracket completes one more value.
            loop {
                match stack.last_mut() {
                    None => {
                        return match self.peek_after_blank() {
                            None => Ok(value),
                            Some(_) => {
                                dismantle(value);
                                Err(self.error("trailing characters after the value"))
                            }
                        };
                    }
                    Some(Open::Array(items)) => {
                        items.push(value);
                        match self.next_byte()? {
                            b',' => break,
                            b']' => {}
                            _ => return Err(self.error_before("expected `,` or `]`")),
                        }
                    }
                    Some(Open::Object(map, key)) => {
                        map.insert(std::mem::take(key), value);
                        match self.next_byte()? {
                            b',' => {
                                *key = self.key()?;
                                break;
                            }
                            b'}' => {}
                            _ => return Err(self.error_before("expected `,` or `}`")),
                        }
                    }
                }
                value = match stack.pop() {
                    Some(Open::Array(items)) => Value::Array(items),
                    Some(Open::Object(map, _)) => Value::Object(map),
                    None => unreachable!("a container was just completed"),
                };
            }
        }
    }

    /// The next byte that is not blank, consumed.
    fn next_byte(&mut self) -> Result<u8, ParseError> {
        let byte = self
            .peek_after_blank()
            .ok_or_else(|| self.error("unexpected end of the text"))?;
        self.at += 1;
        Ok(byte)
    }

    /// Skips blanks and returns the next byte without consuming it.
    fn peek_after_blank(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.at) {
            self.at += 1;
        }
        bytes.get(self.at).copied()
    }

    /// An object's key and the `:` after it.
    fn key(&mut self) -> Result<String, ParseError> {
        if self.next_byte()? != b'"' {
            return Err(self.error_before("expected a key in double quotes"));
        }
        let key = self.string()?;
        if self.next_byte()? != b':' {
            return Err(self.error_before("expected `:`"));
        }
        Ok(key)
    }

    /// A string whose opening quote was just consumed.
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.at - 1;
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        loop {
            match bytes.get(self.at) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    self.at += 2;
                }
                Some(_) => self.at += 1,
            }
        }
        self.at += 1;
        let quoted = &self.text[start..self.at];
        if !escaped && !quoted.bytes().any(|byte| byte < 0x20) {
            return Ok(quoted[1..quoted.len() - 1].to_owned());
        }
        // Escapes and their errors are `serde_json`'s, which reads a string without recursion.
        serde_json::from_str(quoted).map_err(|error| self.error_at(start, &error.to_string()))
    }

    /// A number whose first byte was just consumed.
    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.at - 1;
        let bytes = self.text.as_bytes();
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = bytes.get(self.at) {
            self.at += 1;
        }
        serde_json::from_str::<serde_json::Number>(&self.text[start..self.at])
            .map(Value::Number)
            .map_err(|_| self.error_at(start, "invalid number"))
    }

    /// `true`, `false` or `null`, whose first byte was just consumed.
    fn literal(&mut self, word: &str, value: Value) -> Result<Value, ParseError> {
        let start = self.at - 1;
        if !self.text[start..].starts_with(word) {
            return Err(self.error_at(start, "expected a value"));
        }
        self.at = start + word.len();
        Ok(value)
    }

    fn error(&self, problem: &str) -> ParseError {
        self.error_at(self.at, problem)
    }

    /// An error about the byte just consumed.
    fn error_before(&self, problem: &str) -> ParseError {
        self.error_at(self.at - 1, problem)
    }

    fn error_at(&self, at: usize, problem: &str) -> ParseError {
        let before = &self.text.as_bytes()[..at.min(self.text.len())];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |n| n + 1);
        ParseError {
            problem: problem.to_owned(),
            line: before.iter().filter(|&&b| b == b'\n').count() + 1,
            column: String::from_utf8_lossy(&before[line_start..])
                .chars()
                .count()
                + 1,
        }
    }
}

/// Drops a value without recursion: `serde_json`'s destructor recurses once per level.
pub(crate) fn dismantle(value: Value) {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => stack.extend(map.into_iter().map(|(_, item)| item)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    fn written(value: &Value, pretty: bool) -> String {
        let mut out = Vec::new();
        super::write(value, &mut out, pretty).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn shallow_values_are_written_as_serde_json_writes_them() {
        let value = json!({"a": [1, 2.5, -3, "x\"\n\u{2028}", true, null, [], {}],
                           "b": {"c": {"d": []}}, "": "é", "e": [[[]]]});
        assert_eq!(
            written(&value, false),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(
            written(&value, true),
            serde_json::to_string_pretty(&value).unwrap()
        );
        for scalar in [json!(1), json!("s"), json!(null), json!([]), json!({})] {
            assert_eq!(written(&scalar, true), scalar.to_string());
        }
    }

    #[test]
    fn what_is_written_reads_back() {
        let value = json!({"a": [1, 2.5, -3, 1e300, 18446744073709551615_u64, -9223372036854775808_i64,
                                 "x\"\n\\ \u{1F600} \u{0}", true, false, null, [], {}],
                           "b": {"c": {"d": [{}]}}, "": "é"});
        for pretty in [false, true] {
            assert_eq!(super::parse(&written(&value, pretty)).unwrap(), value);
        }
        assert_eq!(
            super::parse(r#" {"k" : "\ud83d\ude00", "k": 2} "#).unwrap(),
            json!({"k": 2})
        );
    }

    #[test]
    fn bad_text_is_an_error_that_says_where() {
        for (text, message) in [
            ("", "unexpected end of the text at line 1 column 1"),
            ("[1,", "unexpected end of the text at line 1 column 4"),
            ("[1 2]", "expected `,` or `]` at line 1 column 4"),
            ("{\n \"a\" 1}", "expected `:` at line 2 column 6"),
            (
                "{1: 2}",
                "expected a key in double quotes at line 1 column 2",
            ),
            ("[tru]", "expected a value at line 1 column 2"),
            ("[01]", "invalid number at line 1 column 2"),
            ("\"a", "unterminated string at line 1 column 3"),
            (
                "[] x",
                "trailing characters after the value at line 1 column 4",
            ),
            ("]", "expected a value at line 1 column 1"),
            ("{\"a\": [}", "expected a value at line 1 column 8"),
        ] {
            assert_eq!(
                super::parse(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
        assert!(super::parse("\"\\x\"").is_err());
        assert!(super::parse("\"a\tb\"").is_err(), "control characters");
    }

    #[test]
    fn a_million_levels_are_written_read_and_dropped() {
        let depth = 1_000_000;
        let text = "[".repeat(depth) + &"]".repeat(depth);
        let value = super::parse(&text).unwrap();
        assert_eq!(written(&value, false), text);
        let pretty = written(&value, true);
        assert!(pretty.len() < 80 * depth, "linear: {} bytes", pretty.len());
        let again = super::parse(&pretty).unwrap();
        super::dismantle(value);
        super::dismantle(again);
        // A deep value in a text that ends badly is dropped without recursion too.
        assert!(super::parse(&("[".repeat(depth) + "[]")).is_err());
    }
}
