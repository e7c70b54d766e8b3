//! Remote changes that outlast a request: run in the background, counted as
//! they go, so a page can show how far they are and then the result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::playbook::change::Progress;

/// How long a request waits for its run before showing progress instead.
pub const WAIT: Duration = Duration::from_secs(1);
/// How long a finished run's result stays to be seen.
const KEEP: Duration = Duration::from_secs(15 * 60);

pub struct Job<T> {
    /// How far the run is: (done, total), total 0 until it knows.
    pub progress: Progress,
    result: tokio::sync::watch::Sender<Option<Arc<T>>>,
    ended: Mutex<Option<Instant>>,
    /// Ends the run's task when the server stops (as the process would).
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

impl<T> Job<T> {
    pub fn finish(&self, result: T) {
        if let Ok(mut e) = self.ended.lock() {
            *e = Some(Instant::now());
        }
        self.result.send_replace(Some(Arc::new(result)));
    }

    pub fn result(&self) -> Option<Arc<T>> {
        self.result.borrow().clone()
    }

    /// The result, if the run ends within `wait`.
    pub async fn wait(&self, wait: Duration) -> Option<Arc<T>> {
        let mut rx = self.result.subscribe();
        match tokio::time::timeout(wait, rx.wait_for(Option::is_some)).await {
            Ok(Ok(r)) => r.clone(),
            _ => None,
        }
    }

    /// The task that runs it, so that stopping the server ends it.
    pub fn ran_by(&self, task: tokio::task::AbortHandle) {
        if let Ok(mut a) = self.abort.lock() {
            *a = Some(task);
        }
    }

    pub fn progress(&self) -> (usize, usize) {
        self.progress.get()
    }

    fn stale(&self) -> bool {
        self.ended
            .lock()
            .ok()
            .and_then(|e| *e)
            .is_some_and(|at| at.elapsed() > KEEP)
    }
}

/// One run per setup at a time.
pub struct Jobs<T>(Mutex<HashMap<String, Arc<Job<T>>>>);

impl<T> Default for Jobs<T> {
    fn default() -> Self {
        Jobs(Mutex::new(HashMap::new()))
    }
}

impl<T> Jobs<T> {
    pub fn get(&self, setup: &str) -> Option<Arc<Job<T>>> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.get(setup).cloned()
    }

    /// End every run still going: the server stops, and a run must not
    /// outlive it (the next start reports it as interrupted).
    pub fn abort_all(&self) {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for job in m.values().filter(|j| j.result().is_none()) {
            if let Ok(a) = job.abort.lock()
                && let Some(a) = a.as_ref()
            {
                a.abort();
            }
        }
    }

    /// A new run for `setup`, unless one is still going (then `Err` with it).
    pub fn start(&self, setup: &str) -> Result<Arc<Job<T>>, Arc<Job<T>>> {
        // The map is never left half-changed, so a poisoned lock is still good.
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.retain(|_, j| !j.stale());
        if let Some(running) = m.get(setup).filter(|j| j.result().is_none()) {
            return Err(running.clone());
        }
        let job = Arc::new(Job {
            progress: Progress::default(),
            result: tokio::sync::watch::Sender::new(None),
            ended: Mutex::new(None),
            abort: Mutex::new(None),
        });
        m.insert(setup.to_string(), job.clone());
        Ok(job)
    }
}
