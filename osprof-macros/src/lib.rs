//! The `#[trace]` and `#[trace_impl]` attributes of osprof.
//!
//! Use them through `osprof_core` (`use osprof_core::{trace, trace_impl};`): this crate is an
//! implementation detail, and its expansions call hidden `osprof_core::__private` items.

#![forbid(unsafe_code)]

mod args;
mod expand;
mod item;

use proc_macro::TokenStream;
use quote::ToTokens;

use args::Attribute;
use item::FnItem;

/// Traces a function or method: one span per call, named after the function.
///
/// The start info holds `function: {name, args, kwargs}`, as OSProfiler's: `name` is the Rust path
/// of the function, `args` the tuple-style `Debug` rendering of the arguments (`self`
/// included; a type without `Debug` shows as `<Type>`). Arguments are formatted only while a
/// trace is active. An `Err(e)` return stops the span with `{etype, message}`, a panic with
/// `etype = "panic"`; both propagate unchanged. An `async fn` span lives in its future and
/// is entered on each poll.
///
/// Options: `name = "rpc"`, `info(key = expr, ...)`, `hide_args` (no argument shown; `skip_all`
/// is accepted for it), `hide_result = false`, `skip(arg, ...)` (those arguments not shown,
/// `self` for the receiver), `allow_multiple_trace = false`, `crate = path`.
///
/// ```
/// use osprof_core::trace;
///
/// #[trace(name = "rpc", info(kind = "lookup"), skip(password))]
/// fn login(user: &str, password: &str) -> Result<u32, std::io::Error> {
///     Ok(7)
/// }
///
/// #[derive(Debug)]
/// struct Client { token: String }
///
/// impl Client {
///     // `args` shows `(3,)`: never the client's token.
///     #[trace(skip(self))]
///     fn fetch(&self, id: u32) -> u32 { id }
/// }
/// ```
#[proc_macro_attribute]
pub fn trace(attr: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let expansion =
        args::parse(Attribute::Trace, attr.into()).and_then(|options| {
            match syn::parse::<syn::ItemFn>(item.clone()) {
                Ok(function) => expand::trace_fn(&options, &FnItem::from(function)),
                Err(_) => match syn::parse::<syn::ImplItemFn>(item.clone()) {
                    Ok(method) => expand::trace_fn(&options, &FnItem::from(method)),
                    Err(error) => Err(match syn::parse::<syn::Item>(item) {
                        Ok(other) => expand::not_a_function(&other),
                        Err(_) => error,
                    }),
                },
            }
        });
    emit(expansion, original)
}

/// Traces the methods of an impl block (inherent or trait impl).
///
/// In an inherent impl: `pub` methods with a receiver; others with `trace_private`,
/// associated functions without a receiver with `trace_static_methods`. In a trait impl
/// every method with a receiver counts as public. Never `const fn`s nor `Drop::drop`.
/// A method's own `#[trace(...)]` replaces the block's settings for it; `#[no_trace]`
/// leaves it out.
///
/// Options: `name`, `info(...)`, `hide_args` (or `skip_all`), `hide_result`, `skip(arg, ...)`
/// (those arguments hidden in every method that has them: `skip(self)` keeps a client's or
/// pool's `Debug` out of every span; each name must be an argument of some traced method),
/// `trace_private`, `trace_static_methods`, `allow_multiple_trace`, `crate`.
///
/// ```
/// use osprof_core::trace_impl;
///
/// struct Store;
///
/// #[trace_impl(name = "store", hide_args)]
/// impl Store {
///     /// Traced: public, with a receiver.
///     pub fn get(&self, id: u32) -> Option<String> {
///         self.lookup(id)
///     }
///
///     /// Not traced: private (`trace_private` would include it).
///     fn lookup(&self, id: u32) -> Option<String> {
///         (id == 1).then(|| "one".to_owned())
///     }
///
///     /// Not traced: opted out.
///     #[no_trace]
///     pub fn capacity(&self) -> usize {
///         1
///     }
/// }
///
/// osprof_core::init("key", None, None);
/// assert_eq!(Store.get(1).as_deref(), Some("one"));
/// assert_eq!(Store.capacity(), 1);
/// osprof_core::clean();
/// ```
#[proc_macro_attribute]
pub fn trace_impl(attr: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    let expansion = args::parse(Attribute::TraceImpl, attr.into()).and_then(|options| {
        match syn::parse::<syn::ItemImpl>(item.clone()) {
            Ok(block) => expand::trace_impl(&options, block),
            Err(_) => {
                let item: proc_macro2::TokenStream = item.into();
                let first = item.clone().into_iter().find(|token| {
                    !matches!(token, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#')
                });
                Err(syn::Error::new_spanned(
                    first.map(ToTokens::into_token_stream).unwrap_or(item),
                    "`#[trace_impl]` goes on an impl block; use `#[trace]` on a function",
                ))
            }
        }
    });
    emit(expansion, strip_no_trace(original))
}

/// The one exit: the expansion, or the error followed by the user's item unchanged, so that
/// one mistake gives one error.
fn emit(
    expansion: syn::Result<proc_macro2::TokenStream>,
    original: proc_macro2::TokenStream,
) -> TokenStream {
    match expansion {
        Ok(tokens) => tokens.into(),
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(original);
            tokens.into()
        }
    }
}

/// The impl block without its `#[no_trace]` markers, for emitting it after an error.
fn strip_no_trace(original: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    match syn::parse2::<syn::ItemImpl>(original.clone()) {
        Ok(mut block) => {
            for impl_item in &mut block.items {
                if let syn::ImplItem::Fn(method) = impl_item {
                    method
                        .attrs
                        .retain(|attr| !item::is_no_trace_attribute(attr));
                }
            }
            block.into_token_stream()
        }
        Err(_) => original,
    }
}
