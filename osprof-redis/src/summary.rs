//! What a span says of a command: its name, its first key, and (when recorded) its arguments
//! and reply, cut to a bounded size.

use redis::{Arg, Cmd, Value};
use serde_json::{Map, json};

/// The longest text recorded for one argument or reply value, in bytes.
const MAX_TEXT: usize = 256;
/// The most arguments, or list items of a reply, recorded.
const MAX_ITEMS: usize = 16;
/// How deep a reply's nested lists are followed.
const MAX_DEPTH: usize = 4;

/// One command as sent: its arguments, the name first, each cut to [`MAX_TEXT`] bytes and
/// at most [`MAX_ITEMS`] after the name, with the first key found while they were whole.
pub(crate) struct Command {
    args: Vec<Vec<u8>>,
    /// How many arguments follow the name.
    count: usize,
    key: Option<String>,
}

impl Command {
    /// The command from its whole arguments.
    fn new<'a>(args: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Command {
        let count = args.len().saturating_sub(1);
        let key = first_key(args.clone()).map(text);
        let args = args
            .take(MAX_ITEMS + 1)
            .map(|arg| arg[..arg.len().min(MAX_TEXT)].to_vec())
            .collect();
        Command { args, count, key }
    }

    /// The command `cmd` will send (a cursor argument, or any other kind `Arg` gains,
    /// counts as `0`).
    pub(crate) fn of_cmd(cmd: &Cmd) -> Command {
        let args: Vec<&[u8]> = cmd
            .args_iter()
            .map(|arg| match arg {
                Arg::Simple(bytes) => bytes,
                _ => b"0".as_slice(),
            })
            .collect();
        Command::new(args.into_iter())
    }

    /// The commands in packed RESP text (`*<n>\r\n$<len>\r\n<arg>\r\n...`), as the sync
    /// connection gets them; parsing stops at anything else.
    pub(crate) fn parse_packed(mut packed: &[u8]) -> Vec<Command> {
        let mut commands = Vec::new();
        while let Some((args, rest)) = parse_array(packed) {
            commands.push(Command::new(args.into_iter()));
            packed = rest;
        }
        commands
    }

    /// The command's name, uppercase.
    fn name(&self) -> String {
        self.args
            .first()
            .map(|name| text(name).to_ascii_uppercase())
            .unwrap_or_default()
    }

    /// `{command, key}`, and `args` when they are recorded.
    pub(crate) fn info(&self, record_args: bool) -> Map<String, serde_json::Value> {
        let mut info = Map::new();
        info.insert("command".into(), self.name().into());
        info.insert("key".into(), self.key.clone().into());
        if record_args {
            let mut args: Vec<serde_json::Value> = self
                .args
                .iter()
                .skip(1)
                .map(|arg| text(arg).into())
                .collect();
            if self.count > MAX_ITEMS {
                args.push(format!("... {} more", self.count - MAX_ITEMS).into());
            }
            info.insert("args".into(), args.into());
        }
        info
    }

    /// A pipeline's `{command: "PIPELINE", key, commands, names}` (the key of its first
    /// command that has one), and each command's `args` when they are recorded.
    pub(crate) fn pipeline_info(
        commands: &[Command],
        record_args: bool,
    ) -> Map<String, serde_json::Value> {
        let mut info = Map::new();
        info.insert("command".into(), "PIPELINE".into());
        let key = commands.iter().find_map(|command| command.key.clone());
        info.insert("key".into(), key.into());
        info.insert("commands".into(), commands.len().into());
        let names: Vec<serde_json::Value> = commands
            .iter()
            .map(|command| command.name().into())
            .collect();
        info.insert("names".into(), names.into());
        if record_args {
            let args: Vec<serde_json::Value> = commands
                .iter()
                .map(|command| command.info(true)["args"].clone())
                .collect();
            info.insert("args".into(), args.into());
        }
        info
    }
}

/// Text of bytes that may not be UTF-8.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The first key of a command, by where Redis commands keep it: none for server and
/// connection commands, after `numkeys` for scripts and functions, after `STREAMS` for
/// stream reads, after the subcommand for `OBJECT`, `MEMORY` and `XINFO`, else the first
/// argument.
fn first_key<'a>(mut args: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    let name = args.next()?.to_ascii_uppercase();
    match name.as_slice() {
        b"PING" | b"ECHO" | b"INFO" | b"SELECT" | b"AUTH" | b"HELLO" | b"CLIENT" | b"CONFIG"
        | b"FLUSHDB" | b"FLUSHALL" | b"DBSIZE" | b"SCAN" | b"MULTI" | b"EXEC" | b"DISCARD"
        | b"SCRIPT" | b"COMMAND" | b"TIME" | b"QUIT" | b"SAVE" | b"BGSAVE" | b"LASTSAVE"
        | b"SLOWLOG" | b"ACL" | b"CLUSTER" | b"FUNCTION" | b"LATENCY" | b"MODULE" | b"MONITOR"
        | b"PUBSUB" | b"PUBLISH" | b"SUBSCRIBE" | b"PSUBSCRIBE" | b"UNSUBSCRIBE"
        | b"PUNSUBSCRIBE" | b"RESET" | b"ROLE" | b"SHUTDOWN" | b"SWAPDB" | b"WAIT" | b"KEYS"
        | b"RANDOMKEY" | b"UNWATCH" | b"READONLY" | b"READWRITE" => None,
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" | b"FCALL" | b"FCALL_RO" => {
            let _script = args.next()?;
            let keys = std::str::from_utf8(args.next()?)
                .ok()?
                .parse::<u64>()
                .ok()?;
            if keys == 0 { None } else { args.next() }
        }
        b"XREAD" | b"XREADGROUP" => args
            .skip_while(|arg| !arg.eq_ignore_ascii_case(b"STREAMS"))
            .nth(1),
        b"OBJECT" | b"MEMORY" | b"XINFO" => args.nth(1),
        _ => args.next(),
    }
}

/// One RESP array of bulk strings from the start of `packed`, and what follows it.
fn parse_array(packed: &[u8]) -> Option<(Vec<&[u8]>, &[u8])> {
    let (count, mut rest) = parse_header(packed, b'*')?;
    let mut args = Vec::with_capacity(count.min(64));
    for _ in 0..count {
        let (len, after) = parse_header(rest, b'$')?;
        let arg = after.get(..len)?;
        rest = after.get(len..)?.strip_prefix(b"\r\n")?;
        args.push(arg);
    }
    Some((args, rest))
}

/// `<marker><decimal>\r\n` at the start of `packed`: the number, and what follows.
fn parse_header(packed: &[u8], marker: u8) -> Option<(usize, &[u8])> {
    let rest = packed.strip_prefix(&[marker])?;
    let end = rest.iter().position(|&byte| byte == b'\r')?;
    let number = std::str::from_utf8(&rest[..end]).ok()?.parse().ok()?;
    Some((number, rest[end..].strip_prefix(b"\r\n")?))
}

/// A reply as JSON: numbers, text cut to [`MAX_TEXT`] bytes, lists to [`MAX_ITEMS`] items
/// and [`MAX_DEPTH`] levels.
pub(crate) fn reply_json(value: &Value) -> serde_json::Value {
    reply_at(value, 0)
}

fn reply_at(value: &Value, depth: usize) -> serde_json::Value {
    let cut = |bytes: &[u8]| text(&bytes[..bytes.len().min(MAX_TEXT)]);
    let list = |items: &mut dyn ExactSizeIterator<Item = serde_json::Value>| {
        let total = items.len();
        let mut out: Vec<serde_json::Value> = items.take(MAX_ITEMS).collect();
        if total > MAX_ITEMS {
            out.push(format!("... {} more", total - MAX_ITEMS).into());
        }
        serde_json::Value::from(out)
    };
    if depth >= MAX_DEPTH {
        return "...".into();
    }
    match value {
        Value::Nil => serde_json::Value::Null,
        Value::Int(number) => (*number).into(),
        Value::BulkString(bytes) => cut(bytes).into(),
        Value::SimpleString(text) => cut(text.as_bytes()).into(),
        Value::Okay => "OK".into(),
        Value::Double(number) => json!(number),
        Value::Boolean(flag) => (*flag).into(),
        Value::Array(items) | Value::Set(items) => {
            list(&mut items.iter().map(|item| reply_at(item, depth + 1)))
        }
        Value::Map(pairs) => list(
            &mut pairs
                .iter()
                .map(|(key, value)| json!([reply_at(key, depth + 1), reply_at(value, depth + 1)])),
        ),
        other => cut(format!("{other:?}").as_bytes()).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(args: &[&str]) -> Option<String> {
        first_key(args.iter().map(|arg| arg.as_bytes())).map(text)
    }

    #[test]
    fn the_first_key_is_found_where_each_command_keeps_it() {
        assert_eq!(key(&["GET", "user:1"]).as_deref(), Some("user:1"));
        assert_eq!(key(&["ping"]), None);
        assert_eq!(key(&["EVAL", "return 1", "0"]), None);
        assert_eq!(
            key(&["EVALSHA", "abc", "2", "k1", "k2", "arg"]).as_deref(),
            Some("k1")
        );
        assert_eq!(
            key(&["XREAD", "COUNT", "2", "STREAMS", "s1", "0"]).as_deref(),
            Some("s1")
        );
        assert_eq!(key(&["OBJECT", "ENCODING", "k"]).as_deref(), Some("k"));
        assert_eq!(key(&[]), None);
    }

    #[test]
    fn packed_commands_are_parsed_and_anything_else_stops_the_parse() {
        let mut pipeline = redis::pipe();
        pipeline.atomic().set("a", 1).get("a");
        let commands = Command::parse_packed(&pipeline.get_packed_pipeline());
        let names: Vec<String> = commands.iter().map(Command::name).collect();
        assert_eq!(names, ["MULTI", "SET", "GET", "EXEC"]);
        assert_eq!(commands[1].key.as_deref(), Some("a"));
        for bad in [
            &b"*2\r\n$3\r\nGET\r\n"[..],
            b"*1\r\n$9\r\nGET\r\n",
            b"+OK\r\n",
            b"*x\r\n",
            b"",
        ] {
            assert!(Command::parse_packed(bad).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn long_arguments_and_replies_are_cut() {
        let long = "x".repeat(1000);
        let mut cmd = redis::cmd("MSET");
        for at in 0..20 {
            cmd.arg(format!("k{at}")).arg(&long);
        }
        let info = Command::of_cmd(&cmd).info(true);
        let args = info["args"].as_array().unwrap();
        assert_eq!(args.len(), MAX_ITEMS + 1);
        assert_eq!(args[1].as_str().unwrap().len(), MAX_TEXT);
        assert_eq!(args[MAX_ITEMS], "... 24 more");
        assert!(!Command::of_cmd(&cmd).info(false).contains_key("args"));

        let mut nested = Value::Int(1);
        for _ in 0..10 {
            nested = Value::Array(vec![nested]);
        }
        assert_eq!(reply_json(&nested), json!([[[["..."]]]]));
        let many = Value::Array((0..20).map(Value::Int).collect());
        assert_eq!(
            reply_json(&many).as_array().unwrap()[MAX_ITEMS],
            "... 4 more"
        );
    }
}
