//! One cache: a bounded map with a time limit on entries, and a guard that keeps a fill from
//! storing what an invalidation has replaced meanwhile.

use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use moka::sync::Cache;

pub struct Store<K, V> {
    entries: Cache<K, V>,
    /// Counts invalidations; a fill stores its result only if the count did not move while it
    /// was reading. Held while storing and while invalidating, so neither slips between the
    /// other's check and act.
    generation: Mutex<u64>,
    /// False while the instance cannot hear of changes: then nothing is read from or stored in
    /// the cache.
    live: Arc<AtomicBool>,
}

impl<K, V> Store<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `capacity` entries (or weight, with `weigh`), each for at most `time_to_live`.
    pub fn new(
        capacity: u64,
        time_to_live: Duration,
        weigh: Option<fn(&K, &V) -> u32>,
        live: Arc<AtomicBool>,
    ) -> Self {
        let mut builder = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(time_to_live)
            .support_invalidation_closures();
        if let Some(weigh) = weigh {
            builder = builder.weigher(weigh);
        }
        Self {
            entries: builder.build(),
            generation: Mutex::new(0),
            live,
        }
    }

    /// The cached value of `key`, or what `fill` reads (then kept, unless an invalidation came
    /// in the meantime).
    pub async fn get_or_fill<E, F, Fut>(&self, key: K, fill: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        if !self.live.load(Ordering::Acquire) {
            return fill().await;
        }
        if let Some(value) = self.entries.get(&key) {
            return Ok(value);
        }
        let started = *self.generation();
        let value = fill().await?;
        let generation = self.generation();
        if *generation == started && self.live.load(Ordering::Acquire) {
            self.entries.insert(key, value.clone());
        }
        Ok(value)
    }

    pub fn invalidate(&self, key: &K) {
        let mut generation = self.generation();
        *generation += 1;
        self.entries.invalidate(key);
    }

    pub fn invalidate_if(&self, predicate: impl Fn(&K, &V) -> bool + Send + Sync + 'static) {
        let mut generation = self.generation();
        *generation += 1;
        // Only fails when closures are not supported, which `new` turns on.
        let _ = self.entries.invalidate_entries_if(predicate);
    }

    pub fn clear(&self) {
        let mut generation = self.generation();
        *generation += 1;
        self.entries.invalidate_all();
    }

    fn generation(&self) -> std::sync::MutexGuard<'_, u64> {
        // A poisoned count is still a count: any change to it still stops stale fills.
        self.generation
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(live: bool) -> Store<u32, String> {
        Store::new(
            100,
            Duration::from_secs(60),
            None,
            Arc::new(AtomicBool::new(live)),
        )
    }

    async fn read(value: &str) -> Result<String, ()> {
        Ok(value.to_string())
    }

    #[tokio::test]
    async fn a_value_is_kept_until_it_is_invalidated() {
        let store = store(true);
        assert_eq!(
            store.get_or_fill(1, || read("first")).await,
            Ok("first".into())
        );
        assert_eq!(
            store.get_or_fill(1, || read("second")).await,
            Ok("first".into())
        );
        store.invalidate(&1);
        assert_eq!(
            store.get_or_fill(1, || read("third")).await,
            Ok("third".into())
        );
    }

    #[tokio::test]
    async fn a_fill_that_began_before_an_invalidation_is_not_kept() {
        let store = store(true);
        let stale = store
            .get_or_fill(1, || async {
                // The write lands while this read is under way.
                store.invalidate(&1);
                Ok::<_, ()>("read before the write".to_string())
            })
            .await;
        assert_eq!(
            stale,
            Ok("read before the write".into()),
            "the reader still gets it"
        );
        assert_eq!(
            store.get_or_fill(1, || read("after")).await,
            Ok("after".into()),
            "but it was not kept"
        );
    }

    #[tokio::test]
    async fn while_changes_cannot_be_heard_nothing_is_read_from_or_kept_in_the_cache() {
        let live = Arc::new(AtomicBool::new(true));
        let store: Store<u32, String> =
            Store::new(100, Duration::from_secs(60), None, live.clone());
        store.get_or_fill(1, || read("kept")).await.unwrap();
        live.store(false, Ordering::Release);
        assert_eq!(
            store.get_or_fill(1, || read("fresh")).await,
            Ok("fresh".into())
        );
        assert_eq!(
            store.get_or_fill(2, || read("fresh")).await,
            Ok("fresh".into())
        );
        live.store(true, Ordering::Release);
        assert_eq!(
            store.get_or_fill(2, || read("later")).await,
            Ok("later".into())
        );
    }

    #[tokio::test]
    async fn entries_can_be_dropped_by_what_they_hold() {
        let store = store(true);
        store.get_or_fill(1, || read("reader 7")).await.unwrap();
        store.get_or_fill(2, || read("reader 8")).await.unwrap();
        store.invalidate_if(|_, value| value == "reader 7");
        assert_eq!(store.get_or_fill(1, || read("new")).await, Ok("new".into()));
        assert_eq!(
            store.get_or_fill(2, || read("new")).await,
            Ok("reader 8".into())
        );
    }
}
