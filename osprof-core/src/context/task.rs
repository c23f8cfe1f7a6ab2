//! Traces owned by a tokio task: what a bare `init` inside a task starts.
//!
//! A task moves between worker threads at every `.await`, and other tasks run on its thread
//! in between, so a trace it starts cannot live in a thread's slot. It lives here instead,
//! keyed by tokio's task id: every poll of the task finds it, on whichever thread, and no
//! other task does. Each thread keeps the entry it used last, so a span looks the map up
//! only when the thread switched tasks.
//!
//! Without the `tokio` feature there are no tasks to tell apart, and this module finds none.

#[cfg(feature = "tokio")]
mod imp {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};

    use super::super::Context;

    pub(crate) type TaskId = tokio::task::Id;

    /// One task's trace. The context is taken out when the task ends it; a thread's cache
    /// may still hold the entry, and then finds it empty.
    type Entry = Arc<Mutex<Option<Context>>>;

    static TASKS: LazyLock<Mutex<HashMap<TaskId, Entry>>> = LazyLock::new(Default::default);
    /// How many tasks own a trace: zero keeps the lookup to one load.
    static OWNED: AtomicUsize = AtomicUsize::new(0);

    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        // Nothing panics while holding these locks; recover rather than spread a poison.
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The running tokio task, if any. `block_on`'s own future is not a task.
    #[inline]
    pub(crate) fn current() -> Option<TaskId> {
        tokio::task::try_id()
    }

    /// Whether this thread is inside a tokio runtime (a worker, or a `block_on`): tasks
    /// may then run on it between two spans of the code that runs now.
    pub(crate) fn in_runtime() -> bool {
        tokio::runtime::Handle::try_current().is_ok()
    }

    /// How many tasks own a trace now.
    pub(crate) fn owned() -> usize {
        OWNED.load(Ordering::Relaxed)
    }

    /// The entry this thread used last, to skip the map while one task keeps running here.
    pub(crate) struct Cache {
        last: Option<(TaskId, Entry)>,
    }

    impl Cache {
        pub(crate) const fn new() -> Cache {
            Cache { last: None }
        }
    }

    /// Runs `f` on the trace of the running task, if it owns one.
    pub(crate) fn with<R>(cache: &mut Cache, f: impl FnOnce(&mut Context) -> R) -> Option<R> {
        if OWNED.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let task = current()?;
        if let Some((id, entry)) = &cache.last
            && *id == task
        {
            let mut context = lock(entry);
            if let Some(context) = context.as_mut() {
                return Some(f(context));
            }
        }
        let entry = lock(&TASKS).get(&task)?.clone();
        let mut context = lock(&entry);
        let output = context.as_mut().map(f);
        drop(context);
        cache.last = Some((task, entry));
        output
    }

    /// Makes `context` the trace of `task`.
    pub(crate) fn insert(task: TaskId, context: Context) {
        let mut tasks = lock(&TASKS);
        let entry = tasks.entry(task).or_default();
        if lock(entry).replace(context).is_none() {
            OWNED.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ends the trace of `task`: returns its context, to be dropped by the caller.
    pub(crate) fn remove(task: TaskId) -> Option<Context> {
        let entry = lock(&TASKS).remove(&task)?;
        let context = lock(&entry).take();
        if context.is_some() {
            OWNED.fetch_sub(1, Ordering::Relaxed);
        }
        context
    }
}

#[cfg(not(feature = "tokio"))]
mod imp {
    use super::super::Context;

    /// No task can be told apart without tokio.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(crate) enum TaskId {}

    #[inline(always)]
    pub(crate) fn current() -> Option<TaskId> {
        None
    }

    pub(crate) fn in_runtime() -> bool {
        false
    }

    pub(crate) fn owned() -> usize {
        0
    }

    pub(crate) struct Cache;

    impl Cache {
        pub(crate) const fn new() -> Cache {
            Cache
        }
    }

    #[inline(always)]
    pub(crate) fn with<R>(_: &mut Cache, _: impl FnOnce(&mut Context) -> R) -> Option<R> {
        None
    }

    pub(crate) fn insert(task: TaskId, _: Context) {
        match task {}
    }

    pub(crate) fn remove(task: TaskId) -> Option<Context> {
        match task {}
    }
}

pub(crate) use imp::*;
