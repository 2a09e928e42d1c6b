//! `#[ipc::main]` and `#[ipc::test]`.
//!
//! Errors are spanned (`syn::Error::new_spanned`), accumulated, and emitted
//! together with the unchanged item, so one mistake shows as one message and
//! IDEs keep seeing the function.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::{ItemFn, LitInt, LitStr, Path};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Main => "#[ipc::main]",
            Kind::Test => "#[ipc::test]",
        }
    }
}

/// Whether the `ipc` being expanded for has tokio's multi-threaded
/// scheduler (its `rt-multi-thread` feature): `ipc` re-exports the `_rt`
/// forms of the attributes when it does not, as tokio does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheduler {
    MultiThread,
    CurrentThreadOnly,
}

pub(crate) fn main(scheduler: Scheduler, args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, scheduler, args, item)
}

pub(crate) fn test(scheduler: Scheduler, args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, scheduler, args, item)
}

fn expand(kind: Kind, scheduler: Scheduler, args: TokenStream, item: TokenStream) -> TokenStream {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_errors(item, vec![e]),
    };
    let mut errors = Vec::new();
    // A bad argument is reported, but the function still expands (with the
    // defaults) so it does not cascade into errors about `async fn main`.
    let (options, arg_error) = match parse_args(kind, scheduler, args) {
        Ok(options) => (options, None),
        Err(e) => (Options::defaults(kind), Some(e)),
    };
    let krate = &options.krate;
    let sig = &input.sig;
    if sig.asyncness.is_none() {
        let msg = format!("{} needs an `async fn`: the `async` keyword is missing", kind.name());
        errors.push(syn::Error::new_spanned(sig.fn_token, msg));
    }
    if !sig.inputs.is_empty() {
        let msg = format!("{} functions take no arguments", kind.name());
        errors.push(syn::Error::new_spanned(&sig.inputs, msg));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        let msg = format!("{} functions cannot be generic", kind.name());
        errors.push(syn::Error::new_spanned(&sig.generics, msg));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(variadic, "variadic functions are not supported"));
    }
    if kind == Kind::Main && sig.ident != "main" {
        errors.push(syn::Error::new_spanned(&sig.ident, "#[ipc::main] goes on `main`; use #[ipc::test] for tests"));
    }
    if !errors.is_empty() {
        errors.extend(arg_error);
        return with_errors(item, errors);
    }

    let ItemFn { attrs, vis, sig, block } = input;
    let ident = &sig.ident;
    let output = &sig.output;
    let body = quote! { async move #block };
    let arg_error = arg_error.map(|e| e.to_compile_error());
    let flavor = match options.flavor {
        Flavor::CurrentThread => quote! { #krate::__private::Flavor::CurrentThread },
        Flavor::MultiThread => quote! { #krate::__private::Flavor::MultiThread },
    };
    let workers = match options.worker_threads {
        Some(n) => quote! { ::core::option::Option::Some(#n) },
        None => quote! { ::core::option::Option::None },
    };
    let expanded = match kind {
        Kind::Main => quote! {
            #(#attrs)*
            #vis fn #ident() #output {
                #krate::__private::dispatch_main();
                let __ipc_output = {
                    let __ipc_runtime = #krate::__private::main_runtime(#flavor, #workers);
                    __ipc_runtime.block_on(#body)
                };
                #krate::__private::main_exit();
                __ipc_output
            }
        },
        Kind::Test => quote! {
            #[::core::prelude::v1::test]
            #(#attrs)*
            #vis fn #ident() #output {
                const __IPC_TEST_PATH: &str =
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident));
                #krate::__private::dispatch_test(__IPC_TEST_PATH);
                #krate::__private::test_runtime(__IPC_TEST_PATH, #flavor, #workers).block_on(#body)
            }
        },
    };
    quote! { #expanded #arg_error }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The attribute's arguments, as `#[tokio::main]` takes them: `flavor`,
/// `worker_threads`, and `crate` for a renamed `ipc`.
struct Options {
    krate: Path,
    flavor: Flavor,
    worker_threads: Option<usize>,
}

impl Options {
    /// `#[ipc::main]` is multi-threaded, `#[ipc::test]` current-thread, as
    /// tokio's are.
    fn defaults(kind: Kind) -> Options {
        let flavor = match kind {
            Kind::Main => Flavor::MultiThread,
            Kind::Test => Flavor::CurrentThread,
        };
        Options { krate: syn::parse_quote!(::ipc), flavor, worker_threads: None }
    }
}

const ARGUMENTS: &str = "the arguments are `flavor = \"current_thread\" | \"multi_thread\"`, \
                         `worker_threads = N` and `crate = \"path\"`";

fn parse_args(kind: Kind, scheduler: Scheduler, args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::defaults(kind);
    let mut flavor_given = None;
    let mut workers: Option<(usize, Span)> = None;
    if !args.is_empty() {
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("crate") {
                let lit: LitStr = meta.value()?.parse()?;
                options.krate = lit.parse()?;
                Ok(())
            } else if meta.path.is_ident("flavor") {
                let lit: LitStr = meta.value()?.parse()?;
                options.flavor = match lit.value().as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        let msg = format!("unknown flavor {other:?}; it is \"current_thread\" or \"multi_thread\"");
                        return Err(syn::Error::new(lit.span(), msg));
                    }
                };
                flavor_given = Some(lit.span());
                Ok(())
            } else if meta.path.is_ident("worker_threads") {
                let lit: LitInt = meta.value()?.parse()?;
                let n: usize = lit.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new(lit.span(), "`worker_threads` must be at least 1"));
                }
                workers = Some((n, lit.span()));
                Ok(())
            } else {
                Err(meta.error(format!("unknown argument; {ARGUMENTS}")))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
    }
    if scheduler == Scheduler::CurrentThreadOnly && options.flavor == Flavor::MultiThread {
        return Err(match flavor_given {
            Some(span) => syn::Error::new(span, "`flavor = \"multi_thread\"` needs ipc's `rt-multi-thread` feature"),
            None => syn::Error::new(
                Span::call_site(),
                format!(
                    "{}'s default flavor is multi_thread, which needs ipc's `rt-multi-thread` feature; \
                     enable it, or write {}(flavor = \"current_thread\")]",
                    kind.name(),
                    kind.name().trim_end_matches(']')
                ),
            ),
        });
    }
    if let Some((n, span)) = workers {
        if options.flavor == Flavor::CurrentThread {
            let msg = match flavor_given {
                Some(_) => "`worker_threads` needs `flavor = \"multi_thread\"`",
                None => "`worker_threads` needs `flavor = \"multi_thread\"` (a test's runtime is current-thread)",
            };
            return Err(syn::Error::new(span, msg));
        }
        options.worker_threads = Some(n);
    }
    Ok(options)
}

/// The item unchanged plus every error, so the user sees our messages and
/// not a cascade from a missing function.
fn with_errors(item: TokenStream, errors: Vec<syn::Error>) -> TokenStream {
    let mut out = item;
    for e in errors {
        e.to_compile_error().to_tokens(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(kind: Kind, scheduler: Scheduler, args: &str) -> String {
        let item = match kind {
            Kind::Main => quote! { async fn main() {} },
            Kind::Test => quote! { async fn works() {} },
        };
        expand(kind, scheduler, args.parse().unwrap(), item).to_string()
    }

    // Without ipc's `rt-multi-thread` feature (the `_rt` attributes) the
    // multi-threaded flavor is a compile error that names the feature: the
    // default of #[ipc::main], or asked for by name; current-thread expands.
    #[test]
    fn without_the_multi_threaded_scheduler_its_flavor_is_refused() {
        let default_main = expanded(Kind::Main, Scheduler::CurrentThreadOnly, "");
        assert!(default_main.contains("compile_error"), "{default_main}");
        assert!(default_main.contains("default flavor is multi_thread"), "{default_main}");
        assert!(default_main.contains("rt-multi-thread"), "{default_main}");
        let named = expanded(Kind::Test, Scheduler::CurrentThreadOnly, "flavor = \"multi_thread\"");
        assert!(named.contains("compile_error") && named.contains("rt-multi-thread"), "{named}");
        for (kind, args) in [(Kind::Main, "flavor = \"current_thread\""), (Kind::Test, "")] {
            let fine = expanded(kind, Scheduler::CurrentThreadOnly, args);
            assert!(!fine.contains("compile_error"), "{fine}");
            assert!(fine.contains("CurrentThread"), "{fine}");
        }
        // With the scheduler, the same attributes expand.
        assert!(!expanded(Kind::Main, Scheduler::MultiThread, "").contains("compile_error"));
    }
}
