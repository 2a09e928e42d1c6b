//! Making built-in objects: [`Manager`]'s constructors (`dict()`,
//! `queue(maxsize)`, …) and [`Named`], the objects a server makes at its
//! start. Each names its type by its `Kind` in the method table, whose
//! constructor arguments it must send.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::Manager;
use super::super::error::CallError;
use super::super::methods::{self, Bytes, Kind};
use super::super::protocol::{ObjectId, Op};
use super::{
    ArrayProxy, BarrierProxy, ConditionProxy, DictProxy, EventProxy, ListProxy, LockProxy, NamespaceProxy,
    PriorityQueueProxy, QueueProxy, RLockProxy, SemaphoreProxy, ValueProxy,
};
use super::{ObjectRef, encode, storing};
use crate::codec;

/// An object a manager server makes when it starts and serves by name, for
/// processes that find each other only by address and key (Python's
/// `BaseManager.register('get_queue', callable=lambda: queue)`): see
/// [`ManagerBuilder::named`](crate::manager::ManagerBuilder::named) and [`Manager::named`].
///
/// # Examples
///
/// ```
/// # #[ipc::main] async fn main() -> ipc::Result<()> {
/// let manager = ipc::Manager::builder().named("jobs", ipc::manager::Named::queue(0)).start().await?;
/// let jobs: ipc::manager::QueueProxy<String> = manager.named("jobs").await?;
/// jobs.put("first".to_owned()).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Named {
    pub(in crate::manager) type_name: &'static str,
    pub(in crate::manager) args: Result<Vec<u8>, CallError>,
}

impl Named {
    fn of<K: Kind>(kind: K, args: &K::New) -> Named {
        let _ = kind;
        Named { type_name: K::NAME, args: encode(args) }
    }

    /// Items each encoded on its own, as the server stores them.
    fn of_items<K: Kind<New = Vec<Bytes>>, T: Serialize>(kind: K, items: &[T]) -> Named {
        let _ = kind;
        Named { type_name: K::NAME, args: encode_all(items).and_then(|items| encode(&items)) }
    }

    /// A `dict` ([`DictProxy`]).
    pub fn dict() -> Named {
        Named::of(methods::Dict, &())
    }

    /// A `list` holding `items` ([`ListProxy`]).
    pub fn list<T: Serialize>(items: &[T]) -> Named {
        Named::of_items(methods::List, items)
    }

    /// A `Namespace` ([`NamespaceProxy`]).
    pub fn namespace() -> Named {
        Named::of(methods::Namespace, &())
    }

    /// A `Value` holding `value` ([`ValueProxy`]).
    pub fn value<T: Serialize>(value: &T) -> Named {
        Named { type_name: methods::Value::NAME, args: encode(value).and_then(|v| encode::<Bytes>(&v)) }
    }

    /// An `Array` of `items` ([`ArrayProxy`]).
    pub fn array<T: Serialize>(items: &[T]) -> Named {
        Named::of_items(methods::Array, items)
    }

    /// A `Queue` of `maxsize` items (0: unbounded) ([`QueueProxy`]).
    pub fn queue(maxsize: usize) -> Named {
        Named::of(methods::Queue, &(maxsize as u64))
    }

    /// A `JoinableQueue` ([`QueueProxy`]).
    pub fn joinable_queue(maxsize: usize) -> Named {
        Named::of(methods::JoinableQueue, &(maxsize as u64))
    }

    /// A `LifoQueue` ([`QueueProxy`]).
    pub fn lifo_queue(maxsize: usize) -> Named {
        Named::of(methods::LifoQueue, &(maxsize as u64))
    }

    /// A `PriorityQueue` ([`PriorityQueueProxy`]).
    pub fn priority_queue(maxsize: usize) -> Named {
        Named::of(methods::PriorityQueue, &(maxsize as u64))
    }

    /// A `Lock` ([`LockProxy`]).
    pub fn lock() -> Named {
        Named::of(methods::Lock, &())
    }

    /// An `RLock` ([`RLockProxy`]).
    pub fn rlock() -> Named {
        Named::of(methods::RLock, &())
    }

    /// An `Event` ([`EventProxy`]).
    pub fn event() -> Named {
        Named::of(methods::Event, &())
    }

    /// A `Semaphore` starting at `value` ([`SemaphoreProxy`]).
    pub fn semaphore(value: u64) -> Named {
        Named::of(methods::Semaphore, &value)
    }

    /// A `BoundedSemaphore` ([`SemaphoreProxy`]).
    pub fn bounded_semaphore(value: u64) -> Named {
        Named::of(methods::BoundedSemaphore, &value)
    }

    /// A `Condition` ([`ConditionProxy`]).
    pub fn condition() -> Named {
        Named::of(methods::Condition, &())
    }

    /// A `Barrier` of `parties` ([`BarrierProxy`]).
    pub fn barrier(parties: u64) -> Named {
        Named::of(methods::Barrier, &parties)
    }
}

impl Manager {
    pub(in crate::manager) async fn make<K: Kind>(&self, kind: K, args: &K::New) -> Result<ObjectRef, CallError> {
        let _ = kind;
        self.make_custom(K::NAME, args).await
    }

    /// A new object of a type registered with the server.
    pub(in crate::manager) async fn make_custom<A: Serialize + ?Sized>(
        &self,
        type_name: &str,
        args: &A,
    ) -> Result<ObjectRef, CallError> {
        let (args, pins) = super::encode_for(&self.mux, args)?;
        self.make_encoded(type_name, args, pins).await
    }

    /// A new object whose arguments `args` makes from values it encodes
    /// for the server to store (proxies among them are pinned to it).
    async fn make_stored<K: Kind>(
        &self,
        kind: K,
        args: impl FnOnce() -> Result<K::New, CallError>,
    ) -> Result<ObjectRef, CallError> {
        let _ = kind;
        let (args, pins) = storing(&self.mux, || args().and_then(|args| encode(&args)));
        self.make_encoded(K::NAME, args?, pins).await
    }

    async fn make_encoded(&self, type_name: &str, args: Vec<u8>, pins: Vec<ObjectId>) -> Result<ObjectRef, CallError> {
        // Proxies of this server among the arguments (held by the caller
        // until this returns) are pinned to the new object once it has its
        // id.
        let bytes = self.mux.request(Op::Create { type_name: type_name.into(), args: args.into() }, None).await?;
        let id: ObjectId = codec::decode(&bytes, Vec::new())?;
        if !pins.is_empty() {
            self.mux.notify(Op::Pin { object: id, refs: pins });
        }
        Ok(ObjectRef::new(self.mux.clone(), id))
    }

    /// A new, empty `dict` (Python's `manager.dict()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`DictProxy`].
    pub async fn dict<K, V>(&self) -> Result<DictProxy<K, V>, CallError> {
        Ok(DictProxy::from_ref(self.make(methods::Dict, &()).await?))
    }

    /// Blocking form of [`dict`](Self::dict), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`dict`](Self::dict).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_dict<K, V>(&self) -> Result<DictProxy<K, V>, CallError> {
        crate::manager::blocking(self.dict())
    }

    /// A new, empty `list` (Python's `manager.list()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// assert!(manager.list::<u8>().await?.is_empty().await?);
    /// # Ok(()) }
    /// ```
    pub async fn list<T>(&self) -> Result<ListProxy<T>, CallError> {
        Ok(ListProxy::from_ref(self.make(methods::List, &Vec::new()).await?))
    }

    /// Blocking form of [`list`](Self::list), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`list`](Self::list).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_list<T>(&self) -> Result<ListProxy<T>, CallError> {
        crate::manager::blocking(self.list())
    }

    /// A new `list` holding `items` (Python's `manager.list(range(5))`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the server is gone or an item cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`ListProxy`].
    pub async fn list_from<T: Serialize>(&self, items: &[T]) -> Result<ListProxy<T>, CallError> {
        Ok(ListProxy::from_ref(self.make_stored(methods::List, || encode_all(items)).await?))
    }

    /// Blocking form of [`list_from`](Self::list_from), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`list_from`](Self::list_from).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_list_from<T: Serialize>(&self, items: &[T]) -> Result<ListProxy<T>, CallError> {
        crate::manager::blocking(self.list_from(items))
    }

    /// A new, empty `Namespace` (Python's `manager.Namespace()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`NamespaceProxy`].
    pub async fn namespace(&self) -> Result<NamespaceProxy, CallError> {
        Ok(NamespaceProxy::from_ref(self.make(methods::Namespace, &()).await?))
    }

    /// Blocking form of [`namespace`](Self::namespace), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`namespace`](Self::namespace).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_namespace(&self) -> Result<NamespaceProxy, CallError> {
        crate::manager::blocking(self.namespace())
    }

    /// A new value (Python's `manager.Value(typecode, value)`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the server is gone or the value cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`ValueProxy`].
    pub async fn value<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<ValueProxy<T>, CallError> {
        Ok(ValueProxy::from_ref(self.make_stored(methods::Value, || encode(value)).await?))
    }

    /// Blocking form of [`value`](Self::value), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`value`](Self::value).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_value<T: Serialize + DeserializeOwned>(&self, value: &T) -> Result<ValueProxy<T>, CallError> {
        crate::manager::blocking(self.value(value))
    }

    /// A new FIFO queue holding at most `maxsize` items, 0 for no limit
    /// (Python's `manager.Queue(maxsize)`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`QueueProxy`].
    pub async fn queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        Ok(QueueProxy::from_ref(self.make(methods::Queue, &(maxsize as u64)).await?))
    }

    /// Blocking form of [`queue`](Self::queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`queue`](Self::queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        crate::manager::blocking(self.queue(maxsize))
    }

    /// A new joinable queue (Python's `manager.JoinableQueue(maxsize)`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`QueueProxy::task_done`].
    pub async fn joinable_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        Ok(QueueProxy::from_ref(self.make(methods::JoinableQueue, &(maxsize as u64)).await?))
    }

    /// Blocking form of [`joinable_queue`](Self::joinable_queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`joinable_queue`](Self::joinable_queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_joinable_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        crate::manager::blocking(self.joinable_queue(maxsize))
    }

    /// A new last-in-first-out queue (Python's `queue.LifoQueue` through a
    /// manager).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`QueueProxy`].
    pub async fn lifo_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        Ok(QueueProxy::from_ref(self.make(methods::LifoQueue, &(maxsize as u64)).await?))
    }

    /// Blocking form of [`lifo_queue`](Self::lifo_queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`lifo_queue`](Self::lifo_queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_lifo_queue<T>(&self, maxsize: usize) -> Result<QueueProxy<T>, CallError> {
        crate::manager::blocking(self.lifo_queue(maxsize))
    }

    /// A new priority queue (Python's `queue.PriorityQueue` through a
    /// manager).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`PriorityQueueProxy`].
    pub async fn priority_queue<T>(&self, maxsize: usize) -> Result<PriorityQueueProxy<T>, CallError> {
        Ok(PriorityQueueProxy::from_ref(self.make(methods::PriorityQueue, &(maxsize as u64)).await?))
    }

    /// Blocking form of [`priority_queue`](Self::priority_queue), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`priority_queue`](Self::priority_queue).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_priority_queue<T>(&self, maxsize: usize) -> Result<PriorityQueueProxy<T>, CallError> {
        crate::manager::blocking(self.priority_queue(maxsize))
    }

    /// A new lock (Python's `manager.Lock()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`LockProxy`].
    pub async fn lock(&self) -> Result<LockProxy, CallError> {
        Ok(LockProxy::from_ref(self.make(methods::Lock, &()).await?))
    }

    /// Blocking form of [`lock`](Self::lock), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`lock`](Self::lock).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_lock(&self) -> Result<LockProxy, CallError> {
        crate::manager::blocking(self.lock())
    }

    /// A new event (Python's `manager.Event()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`EventProxy`].
    pub async fn event(&self) -> Result<EventProxy, CallError> {
        Ok(EventProxy::from_ref(self.make(methods::Event, &()).await?))
    }

    /// Blocking form of [`event`](Self::event), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`event`](Self::event).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_event(&self) -> Result<EventProxy, CallError> {
        crate::manager::blocking(self.event())
    }

    /// A new re-entrant lock (Python's `manager.RLock()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`RLockProxy`].
    pub async fn rlock(&self) -> Result<RLockProxy, CallError> {
        Ok(RLockProxy::from_ref(self.make(methods::RLock, &()).await?))
    }

    /// Blocking form of [`rlock`](Self::rlock), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`rlock`](Self::rlock).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_rlock(&self) -> Result<RLockProxy, CallError> {
        crate::manager::blocking(self.rlock())
    }

    /// A new semaphore with `value` permits (Python's
    /// `manager.Semaphore(value)`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
    pub async fn semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        Ok(SemaphoreProxy::from_ref(self.make(methods::Semaphore, &value).await?))
    }

    /// Blocking form of [`semaphore`](Self::semaphore), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`semaphore`](Self::semaphore).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        crate::manager::blocking(self.semaphore(value))
    }

    /// A new bounded semaphore (Python's `manager.BoundedSemaphore(value)`):
    /// releasing it above `value` is a `ValueError`.
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`SemaphoreProxy`].
    pub async fn bounded_semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        Ok(SemaphoreProxy::from_ref(self.make(methods::BoundedSemaphore, &value).await?))
    }

    /// Blocking form of [`bounded_semaphore`](Self::bounded_semaphore), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`bounded_semaphore`](Self::bounded_semaphore).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_bounded_semaphore(&self, value: u64) -> Result<SemaphoreProxy, CallError> {
        crate::manager::blocking(self.bounded_semaphore(value))
    }

    /// A new condition variable with its own re-entrant lock (Python's
    /// `manager.Condition()`).
    ///
    /// # Errors
    ///
    /// [`CallError::Disconnected`] if the server is gone.
    ///
    /// # Examples
    ///
    /// See [`ConditionProxy`].
    pub async fn condition(&self) -> Result<ConditionProxy, CallError> {
        Ok(ConditionProxy::from_ref(self.make(methods::Condition, &()).await?))
    }

    /// Blocking form of [`condition`](Self::condition), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`condition`](Self::condition).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_condition(&self) -> Result<ConditionProxy, CallError> {
        crate::manager::blocking(self.condition())
    }

    /// A new barrier for `parties` parties (Python's
    /// `manager.Barrier(parties)`).
    ///
    /// # Errors
    ///
    /// `ValueError` for 0 parties, or [`CallError::Disconnected`] if the
    /// server is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> ipc::Result<()> {
    /// let manager = ipc::Manager::start().await?;
    /// assert!(manager.barrier(0).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn barrier(&self, parties: u64) -> Result<BarrierProxy, CallError> {
        Ok(BarrierProxy::from_ref(self.make(methods::Barrier, &parties).await?))
    }

    /// Blocking form of [`barrier`](Self::barrier), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`barrier`](Self::barrier).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_barrier(&self, parties: u64) -> Result<BarrierProxy, CallError> {
        crate::manager::blocking(self.barrier(parties))
    }

    /// A new fixed-length array holding `items` (Python's
    /// `manager.Array(typecode, sequence)`).
    ///
    /// # Errors
    ///
    /// [`CallError`] if the server is gone or an item cannot be encoded.
    ///
    /// # Examples
    ///
    /// See [`ArrayProxy`].
    pub async fn array<T: Serialize>(&self, items: &[T]) -> Result<ArrayProxy<T>, CallError> {
        Ok(ArrayProxy::from_ref(self.make_stored(methods::Array, || encode_all(items)).await?))
    }

    /// Blocking form of [`array`](Self::array), for synchronous code: no
    /// runtime needed (a synchronous child target, a plain thread).
    ///
    /// # Errors
    ///
    /// As [`array`](Self::array).
    ///
    /// # Examples
    ///
    /// See [the blocking forms](crate::manager#blocking-forms).
    pub fn blocking_array<T: Serialize>(&self, items: &[T]) -> Result<ArrayProxy<T>, CallError> {
        crate::manager::blocking(self.array(items))
    }
}

/// Each item encoded on its own (the server stores items as bytes).
fn encode_all<T: Serialize>(items: &[T]) -> Result<Vec<Vec<u8>>, CallError> {
    items.iter().map(encode).collect()
}
