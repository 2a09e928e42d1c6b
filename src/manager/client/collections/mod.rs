//! The proxies of the manager's collections: `dict`, `list`, `Array`,
//! `Namespace` and `Value`. Values are encoded here and stored as bytes
//! there (so equal keys are keys whose encodings are equal).

mod array;
mod dict;
mod list;
mod namespace;
mod value;

pub use array::ArrayProxy;
pub use dict::DictProxy;
pub use list::ListProxy;
pub use namespace::NamespaceProxy;
pub use value::ValueProxy;
