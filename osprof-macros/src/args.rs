//! Parses the attribute options into a typed struct; nothing here emits code.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Expr, Ident, LitBool, LitStr, Path, Result};

/// Which attribute the options belong to: each accepts its own set.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attribute {
    Trace,
    TraceImpl,
}

impl Attribute {
    fn options(self) -> &'static str {
        match self {
            Attribute::Trace => {
                "`name`, `info`, `hide_args` (or `skip_all`), `hide_result`, `skip`, `allow_multiple_trace`, `crate`"
            }
            Attribute::TraceImpl => {
                "`name`, `info`, `hide_args` (or `skip_all`), `hide_result`, `skip`, `trace_private`, `trace_static_methods`, `allow_multiple_trace`, `crate`"
            }
        }
    }
}

/// The options of `#[trace(...)]` or `#[trace_impl(...)]`.
#[derive(Clone, Default)]
pub(crate) struct Options {
    pub(crate) name: Option<LitStr>,
    pub(crate) info: Option<Vec<(Ident, Expr)>>,
    pub(crate) hide_args: Option<Span>,
    /// `tracing`'s spelling of `hide_args`, accepted for its users.
    pub(crate) skip_all: Option<Span>,
    pub(crate) hide_result: Option<LitBool>,
    /// Arguments not shown, `self` included when named.
    pub(crate) skip: Option<Vec<Ident>>,
    pub(crate) allow_multiple_trace: Option<LitBool>,
    pub(crate) krate: Option<Path>,
    pub(crate) trace_private: Option<Span>,
    pub(crate) trace_static_methods: Option<Span>,
}

impl Options {
    /// Whether no argument is shown (`hide_args` or `skip_all`).
    pub(crate) fn hides_args(&self) -> bool {
        self.hide_args.is_some() || self.skip_all.is_some()
    }

    /// `hide_result` defaults to true, as in OSProfiler.
    pub(crate) fn hide_result(&self) -> bool {
        self.hide_result.as_ref().is_none_or(LitBool::value)
    }

    /// `allow_multiple_trace` defaults to true, as in OSProfiler.
    pub(crate) fn allow_multiple_trace(&self) -> bool {
        self.allow_multiple_trace
            .as_ref()
            .is_none_or(LitBool::value)
    }

    /// The path of osprof-core in the generated code.
    pub(crate) fn krate(&self) -> Path {
        self.krate
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(::osprof_core))
    }

    /// Parses one option; `meta.error` quotes the offending token.
    pub(crate) fn parse_one(
        &mut self,
        attribute: Attribute,
        meta: &ParseNestedMeta<'_>,
    ) -> Result<()> {
        let path = &meta.path;
        let span = path.get_ident().map_or_else(Span::call_site, Ident::span);
        let key = path.get_ident().map(Ident::to_string).unwrap_or_default();
        match (key.as_str(), attribute) {
            ("name", _) => set_once(&mut self.name, meta.value()?.parse()?, meta, "name"),
            ("info", _) => {
                let mut entries = Vec::new();
                meta.parse_nested_meta(|entry| {
                    let Some(key) = entry.path.get_ident().cloned() else {
                        return Err(entry.error("expected `key = value` in `info(...)`"));
                    };
                    if entries.iter().any(|(seen, _): &(Ident, Expr)| *seen == key) {
                        return Err(
                            entry.error(format!("`{key}` specified more than once in `info`"))
                        );
                    }
                    entries.push((key, entry.value()?.parse()?));
                    Ok(())
                })?;
                set_once(&mut self.info, entries, meta, "info")
            }
            ("hide_args", _) => set_once(&mut self.hide_args, flag(meta, span)?, meta, "hide_args"),
            ("skip_all", _) => set_once(&mut self.skip_all, flag(meta, span)?, meta, "skip_all"),
            ("hide_result", _) => set_once(
                &mut self.hide_result,
                meta.value()?.parse()?,
                meta,
                "hide_result",
            ),
            ("allow_multiple_trace", _) => set_once(
                &mut self.allow_multiple_trace,
                meta.value()?.parse()?,
                meta,
                "allow_multiple_trace",
            ),
            ("crate", _) => set_once(&mut self.krate, meta.value()?.parse()?, meta, "crate"),
            ("skip", _) => {
                let mut skipped: Vec<Ident> = Vec::new();
                meta.parse_nested_meta(|arg| match arg.path.get_ident() {
                    Some(ident) if arg.input.is_empty() || arg.input.peek(syn::Token![,]) => {
                        if skipped.contains(ident) {
                            return Err(arg.error(format!("`{ident}` is named twice in `skip`")));
                        }
                        skipped.push(ident.clone());
                        Ok(())
                    }
                    _ => Err(arg.error("expected an argument name (or `self`) in `skip(...)`")),
                })?;
                set_once(&mut self.skip, skipped, meta, "skip")
            }
            ("trace_private", Attribute::TraceImpl) => set_once(
                &mut self.trace_private,
                flag(meta, span)?,
                meta,
                "trace_private",
            ),
            ("trace_static_methods", Attribute::TraceImpl) => set_once(
                &mut self.trace_static_methods,
                flag(meta, span)?,
                meta,
                "trace_static_methods",
            ),
            _ => Err(meta.error(format!(
                "unknown option `{}`; expected one of {}",
                quote::ToTokens::to_token_stream(path)
                    .to_string()
                    .replace(' ', ""),
                attribute.options()
            ))),
        }
    }

    /// Checks combinations that each option alone cannot.
    pub(crate) fn validate(&self) -> Result<()> {
        if let (Some(_), Some(skip_all)) = (self.hide_args, self.skip_all) {
            return Err(syn::Error::new(
                skip_all,
                "`skip_all` and `hide_args` mean the same; keep one",
            ));
        }
        for (hides, key) in [(self.hide_args, "hide_args"), (self.skip_all, "skip_all")] {
            if let (Some(hides), Some(_)) = (hides, &self.skip) {
                return Err(syn::Error::new(
                    hides,
                    format!("`{key}` hides every argument; `skip` is not needed with it"),
                ));
            }
        }
        Ok(())
    }
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    meta: &ParseNestedMeta<'_>,
    key: &str,
) -> Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("`{key}` specified more than once")));
    }
    *slot = Some(value);
    Ok(())
}

/// A flag option: written bare (`hide_args`), never with a value.
fn flag(meta: &ParseNestedMeta<'_>, span: Span) -> Result<Span> {
    if meta.input.peek(syn::Token![=]) || meta.input.peek(syn::token::Paren) {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        return Err(meta.error(format!("`{key}` takes no value: write `{key}` alone")));
    }
    Ok(span)
}

/// Parses the attribute's token stream.
pub(crate) fn parse(attribute: Attribute, tokens: proc_macro2::TokenStream) -> Result<Options> {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta| options.parse_one(attribute, &meta));
    syn::parse::Parser::parse2(parser, tokens)?;
    options.validate()?;
    Ok(options)
}
