//! The tables in force. A new generation replaces the old one whole: a request takes the
//! current generation once, before it is judged, so no request is judged by a mix; requests
//! already judged keep the generation they were judged by.

use std::sync::{Arc, RwLock};

use policyc_backends::l7::L7Judge;

/// One set of tables and the number the loader gave it.
#[derive(Debug)]
pub struct Generation {
    pub number: u64,
    pub judge: L7Judge,
}

/// The current generation, shared by every connection.
#[derive(Debug, Clone)]
pub struct Generations {
    current: Arc<RwLock<Arc<Generation>>>,
}

impl Generations {
    pub fn new(number: u64, judge: L7Judge) -> Self {
        Generations {
            current: Arc::new(RwLock::new(Arc::new(Generation { number, judge }))),
        }
    }

    /// The generation a request is judged by.
    pub fn current(&self) -> Arc<Generation> {
        match self.current.read() {
            Ok(g) => Arc::clone(&g),
            // A writer cannot panic between taking the lock and storing an Arc; the value is
            // whole either way.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Makes `judge` the current generation.
    pub fn install(&self, number: u64, judge: L7Judge) {
        let next = Arc::new(Generation { number, judge });
        match self.current.write() {
            Ok(mut g) => *g = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
    }
}
