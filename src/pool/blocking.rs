//! The pool's blocking forms, for synchronous code.

use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[cfg(doc)]
use super::PoolBuilder;
use super::{Pool, PoolError, TaskError};
use crate::process::Target;

/// The blocking forms, for synchronous code (a synchronous child target,
/// a thread of its own): each waits for its async form's outcome on this
/// thread. A pool made in synchronous code comes from
/// [`Pool::blocking_new`] or [`PoolBuilder::blocking_build`].
impl Pool {
    /// [`new`](Pool::new) for synchronous code (see
    /// [`PoolBuilder::blocking_build`]).
    ///
    /// # Errors
    ///
    /// As [`PoolBuilder::build`].
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     ipc::init();
    ///     let pool = ipc::Pool::blocking_new(1)?;
    ///     assert_eq!(pool.blocking_apply(|s: String| s.len(), "four".to_owned())?, 4);
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_new(processes: usize) -> Result<Pool, PoolError> {
        Pool::builder().processes(processes).blocking_build()
    }

    /// Blocking form of [`apply`](Pool::apply).
    ///
    /// # Errors
    ///
    /// As [`apply`](Pool::apply).
    ///
    /// # Examples
    ///
    /// See [`blocking_new`](Pool::blocking_new).
    pub fn blocking_apply<F, A, R, M>(&self, target: F, arg: A) -> Result<R, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async(target, arg).blocking_get()
    }

    /// Blocking form of [`map`](Pool::map).
    ///
    /// # Errors
    ///
    /// As [`map`](Pool::map).
    ///
    /// # Examples
    ///
    /// See [`PoolBuilder::blocking_build`].
    pub fn blocking_map<F, A, R, M, I>(&self, target: F, items: I) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
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
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_map_chunked(|x: i8| -x, [1, 2, 3], 2)?, [-1, -2, -3]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_map_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
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
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_starmap(|(a, b): (u8, u8)| a + b, [(1, 2), (3, 4)])?, [3, 7]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_starmap<F, A, R, M, I>(&self, target: F, items: I) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
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
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(2)?;
    /// assert_eq!(pool.blocking_starmap_chunked(|(a, b): (u8, u8)| a * b, [(2, 3)], 1)?, [6]);
    /// # Ok(()) }
    /// ```
    pub fn blocking_starmap_chunked<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
        chunk_size: usize,
    ) -> Result<Vec<R>, TaskError>
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
    {
        self.starmap_async_chunked(target, items, chunk_size).blocking_get()
    }

    /// [`imap`](Pool::imap) as an iterator for synchronous code (Python's
    /// `imap`, iterated): each `next()` blocks for the next result in order.
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
    pub fn blocking_imap<F, A, R, M, I>(&self, target: F, items: I) -> impl Iterator<Item = Result<R, TaskError>> + Send
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let mut stream = self.imap(target, items);
        std::iter::from_fn(move || crate::wake::block_on(stream.next()))
    }

    /// [`imap_unordered`](Pool::imap_unordered) as an iterator for
    /// synchronous code.
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
    pub fn blocking_imap_unordered<F, A, R, M, I>(
        &self,
        target: F,
        items: I,
    ) -> impl Iterator<Item = Result<R, TaskError>> + Send
    where
        F: Target<A, R, M>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        I: IntoIterator<Item = A>,
        I::IntoIter: Send + 'static,
    {
        let mut stream = self.imap_unordered(target, items);
        std::iter::from_fn(move || crate::wake::block_on(stream.next()))
    }

    /// Blocking form of [`join`](Pool::join).
    ///
    /// # Errors
    ///
    /// As [`join`](Pool::join).
    ///
    /// # Examples
    ///
    /// See [`PoolBuilder::blocking_build`].
    pub fn blocking_join(&self) -> Result<(), PoolError> {
        crate::wake::block_on(self.join())
    }

    /// Blocking form of [`terminate`](Pool::terminate).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # ipc::init();
    /// let pool = ipc::Pool::blocking_new(1)?;
    /// let slow = pool.apply_async(|()| std::thread::sleep(std::time::Duration::from_secs(60)), ());
    /// pool.blocking_terminate();
    /// assert!(matches!(slow.blocking_get(), Err(ipc::TaskError::Terminated)));
    /// # Ok(()) }
    /// ```
    pub fn blocking_terminate(&self) {
        crate::wake::block_on(self.terminate())
    }
}
