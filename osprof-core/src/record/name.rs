//! Span names: static strings on the fast path, shared strings when built at run time.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The name of a span, as given to [`start`](crate::start) or [`Trace::new`](crate::Trace::new).
///
/// A `&'static str` is stored as is; a `String` is shared, so copies are cheap.
///
/// ```
/// use osprof_core::Name;
///
/// let fixed = Name::from("db"); // no allocation
/// let built = Name::from(format!("shard-{}", 3)); // shared: cheap to copy
/// assert_eq!((fixed.as_str(), built.to_string().as_str()), ("db", "shard-3"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(Repr);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    /// The name as text.
    ///
    /// ```
    /// assert_eq!(osprof_core::Name::from("wsgi").as_str(), "wsgi");
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(text) => text,
            Repr::Shared(text) => text,
        }
    }
}

impl Name {
    /// The text when it is static.
    #[inline(always)]
    pub(crate) fn as_static(&self) -> Option<&'static str> {
        match &self.0 {
            Repr::Static(text) => Some(text),
            Repr::Shared(_) => None,
        }
    }
}

impl From<&'static str> for Name {
    fn from(text: &'static str) -> Self {
        Name(Repr::Static(text))
    }
}

impl From<String> for Name {
    fn from(text: String) -> Self {
        Name(Repr::Shared(Arc::from(text)))
    }
}

impl From<Cow<'static, str>> for Name {
    fn from(text: Cow<'static, str>) -> Self {
        match text {
            Cow::Borrowed(text) => text.into(),
            Cow::Owned(text) => text.into(),
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many distinct static names get a thin form: static names come from the program's
/// text, so a real program stays far below this; past it (names leaked at run time, say)
/// spans are simply not held back.
const MAX_THIN_NAMES: usize = 4096;

/// A one-word reference to `name`, the same for every call with equal text: what a leaf
/// event carries so that its stop instant fits in the event's cache line. Leaks one
/// 16-byte box per distinct name. `None` once [`MAX_THIN_NAMES`] names have one.
pub(crate) fn thin(name: &'static str) -> Option<&'static &'static str> {
    static THIN: Mutex<Option<HashMap<&'static str, &'static &'static str>>> = Mutex::new(None);
    let mut table = THIN.lock().unwrap_or_else(PoisonError::into_inner);
    let table = table.get_or_insert_with(HashMap::new);
    if let Some(thin) = table.get(name) {
        return Some(thin);
    }
    if table.len() >= MAX_THIN_NAMES {
        return None;
    }
    let thin: &'static &'static str = Box::leak(Box::new(name));
    table.insert(name, thin);
    Some(thin)
}
