//! The map family: `map`, `starmap` and their chunked and async forms, and
//! the `imap` streams.

use std::sync::Arc;

use futures::FutureExt;
use futures::stream::{Stream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::gather::{Gather, Gathered, Reply};
use super::handle::{Completion, Finisher};
use super::{
    IN_FLIGHT_PER_WORKER, Job, Pool, SUBMIT_BYTES, SUBMIT_GROUP, TaskError, TaskHandle, chunk, flatten_chunk,
    gather_map,
};
use crate::codec;
use crate::process::{Entry, Returns};

impl Pool {
    /// `target` applied to every item, results in order (Python's `map`),
    /// sent to the workers in chunks of `ceil(len / (4 × processes))` as
    /// Python chooses.
    ///
    /// # Errors
    ///
    /// The first failed task's [`TaskError`] in item order (the others ran
    /// or were cancelled).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future cancels the chunks not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let squares = pool.map(|x: u64| x * x, 0..10).await?;
    /// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    /// # Ok(()) }
    /// ```
    pub async fn map<A, T, R, M, I>(&self, target: fn(A) -> T, items: I) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        let items = items.into_iter();
        match items.size_hint() {
            // The length is known (a range, a Vec, ...): no need to collect
            // (a wrong hint would only change the chunk size).
            (low, Some(high)) if low == high => {
                let size = self.default_chunk(low);
                self.run_map(chunk::entry_of(target), low, chunk::encode_stream(items, size)).await
            }
            _ => {
                let items: Vec<A> = items.collect();
                let size = self.default_chunk(items.len());
                self.run_map(chunk::entry_of(target), items.len(), items.chunks(size).map(chunk::encode)).await
            }
        }
    }

    /// [`map`](Pool::map) with chunks of `chunk_size` tasks (Python's
    /// `chunksize`).
    ///
    /// # Errors
    ///
    /// [`TaskError::Invalid`] for a chunk size of 0; otherwise as
    /// [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// assert_eq!(pool.map_chunked(|x: i32| -x, vec![1, 2, 3], 1).await?, [-1, -2, -3]);
    /// assert!(pool.map_chunked(|x: i32| -x, vec![1], 0).await.is_err());
    /// # Ok(()) }
    /// ```
    #[doc(alias = "chunksize")]
    pub async fn map_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        if chunk_size == 0 {
            return Err(TaskError::Invalid("chunk size must be at least 1"));
        }
        let items = items.into_iter();
        let len_hint = items.size_hint().0;
        self.run_map(chunk::entry_of(target), len_hint, chunk::encode_stream(items, chunk_size)).await
    }

    /// Submits the encoded chunks (in groups, the first at once, so workers
    /// start while the rest is encoded) and gathers their results in order.
    pub(super) async fn run_map<R: DeserializeOwned>(
        &self,
        entry: Entry,
        len_hint: usize,
        chunks: impl Iterator<Item = Result<chunk::Chunk, codec::EncodeError>>,
    ) -> Result<Vec<R>, TaskError> {
        // Dropping `gathered` (this future) cancels the chunks not started.
        let (gathered, counts) = self.submit_map(entry, chunks)?;
        gather_map(gathered, counts, len_hint).await
    }

    /// Submits a map's chunks now; its answers are gathered (the caller is
    /// woken for the last one, a failure, or a large one it can decode
    /// early, not once per chunk). An encode failure cancels what was
    /// submitted.
    pub(super) fn submit_map(
        &self,
        entry: Entry,
        chunks: impl Iterator<Item = Result<chunk::Chunk, codec::EncodeError>>,
    ) -> Result<(Gathered, Vec<usize>), TaskError> {
        let (gather, gathered) = Gather::new();
        let mut counts = Vec::new();
        let mut group = Vec::new();
        let mut group_bytes = 0;
        let mut chunks = chunks.peekable();
        while let Some(encoded) = chunks.next() {
            let encoded = encoded?;
            counts.push(encoded.count);
            group_bytes += encoded.blob.bytes.len();
            group.push(Job { entry, chunk: encoded.blob, reply: Reply::Gather(gather.place()) });
            if counts.len() == 1
                || group_bytes >= SUBMIT_BYTES
                || group.len() == SUBMIT_GROUP
                || chunks.peek().is_none()
            {
                self.shared.submit(group.drain(..));
                group_bytes = 0;
            }
        }
        Ok((gathered, counts))
    }

    /// A map started now, followed by a handle: its chunks are submitted
    /// here and gathered by a task of the pool, which completes the handle
    /// (callbacks included) whether or not anyone holds it.
    pub(super) fn start_map<R: DeserializeOwned + Send + 'static>(
        &self,
        entry: Entry,
        len_hint: usize,
        chunks: impl Iterator<Item = Result<chunk::Chunk, codec::EncodeError>>,
    ) -> TaskHandle<Vec<R>> {
        let (gathered, counts) = match self.submit_map(entry, chunks) {
            Ok(submitted) => submitted,
            Err(e) => return TaskHandle::done(Err(e)),
        };
        let gather = gathered.gather();
        let completion = Completion::new(Some(Box::new(move || gather.cancel())));
        let finisher = Finisher::new(completion.clone());
        self.shared.runtime.spawn(async move { finisher.finish(gather_map(gathered, counts, len_hint).await) });
        TaskHandle::new(completion).on(self.shared.driver)
    }

    /// The chunk size Python's `map` picks: `ceil(len / (4 × processes))`.
    pub(super) fn default_chunk(&self, len: usize) -> usize {
        len.div_ceil(4 * self.processes()).max(1)
    }

    /// Starts `target` over every item now and returns at once (Python's
    /// `map_async`): a [`TaskHandle`] of the results in order, with
    /// Python's default chunks. Dropping the handle detaches the work;
    /// [`callback`](TaskHandle::callback) gets the whole list.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let squares = pool.map_async(|x: u64| x * x, 0..5);
    /// // ... other work while the pool runs ...
    /// assert_eq!(squares.await?, [0, 1, 4, 9, 16]);
    /// # Ok(()) }
    /// ```
    pub fn map_async<A, T, R, M, I>(&self, target: fn(A) -> T, items: I) -> TaskHandle<Vec<R>>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        let entry = chunk::entry_of(target);
        let items = items.into_iter();
        match items.size_hint() {
            // The length is known: no need to collect (as `map`).
            (low, Some(high)) if low == high => {
                self.start_map(entry, low, chunk::encode_stream(items, self.default_chunk(low)))
            }
            _ => {
                let items: Vec<A> = items.collect();
                let size = self.default_chunk(items.len());
                self.start_map(entry, items.len(), items.chunks(size).map(chunk::encode))
            }
        }
    }

    /// [`map_async`](Pool::map_async) with chunks of `chunk_size` tasks
    /// (Python's `map_async(f, items, chunksize)`).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let h = pool.map_async_chunked(|x: u8| x + 1, [1, 2, 3], 1);
    /// assert_eq!(h.await?, [2, 3, 4]);
    /// assert!(pool.map_async_chunked(|x: u8| x, [1], 0).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn map_async_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> TaskHandle<Vec<R>>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        if chunk_size == 0 {
            return TaskHandle::done(Err(TaskError::Invalid("chunk size must be at least 1")));
        }
        let items = items.into_iter();
        let len_hint = items.size_hint().0;
        self.start_map(chunk::entry_of(target), len_hint, chunk::encode_stream(items, chunk_size))
    }

    /// [`map_async`](Pool::map_async) for targets of several arguments
    /// (Python's `starmap_async`; targets take their arguments as a tuple).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let h = pool.starmap_async(|(a, b): (u8, u8)| a * b, [(2, 3), (4, 5)]);
    /// assert_eq!(h.await?, [6, 20]);
    /// # Ok(()) }
    /// ```
    pub fn starmap_async<A, T, R, M, I>(&self, target: fn(A) -> T, items: I) -> TaskHandle<Vec<R>>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async(target, items)
    }

    /// [`starmap_async`](Pool::starmap_async) with chunks of `chunk_size`
    /// tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let h = pool.starmap_async_chunked(|(a, b): (u8, u8)| a + b, [(1, 1), (2, 2)], 1);
    /// assert_eq!(h.await?, [2, 4]);
    /// # Ok(()) }
    /// ```
    pub fn starmap_async_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> TaskHandle<Vec<R>>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_chunked(target, items, chunk_size)
    }

    /// [`map`](Pool::map) for targets of several arguments (Python's
    /// `starmap`): targets take their arguments as one tuple, so this is
    /// `map` over tuples.
    ///
    /// # Errors
    ///
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let sums = pool.starmap(|(a, b): (i32, i32)| a + b, [(1, 2), (3, 4)]).await?;
    /// assert_eq!(sums, [3, 7]);
    /// # Ok(()) }
    /// ```
    pub async fn starmap<A, T, R, M, I>(&self, target: fn(A) -> T, items: I) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map(target, items).await
    }

    /// [`starmap`](Pool::starmap) with chunks of `chunk_size` tasks
    /// (Python's `starmap(f, items, chunksize)`).
    ///
    /// # Errors
    ///
    /// As [`map_chunked`](Pool::map_chunked).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::new(2).await?;
    /// let sums = pool.starmap_chunked(|(a, b): (i32, i32)| a + b, [(1, 2), (3, 4), (5, 6)], 2).await?;
    /// assert_eq!(sums, [3, 7, 11]);
    /// # Ok(()) }
    /// ```
    pub async fn starmap_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_chunked(target, items, chunk_size).await
    }

    /// Results of `target` over `items`, in order, as a stream (Python's
    /// `imap`). Items are taken from `items` lazily — only a few per worker
    /// are in flight — so the input may be endless. Each item is its own
    /// result: a failed task is an `Err` in its place.
    ///
    /// Dropping the stream cancels the tasks not yet started.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let firsts: Vec<u64> = pool.imap(|x: u64| x * 10, 1..).take(3).map(Result::unwrap).collect().await;
    /// assert_eq!(firsts, [10, 20, 30]);
    /// # Ok(()) }
    /// ```
    pub fn imap<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin + use<A, T, R, M, I>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        self.imap_stream(target, futures::stream::iter(items))
    }

    /// [`imap`](Pool::imap) over a [`Stream`] of items.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let input = futures::stream::iter(vec![3u8, 1, 2]);
    /// let out: Vec<u8> = pool.imap_stream(|x: u8| x + 1, input).map(Result::unwrap).collect().await;
    /// assert_eq!(out, [4, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn imap_stream<A, T, R, M, S>(
        &self,
        target: fn(A) -> T,
        items: S,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin + use<A, T, R, M, S>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        S: Stream<Item = A> + Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(items.map(move |a| pool.apply_async(target, a).aborting()).buffered(bound))
    }

    /// [`imap`](Pool::imap) with chunks of `chunk_size` items per job
    /// (Python's `imap(f, items, chunksize)`): fewer messages for short
    /// tasks, the same stream of results in order. Items are still taken
    /// lazily, a chunk at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let out: Vec<u32> = pool.imap_chunked(|x: u32| x + 1, 0..10, 4).map(Result::unwrap).collect().await;
    /// assert_eq!(out, (1..11).collect::<Vec<_>>());
    /// # Ok(()) }
    /// ```
    pub fn imap_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin + use<A, T, R, M, I>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(
            futures::stream::iter(items)
                .chunks(chunk_size.max(1))
                .map(move |chunk| {
                    let n = chunk.len();
                    pool.chunk_async(target, chunk).aborting().map(move |outcome| (n, outcome))
                })
                .buffered(bound)
                .flat_map(flatten_chunk),
        )
    }

    /// Results of `target` over `items` as they finish (Python's
    /// `imap_unordered`), taking items lazily as [`imap`](Pool::imap) does.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let mut out: Vec<u32> = pool.imap_unordered(|x: u32| x * x, 0..4).map(Result::unwrap).collect().await;
    /// out.sort();
    /// assert_eq!(out, [0, 1, 4, 9]);
    /// # Ok(()) }
    /// ```
    pub fn imap_unordered<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin + use<A, T, R, M, I>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(
            futures::stream::iter(items).map(move |a| pool.apply_async(target, a).aborting()).buffer_unordered(bound),
        )
    }

    /// [`imap_unordered`](Pool::imap_unordered) with chunks of
    /// `chunk_size` items per job (Python's `imap_unordered(f, items,
    /// chunksize)`): chunks come back as they finish, the results of one
    /// chunk in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::StreamExt;
    /// let pool = ipc::Pool::new(2).await?;
    /// let mut out: Vec<u32> = pool.imap_unordered_chunked(|x: u32| x * 2, 0..6, 2).map(Result::unwrap).collect().await;
    /// out.sort();
    /// assert_eq!(out, [0, 2, 4, 6, 8, 10]);
    /// # Ok(()) }
    /// ```
    pub fn imap_unordered_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> impl Stream<Item = Result<R, TaskError>> + Send + Unpin + use<A, T, R, M, I>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let pool = Arc::clone(&self.shared);
        let bound = IN_FLIGHT_PER_WORKER * self.processes();
        Box::pin(
            futures::stream::iter(items)
                .chunks(chunk_size.max(1))
                .map(move |chunk| {
                    let n = chunk.len();
                    pool.chunk_async(target, chunk).aborting().map(move |outcome| (n, outcome))
                })
                .buffer_unordered(bound)
                .flat_map(flatten_chunk),
        )
    }
}

/// The map family's blocking forms, for synchronous code.
impl Pool {
    /// Blocking form of [`map`](Pool::map).
    ///
    /// # Errors
    ///
    /// As [`map`](Pool::map).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// See [`PoolBuilder::blocking_build`](super::PoolBuilder::blocking_build).
    pub fn blocking_map<A, T, R, M, I>(&self, target: fn(A) -> T, items: I) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async(target, items).blocking_get()
    }

    /// Blocking form of [`map_chunked`](Pool::map_chunked).
    ///
    /// # Errors
    ///
    /// As [`map_chunked`](Pool::map_chunked).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_map_chunked(|x: i8| -x, [1, 2, 3], 2)?, [-1, -2, -3]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_map_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.map_async_chunked(target, items, chunk_size).blocking_get()
    }

    /// Blocking form of [`starmap`](Pool::starmap).
    ///
    /// # Errors
    ///
    /// As [`starmap`](Pool::starmap).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_starmap(|(a, b): (u8, u8)| a + b, [(1, 2), (3, 4)])?, [3, 7]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_starmap<A, T, R, M, I>(&self, target: fn(A) -> T, items: I) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_async(target, items).blocking_get()
    }

    /// Blocking form of [`starmap_chunked`](Pool::starmap_chunked).
    ///
    /// # Errors
    ///
    /// As [`starmap_chunked`](Pool::starmap_chunked).
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_starmap_chunked(|(a, b): (u8, u8)| a * b, [(2, 3)], 1)?, [6]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_starmap_chunked<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_async_chunked(target, items, chunk_size).blocking_get()
    }

    /// [`imap`](Pool::imap) as an iterator for synchronous code (Python's
    /// `imap`, iterated): each `next()` blocks for the next result in order.
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// let tens: Vec<u64> = pool.blocking_imap(|x: u64| x * 10, 1..).take(3).map(Result::unwrap).collect();
    /// assert_eq!(tens, [10, 20, 30]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_imap<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
    ) -> impl Iterator<Item = Result<R, TaskError>> + Send + use<A, T, R, M, I>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let mut stream = self.imap(target, items);
        let driver = self.shared.driver;
        std::iter::from_fn(move || super::block_on_pool(driver, "the iterator of Pool::blocking_imap", stream.next()))
    }

    /// [`imap_unordered`](Pool::imap_unordered) as an iterator for
    /// synchronous code.
    ///
    /// # Panics
    ///
    /// On the thread of the current-thread runtime the pool runs on (a pool
    /// built with [`Pool::new`](crate::Pool::new) inside `#[tokio::main(flavor =
    /// "current_thread")]` or `#[ipc::test]`), when it would have to wait:
    /// the pool's tasks run only on that thread, so the wait could never
    /// end. Await the async form there, or call this from `spawn_blocking`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// let mut out: Vec<u8> = pool.blocking_imap_unordered(|x: u8| x + 1, [1, 2, 3]).map(Result::unwrap).collect();
    /// out.sort();
    /// assert_eq!(out, [2, 3, 4]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_imap_unordered<A, T, R, M, I>(
        &self,
        target: fn(A) -> T,
        items: I,
    ) -> impl Iterator<Item = Result<R, TaskError>> + Send + use<A, T, R, M, I>
    where
        T: Returns<R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let mut stream = self.imap_unordered(target, items);
        let driver = self.shared.driver;
        std::iter::from_fn(move || super::block_on_pool(driver, "the iterator of Pool::blocking_imap", stream.next()))
    }
}
