//! `#[ipc::main]` and `#[ipc::test]`.
//!
//! Errors are spanned (`syn::Error::new_spanned`), accumulated, and emitted
//! together with the unchanged item, so one mistake shows as one message and
//! IDEs keep seeing the function.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{ItemFn, Path};

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
    // default path) so it does not cascade into errors about `async fn main`.
    let (krate, arg_error) = match parse_args(args) {
        Ok(k) => (k, None),
        Err(e) => (syn::parse_quote!(::ipc), Some(e)),
    };
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
    let expanded = match kind {
        Kind::Main => quote! {
            #(#attrs)*
            #vis fn #ident() #output {
                #krate::__private::dispatch_main();
                let __ipc_output = {
                    let __ipc_runtime = #krate::__private::main_runtime();
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
                #krate::__private::test_runtime(__IPC_TEST_PATH).block_on(#body)
            }
        },
    };
    quote! { #expanded #arg_error }
}

/// `crate = "path"` is the only argument.
fn parse_args(args: TokenStream) -> syn::Result<Path> {
    let mut krate: Path = syn::parse_quote!(::ipc);
    if args.is_empty() {
        return Ok(krate);
    }
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            let lit: syn::LitStr = meta.value()?.parse()?;
            krate = lit.parse()?;
            Ok(())
        } else {
            Err(meta.error("unknown argument; the only one is `crate = \"path\"`"))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    Ok(krate)
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
