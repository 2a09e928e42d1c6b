//! `#[derive(ShmSafe)]`: a `repr(C)` struct of `ShmSafe` fields.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Meta, Result, Token};

pub(crate) fn derive(item: TokenStream) -> Result<TokenStream> {
    let input: DeriveInput = syn::parse2(item)?;
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            return Err(Error::new(
                e.enum_token.span,
                "ShmSafe cannot be derived for an enum: a peer may write any bit pattern, and most are no variant",
            ));
        }
        Data::Union(u) => return Err(Error::new(u.union_token.span, "ShmSafe cannot be derived for a union")),
    };
    let mut repr_ok = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        let metas = attr.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)?;
        repr_ok |= metas.iter().any(|m| m.path().is_ident("C") || m.path().is_ident("transparent"));
    }
    if !repr_ok {
        return Err(Error::new(
            input.ident.span(),
            "ShmSafe needs #[repr(C)] (or #[repr(transparent)]): other processes rely on the field layout",
        ));
    }
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let bounds = fields.iter().map(|f| {
        let ty = &f.ty;
        quote_spanned! {ty.span()=> #ty: ::ipc::ShmSafe }
    });
    let mut predicates: Vec<TokenStream> =
        where_clause.map(|w| w.predicates.iter().map(|p| quote!(#p)).collect()).unwrap_or_default();
    predicates.extend(bounds);
    Ok(quote! {
        // SAFETY: the struct is repr(C) (checked by the derive) and every
        // field is ShmSafe (the bounds, each spanned at its field's type), so
        // every bit pattern is a valid value and it holds no pointers or
        // descriptors.
        unsafe impl #impl_generics ::ipc::ShmSafe for #name #ty_generics where #(#predicates,)* {}
    })
}
