//! Byte strings at memory speed inside any serde type.
//!
//! serde has no specialization: `[u8]`, `Vec<u8>` and `VecDeque<u8>`
//! serialize as a sequence of `u8`s and `Vec<u8>` deserializes element by
//! element, so bincode writes and reads them a byte at a time (about 4 ns a
//! byte: a 1 MiB `Vec<u8>` crossed a queue at 237 MiB/s, slower than Python).
//! `String`, `bytes::Bytes` and the `serde_bytes` types already ask for a
//! byte string and move as one block.
//!
//! [`Ser`] and [`De`] wrap bincode's serializer and deserializer and pass
//! every call through, wrapping what they hand on (compound serializers,
//! visitors, seeds, sequence, map and enum accesses) so that the whole value
//! tree goes through them. They change two calls:
//!
//! - `collect_seq` over `u8`s (what `[u8]`, `Vec<u8>` and `VecDeque<u8>`
//!   call) writes one byte string with `serialize_bytes`: a slice iterator's
//!   slice as it is, any other iterator's bytes collected first.
//! - `deserialize_seq` with serde's own visitor for `Vec<u8>` (also behind
//!   `Box<[u8]>`) reads one byte string (`deserialize_bytes`), which
//!   bincode hands over with one copy. The visitor is recognized by its type,
//!   learned once from serde itself ([`vec_u8_visitor`]); any other visitor,
//!   even one that makes a `Vec<u8>` from a sequence, is passed through.
//!
//! The encoding does not change: bincode writes a byte string as its length
//! and its bytes, which is what it writes for a sequence of `u8`s, so a value
//! encoded either way decodes either way (tested below against plain
//! bincode).
//!
//! The `unsafe` here reads a value as the type its type id says it is
//! (`typeid` compares types with their lifetimes made 'static; each block
//! says why that is enough).
#![allow(unsafe_code)]

use std::any::TypeId;
use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Visitor};
use serde::ser::{self, Serialize};

/// A value to serialize through [`Ser`].
pub(crate) struct Bulk<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Serialize + ?Sized> Serialize for Bulk<'_, T> {
    #[inline]
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Ser(serializer))
    }
}

/// A value deserialized through [`De`].
pub(crate) struct Unbulk<T>(pub(crate) T);

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for Unbulk<T> {
    #[inline]
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(De(deserializer)).map(Unbulk)
    }
}

/// The bytes of a sequence's iterator, if it yields `&u8` from a slice.
#[inline]
fn slice_of<'i, It: 'i>(iter: &'i It) -> Option<&'i [u8]> {
    if typeid::of::<It>() != TypeId::of::<std::slice::Iter<'static, u8>>() {
        return None;
    }
    // SAFETY: `It`'s type id with its lifetimes made 'static is that of
    // `slice::Iter<'static, u8>`, so `It` is `slice::Iter<'a, u8>` for some
    // 'a. `&'i It` is well formed, so 'a outlives 'i, and `slice::Iter` is
    // covariant in its lifetime: `&'i slice::Iter<'a, u8>` may be read as
    // `&'i slice::Iter<'i, u8>`, whose slice lives for 'i.
    let iter = unsafe { &*std::ptr::from_ref(iter).cast::<std::slice::Iter<'i, u8>>() };
    Some(iter.as_slice())
}

/// Reads a `u8` item as the byte it is, if the items are `u8` or `&u8`.
#[inline]
fn byte_of<Item>(item: &Item) -> Option<u8> {
    let id = typeid::of::<Item>();
    if id == TypeId::of::<u8>() {
        // SAFETY: `u8` has no lifetimes, so a type with its id is `u8`.
        Some(unsafe { *std::ptr::from_ref(item).cast::<u8>() })
    } else if id == TypeId::of::<&'static u8>() {
        // SAFETY: `Item` is `&'a u8` for some 'a (its id with lifetimes made
        // 'static is `&'static u8`'s), live while `item` is borrowed; a
        // reference to it may be read as a `&&u8` of any shorter lifetime.
        Some(unsafe { **std::ptr::from_ref(item).cast::<&u8>() })
    } else {
        None
    }
}

/// The serializer that writes byte sequences as byte strings.
pub(crate) struct Ser<S>(S);

/// A compound serializer of [`Ser`]'s, whose elements go through [`Ser`].
pub(crate) struct Compound<C>(C);

macro_rules! forward_ser {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method(self, $($arg: $ty),*) -> Result<S::Ok, S::Error> {
            self.0.$method($($arg),*)
        }
    )*};
}

impl<S: ser::Serializer> ser::Serializer for Ser<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Compound<S::SerializeSeq>;
    type SerializeTuple = Compound<S::SerializeTuple>;
    type SerializeTupleStruct = Compound<S::SerializeTupleStruct>;
    type SerializeTupleVariant = Compound<S::SerializeTupleVariant>;
    type SerializeMap = Compound<S::SerializeMap>;
    type SerializeStruct = Compound<S::SerializeStruct>;
    type SerializeStructVariant = Compound<S::SerializeStructVariant>;

    forward_ser! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(&Bulk(value))
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, &Bulk(value))
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_variant(name, index, variant, &Bulk(value))
    }

    #[inline]
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        self.0.serialize_seq(len).map(Compound)
    }

    #[inline]
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, S::Error> {
        self.0.serialize_tuple(len).map(Compound)
    }

    #[inline]
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeTupleStruct, S::Error> {
        self.0.serialize_tuple_struct(name, len).map(Compound)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0.serialize_tuple_variant(name, index, variant, len).map(Compound)
    }

    #[inline]
    fn serialize_map(self, len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        self.0.serialize_map(len).map(Compound)
    }

    #[inline]
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Self::SerializeStruct, S::Error> {
        self.0.serialize_struct(name, len).map(Compound)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0.serialize_struct_variant(name, index, variant, len).map(Compound)
    }

    /// A sequence of bytes as one byte string; any other sequence element by
    /// element, as serde's default does.
    #[inline]
    fn collect_seq<I>(self, iter: I) -> Result<S::Ok, S::Error>
    where
        I: IntoIterator,
        I::Item: Serialize,
    {
        let mut iter = iter.into_iter();
        if let Some(bytes) = slice_of(&iter) {
            return self.0.serialize_bytes(bytes);
        }
        let item = typeid::of::<I::Item>();
        if item == TypeId::of::<u8>() || item == TypeId::of::<&'static u8>() {
            // `byte_of` answers for the type: every item is a byte.
            let bytes: Vec<u8> = iter.filter_map(|item| byte_of(&item)).collect();
            return self.0.serialize_bytes(&bytes);
        }
        let len = match iter.size_hint() {
            (low, Some(high)) if low == high => Some(low),
            _ => None,
        };
        let mut seq = ser::Serializer::serialize_seq(self, len)?;
        iter.try_for_each(|item| ser::SerializeSeq::serialize_element(&mut seq, &item))?;
        ser::SerializeSeq::end(seq)
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! compound {
    ($trait:ident, $($method:ident($($arg:ident: $ty:ty),*);)*) => {
        impl<C: ser::$trait> ser::$trait for Compound<C> {
            type Ok = C::Ok;
            type Error = C::Error;
            $(
                #[inline]
                fn $method<T: Serialize + ?Sized>(&mut self, $($arg: $ty,)* value: &T) -> Result<(), C::Error> {
                    self.0.$method($($arg,)* &Bulk(value))
                }
            )*
            #[inline]
            fn end(self) -> Result<C::Ok, C::Error> {
                self.0.end()
            }
        }
    };
}

compound!(SerializeSeq, serialize_element(););
compound!(SerializeTuple, serialize_element(););
compound!(SerializeTupleStruct, serialize_field(););
compound!(SerializeTupleVariant, serialize_field(););
compound!(SerializeMap, serialize_key(); serialize_value(););
compound!(SerializeStruct, serialize_field(key: &'static str););
compound!(SerializeStructVariant, serialize_field(key: &'static str););

/// The type of the visitor serde's `Vec<u8>` deserializes with, learned by
/// asking serde for a `Vec<u8>` from a deserializer that only notes it.
fn vec_u8_visitor() -> TypeId {
    static ID: OnceLock<TypeId> = OnceLock::new();
    *ID.get_or_init(|| {
        struct Probe<'a>(&'a mut Option<TypeId>);
        impl<'de> de::Deserializer<'de> for Probe<'_> {
            type Error = de::value::Error;
            fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                *self.0 = Some(typeid::of::<V>());
                Err(de::Error::custom("probe"))
            }
            fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
                Err(de::Error::custom("probe"))
            }
            serde::forward_to_deserialize_any! {
                bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
                option unit unit_struct newtype_struct tuple tuple_struct map struct enum identifier
                ignored_any
            }
        }
        let mut id = None;
        let _ = <Vec<u8> as de::Deserialize>::deserialize(Probe(&mut id));
        // serde asks for a sequence; were it to stop, no visitor matches.
        id.unwrap_or_else(TypeId::of::<Probe<'static>>)
    })
}

/// The deserializer that reads serde's `Vec<u8>` as one byte string.
pub(crate) struct De<D>(D);

/// A visitor, seed or access whose inner deserializers are [`De`]s.
pub(crate) struct Wrap<T>(T);

macro_rules! forward_de {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Wrap(visitor))
        }
    )*};
}

impl<'de, D: de::Deserializer<'de>> de::Deserializer<'de> for De<D> {
    type Error = D::Error;

    forward_de! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        if typeid::of::<V::Value>() == TypeId::of::<Vec<u8>>() && typeid::of::<V>() == vec_u8_visitor() {
            // Bytes, not a byte buffer: a decoder that borrows hands over its
            // slice, which `ByteBuf` copies once (bincode's buffer would be
            // zeroed first); one that owns reads into its buffer either way.
            let bytes = ManuallyDrop::new(self.0.deserialize_bytes(ByteBuf)?);
            // SAFETY: `Vec<u8>` has no lifetimes, so `V::Value`, whose type
            // id is `Vec<u8>`'s, is `Vec<u8>`; the vector is moved out of
            // the `ManuallyDrop`, which never drops it.
            return Ok(unsafe { std::ptr::from_ref(&*bytes).cast::<V::Value>().read() });
        }
        self.0.deserialize_seq(Wrap(visitor))
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// Takes a byte string as a `Vec<u8>`, as serde's `Vec<u8>` visitor would
/// take the same bytes as a sequence.
struct ByteBuf;

impl<'de> Visitor<'de> for ByteBuf {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    #[inline]
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    #[inline]
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty);)*) => {$(
        #[inline]
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit! {
        visit_bool(bool);
        visit_i8(i8);
        visit_i16(i16);
        visit_i32(i32);
        visit_i64(i64);
        visit_i128(i128);
        visit_u8(u8);
        visit_u16(u16);
        visit_u32(u32);
        visit_u64(u64);
        visit_u128(u128);
        visit_f32(f32);
        visit_f64(f64);
        visit_char(char);
        visit_str(&str);
        visit_borrowed_str(&'de str);
        visit_string(String);
        visit_bytes(&[u8]);
        visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(Vec<u8>);
    }

    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    #[inline]
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(De(deserializer))
    }

    #[inline]
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(De(deserializer))
    }

    #[inline]
    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Wrap(seq))
    }

    #[inline]
    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Wrap(map))
    }

    #[inline]
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Wrap(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrap<S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(De(deserializer))
    }
}

impl<'de, A: de::SeqAccess<'de>> de::SeqAccess<'de> for Wrap<A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Wrap(seed))
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::MapAccess<'de>> de::MapAccess<'de> for Wrap<A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Wrap(seed))
    }

    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        self.0.next_value_seed(Wrap(seed))
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: de::EnumAccess<'de>> de::EnumAccess<'de> for Wrap<A> {
    type Error = A::Error;
    type Variant = Wrap<A::Variant>;

    #[inline]
    fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self::Variant), A::Error> {
        self.0.variant_seed(Wrap(seed)).map(|(value, variant)| (value, Wrap(variant)))
    }
}

impl<'de, A: de::VariantAccess<'de>> de::VariantAccess<'de> for Wrap<A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        self.0.newtype_variant_seed(Wrap(seed))
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.0.struct_variant(fields, Wrap(visitor))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, VecDeque};

    use serde::{Deserialize, Deserializer, Serialize};

    use crate::codec::{decode, decode_borrowed, decode_with, encode, encode_with};

    fn plain<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap()
    }

    fn from_plain<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
        bincode::serde::decode_from_slice(bytes, bincode::config::standard()).unwrap().0
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Empty,
        Blob(Vec<u8>),
        Pair(Vec<u8>, Box<[u8]>),
        Named { name: String, data: Vec<u8>, deque: VecDeque<u8> },
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Nested {
        id: u64,
        data: Vec<u8>,
        maybe: Option<Vec<u8>>,
        many: Vec<Vec<u8>>,
        map: BTreeMap<String, Vec<u8>>,
        shapes: Vec<Shape>,
        numbers: Vec<u32>,
        array: [u8; 4],
    }

    fn nested(seed: u8) -> Nested {
        Nested {
            id: u64::from(seed) << 40,
            data: (0..=255).map(|b: u8| b ^ seed).collect(),
            maybe: Some(vec![seed; 3]),
            many: vec![vec![], vec![1], vec![2; 300]],
            map: [("a".to_string(), vec![seed]), ("b".to_string(), vec![])].into(),
            shapes: vec![
                Shape::Empty,
                Shape::Blob(vec![9; 70_000]),
                Shape::Pair(vec![1, 2], vec![3].into()),
                Shape::Named { name: "n".into(), data: vec![4; 5], deque: [5, 6, 7].into() },
            ],
            numbers: vec![1, 300, 70_000],
            array: [seed, 1, 2, 3],
        }
    }

    #[test]
    fn the_encoding_is_bincodes_and_decodes_both_ways() {
        let value = nested(7);
        let (ours, _) = encode(&value).unwrap();
        assert_eq!(ours, plain(&value));
        assert_eq!(from_plain::<Nested>(&ours), value);
        assert_eq!(decode::<Nested>(&plain(&value), Vec::new()).unwrap(), value);
        // Slices and byte iterators that are not slices.
        let bytes: &[u8] = &[1, 2, 3];
        assert_eq!(encode(bytes).unwrap().0, plain(bytes));
        let mut deque: VecDeque<u8> = (0..100).collect();
        deque.rotate_left(30); // two slices inside
        assert_eq!(encode(&deque).unwrap().0, plain(&deque));
        assert_eq!(decode::<VecDeque<u8>>(&encode(&deque).unwrap().0, Vec::new()).unwrap(), deque);
        assert_eq!(encode(&Vec::<u8>::new()).unwrap().0, plain(&Vec::<u8>::new()));
    }

    #[test]
    fn borrowed_byte_slices_still_borrow() {
        #[derive(Serialize, Deserialize)]
        struct View<'a> {
            #[serde(borrow)]
            bytes: &'a [u8],
            text: &'a str,
        }
        let (bytes, _) = encode(&View { bytes: &[1, 2, 3], text: "hi" }).unwrap();
        let view: View<'_> = decode_borrowed(&bytes).unwrap();
        assert_eq!((view.bytes, view.text), (&[1u8, 2, 3][..], "hi"));
    }

    /// Counts the pieces an encoding is written in and read in.
    fn pieces<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) -> (usize, usize) {
        let mut bytes = Vec::new();
        let mut written = 0;
        encode_with(value, |piece: &[u8]| {
            written += 1;
            bytes.extend_from_slice(piece);
            true
        })
        .unwrap();
        let mut read = 0;
        let back: T = decode_with(bytes.len(), |from, dst: &mut [u8]| {
            read += 1;
            dst.copy_from_slice(&bytes[from..from + dst.len()]);
            true
        })
        .unwrap();
        assert_eq!(&back, value);
        (written, read)
    }

    #[test]
    fn a_vec_of_bytes_moves_as_one_block() {
        // Byte by byte, 1 MiB was a million pieces written and 256 reads
        // through the 4 KiB read-ahead.
        let (written, read) = pieces(&vec![0xabu8; 1 << 20]);
        assert!(written <= 3 && read <= 3, "{written} pieces written, {read} reads");
        let (written, read) = pieces(&(7u32, vec![1u8; 1 << 20].into_boxed_slice(), "x".to_string()));
        assert!(written <= 6 && read <= 3, "{written} pieces written, {read} reads");
    }

    #[test]
    fn a_visitor_of_its_own_is_not_bypassed() {
        /// Reads a sequence of u16 into the bytes' low halves: a `Vec<u8>`
        /// from a sequence that is not one of bytes.
        fn low_halves<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            Ok(Vec::<u16>::deserialize(d)?.into_iter().map(|v| v as u8).collect())
        }
        struct Halves;
        impl<'de> serde::de::Visitor<'de> for Halves {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("u16s")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<u16>()? {
                    out.push(v as u8);
                }
                Ok(out)
            }
        }
        fn by_visitor<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            d.deserialize_seq(Halves)
        }
        #[derive(Deserialize, Debug, PartialEq)]
        struct Both {
            #[serde(deserialize_with = "low_halves")]
            a: Vec<u8>,
            #[serde(deserialize_with = "by_visitor")]
            b: Vec<u8>,
        }
        let (bytes, _) = encode(&(vec![0x1234u16, 0x5678], vec![300u16, 2])).unwrap();
        let both: Both = decode(&bytes, Vec::new()).unwrap();
        assert_eq!(both, Both { a: vec![0x34, 0x78], b: vec![44, 2] });
    }

    #[test]
    fn a_lying_length_of_bytes_is_an_error_not_an_allocation() {
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&(1u64 << 40).to_le_bytes());
        bytes.extend_from_slice(b"abc");
        let err = decode::<Vec<u8>>(&bytes, Vec::new()).unwrap_err();
        assert!(err.0.contains("LimitExceeded"), "{err}");
        let err = decode_with::<Vec<u8>>(bytes.len(), |from, dst: &mut [u8]| {
            dst.copy_from_slice(&bytes[from..from + dst.len()]);
            true
        });
        assert!(err.unwrap_err().0.contains("LimitExceeded"));
        // Within the limit but longer than what was sent.
        let (mut short, _) = encode(&vec![1u8; 100]).unwrap();
        short.truncate(50);
        assert!(decode::<Vec<u8>>(&short, Vec::new()).is_err());
    }

    /// A row of the property test's values.
    type Row = (u64, Vec<u8>, Option<Vec<u8>>, Vec<u16>);

    proptest::proptest! {
        #[test]
        fn any_value_with_bytes_inside_is_bincodes_encoding(
            value in proptest::collection::vec(
                (
                    proptest::prelude::any::<u64>(),
                    proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
                    proptest::option::of(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)),
                    proptest::collection::vec(proptest::prelude::any::<u16>(), 0..40),
                ),
                0..12,
            )
        ) {
            let (ours, _) = encode(&value).unwrap();
            proptest::prop_assert_eq!(&ours, &plain(&value));
            let back: Vec<Row> = decode(&ours, Vec::new()).unwrap();
            proptest::prop_assert_eq!(back, value);
        }
    }
}
