//! `#[ipc::main]` and `#[ipc::test]`.
//!
//! Errors are spanned (`syn::Error::new_spanned`), accumulated, and emitted
//! together with the unchanged item, so one mistake shows as one message and
//! IDEs keep seeing the function.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
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

pub(crate) fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args, item)
}

pub(crate) fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args, item)
}

fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_errors(item, vec![e]),
    };
    let mut errors = Vec::new();
    // A bad argument is reported, but the function still expands (with the
    // defaults) so it does not cascade into errors about `async fn main`.
    let (options, arg_error) = match parse_args(kind, args) {
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

fn parse_args(kind: Kind, args: TokenStream) -> syn::Result<Options> {
    let mut options = Options::defaults(kind);
    if args.is_empty() {
        return Ok(options);
    }
    let mut flavor_given = None;
    let mut workers: Option<(usize, Span)> = None;
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
