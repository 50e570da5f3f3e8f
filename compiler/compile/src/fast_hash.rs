//! A fast, non-cryptographic hasher for the compiler's own hash maps (the Fx hash of rustc:
//! rotate, xor, multiply per word). The keys are the compiler's data (rule peer sets, class
//! behaviours, map keys), never chosen by a peer at run time, so SipHash's resistance to
//! flooding buys nothing here; profiling a T3 build put SipHash at ~10–20 % of the time.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The Fx hasher.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuildHasher = BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = HashMap<K, V, FxBuildHasher>;
pub type FxHashSet<K> = HashSet<K, FxBuildHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, Hash};

    fn hash<T: Hash>(value: &T) -> u64 {
        FxBuildHasher::default().hash_one(value)
    }

    #[test]
    fn equal_values_hash_equal_and_different_ones_differ() {
        assert_eq!(hash(&("peer", 7u32)), hash(&("peer", 7u32)));
        assert_ne!(hash(&("peer", 7u32)), hash(&("peer", 8u32)));
        assert_ne!(hash(&"abcdefgh1"), hash(&"abcdefgh2"));
    }

    #[test]
    fn a_map_keyed_by_it_finds_every_key() {
        let mut map: FxHashMap<u32, u32> = FxHashMap::default();
        for i in 0..10_000 {
            map.insert(i << 16, i);
        }
        assert!((0..10_000).all(|i| map.get(&(i << 16)) == Some(&i)));
    }
}
