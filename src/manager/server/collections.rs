//! The manager's collections: `dict`, `list` / `Array`, `Namespace` and
//! `Value`. Their methods never wait; each answers at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use super::super::error::RemoteError;
use super::super::methods::{self, Bytes, array, dict, list, namespace, value};
use super::{CallFuture, Caller, Served, lock, no_method, ready};

/// Python's index rules: negative counts from the end.
fn index(i: i64, len: usize) -> Result<usize, RemoteError> {
    let resolved = if i < 0 { i + len as i64 } else { i };
    if resolved < 0 || resolved >= len as i64 {
        return Err(RemoteError::IndexError(format!("index {i} out of range for length {len}")));
    }
    Ok(resolved as usize)
}

// ----- dict --------------------------------------------------------------

#[derive(Default)]
pub(super) struct Dict {
    map: Mutex<IndexMap<Bytes, Bytes>>,
}

impl Dict {
    fn serve(&self, call: dict::Call) -> Result<Bytes, RemoteError> {
        use dict::Call::*;
        let mut map = lock(&self.map);
        match call {
            Insert((k, v), a) => a.ok(&map.insert(k, v)),
            Get(k, a) => a.ok(&map.get(&k).cloned()),
            Remove(k, a) => match map.shift_remove(&k) {
                Some(v) => a.ok(&v),
                None => Err(RemoteError::KeyError("key not in dict".into())),
            },
            Pop(k, a) => a.ok(&map.shift_remove(&k)),
            Contains(k, a) => a.ok(&map.contains_key(&k)),
            Len((), a) => a.ok(&(map.len() as u64)),
            Items((), a) => a.ok(&map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            Keys((), a) => a.ok(&map.keys().cloned().collect()),
            Values((), a) => a.ok(&map.values().cloned().collect()),
            // Python's: the last inserted pair; KeyError when empty.
            PopItem((), a) => match map.pop() {
                Some(pair) => a.ok(&pair),
                None => Err(RemoteError::KeyError("popitem(): dictionary is empty".into())),
            },
            SetDefault((k, default), a) => a.ok(map.entry(k).or_insert(default)),
            Update(pairs, a) => {
                map.extend(pairs);
                a.ok(&())
            }
            Clear((), a) => {
                map.clear();
                a.ok(&())
            }
        }
    }
}

impl Served for Dict {
    fn type_name(&self) -> &'static str {
        <methods::Dict as methods::Kind>::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready(dict::Call::decode(method, &args).and_then(|call| self.serve(call)))
    }
}

// ----- list and Array ----------------------------------------------------

/// A `list`, or (`fixed`) an `Array`: a list whose length never changes.
pub(super) struct List {
    items: Mutex<Vec<Bytes>>,
    fixed: bool,
}

impl List {
    pub(super) fn new(items: Vec<Bytes>, fixed: bool) -> List {
        List { items: Mutex::new(items), fixed }
    }

    fn serve(&self, call: list::Call) -> Result<Bytes, RemoteError> {
        use list::Call::*;
        let mut items = lock(&self.items);
        match call {
            Append(v, a) => {
                items.push(v);
                a.ok(&())
            }
            Extend(vs, a) => {
                items.extend(vs);
                a.ok(&())
            }
            Get(i, a) => {
                let i = index(i, items.len())?;
                a.ok(&items[i])
            }
            Set((i, v), a) => {
                let i = index(i, items.len())?;
                items[i] = v;
                a.ok(&())
            }
            Insert((i, v), a) => {
                // Python's insert clamps the index instead of failing.
                let len = items.len() as i64;
                let at = if i < 0 { (i + len).max(0) } else { i.min(len) };
                items.insert(at as usize, v);
                a.ok(&())
            }
            Pop(i, a) => {
                if items.is_empty() {
                    return Err(RemoteError::IndexError("pop from empty list".into()));
                }
                let i = index(i.unwrap_or(-1), items.len())?;
                a.ok(&items.remove(i))
            }
            Remove(v, a) => {
                let at = items.iter().position(|x| *x == v);
                let at = at.ok_or_else(|| RemoteError::ValueError("list.remove(x): x not in list".into()))?;
                items.remove(at);
                a.ok(&())
            }
            Index(v, a) => {
                let at = items.iter().position(|x| *x == v);
                a.ok(&(at.ok_or_else(|| RemoteError::ValueError("value is not in list".into()))? as u64))
            }
            Count(v, a) => a.ok(&(items.iter().filter(|x| **x == v).count() as u64)),
            Reverse((), a) => {
                items.reverse();
                a.ok(&())
            }
            Len((), a) => a.ok(&(items.len() as u64)),
            ToVec((), a) => a.ok(&*items),
            Clear((), a) => {
                items.clear();
                a.ok(&())
            }
        }
    }
}

impl Served for List {
    fn type_name(&self) -> &'static str {
        if self.fixed { <methods::Array as methods::Kind>::NAME } else { <methods::List as methods::Kind>::NAME }
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        if self.fixed && !array::NAMES.contains(&method) {
            return ready(Err(no_method(self.type_name(), method)));
        }
        ready(list::Call::decode(method, &args).and_then(|call| self.serve(call)))
    }
}

// ----- Namespace ---------------------------------------------------------

#[derive(Default)]
pub(super) struct Namespace {
    attrs: Mutex<BTreeMap<String, Bytes>>,
}

fn no_attribute(name: &str) -> RemoteError {
    RemoteError::AttributeError(format!("'Namespace' object has no attribute {name:?}"))
}

impl Namespace {
    fn serve(&self, call: namespace::Call) -> Result<Bytes, RemoteError> {
        use namespace::Call::*;
        let mut attrs = lock(&self.attrs);
        match call {
            Get(name, a) => a.ok(attrs.get(&name).ok_or_else(|| no_attribute(&name))?),
            Set((name, v), a) => {
                attrs.insert(name, v);
                a.ok(&())
            }
            Delete(name, a) => match attrs.remove(&name) {
                Some(_) => a.ok(&()),
                None => Err(no_attribute(&name)),
            },
            Names((), a) => a.ok(&attrs.keys().cloned().collect()),
        }
    }
}

impl Served for Namespace {
    fn type_name(&self) -> &'static str {
        <methods::Namespace as methods::Kind>::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready(namespace::Call::decode(method, &args).and_then(|call| self.serve(call)))
    }
}

// ----- Value -------------------------------------------------------------

pub(super) struct Value {
    value: Mutex<Bytes>,
}

impl Value {
    pub(super) fn new(value: Bytes) -> Value {
        Value { value: Mutex::new(value) }
    }
}

impl Served for Value {
    fn type_name(&self) -> &'static str {
        <methods::Value as methods::Kind>::NAME
    }

    fn call(self: Arc<Self>, method: &str, args: Bytes, _: Caller) -> CallFuture {
        ready(value::Call::decode(method, &args).and_then(|call| match call {
            value::Call::Get((), a) => a.ok(&*lock(&self.value)),
            value::Call::Set(v, a) => {
                *lock(&self.value) = v;
                a.ok(&())
            }
        }))
    }
}
