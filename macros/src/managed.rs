//! `#[derive(Managed)]` and `#[managed]`: custom types served by a manager.
//!
//! The derive sees the type (its name, visibility, generics) and writes the
//! `Managed` impl and the proxy struct; the attribute sees the impl block
//! (its methods) and writes the server's dispatch (`Exposed`) and the
//! proxy's methods. Neither can do the other's half: a derive never sees
//! impl blocks, an attribute on an impl never sees the struct.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Error, FnArg, ImplItem, ImplItemFn, ItemImpl, LitStr, Pat, PathArguments, Result,
    ReturnType, Type,
};

/// `#[derive(Managed)]`.
pub(crate) fn derive(item: TokenStream) -> Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    if let Data::Union(u) = &input.data {
        return Err(Error::new(u.union_token.span, "Managed cannot be derived for a union"));
    }
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            "a managed type cannot be generic: the server finds it by one name",
        ));
    }
    let ident = &input.ident;
    let vis = &input.vis;
    let name = registered_name(&input.attrs)?.unwrap_or_else(|| LitStr::new(&ident.to_string(), ident.span()));
    let proxy = format_ident!("{}Proxy", ident);
    let doc = format!(
        "A proxy of [`{ident}`] in a manager: its `#[expose]`d methods as `async` calls \
         (made by [`Manager::create`](::ipc::Manager::create); a handle: clone it, send it to another process)."
    );
    Ok(quote! {
        impl ::ipc::manager::Managed for #ident {
            const NAME: &'static str = #name;
            type Proxy = #proxy;
        }

        #[doc = #doc]
        #[derive(Clone, Debug)]
        #vis struct #proxy(::ipc::manager::Proxy<#ident>);

        impl ::std::convert::From<::ipc::manager::Proxy<#ident>> for #proxy {
            fn from(proxy: ::ipc::manager::Proxy<#ident>) -> Self {
                #proxy(proxy)
            }
        }

        impl ::std::ops::Deref for #proxy {
            type Target = ::ipc::manager::Proxy<#ident>;
            fn deref(&self) -> &Self::Target {
                &self.0
            }
        }

        impl ::ipc::manager::NamedProxy for #proxy {
            fn type_name() -> &'static str {
                <::ipc::manager::Proxy<#ident> as ::ipc::manager::NamedProxy>::type_name()
            }
            fn serves(type_name: &str) -> bool {
                <::ipc::manager::Proxy<#ident> as ::ipc::manager::NamedProxy>::serves(type_name)
            }
            fn from_object(object: ::ipc::manager::Object) -> Self {
                #proxy(<::ipc::manager::Proxy<#ident> as ::ipc::manager::NamedProxy>::from_object(object))
            }
        }

        impl ::ipc::__private::serde::Serialize for #proxy {
            fn serialize<S: ::ipc::__private::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                ::ipc::__private::serde::Serialize::serialize(&self.0, serializer)
            }
        }

        impl<'de> ::ipc::__private::serde::Deserialize<'de> for #proxy {
            fn deserialize<D: ::ipc::__private::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                <::ipc::manager::Proxy<#ident> as ::ipc::__private::serde::Deserialize<'de>>::deserialize(deserializer).map(#proxy)
            }
        }
    })
}

/// `#[ipc(name = "...")]` on the type, if present.
fn registered_name(attrs: &[Attribute]) -> Result<Option<LitStr>> {
    let mut name = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("ipc")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                if lit.value().is_empty() {
                    return Err(Error::new(lit.span(), "the name cannot be empty"));
                }
                name = Some(lit);
                Ok(())
            } else {
                Err(meta.error("unknown ipc attribute: expected `name = \"...\"`"))
            }
        })?;
    }
    Ok(name)
}

/// One `#[expose]`d method, checked.
struct Exposed {
    method: ImplItemFn,
    /// The argument names for the proxy's signature, and their types.
    args: Vec<(syn::Ident, Type)>,
    output: Type,
}

/// `#[managed]` on an impl block.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> Result<TokenStream> {
    if !args.is_empty() {
        return Err(Error::new(args.span(), "#[ipc::managed] takes no arguments"));
    }
    let mut block: ItemImpl = syn::parse2(item)?;
    if let Some((_, path, _)) = &block.trait_ {
        return Err(Error::new(
            path.span(),
            "#[ipc::managed] goes on an inherent impl block (`impl MyType { ... }`), not a trait impl",
        ));
    }
    if !block.generics.params.is_empty() {
        return Err(Error::new(block.generics.span(), "a managed type cannot be generic"));
    }
    let proxy = proxy_path(&block.self_ty)?;
    let mut exposed = Vec::new();
    let mut errors: Option<Error> = None;
    let mut fail = |e: Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for item in &mut block.items {
        match item {
            ImplItem::Fn(method) => {
                let marks: Vec<Attribute> = take_expose(&mut method.attrs);
                let Some(mark) = marks.first() else { continue };
                if let Err(e) = mark.meta.require_path_only() {
                    fail(Error::new(e.span(), "#[expose] takes no arguments"));
                    continue;
                }
                match check(method) {
                    Ok(e) => exposed.push(e),
                    Err(e) => fail(e),
                }
            }
            ImplItem::Const(c) if c.attrs.iter().any(|a| a.path().is_ident("expose")) => {
                take_expose(&mut c.attrs);
                fail(Error::new(c.ident.span(), "only methods can be exposed"));
            }
            _ => {}
        }
    }
    // On errors, the rest is still written for the methods that passed, so
    // the only errors are ours (not a missing `Exposed` impl besides).
    let errors = errors.map(Error::into_compile_error);

    let self_ty = &block.self_ty;
    let names: Vec<String> = exposed.iter().map(|e| e.method.sig.ident.to_string()).collect();
    let arms = exposed.iter().zip(&names).map(|(e, name)| {
        let method = &e.method.sig.ident;
        let vars: Vec<syn::Ident> = (0..e.args.len()).map(|i| format_ident!("__ipc_arg{}", i)).collect();
        let types = e.args.iter().map(|(_, ty)| ty);
        quote! {
            #name => {
                let (#(#vars,)*): (#(#types,)*) = match ::ipc::__private::manager::decode(__ipc_args) {
                    ::std::result::Result::Ok(args) => args,
                    ::std::result::Result::Err(e) => return ::std::option::Option::Some(::std::result::Result::Err(e)),
                };
                ::std::option::Option::Some(::ipc::__private::manager::encode(&self.#method(#(#vars),*)))
            }
        }
    });
    let methods = exposed.iter().zip(&names).map(|(e, name)| {
        let sig = &e.method.sig;
        let method = &sig.ident;
        let vis = &e.method.vis;
        let docs = e.method.attrs.iter().filter(|a| a.path().is_ident("doc"));
        let params = e.args.iter().map(|(name, ty)| quote!(#name: #ty));
        let names = e.args.iter().map(|(name, _)| name);
        let output = &e.output;
        let note = format!(
            "\n\nA call in the manager (`{name}`). Errors: [`ipc::CallError`](::ipc::CallError) if the \
             manager is gone or the method panicked."
        );
        quote_spanned! {sig.span()=>
            #(#docs)*
            #[doc = #note]
            // A proxy method the program never calls is not dead code to warn about.
            #[allow(dead_code)]
            #vis async fn #method(&self, #(#params),*) -> ::std::result::Result<#output, ::ipc::CallError> {
                ::ipc::manager::Proxy::call_method(&**self, #name, &(#(#names,)*)).await
            }
        }
    });
    let blocking = exposed.iter().zip(&names).map(|(e, name)| {
        let sig = &e.method.sig;
        let method = &sig.ident;
        let twin = quote::format_ident!("blocking_{}", method);
        let vis = &e.method.vis;
        let params = e.args.iter().map(|(name, ty)| quote!(#name: #ty));
        let names = e.args.iter().map(|(name, _)| name);
        let output = &e.output;
        let doc = format!(
            "Blocking form of [`{method}`](Self::{method}), for synchronous code: no runtime needed (a \
             synchronous child target, a plain thread)."
        );
        quote_spanned! {sig.span()=>
            #[doc = #doc]
            #[allow(dead_code)]
            #vis fn #twin(&self, #(#params),*) -> ::std::result::Result<#output, ::ipc::CallError> {
                ::ipc::manager::Proxy::blocking_call_method(&**self, #name, &(#(#names,)*))
            }
        }
    });
    Ok(quote! {
        #errors

        #block

        impl ::ipc::manager::Exposed for #self_ty {
            const METHODS: &'static [&'static str] = &[#(#names),*];

            fn dispatch(
                &mut self,
                __ipc_method: &str,
                __ipc_args: &[u8],
            ) -> ::std::option::Option<::std::result::Result<::std::vec::Vec<u8>, ::ipc::RemoteError>> {
                match __ipc_method {
                    #(#arms)*
                    _ => ::std::option::Option::None,
                }
            }
        }

        impl #proxy {
            #(#methods)*
            #(#blocking)*
        }
    })
}

/// Removes the `#[expose]` attributes from `attrs`, returning them.
fn take_expose(attrs: &mut Vec<Attribute>) -> Vec<Attribute> {
    let (marks, rest) = std::mem::take(attrs).into_iter().partition(|a| a.path().is_ident("expose"));
    *attrs = rest;
    marks
}

/// `Type` → `TypeProxy`, in the same module path.
fn proxy_path(self_ty: &Type) -> Result<syn::Path> {
    let Type::Path(path) = self_ty else {
        return Err(Error::new(self_ty.span(), "#[ipc::managed] needs a named type (`impl MyType { ... }`)"));
    };
    let mut path = path.path.clone();
    let last = path.segments.last_mut().ok_or_else(|| Error::new(self_ty.span(), "an empty type path"))?;
    if !matches!(last.arguments, PathArguments::None) {
        return Err(Error::new(last.arguments.span(), "a managed type cannot be generic"));
    }
    last.ident = format_ident!("{}Proxy", last.ident);
    Ok(path)
}

/// Checks that a method can be called through a proxy.
fn check(method: &ImplItemFn) -> Result<Exposed> {
    let sig = &method.sig;
    if let Some(a) = &sig.asyncness {
        return Err(Error::new(
            a.span,
            "exposed methods are synchronous: the server runs each call to completion on the object",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(Error::new(
            sig.generics.span(),
            "exposed methods cannot be generic: the server decodes their arguments by type",
        ));
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() => {}
        Some(FnArg::Receiver(r)) => {
            return Err(Error::new(
                r.span(),
                "exposed methods take `&self` or `&mut self`: the object stays in the server",
            ));
        }
        _ => {
            return Err(Error::new(
                sig.ident.span(),
                "exposed methods take `&self` or `&mut self` (an associated function has no object to call)",
            ));
        }
    }
    let mut args = Vec::new();
    for (i, input) in inputs.enumerate() {
        let FnArg::Typed(arg) = input else {
            return Err(Error::new(input.span(), "`self` comes first, once"));
        };
        check_owned(&arg.ty, "take owned arguments (`String`, not `&str`): they travel to the server by value")?;
        let name = match &*arg.pat {
            Pat::Ident(p) => p.ident.clone(),
            _ => format_ident!("arg{}", i),
        };
        args.push((name, (*arg.ty).clone()));
    }
    let output = match &sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            check_owned(ty, "return an owned value: it travels back to the caller by value")?;
            (**ty).clone()
        }
    };
    Ok(Exposed { method: method.clone(), args, output })
}

/// Rejects references, `impl Trait` and `Self` in an argument or result
/// type (the proxy cannot name or send them).
fn check_owned(ty: &Type, why: &str) -> Result<()> {
    match ty {
        Type::Reference(r) => return Err(Error::new(r.span(), why)),
        Type::ImplTrait(t) => {
            return Err(Error::new(t.span(), "`impl Trait` cannot travel between processes: name the type"));
        }
        _ => {}
    }
    if let Some(span) = find_self(quote!(#ty)) {
        return Err(Error::new(span, "name the type instead of `Self` (the proxy's `Self` is the proxy)"));
    }
    Ok(())
}

fn find_self(tokens: TokenStream) -> Option<Span> {
    tokens.into_iter().find_map(|t| match t {
        TokenTree::Ident(i) if i == "Self" => Some(i.span()),
        TokenTree::Group(g) => find_self(g.stream()),
        _ => None,
    })
}
