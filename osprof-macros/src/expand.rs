//! Generates the traced items. Only `::core` and `<crate>::__private` paths are emitted, and
//! every generated local starts with `__osprof_`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{Error, ImplItem, ItemImpl, Result, Type, Visibility};

use crate::args::Options;
use crate::item::{
    FnItem, Shape, arguments, is_no_trace_attribute, is_result, is_trace_attribute,
    mentions_impl_trait,
};

/// `#[trace]` on one function or method.
pub(crate) fn trace_fn(options: &Options, item: &FnItem) -> Result<TokenStream> {
    if let Some(constness) = &item.sig.constness {
        return Err(Error::new_spanned(
            constness,
            "`#[trace]` cannot trace a `const fn`: it may run at compile time, where there is no trace",
        ));
    }
    let args = arguments(&item.sig);
    let skipped = options.skip.as_deref().unwrap_or_default();
    for skip in skipped {
        if !args.iter().any(|arg| arg.is_named(skip)) {
            let message = if skip == "self" {
                format!("`skip(self)`: `{}` takes no `self`", item.sig.ident)
            } else {
                format!("`skip`: no argument named `{skip}`")
            };
            return Err(Error::new_spanned(skip, message));
        }
    }
    if !options.allow_multiple_trace()
        && let Some(other) = item
            .outer_attrs
            .iter()
            .find(|attr| is_trace_attribute(attr))
    {
        return Err(Error::new_spanned(
            other,
            format!(
                "`{}` is traced twice (`allow_multiple_trace = false`); remove one of the attributes",
                item.sig.ident
            ),
        ));
    }

    let krate = options.krate();
    let span_name = match &options.name {
        Some(name) => name.value(),
        None => item.sig.ident.to_string(),
    };
    let rendered_args = if options.hides_args() {
        quote!(::core::option::Option::None)
    } else {
        let renderers = args
            .iter()
            .filter(|arg| !skipped.iter().any(|skip| arg.is_named(skip)))
            .map(|arg| arg.renderer(&krate));
        quote!(::core::option::Option::Some(#krate::__private::render_args(&[#(#renderers),*])))
    };
    let info = match &options.info {
        None => quote!(::core::option::Option::None),
        Some(entries) => {
            let keys = entries.iter().map(|(key, _)| key.to_string());
            let values = entries.iter().map(|(_, value)| value);
            quote! {
                ::core::option::Option::Some(#krate::__private::info_map([
                    #((#keys, #krate::__private::info_value(&(#values)))),*
                ]))
            }
        }
    };
    let start = quote! {{
        #[allow(unused_imports)]
        use #krate::__private::{DebugArg as _, NamedArg as _};
        #krate::__private::FnStart {
            site: __OSPROF_SITE.resolve(::core::any::type_name_of_val(&__osprof_here)),
            args: #rendered_args,
            info: #info,
        }
    }};
    // A span that shows nothing but the function's path takes the shorter way in.
    let enter = if options.hides_args() && options.info.is_none() {
        quote! {
            #krate::__private::FnGuard::enter_site(|| {
                __OSPROF_SITE.resolve(::core::any::type_name_of_val(&__osprof_here))
            })
        }
    } else {
        quote!(#krate::__private::FnGuard::enter(|| #start))
    };
    let prologue = quote! {
        fn __osprof_here() {}
        static __OSPROF_SITE: #krate::__private::FnSite =
            #krate::__private::FnSite::new(#span_name);
    };
    // The body's statements in braces of the macro's own: rustc's `unused_braces` would
    // otherwise take the user's braces, now inside the function's, for a redundant block
    // when the body is one expression on one line (`fn f(x: u32) -> u32 { x }`).
    let statements = &item.block.stmts;
    let block = quote!({ #(#statements)* });
    let hide_result = options.hide_result();

    let body = match item.shape() {
        Shape::Plain { output } => {
            let needs_output = !hide_result || output.as_ref().is_some_and(is_result);
            if needs_output {
                let annotation = closure_annotation(output.as_ref());
                let stop = stop_info(
                    &krate,
                    quote!(&__osprof_output),
                    output.as_ref(),
                    hide_result,
                );
                quote! {
                    let __osprof_guard = #enter;
                    #[allow(clippy::redundant_closure_call)]
                    let __osprof_output = (move || #annotation #block)();
                    __osprof_guard.finish(|| #stop);
                    __osprof_output
                }
            } else {
                quote! {
                    let __osprof_guard = #enter;
                    #block
                }
            }
        }
        Shape::Async { output } => {
            let value = match &output {
                Some(ty) if !mentions_impl_trait(ty) => quote!({
                    let __osprof_value: #ty = #block;
                    __osprof_value
                }),
                _ => block.clone(),
            };
            let stop = stop_info(
                &krate,
                quote!(__osprof_output),
                output.as_ref(),
                hide_result,
            );
            quote! {
                let __osprof_start = if #krate::__private::active() {
                    ::core::option::Option::Some(#start)
                } else {
                    ::core::option::Option::None
                };
                #krate::__private::traced_fn(
                    __osprof_start,
                    async move #value,
                    move |__osprof_output| #stop,
                )
                .await
            }
        }
        Shape::ReturnsFuture { output, boxed } => {
            let stop = stop_info(
                &krate,
                quote!(__osprof_output),
                output.as_ref(),
                hide_result,
            );
            let traced = quote! {
                #krate::__private::traced_fn(
                    __osprof_start,
                    __osprof_future,
                    move |__osprof_output| #stop,
                )
            };
            let traced = if boxed {
                quote!(#krate::__private::boxed_pin(#traced))
            } else {
                traced
            };
            quote! {
                let __osprof_start = if #krate::__private::active() {
                    ::core::option::Option::Some(#start)
                } else {
                    ::core::option::Option::None
                };
                #[allow(clippy::redundant_closure_call)]
                let __osprof_future = (move || #block)();
                #traced
            }
        }
    };
    Ok(item.with_body(prologue, body))
}

/// `-> Type` for the closure around a sync body, so that `?` knows its target type.
fn closure_annotation(output: Option<&Type>) -> TokenStream {
    match output {
        Some(ty) if !mentions_impl_trait(ty) => quote!(-> #ty),
        Some(_) => TokenStream::new(),
        None => quote!(-> ()),
    }
}

/// The expression giving the stop of a span whose output is behind `output_ref` (a `&T`).
fn stop_info(
    krate: &syn::Path,
    output_ref: TokenStream,
    output: Option<&Type>,
    hide_result: bool,
) -> TokenStream {
    let show = |value: TokenStream| {
        quote!(#krate::__private::stop_result(#krate::__private::render_value(
            &|f: &mut ::core::fmt::Formatter<'_>| (&&#krate::__private::Wrap(#value)).osprof_arg(f)
        )))
    };
    let on_success = if hide_result {
        quote!(#krate::__private::stop_plain())
    } else if output.is_some_and(is_result) {
        show(quote!(__osprof_value))
    } else {
        show(output_ref.clone())
    };
    let body = if output.is_some_and(is_result) {
        quote! {
            match #output_ref {
                ::core::result::Result::Err(__osprof_error) => #krate::__private::stop_error(
                    (&&&#krate::__private::Wrap(__osprof_error)).osprof_etype(),
                    (&&&#krate::__private::Wrap(__osprof_error)).osprof_message(),
                ),
                ::core::result::Result::Ok(__osprof_value) => {
                    let _ = __osprof_value;
                    #on_success
                }
            }
        }
    } else {
        quote! {{
            let _ = #output_ref;
            #on_success
        }}
    };
    quote! {{
        #[allow(unused_imports)]
        use #krate::__private::{DebugArg as _, NamedArg as _, DisplayMessage as _, DebugMessage as _, NamedMessage as _, IoErrorType as _, VariantType as _, NamedType as _};
        #body
    }}
}

/// `#[trace_impl]` on an impl block: traces the methods its rules select.
pub(crate) fn trace_impl(options: &Options, mut item: ItemImpl) -> Result<TokenStream> {
    let trait_impl = item.trait_.as_ref().map(|(_, path, _)| path);
    let is_drop = trait_impl.is_some_and(|path| {
        path.segments
            .last()
            .is_some_and(|segment| segment.ident == "Drop")
    });
    let block_skip = options.skip.as_deref().unwrap_or_default();
    // Each name the block skips must be an argument of some traced method: a typo is caught.
    let mut skip_used = vec![false; block_skip.len()];
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let opted_out = method.attrs.iter().any(is_no_trace_attribute);
        method.attrs.retain(|attr| !is_no_trace_attribute(attr));
        if opted_out || is_drop || method.sig.constness.is_some() {
            continue;
        }
        if let Some(own) = method.attrs.iter().find(|attr| is_trace_attribute(attr)) {
            if !options.allow_multiple_trace() {
                return Err(Error::new_spanned(
                    own,
                    format!(
                        "`{}` is traced twice: by `#[trace_impl]` and by its own attribute (`allow_multiple_trace = false`)",
                        method.sig.ident
                    ),
                ));
            }
            // The method's own attribute wins over the block's settings.
            continue;
        }
        let has_receiver = method.sig.receiver().is_some();
        let public = trait_impl.is_some() || !matches!(method.vis, Visibility::Inherited);
        let selected = (public || options.trace_private.is_some())
            && (has_receiver || options.trace_static_methods.is_some());
        if selected {
            // The block's `skip` names the arguments to hide wherever a method has them.
            let args = arguments(&method.sig);
            let mut skip = Vec::new();
            for (name, used) in block_skip.iter().zip(&mut skip_used) {
                if args.iter().any(|arg| arg.is_named(name)) {
                    skip.push(name.clone());
                    *used = true;
                }
            }
            let method_options = Options {
                skip: options.skip.as_ref().map(|_| skip),
                trace_private: None,
                trace_static_methods: None,
                ..options.clone()
            };
            let traced = trace_fn(&method_options, &FnItem::from(method.clone()))?;
            *impl_item = ImplItem::Verbatim(traced);
        }
    }
    if let Some((name, _)) = block_skip.iter().zip(&skip_used).find(|(_, used)| !**used) {
        return Err(Error::new_spanned(
            name,
            format!("`skip`: no method traced in this impl has an argument named `{name}`"),
        ));
    }
    Ok(item.into_token_stream())
}

/// The error for `#[trace]` on something that is not a function with a body.
pub(crate) fn not_a_function(item: &syn::Item) -> Error {
    let (tokens, what): (&dyn ToTokens, &str) = match item {
        syn::Item::Struct(item) => (&item.struct_token, "a struct"),
        syn::Item::Enum(item) => (&item.enum_token, "an enum"),
        syn::Item::Trait(item) => (&item.trait_token, "a trait declaration; trace its impls"),
        syn::Item::Impl(item) => (&item.impl_token, "an impl block; use `#[trace_impl]`"),
        syn::Item::Const(item) => (&item.const_token, "a constant"),
        syn::Item::Static(item) => (&item.static_token, "a static"),
        syn::Item::Mod(item) => (&item.mod_token, "a module"),
        other => (other, "this item"),
    };
    let span = tokens.to_token_stream().span();
    Error::new(
        span,
        format!("`#[trace]` goes on a function or method, not on {what}"),
    )
}
