//! The signature-verification cache: a bounded, thread-safe LRU of signatures that verified.

use std::collections::HashMap;
use std::sync::Mutex;

/// A cache key: SHA-256 over (public key algorithm and key, signature algorithm, signed data,
/// signature), each length-prefixed so no two different tuples share an input.
pub(crate) type Key = [u8; 32];

const NIL: usize = usize::MAX;

struct Node {
    key: Key,
    prev: usize,
    next: usize,
}

/// Intrusive doubly-linked list over a slab, most recent at `head`.
struct Lru {
    map: HashMap<Key, usize>,
    nodes: Vec<Node>,
    head: usize,
    tail: usize,
    capacity: usize,
    hits: u64,
    misses: u64,
}

impl Lru {
    fn unlink(&mut self, i: usize) {
        let (prev, next) = match self.nodes.get(i) {
            Some(n) => (n.prev, n.next),
            None => return,
        };
        match self.nodes.get_mut(prev) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.nodes.get_mut(next) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    fn push_front(&mut self, i: usize) {
        let old = self.head;
        if let Some(n) = self.nodes.get_mut(i) {
            n.prev = NIL;
            n.next = old;
        }
        match self.nodes.get_mut(old) {
            Some(o) => o.prev = i,
            None => self.tail = i,
        }
        self.head = i;
    }

    fn get(&mut self, key: &Key) -> bool {
        match self.map.get(key).copied() {
            Some(i) => {
                self.unlink(i);
                self.push_front(i);
                self.hits = self.hits.saturating_add(1);
                true
            }
            None => {
                self.misses = self.misses.saturating_add(1);
                false
            }
        }
    }

    fn insert(&mut self, key: Key) {
        if self.capacity == 0 || self.map.contains_key(&key) {
            return;
        }
        let i = if self.nodes.len() < self.capacity {
            self.nodes.push(Node {
                key,
                prev: NIL,
                next: NIL,
            });
            self.nodes.len() - 1
        } else {
            // Evict the least recently used entry and reuse its slot.
            let victim = self.tail;
            self.unlink(victim);
            let Some(node) = self.nodes.get_mut(victim) else {
                return;
            };
            let old = core::mem::replace(&mut node.key, key);
            self.map.remove(&old);
            victim
        };
        self.map.insert(key, i);
        self.push_front(i);
    }
}

/// Remembers signatures that verified, so a client that sees the same chain again skips the
/// signature math (and only that: time, names, constraints and revocation are checked on
/// every verification).
///
/// Bounded (least recently used entries are evicted), thread-safe, shared through an `Arc`.
///
/// ```
/// use overture_x509_verify::SignatureCache;
/// let cache = SignatureCache::new(1024);
/// assert_eq!(cache.capacity(), 1024);
/// assert_eq!(cache.len(), 0);
/// ```
pub struct SignatureCache {
    inner: Mutex<Lru>,
}

impl core::fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (hits, misses) = self.stats();
        f.debug_struct("SignatureCache")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .field("hits", &hits)
            .field("misses", &misses)
            .finish()
    }
}

impl SignatureCache {
    /// A cache of at most `entries` verified signatures (0: remembers nothing).
    pub fn new(entries: usize) -> Self {
        Self {
            inner: Mutex::new(Lru {
                map: HashMap::with_capacity(entries.min(4096)),
                nodes: Vec::with_capacity(entries.min(4096)),
                head: NIL,
                tail: NIL,
                capacity: entries,
                hits: 0,
                misses: 0,
            }),
        }
    }

    /// The configured maximum number of entries.
    pub fn capacity(&self) -> usize {
        self.inner.lock().map(|l| l.capacity).unwrap_or(0)
    }

    /// How many entries it holds now.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|l| l.map.len()).unwrap_or(0)
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (hits, misses) since creation.
    pub fn stats(&self) -> (u64, u64) {
        self.inner
            .lock()
            .map(|l| (l.hits, l.misses))
            .unwrap_or((0, 0))
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Ok(mut l) = self.inner.lock() {
            l.map.clear();
            l.nodes.clear();
            l.head = NIL;
            l.tail = NIL;
        }
    }

    pub(crate) fn contains(&self, key: &Key) -> bool {
        // A poisoned lock only means another thread panicked mid-update: treat as a miss.
        self.inner.lock().map(|mut l| l.get(key)).unwrap_or(false)
    }

    pub(crate) fn insert(&self, key: Key) {
        if let Ok(mut l) = self.inner.lock() {
            l.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used() {
        let c = SignatureCache::new(2);
        c.insert([1; 32]);
        c.insert([2; 32]);
        assert!(c.contains(&[1; 32])); // 1 is now the most recent
        c.insert([3; 32]); // evicts 2
        assert!(c.contains(&[1; 32]));
        assert!(!c.contains(&[2; 32]));
        assert!(c.contains(&[3; 32]));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn zero_capacity_remembers_nothing() {
        let c = SignatureCache::new(0);
        c.insert([1; 32]);
        assert!(!c.contains(&[1; 32]));
        assert!(c.is_empty());
    }
}
