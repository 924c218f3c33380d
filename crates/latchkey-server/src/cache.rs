//! A small time-bounded cache for rows that every request reads and that almost never
//! change (tenants, roles). Several nodes share one database, so nothing here is
//! invalidated by other nodes: an entry is trusted for `ttl` at most, and a change made
//! on another node shows after that. A node drops its own entries when it changes them.
//! Anything that revokes access (sessions, memberships, disabled accounts) is never
//! cached.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    /// When full, the cache is emptied rather than tracking recency: the keys are
    /// tenants and roles, so reaching this means churn, not a working set.
    capacity: usize,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().ok()?;
        let (stored_at, value) = entries.get(key)?;
        (stored_at.elapsed() < self.ttl).then(|| value.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= self.capacity && !entries.contains_key(&key) {
                entries.clear();
            }
            entries.insert(key, (Instant::now(), value));
        }
    }

    /// Drops every entry `keep` rejects (a node's own change).
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        if let Ok(mut entries) = self.entries.write() {
            entries.retain(|key, (_, value)| keep(key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_can_be_dropped() {
        let cache = TtlCache::new(Duration::from_millis(0), 10);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), None, "a zero ttl keeps nothing");

        let cache = TtlCache::new(Duration::from_secs(60), 10);
        cache.insert("a", 1);
        cache.insert("b", 2);
        assert_eq!(cache.get(&"a"), Some(1));
        cache.retain(|key, _| *key != "a");
        assert_eq!(cache.get(&"a"), None);
        assert_eq!(cache.get(&"b"), Some(2));
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = TtlCache::new(Duration::from_secs(60), 2);
        cache.insert(1, "one");
        cache.insert(2, "two");
        cache.insert(2, "two again");
        assert_eq!(cache.get(&1), Some("one"), "replacing a key does not evict");
        cache.insert(3, "three");
        assert_eq!((cache.get(&1), cache.get(&2)), (None, None));
        assert_eq!(cache.get(&3), Some("three"));
    }
}
