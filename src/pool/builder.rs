//! [`PoolBuilder`]: a pool's size, initializer and worker lifetime, and the
//! start of its workers.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::worker::{Blob, Init};
use super::{Pool, PoolError, Settings, Shared, State, slot};
use crate::codec;
use crate::process::{Entry, Returns, SpawnError, trampoline};

/// Configures a [`Pool`] (Python's `Pool(processes, initializer, initargs,
/// maxtasksperchild)`).
#[derive(Default)]
#[must_use = "a builder does nothing until you call build"]
pub struct PoolBuilder {
    pub(super) processes: Option<usize>,
    pub(super) initializer: Option<Result<Init, codec::EncodeError>>,
    pub(super) max_tasks_per_child: Option<u64>,
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("processes", &self.processes)
            .field("initializer", &self.initializer.is_some())
            .field("max_tasks_per_child", &self.max_tasks_per_child)
            .finish()
    }
}

impl PoolBuilder {
    /// The number of workers (default: [`cpu_count()`](crate::cpu_count)).
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().processes(3);
    /// ```
    pub fn processes(mut self, n: usize) -> PoolBuilder {
        self.processes = Some(n);
        self
    }

    /// Runs `target(arg)` once in each worker before its first task (and in
    /// every replacement worker).
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().initializer(|greeting: String| println!("{greeting}"), "hello".to_owned());
    /// ```
    pub fn initializer<A, T, M>(mut self, target: fn(A) -> T, arg: A) -> PoolBuilder
    where
        T: Returns<(), M>,
        A: Serialize + DeserializeOwned + 'static,
    {
        let entry = Entry::new(trampoline::<A, T, (), M>, target);
        self.initializer = Some(codec::encode(&arg).map(|(bytes, fds)| Init { entry, arg: Blob { bytes, fds } }));
        self
    }

    /// Replaces each worker after it has run `n` jobs (Python's
    /// `maxtasksperchild`; a chunk of `map` is one job).
    ///
    /// # Examples
    ///
    /// ```
    /// let _b = ipc::Pool::builder().max_tasks_per_child(100);
    /// ```
    #[doc(alias = "maxtasksperchild")]
    pub fn max_tasks_per_child(mut self, n: u64) -> PoolBuilder {
        self.max_tasks_per_child = Some(n);
        self
    }

    /// Starts the workers. With an [`initializer`](PoolBuilder::initializer)
    /// it waits until each has run it; without one it returns once they are
    /// spawned, as Python's does, and the first tasks go to whichever worker
    /// is ready first.
    ///
    /// # Errors
    ///
    /// [`PoolError::Invalid`] for 0 processes or 0 tasks per child;
    /// [`PoolError::Initializer`] if an initializer failed (no worker is
    /// left running); [`PoolError::Spawn`] if a worker could not start.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[ipc::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pool = ipc::Pool::builder().processes(1).build().await?;
    /// assert_eq!(pool.apply(|()| ipc::current_process().name().to_owned(), ()).await?, "PoolWorker-1");
    /// assert!(ipc::Pool::builder().processes(0).build().await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn build(self) -> Result<Pool, PoolError> {
        let processes = self.processes.unwrap_or_else(crate::cpu_count);
        if processes == 0 {
            return Err(PoolError::Invalid("a pool needs at least one process"));
        }
        if self.max_tasks_per_child == Some(0) {
            return Err(PoolError::Invalid("max_tasks_per_child must be at least 1"));
        }
        let initializer =
            self.initializer.transpose().map_err(|e| PoolError::Spawn(Box::new(SpawnError::Encode(e))))?;
        let settings = Settings { initializer, max_tasks_per_child: self.max_tasks_per_child };
        let mut spawned = Vec::new();
        for n in 1..=processes {
            match slot::spawn_worker(n, &settings) {
                Ok(s) => spawned.push(s),
                Err(e) => {
                    for s in spawned {
                        s.kill().await;
                    }
                    return Err(e);
                }
            }
        }
        let starts: Vec<slot::Start> = if settings.initializer.is_some() {
            // Wait for every initializer: a failed one fails the pool.
            let mut ready = Vec::new();
            let mut failure = None;
            for started in futures::future::join_all(spawned.into_iter().map(slot::Starting::ready_worker)).await {
                match started {
                    Ok(w) => ready.push(w),
                    Err(e) => failure = failure.or(Some(e)),
                }
            }
            if let Some(e) = failure {
                for w in ready {
                    w.kill().await;
                }
                return Err(e);
            }
            ready.into_iter().map(|w| slot::Start::Ready(Box::new(w))).collect()
        } else {
            spawned.into_iter().map(|s| slot::Start::Spawned(Box::new(s))).collect()
        };
        let state = State {
            queue: VecDeque::new(),
            closed: false,
            terminated: false,
            slots: processes,
            idle: processes,
            workers_started: processes,
        };
        let shared = Arc::new(Shared {
            processes,
            settings,
            runtime: tokio::runtime::Handle::current(),
            driver: (tokio::runtime::Handle::current().runtime_flavor()
                == tokio::runtime::RuntimeFlavor::CurrentThread)
                .then(|| std::thread::current().id()),
            state: Mutex::new(state),
            changed: Notify::new(),
            ended: Notify::new(),
        });
        for (slot, start) in starts.into_iter().enumerate() {
            tokio::spawn(crate::trace::instrumented!(slot::run(Arc::clone(&shared), start), "ipc.pool.slot", slot));
        }
        Ok(Pool { shared, runtime: None })
    }

    /// [`build`](PoolBuilder::build) for synchronous code (a synchronous
    /// child target, a plain `main`): the pool gets a runtime of its own,
    /// on one thread, for its bookkeeping; the `blocking_*` methods (and the
    /// async ones, awaited anywhere) then work without one of the caller's.
    ///
    /// # Errors
    ///
    /// As [`build`](PoolBuilder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     ipc::init();
    ///     let pool = ipc::Pool::builder().processes(2).blocking_build()?;
    ///     assert_eq!(pool.blocking_map(|x: u32| x * x, 0..4)?, [0, 1, 4, 9]);
    ///     pool.close();
    ///     pool.blocking_join()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn blocking_build(self) -> Result<Pool, PoolError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ipc-pool")
            .enable_all()
            .build()
            .map_err(|e| PoolError::Spawn(Box::new(SpawnError::Io(e))))?;
        // Built from a thread outside any runtime (this one may be inside
        // one, where `block_on` is refused).
        let built = std::thread::scope(|s| {
            s.spawn(|| runtime.block_on(self.build())).join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        });
        let mut pool = built?;
        pool.runtime = Some(runtime);
        Ok(pool)
    }
}
