//! Pipelined writes to Redis bounded by one deadline per attempt. The `redis` client waits
//! its read timeout once for every reply still due, so a server that takes a pipeline and
//! never answers would hold the delivery thread for minutes; here every read and write
//! waits only for what is left of the attempt's deadline.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use redis::{ConnectionAddr, ConnectionInfo};

/// A connection to one Redis server, for pipelined commands.
pub(super) struct Pipe {
    stream: Stream,
    /// Bytes read and not yet parsed.
    input: Vec<u8>,
    /// How far `input` has been parsed.
    parsed: usize,
    /// The request being sent, kept for the next one: a pipeline of events is a megabyte
    /// or so, which a fresh buffer would grow to (and fault in) again each time.
    request: Vec<u8>,
}

enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(std::os::unix::net::UnixStream),
}

/// One reply: `Ok` for a success, or the server's error line (`WRONGTYPE ...`).
pub(super) type Reply = Result<(), String>;

impl Pipe {
    /// Connects, authenticates, selects the database and sees the server answer a `PING`,
    /// all before `deadline`. The answer matters: a server that takes connections and
    /// answers nothing is found here, before a pipeline of events is sent to it, to be run
    /// when the server wakes and then sent again.
    pub(super) fn connect(info: &ConnectionInfo, deadline: Instant) -> io::Result<Pipe> {
        let stream = match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let mut last_error = None;
                let mut connected = None;
                for address in (host.as_str(), *port).to_socket_addrs()? {
                    match TcpStream::connect_timeout(&address, remaining(deadline)?) {
                        Ok(stream) => {
                            connected = Some(stream);
                            break;
                        }
                        Err(error) => last_error = Some(error),
                    }
                }
                let stream = connected.ok_or_else(|| {
                    last_error.unwrap_or_else(|| io::Error::other("the host name has no address"))
                })?;
                stream.set_nodelay(true)?;
                Stream::Tcp(stream)
            }
            #[cfg(unix)]
            ConnectionAddr::Unix(path) => {
                Stream::Unix(std::os::unix::net::UnixStream::connect(path)?)
            }
            other => {
                return Err(io::Error::other(format!(
                    "{other} is not supported for writing; use redis:// or redis+unix://"
                )));
            }
        };
        let mut pipe = Pipe {
            stream,
            input: Vec::new(),
            parsed: 0,
            request: Vec::new(),
        };
        let settings = info.redis_settings();
        let mut hello: Vec<Vec<&[u8]>> = Vec::new();
        if let Some(password) = settings.password() {
            let mut auth: Vec<&[u8]> = vec![b"AUTH"];
            auth.extend(settings.username().map(str::as_bytes));
            auth.push(password.as_bytes());
            hello.push(auth);
        }
        let db = settings.db().to_string();
        if settings.db() != 0 {
            hello.push(vec![b"SELECT", db.as_bytes()]);
        }
        hello.push(vec![b"PING"]);
        let mut replies = Vec::new();
        pipe.exec(hello.iter().map(Vec::as_slice), deadline, &mut replies)?;
        if let Some(Err(error)) = replies.into_iter().find(Result::is_err) {
            return Err(io::Error::other(error));
        }
        Ok(pipe)
    }

    /// Sends `commands` in one pipeline and reads their replies into `replies`, in order,
    /// all before `deadline`. On an error (a timeout, a closed connection), `replies` holds
    /// those read so far; the commands after them may or may not have been executed, and
    /// the connection must not be used again.
    pub(super) fn exec<'a>(
        &mut self,
        commands: impl Iterator<Item = &'a [&'a [u8]]>,
        deadline: Instant,
        replies: &mut Vec<Reply>,
    ) -> io::Result<()> {
        let mut request = std::mem::take(&mut self.request);
        request.clear();
        let mut count = 0;
        for command in commands {
            encode(command, &mut request);
            count += 1;
        }
        let written = self.write_all(&request, deadline);
        self.request = request;
        written?;
        for _ in 0..count {
            replies.push(self.reply(deadline)?);
        }
        Ok(())
    }

    fn write_all(&mut self, mut bytes: &[u8], deadline: Instant) -> io::Result<()> {
        while !bytes.is_empty() {
            let timeout = Some(remaining(deadline)?);
            let written = match &mut self.stream {
                Stream::Tcp(stream) => {
                    stream.set_write_timeout(timeout)?;
                    stream.write(bytes)
                }
                #[cfg(unix)]
                Stream::Unix(stream) => {
                    stream.set_write_timeout(timeout)?;
                    stream.write(bytes)
                }
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(timed_out(error)),
            }
        }
        Ok(())
    }

    /// Reads more bytes from the server, waiting until `deadline` at most.
    fn fill(&mut self, deadline: Instant) -> io::Result<()> {
        if self.parsed > 0 {
            self.input.drain(..self.parsed);
            self.parsed = 0;
        }
        let start = self.input.len();
        self.input.resize(start + 16 * 1024, 0);
        let timeout = Some(remaining(deadline)?);
        let read = match &mut self.stream {
            Stream::Tcp(stream) => stream
                .set_read_timeout(timeout)
                .and_then(|()| stream.read(&mut self.input[start..])),
            #[cfg(unix)]
            Stream::Unix(stream) => stream
                .set_read_timeout(timeout)
                .and_then(|()| stream.read(&mut self.input[start..])),
        };
        self.input.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the server closed the connection",
            )),
            Ok(_) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(error) => Err(timed_out(error)),
        }
    }

    /// One line of the reply stream, without its `\r\n`.
    fn line(&mut self, deadline: Instant) -> io::Result<Vec<u8>> {
        loop {
            let unparsed = &self.input[self.parsed..];
            if let Some(end) = unparsed.windows(2).position(|pair| pair == b"\r\n") {
                let line = unparsed[..end].to_vec();
                self.parsed += end + 2;
                return Ok(line);
            }
            self.fill(deadline)?;
        }
    }

    /// One reply to a command that answers with a status, an integer or a bulk string.
    fn reply(&mut self, deadline: Instant) -> io::Result<Reply> {
        let line = self.line(deadline)?;
        match line.first() {
            Some(b'+' | b':') => Ok(Ok(())),
            Some(b'-') => Ok(Err(String::from_utf8_lossy(&line[1..]).into_owned())),
            Some(b'$') => {
                // A bulk string (`$-1` for none): skip its bytes.
                let len: i64 = std::str::from_utf8(&line[1..])
                    .ok()
                    .and_then(|len| len.parse().ok())
                    .ok_or_else(|| protocol_error(&line))?;
                if let Ok(len) = usize::try_from(len) {
                    while self.input.len() - self.parsed < len + 2 {
                        self.fill(deadline)?;
                    }
                    self.parsed += len + 2;
                }
                Ok(Ok(()))
            }
            _ => Err(protocol_error(&line)),
        }
    }
}

/// A command in Redis' wire format: an array of bulk strings.
fn encode(command: &[&[u8]], out: &mut Vec<u8>) {
    out.push(b'*');
    push_decimal(out, command.len());
    out.extend_from_slice(b"\r\n");
    for part in command {
        out.push(b'$');
        push_decimal(out, part.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `n` in decimal: twice per value of a pipeline, where `write!` costs more than
/// the value's copy.
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// What is left before `deadline`, or a timeout error when nothing is.
fn remaining(deadline: Instant) -> io::Result<std::time::Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the server did not answer within the socket timeout",
        ));
    }
    Ok(left)
}

/// Socket timeouts surface as `WouldBlock` on Unix: say what happened.
fn timed_out(error: io::Error) -> io::Error {
    match error.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
            io::ErrorKind::TimedOut,
            "the server did not answer within the socket timeout",
        ),
        _ => error,
    }
}

fn protocol_error(line: &[u8]) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "unexpected reply from the server: {}",
            String::from_utf8_lossy(line)
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn commands_are_encoded_as_bulk_string_arrays() {
        let mut out = Vec::new();
        super::encode(&[b"LPUSH", b"k", b"a\r\nb"], &mut out);
        assert_eq!(out, b"*3\r\n$5\r\nLPUSH\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
    }
}
