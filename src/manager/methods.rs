//! The built-in types and their methods, written once for both sides.
//!
//! Each built-in type is a [`Kind`]: the name a `Create` request carries and
//! the type of its constructor's arguments. Each method is a [`Method`]: the
//! name a `Call` request carries, the type of its arguments and the type of
//! its reply. A proxy calls `obj.call(dict::Insert, &args)` and gets
//! `dict::Insert`'s reply type back; the server decodes a request into
//! `dict::Call::Insert(args, answer)`, and `answer` encodes only that reply
//! type. So a method's name, its arguments and its reply cannot disagree
//! between the two sides: a mismatch is a compile error, not a
//! `BadRequest` at run time.
//!
//! Values the server stores are opaque encoded bytes ([`Bytes`]): the
//! server never needs the proxies' type parameters.
//!
//! Several server types share one method set: the queue flavors share
//! [`queue`], the semaphores [`semaphore`], a `Condition` answers [`rlock`]'s
//! methods for its lock and [`condition`]'s own, and an `Array` the
//! length-keeping part of [`list`] ([`array::NAMES`]).

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::RemoteError;

/// A value as the server stores it: its encoding.
pub(crate) type Bytes = Vec<u8>;

/// A built-in type the server makes.
pub(crate) trait Kind {
    /// Its name in a `Create` request (Python's type name).
    const NAME: &'static str;
    /// Its constructor's arguments.
    type New: Serialize + DeserializeOwned;
}

/// One method of a built-in type.
pub(crate) trait Method: Copy {
    /// Its name in a `Call` request.
    const NAME: &'static str;
    /// What the caller sends.
    type Args: Serialize + DeserializeOwned;
    /// What the object answers.
    type Reply: Serialize + DeserializeOwned;
}

/// The server's side of one decoded call: it answers with the method's
/// reply type and no other.
pub(crate) struct Answer<R>(PhantomData<fn(&R)>);

impl<R: Serialize> Answer<R> {
    /// Encodes the reply.
    pub(crate) fn ok(self, reply: &R) -> Result<Bytes, RemoteError> {
        encode(reply)
    }
}

/// Encodes a reply value.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, RemoteError> {
    crate::codec::encode(value).map(|(bytes, _)| bytes).map_err(|e| RemoteError::BadRequest(e.to_string()))
}

/// Decodes call arguments.
pub(crate) fn decode<T: DeserializeOwned>(args: &[u8]) -> Result<T, RemoteError> {
    crate::codec::decode(args, Vec::new()).map_err(|e| RemoteError::BadRequest(e.to_string()))
}

pub(crate) fn no_method(type_name: &str, method: &str) -> RemoteError {
    RemoteError::NoSuchMethod { type_name: type_name.to_string(), method: method.to_string() }
}

/// Declares the built-in types: one `Kind` per type, and `New`, a decoded
/// `Create` request of one of them.
macro_rules! kinds {
    ($($(#[$doc:meta])* $kind:ident = $name:literal ($new:ty);)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub(crate) struct $kind;

            impl Kind for $kind {
                const NAME: &'static str = $name;
                type New = $new;
            }
        )*

        /// The built-in types' names (a custom type may not take one).
        pub(crate) const KINDS: &[&str] = &[$($name),*];

        /// A decoded `Create` request for a built-in type.
        pub(crate) enum New {
            $($kind($new),)*
        }

        impl New {
            /// `None`: no built-in type has this name.
            pub(crate) fn decode(type_name: &str, args: &[u8]) -> Option<Result<New, RemoteError>> {
                Some(match type_name {
                    $($name => decode(args).map(New::$kind),)*
                    _ => return None,
                })
            }
        }
    };
}

/// Declares a method set: a module with one `Method` per method, their
/// names, and `Call`, a decoded `Call` request of one of them.
macro_rules! methods {
    ($($(#[$doc:meta])* $set:ident $type_name:literal {
        $($(#[$mdoc:meta])* $method:ident = $name:literal ($args:ty) -> $reply:ty;)*
    })*) => {
        $(
            $(#[$doc])*
            pub(crate) mod $set {
                #[allow(unused_imports)]
                use super::{Bytes, Duration};
                use super::{decode, no_method, Answer, Method, PhantomData, RemoteError};

                $(
                    $(#[$mdoc])*
                    #[derive(Clone, Copy)]
                    pub(crate) struct $method;

                    impl Method for $method {
                        const NAME: &'static str = $name;
                        type Args = $args;
                        type Reply = $reply;
                    }
                )*

                /// The methods' names.
                #[allow(dead_code)]
                pub(crate) const NAMES: &[&str] = &[$($name),*];

                /// A decoded call: its arguments and how to answer it.
                pub(crate) enum Call {
                    $($method($args, Answer<$reply>),)*
                }

                impl Call {
                    /// Decodes a call of `method`; an unknown method or
                    /// arguments of the wrong shape are the caller's error.
                    #[allow(dead_code)]
                    pub(crate) fn decode(method: &str, args: &[u8]) -> Result<Call, RemoteError> {
                        Call::decode_as($type_name, method, args)
                    }

                    /// As `decode`, for an object served as `type_name`
                    /// (one of the types sharing this method set), which
                    /// an unknown method's error names.
                    pub(crate) fn decode_as(type_name: &str, method: &str, args: &[u8]) -> Result<Call, RemoteError> {
                        match method {
                            $($name => Ok(Call::$method(decode(args)?, Answer(PhantomData))),)*
                            other => Err(no_method(type_name, other)),
                        }
                    }
                }
            }
        )*

        /// Every built-in method's name, once per set (for the fuzzers).
        #[cfg(any(test, feature = "fuzzing"))]
        pub(crate) const ALL: &[&[&str]] = &[$($set::NAMES),*];
    };
}

kinds! {
    Dict = "dict" (());
    List = "list" (Vec<Bytes>);
    Namespace = "Namespace" (());
    Value = "Value" (Bytes);
    Array = "Array" (Vec<Bytes>);
    /// The queues' constructors take `maxsize` (0: unbounded).
    Queue = "Queue" (u64);
    LifoQueue = "LifoQueue" (u64);
    PriorityQueue = "PriorityQueue" (u64);
    JoinableQueue = "JoinableQueue" (u64);
    Lock = "Lock" (());
    Event = "Event" (());
    RLock = "RLock" (());
    Semaphore = "Semaphore" (u64);
    BoundedSemaphore = "BoundedSemaphore" (u64);
    Condition = "Condition" (());
    Barrier = "Barrier" (u64);
    /// A `SharedMemoryManager`'s record of the blocks it made.
    SharedMemoryTracker = "SharedMemoryTracker" (());
}

methods! {
    /// `dict`: keys and values as bytes, in insertion order.
    dict "dict" {
        Insert = "insert" ((Bytes, Bytes)) -> Option<Bytes>;
        Get = "get" (Bytes) -> Option<Bytes>;
        Remove = "remove" (Bytes) -> Bytes;
        Pop = "pop" (Bytes) -> Option<Bytes>;
        Contains = "contains" (Bytes) -> bool;
        Len = "len" (()) -> u64;
        Items = "items" (()) -> Vec<(Bytes, Bytes)>;
        Keys = "keys" (()) -> Vec<Bytes>;
        Values = "values" (()) -> Vec<Bytes>;
        PopItem = "popitem" (()) -> (Bytes, Bytes);
        SetDefault = "setdefault" ((Bytes, Bytes)) -> Bytes;
        Update = "update" (Vec<(Bytes, Bytes)>) -> ();
        Clear = "clear" (()) -> ();
    }

    /// `list` (indices are Python's: negative counts from the end).
    list "list" {
        Append = "append" (Bytes) -> ();
        Extend = "extend" (Vec<Bytes>) -> ();
        Get = "get" (i64) -> Bytes;
        Set = "set" ((i64, Bytes)) -> ();
        Insert = "insert" ((i64, Bytes)) -> ();
        Pop = "pop" (Option<i64>) -> Bytes;
        Remove = "remove" (Bytes) -> ();
        Index = "index" (Bytes) -> u64;
        Count = "count" (Bytes) -> u64;
        Reverse = "reverse" (()) -> ();
        Len = "len" (()) -> u64;
        ToVec = "to_vec" (()) -> Vec<Bytes>;
        Clear = "clear" (()) -> ();
    }

    /// `Namespace`: attributes by name.
    namespace "Namespace" {
        Get = "get" (String) -> Bytes;
        Set = "set" ((String, Bytes)) -> ();
        Delete = "delete" (String) -> ();
        Names = "names" (()) -> Vec<String>;
    }

    /// `Value`: one stored value.
    value "Value" {
        Get = "get" (()) -> Bytes;
        Set = "set" (Bytes) -> ();
    }

    /// The queues: an item travels with its priority (0 but in a
    /// `PriorityQueue`); `put` and `get` take `(block, timeout)`.
    queue "Queue" {
        Put = "put" (((i64, Bytes), bool, Option<Duration>)) -> ();
        Get = "get" ((bool, Option<Duration>)) -> (i64, Bytes);
        /// The undo of a `get` whose caller left: its reply, put back.
        Unget = "unget" ((i64, Bytes)) -> ();
        Qsize = "qsize" (()) -> u64;
        TaskDone = "task_done" (()) -> ();
        Join = "join" (()) -> ();
    }

    /// `Lock`: any task of any process may release it, so no owner is sent.
    lock "Lock" {
        Acquire = "acquire" ((bool, Option<Duration>)) -> bool;
        Release = "release" (()) -> ();
        Locked = "locked" (()) -> bool;
    }

    /// `RLock` (and a `Condition`'s lock): calls name the task that owns.
    rlock "RLock" {
        Acquire = "acquire" ((u64, bool, Option<Duration>)) -> bool;
        Release = "release" (u64) -> ();
    }

    /// `Condition`'s own methods, with the task that holds its lock.
    condition "Condition" {
        Wait = "wait" ((u64, Option<Duration>)) -> bool;
        Notify = "notify" ((u64, u64)) -> ();
    }

    /// `Semaphore` and `BoundedSemaphore`.
    semaphore "Semaphore" {
        Acquire = "acquire" ((bool, Option<Duration>)) -> bool;
        Release = "release" (u64) -> ();
        GetValue = "get_value" (()) -> u64;
    }

    /// `Event`.
    event "Event" {
        Set = "set" (()) -> ();
        Clear = "clear" (()) -> ();
        IsSet = "is_set" (()) -> bool;
        Wait = "wait" (Option<Duration>) -> bool;
    }

    /// `Barrier`: `wait` answers the party's index.
    barrier "Barrier" {
        Wait = "wait" (Option<Duration>) -> u64;
        Abort = "abort" (()) -> ();
        Reset = "reset" (()) -> ();
        Parties = "parties" (()) -> u64;
        NWaiting = "n_waiting" (()) -> u64;
        Broken = "broken" (()) -> bool;
    }

    /// `SharedMemoryTracker`: the names of the blocks to unlink with it.
    tracker "SharedMemoryTracker" {
        Track = "track" (String) -> ();
    }
}

/// `Array`: the methods of [`list`] that keep its length.
pub(crate) mod array {
    use super::Method;
    pub(crate) use super::list::{Count, Get, Index, Len, Set, ToVec};

    /// The methods an `Array` answers.
    pub(crate) const NAMES: &[&str] = &[Get::NAME, Set::NAME, Len::NAME, ToVec::NAME, Index::NAME, Count::NAME];
}

/// A `get`'s reply is what its undo puts back, and an `acquire`'s undo is a
/// `release` that takes what the acquire named: checked here, at compile
/// time, so the undo calls cannot drift from the calls they undo.
const _: () = {
    fn same<T>(x: T) -> T {
        x
    }
    let _: fn(<queue::Get as Method>::Reply) -> <queue::Unget as Method>::Args = same;
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_decodes_to_its_method_and_answers_its_reply_type() {
        let args = encode(&(b"k".to_vec(), b"v".to_vec())).unwrap();
        let dict::Call::Insert((k, v), answer) = dict::Call::decode("insert", &args).unwrap() else {
            panic!("insert decodes as Insert");
        };
        assert_eq!((k.as_slice(), v.as_slice()), (&b"k"[..], &b"v"[..]));
        let reply = answer.ok(&Some(b"old".to_vec())).unwrap();
        assert_eq!(decode::<Option<Bytes>>(&reply).unwrap(), Some(b"old".to_vec()));
    }

    #[test]
    fn unknown_methods_and_wrong_shapes_are_the_callers_errors() {
        assert!(matches!(
            dict::Call::decode("nope", &[]),
            Err(RemoteError::NoSuchMethod { type_name, method }) if type_name == "dict" && method == "nope"
        ));
        assert!(matches!(list::Call::decode("get", &[0xff; 3]), Err(RemoteError::BadRequest(_))));
        assert!(New::decode("NoSuch", &[]).is_none());
        assert!(matches!(New::decode("Barrier", &[]), Some(Err(RemoteError::BadRequest(_)))));
    }

    #[test]
    fn names_are_unique_within_a_set_and_among_kinds() {
        for set in ALL.iter().copied().chain([KINDS]) {
            let mut names = set.to_vec();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), set.len(), "{set:?}");
        }
        assert!(array::NAMES.iter().all(|m| list::NAMES.contains(m)));
    }
}
