//! The typed view of a traced function: its parts, what it returns, and its arguments.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit::Visit;
use syn::{
    AttrStyle, Attribute, Block, FnArg, GenericArgument, Ident, ImplItemFn, ItemFn, Pat,
    PathArguments, ReturnType, Signature, Token, Type, TypeParamBound, Visibility,
};

/// A function or method with a body, from either `fn` item form.
pub(crate) struct FnItem {
    pub(crate) outer_attrs: Vec<Attribute>,
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) defaultness: Option<Token![default]>,
    pub(crate) sig: Signature,
    pub(crate) block: Block,
}

impl FnItem {
    fn new(
        attrs: Vec<Attribute>,
        vis: Visibility,
        defaultness: Option<Token![default]>,
        sig: Signature,
        block: Block,
    ) -> Self {
        let (inner_attrs, outer_attrs) = attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
        FnItem {
            outer_attrs,
            inner_attrs,
            vis,
            defaultness,
            sig,
            block,
        }
    }

    /// Puts the item back together, unchanged but for a new body and attributes.
    pub(crate) fn with_body(&self, prologue: TokenStream, body: TokenStream) -> TokenStream {
        let FnItem {
            outer_attrs,
            inner_attrs,
            vis,
            defaultness,
            sig,
            ..
        } = self;
        let mut tokens = quote!(#(#outer_attrs)* #vis #defaultness #sig);
        // The user's own braces keep the item's span theirs, so lints such as `dead_code`
        // still see a user item, not a macro's.
        self.block.brace_token.surround(&mut tokens, |inner| {
            inner.extend(quote!(#(#inner_attrs)* #prologue #body));
        });
        tokens
    }

    /// What the body evaluates to, for choosing how to wrap it.
    pub(crate) fn shape(&self) -> Shape {
        let output = match &self.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some(&**ty),
        };
        if self.sig.asyncness.is_some() {
            return Shape::Async {
                output: output.cloned(),
            };
        }
        match output.and_then(future_output) {
            Some((output, boxed)) => Shape::ReturnsFuture { output, boxed },
            None => Shape::Plain {
                output: output.cloned(),
            },
        }
    }
}

impl From<ItemFn> for FnItem {
    fn from(item: ItemFn) -> Self {
        FnItem::new(item.attrs, item.vis, None, item.sig, *item.block)
    }
}

impl From<ImplItemFn> for FnItem {
    fn from(item: ImplItemFn) -> Self {
        FnItem::new(item.attrs, item.vis, item.defaultness, item.sig, item.block)
    }
}

/// How a function produces its result.
pub(crate) enum Shape {
    /// A sync function: the span covers the call.
    Plain { output: Option<Type> },
    /// An `async fn`: the span lives in its future.
    Async { output: Option<Type> },
    /// A sync function returning `impl Future<Output = T>` or `Pin<Box<dyn Future<...>>>`
    /// (what `#[async_trait]` makes): the span lives in the returned future.
    ReturnsFuture { output: Option<Type>, boxed: bool },
}

/// True for `Result<..>` under any path (`io::Result`, `anyhow::Result`, ...).
pub(crate) fn is_result(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Result"),
        Type::Paren(inner) => is_result(&inner.elem),
        Type::Group(inner) => is_result(&inner.elem),
        _ => false,
    }
}

/// True when the type mentions `impl Trait`, which cannot be written as a closure's type.
pub(crate) fn mentions_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl Visit<'_> for Finder {
        fn visit_type_impl_trait(&mut self, _: &syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    finder.0
}

/// `(Output, boxed)` for `impl Future<Output = T>` and `Pin<Box<dyn Future<Output = T> ..>>`.
fn future_output(ty: &Type) -> Option<(Option<Type>, bool)> {
    match ty {
        Type::ImplTrait(bounds) => future_bound(bounds.bounds.iter()).map(|output| (output, false)),
        Type::Path(path) => {
            let pin = path.path.segments.last()?;
            if pin.ident != "Pin" {
                return None;
            }
            let Type::Path(boxed) = single_type_argument(&pin.arguments)? else {
                return None;
            };
            let boxed = boxed.path.segments.last()?;
            if boxed.ident != "Box" {
                return None;
            }
            let Type::TraitObject(object) = single_type_argument(&boxed.arguments)? else {
                return None;
            };
            future_bound(object.bounds.iter()).map(|output| (output, true))
        }
        _ => None,
    }
}

fn single_type_argument(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(arguments) = arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    })
}

/// `Some(Output)` when one bound is `Future<Output = ..>` (`Some(None)` without `Output`).
fn future_bound<'a>(mut bounds: impl Iterator<Item = &'a TypeParamBound>) -> Option<Option<Type>> {
    bounds.find_map(|bound| {
        let TypeParamBound::Trait(bound) = bound else {
            return None;
        };
        let future = bound.path.segments.last()?;
        if future.ident != "Future" {
            return None;
        }
        let PathArguments::AngleBracketed(arguments) = &future.arguments else {
            return Some(None);
        };
        Some(arguments.args.iter().find_map(|argument| match argument {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(assoc.ty.clone()),
            _ => None,
        }))
    })
}

/// One argument as the span shows it.
pub(crate) enum Arg {
    /// `self` in any receiver form.
    Receiver,
    /// A plain `name: Type` argument.
    Named(Ident),
    /// A destructuring pattern: shown as the tuple of the names it binds.
    Pattern(Vec<Ident>),
    /// `_: Type`: nothing to show.
    Wildcard,
}

impl Arg {
    /// The expression that renders the argument (inside `render_args`).
    pub(crate) fn renderer(&self, krate: &syn::Path) -> TokenStream {
        let value = match self {
            Arg::Receiver => quote!(&self),
            Arg::Named(ident) => quote!(&#ident),
            Arg::Pattern(idents) => quote!(&(#(&#idents,)*)),
            Arg::Wildcard => return quote!(&|f: &mut ::core::fmt::Formatter<'_>| f.write_str("_")),
        };
        quote!(&|f: &mut ::core::fmt::Formatter<'_>| (&&#krate::__private::Wrap(#value)).osprof_arg(f))
    }

    /// Whether `skip(name)` means this argument: `self` names the receiver.
    pub(crate) fn is_named(&self, name: &Ident) -> bool {
        match self {
            Arg::Receiver => name == "self",
            Arg::Named(ident) => ident == name,
            Arg::Pattern(_) | Arg::Wildcard => false,
        }
    }
}

/// The function's arguments in order, `self` first.
pub(crate) fn arguments(sig: &Signature) -> Vec<Arg> {
    sig.inputs
        .iter()
        .map(|input| match input {
            FnArg::Receiver(_) => Arg::Receiver,
            FnArg::Typed(typed) => match &*typed.pat {
                Pat::Ident(ident) if ident.subpat.is_none() => Arg::Named(ident.ident.clone()),
                Pat::Wild(_) => Arg::Wildcard,
                pattern => {
                    struct Bindings(Vec<Ident>);
                    impl Visit<'_> for Bindings {
                        fn visit_pat_ident(&mut self, pat: &syn::PatIdent) {
                            self.0.push(pat.ident.clone());
                            syn::visit::visit_pat_ident(self, pat);
                        }
                    }
                    let mut bindings = Bindings(Vec::new());
                    bindings.visit_pat(pattern);
                    Arg::Pattern(bindings.0)
                }
            },
        })
        .collect()
}

/// True for a `#[trace]` / `#[osprof_core::trace]` attribute.
pub(crate) fn is_trace_attribute(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "trace")
}

/// True for the per-method opt-out `#[no_trace]`.
pub(crate) fn is_no_trace_attribute(attr: &Attribute) -> bool {
    attr.path().is_ident("no_trace")
}
