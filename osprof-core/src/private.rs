//! What `#[trace]` and `#[trace_impl]` expand to. Hidden and not a stable API: use the macros.

use std::any::type_name;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;
pub use serde_json;
use std::sync::OnceLock;

use crate::context::{self, AsyncSpan};
use crate::record::{Detail, Info, Name};

/// True when a span opened here would be recorded: arguments are formatted only then.
#[inline(always)]
pub fn active() -> bool {
    context::is_traced()
}

/// A traced function, once per function (a `static` in its body): its span name and its
/// Rust path. Events point at it, so a function span with nothing else to say allocates
/// nothing.
pub struct FnSite {
    pub(crate) name: &'static str,
    path: OnceLock<&'static str>,
}

impl FnSite {
    /// The site of a function whose spans are named `name`.
    pub const fn new(name: &'static str) -> FnSite {
        FnSite {
            name,
            path: OnceLock::new(),
        }
    }

    /// The site with its Rust path, taken from the type name of a marker fn declared inside
    /// the function (`crate::module::Type::method::__osprof_here`,
    /// `<Type as Trait>::method::...`): computed once per function.
    #[inline]
    pub fn resolve(&'static self, marker: &'static str) -> &'static FnSite {
        // Every call of a traced function comes here: keep the resolved case to one load.
        if self.path.get().is_none() {
            self.resolve_path(marker);
        }
        self
    }

    #[cold]
    #[inline(never)]
    fn resolve_path(&self, marker: &'static str) {
        self.path.get_or_init(|| {
            let path = marker.strip_suffix("::__osprof_here").unwrap_or(marker);
            Box::leak(path.replace("::{{closure}}", "").into_boxed_str())
        });
    }

    /// The function's Rust path (its span name until [`resolve`](Self::resolve)d).
    pub(crate) fn path(&self) -> &'static str {
        self.path.get().copied().unwrap_or(self.name)
    }
}

/// The start info of a function span.
pub struct FnStart {
    /// The function: its span name (`name = ...`, or the function's name) and Rust path.
    pub site: &'static FnSite,
    /// The arguments' tuple-style rendering; `None` with `hide_args`.
    pub args: Option<String>,
    /// `info(...)` given to the attribute.
    pub info: Option<serde_json::Map<String, serde_json::Value>>,
}

impl FnStart {
    fn into_parts(self) -> (Name, Detail) {
        let detail = match (self.info, self.args) {
            (None, None) => Detail::Function(self.site),
            (user, args) => Detail::from_info(Some(Info::Function {
                user,
                path: self.site.path(),
                args,
            })),
        };
        (Name::from(self.site.name), detail)
    }
}

/// How a function span stops.
pub struct Stop(Option<Info>);

/// A plain stop.
pub fn stop_plain() -> Stop {
    Stop(None)
}

/// A stop with `{"function": {"result": ...}}`.
pub fn stop_result(result: String) -> Stop {
    Stop(Some(Info::Result(result)))
}

/// A stop with `{"etype": ..., "message": ...}` for an `Err(error)` return; `etype` from
/// `(&&&Wrap(error)).osprof_etype()`.
pub fn stop_error(etype: Cow<'static, str>, message: String) -> Stop {
    Stop(Some(Info::Failure { etype, message }))
}

/// An error's `etype`: the full path of its type, as [`type_name`] gives it, then, for a
/// `std::io::Error`, its kind, and for the enums in [`VARIANT_NAMED`], its variant (chosen in
/// that order, for `(&&&Wrap(e))`).
pub trait IoErrorType {
    /// The `etype`.
    fn osprof_etype(&self) -> Cow<'static, str>;
}

impl IoErrorType for &&Wrap<'_, std::io::Error> {
    fn osprof_etype(&self) -> Cow<'static, str> {
        format!("{}::{:?}", type_name::<std::io::Error>(), self.0.kind()).into()
    }
}

/// Error enums whose variant says what failed, as their `Debug` output starts with it.
pub const VARIANT_NAMED: &[&str] = &[
    "sqlx_core::error::Error",
    "reqwest_middleware::error::Error",
];

/// See [`IoErrorType`].
pub trait VariantType {
    /// The `etype`.
    fn osprof_etype(&self) -> Cow<'static, str>;
}

impl<T: fmt::Debug + ?Sized> VariantType for &Wrap<'_, T> {
    fn osprof_etype(&self) -> Cow<'static, str> {
        let name = type_name::<T>();
        if !VARIANT_NAMED.contains(&name) {
            return name.into();
        }
        let mut variant = Variant(String::new());
        // Stops with an error at the first character after the variant's name.
        let _ = fmt::write(&mut variant, format_args!("{:?}", self.0));
        format!("{name}::{}", variant.0).into()
    }
}

/// Collects the leading identifier of what is written to it, then refuses the rest.
struct Variant(String);

impl fmt::Write for Variant {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = text
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        self.0.push_str(&text[..end]);
        if end < text.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}

/// See [`IoErrorType`].
pub trait NamedType {
    /// The `etype`.
    fn osprof_etype(&self) -> Cow<'static, str>;
}

impl<T: ?Sized> NamedType for Wrap<'_, T> {
    fn osprof_etype(&self) -> Cow<'static, str> {
        type_name::<T>().into()
    }
}

/// The span of a sync function: stops when finished or dropped (then as a panic if unwinding).
#[must_use]
pub struct FnGuard {
    started: bool,
    _not_send: PhantomData<*const ()>,
}

impl FnGuard {
    /// Opens the span when a trace is active.
    #[inline]
    pub fn enter(start: impl FnOnce() -> FnStart) -> FnGuard {
        // Only the process-wide check is inlined into the traced function: the rest,
        // argument formatting included, stays out of line, so that a resting call keeps a
        // small stack frame and no register spills.
        let started = context::any_alive() && open_with(start);
        FnGuard {
            started,
            _not_send: PhantomData,
        }
    }

    /// Opens the span of a function that shows nothing but its path (`hide_args`, no
    /// `info`), when a trace is active.
    #[inline]
    pub fn enter_site(site: impl FnOnce() -> &'static FnSite) -> FnGuard {
        let started = context::any_alive() && open_site(site);
        FnGuard {
            started,
            _not_send: PhantomData,
        }
    }

    /// True when the span was opened: the stop info is worth computing.
    #[inline]
    pub fn started(&self) -> bool {
        self.started
    }

    /// Stops the span with `stop`.
    #[inline]
    pub fn finish(mut self, stop: impl FnOnce() -> Stop) {
        if self.started {
            self.started = false;
            close_with(stop);
        }
    }
}

#[inline(never)]
fn open_with(start: impl FnOnce() -> FnStart) -> bool {
    // `is_traced` looks at this thread's context: arguments are formatted only for a
    // span that will be recorded.
    if !context::is_traced() {
        return false;
    }
    let (name, detail) = start().into_parts();
    context::start_span(name, detail)
}

#[inline(never)]
fn open_site(site: impl FnOnce() -> &'static FnSite) -> bool {
    context::start_plain(context::Plain::Function(site()))
}

#[inline(never)]
fn close_with(stop: impl FnOnce() -> Stop) {
    match stop().0 {
        None => context::stop_plain(),
        info => context::stop_span(info),
    }
}

#[inline(never)]
fn close_unwinding() {
    if std::thread::panicking() {
        context::stop_span(context::panic_info());
    } else {
        context::stop_plain();
    }
}

impl Drop for FnGuard {
    #[inline]
    fn drop(&mut self) {
        if self.started {
            close_unwinding();
        }
    }
}

pin_project! {
    /// The future of an async function span: entered on each poll, stopped on completion,
    /// drop or panic.
    pub struct TracedFn<F, S> {
        #[pin]
        future: F,
        span: AsyncSpan,
        stop: Option<S>,
    }
}

/// Wraps a function's future in its span; `start` is `Some` when a trace was active.
pub fn traced_fn<F, S>(start: Option<FnStart>, future: F, stop: S) -> TracedFn<F, S>
where
    F: Future,
    S: FnOnce(&F::Output) -> Stop,
{
    let span = match start {
        Some(start) => {
            let (name, detail) = start.into_parts();
            AsyncSpan::new(name, detail)
        }
        None => AsyncSpan::closed(),
    };
    TracedFn {
        future,
        span,
        stop: Some(stop),
    }
}

impl<F, S> Future for TracedFn<F, S>
where
    F: Future,
    S: FnOnce(&F::Output) -> Stop,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let stop = this.stop;
        this.span.poll_future(
            || this.future.poll(cx),
            |value| stop.take().and_then(|stop| stop(value).0),
        )
    }
}

/// A reference wrapper for autoref specialisation: the macros render an argument through
/// `Debug` when its type has it and as `<Type>` when not, instead of failing to compile.
pub struct Wrap<'a, T: ?Sized>(pub &'a T);

/// Renders through `Debug` (chosen first, for `(&&Wrap(x))`).
pub trait DebugArg {
    /// Writes the value.
    fn osprof_arg(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: fmt::Debug + ?Sized> DebugArg for &Wrap<'_, T> {
    fn osprof_arg(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// Renders `<Type>` for a value without `Debug`.
pub trait NamedArg {
    /// Writes the placeholder.
    fn osprof_arg(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

impl<T: ?Sized> NamedArg for Wrap<'_, T> {
    fn osprof_arg(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", short_type_name(type_name::<T>()))
    }
}

/// An error's message: `Display` first (for `(&&&Wrap(e))`), then `Debug`, then its type.
pub trait DisplayMessage {
    /// The message.
    fn osprof_message(&self) -> String;
}

impl<T: fmt::Display + ?Sized> DisplayMessage for &&Wrap<'_, T> {
    fn osprof_message(&self) -> String {
        self.0.to_string()
    }
}

/// See [`DisplayMessage`].
pub trait DebugMessage {
    /// The message.
    fn osprof_message(&self) -> String;
}

impl<T: fmt::Debug + ?Sized> DebugMessage for &Wrap<'_, T> {
    fn osprof_message(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// See [`DisplayMessage`].
pub trait NamedMessage {
    /// The message.
    fn osprof_message(&self) -> String;
}

impl<T: ?Sized> NamedMessage for Wrap<'_, T> {
    fn osprof_message(&self) -> String {
        format!("<{}>", short_type_name(type_name::<T>()))
    }
}

/// `Box::pin`, for functions returning `Pin<Box<dyn Future>>` (what `#[async_trait]` makes).
pub fn boxed_pin<F>(future: F) -> Pin<Box<F>> {
    Box::pin(future)
}

/// The value of one `info(key = value)` entry; a value that does not serialise becomes `null`.
pub fn info_value<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The map of `info(...)` entries.
pub fn info_map<const N: usize>(
    entries: [(&str, serde_json::Value); N],
) -> serde_json::Map<String, serde_json::Value> {
    entries
        .into_iter()
        .map(|(key, value)| (key.to_owned(), value))
        .collect()
}

/// Renders one value through [`DebugArg`] or [`NamedArg`].
pub fn render_value(value: ArgFn<'_>) -> String {
    struct One<'a>(ArgFn<'a>);
    impl fmt::Display for One<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (self.0)(f)
        }
    }
    One(value).to_string()
}

/// One rendered argument, for [`render_args`].
pub type ArgFn<'a> = &'a dyn Fn(&mut fmt::Formatter<'_>) -> fmt::Result;

/// Renders arguments as a tuple, like Python's `str(args)`: `()`, `(1,)`, `(1, 2)`.
pub fn render_args(args: &[ArgFn<'_>]) -> String {
    struct Tuple<'a>(&'a [ArgFn<'a>]);
    struct One<'a>(ArgFn<'a>);
    impl fmt::Debug for One<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (self.0)(f)
        }
    }
    impl fmt::Debug for Tuple<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.0.is_empty() {
                return f.write_str("()");
            }
            let mut tuple = f.debug_tuple("");
            for arg in self.0 {
                tuple.field(&One(*arg));
            }
            tuple.finish()
        }
    }
    format!("{:?}", Tuple(args))
}

/// A type name without module paths: `alloc::boxed::Box<dyn core::error::Error>` becomes
/// `Box<dyn Error>`.
pub fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment = String::new();
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            segment.clear();
        } else if c.is_alphanumeric() || c == '_' {
            segment.push(c);
        } else {
            short.push_str(&segment);
            segment.clear();
            short.push(c);
        }
    }
    short.push_str(&segment);
    short
}

#[cfg(test)]
// Autoref specialisation picks the impl by the number of borrows: they are the point.
#[allow(clippy::needless_borrow)]
mod tests {
    use super::*;

    #[test]
    fn short_type_names() {
        assert_eq!(
            short_type_name("core::num::error::ParseIntError"),
            "ParseIntError"
        );
        assert_eq!(
            short_type_name("alloc::boxed::Box<dyn core::error::Error + core::marker::Send>"),
            "Box<dyn Error + Send>"
        );
        assert_eq!(short_type_name("(i32, &str)"), "(i32, &str)");
    }

    #[test]
    fn args_render_like_python_tuples() {
        let one: ArgFn<'_> = &|f| (&&Wrap(&1)).osprof_arg(f);
        let text: ArgFn<'_> = &|f| (&&Wrap("a")).osprof_arg(f);
        struct Opaque;
        let opaque: ArgFn<'_> = &|f| (&&Wrap(&Opaque)).osprof_arg(f);
        assert_eq!(render_args(&[]), "()");
        assert_eq!(render_args(&[one]), "(1,)");
        assert_eq!(render_args(&[one, text, opaque]), "(1, \"a\", <Opaque>)");
    }

    #[test]
    fn messages_prefer_display_then_debug() {
        #[derive(Debug)]
        struct OnlyDebug;
        struct Nothing;
        assert_eq!(
            (&&&Wrap(&std::fmt::Error)).osprof_message(),
            "an error occurred when formatting an argument"
        );
        assert_eq!((&&&Wrap(&OnlyDebug)).osprof_message(), "OnlyDebug");
        assert_eq!((&&&Wrap(&Nothing)).osprof_message(), "<Nothing>");
    }

    #[test]
    fn etypes_name_the_type_then_the_io_kind_or_the_variant() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(
            (&&&Wrap(&io)).osprof_etype(),
            "std::io::error::Error::NotFound"
        );
        let parse = "x".parse::<u8>().unwrap_err();
        assert_eq!(
            (&&&Wrap(&parse)).osprof_etype(),
            "core::num::error::ParseIntError"
        );
        struct Nothing;
        assert_eq!((&&&Wrap(&Nothing)).osprof_etype(), type_name::<Nothing>());

        let mut variant = Variant(String::new());
        let _ = fmt::write(&mut variant, format_args!("{:?}", Some(Box::new(1))));
        assert_eq!(variant.0, "Some");
        let mut variant = Variant(String::new());
        let _ = fmt::write(&mut variant, format_args!("{:?}", std::cmp::Ordering::Less));
        assert_eq!(variant.0, "Less");
    }
}
