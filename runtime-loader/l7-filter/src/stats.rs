//! What the filter did: per-rule counters and a bounded list of verdict records (endpoint
//! policy, peer identity, method, path, rule, verdict) for `events`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// One judged request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerdictRecord {
    pub generation: u64,
    pub policy: u32,
    pub peer_identity: u32,
    pub port: u16,
    pub method: String,
    pub path: String,
    /// Datapath rule ids that allowed it, or that were consulted when it was denied.
    pub rules: Vec<u32>,
    pub allowed: bool,
}

/// Allowed and denied requests of one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuleCounter {
    pub allowed: u64,
    pub denied: u64,
}

/// Counters and the newest records.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<StatsInner>,
}

#[derive(Debug, Default)]
struct StatsInner {
    rules: BTreeMap<u32, RuleCounter>,
    /// Requests denied with no rule to credit (no policy, peer or port entry).
    unattributed_denied: u64,
    records: VecDeque<VerdictRecord>,
}

/// Records kept for `events`.
pub const RECORDS_KEPT: usize = 4096;

impl Stats {
    pub fn record(&self, record: VerdictRecord) {
        let mut inner = match self.inner.lock() {
            Ok(i) => i,
            Err(poisoned) => poisoned.into_inner(),
        };
        if record.rules.is_empty() && !record.allowed {
            inner.unattributed_denied += 1;
        }
        for rule in &record.rules {
            let counter = inner.rules.entry(*rule).or_default();
            if record.allowed {
                counter.allowed += 1;
            } else {
                counter.denied += 1;
            }
        }
        if inner.records.len() == RECORDS_KEPT {
            inner.records.pop_front();
        }
        inner.records.push_back(record);
    }

    /// Per-rule counters.
    pub fn counters(&self) -> BTreeMap<u32, RuleCounter> {
        match self.inner.lock() {
            Ok(i) => i.rules.clone(),
            Err(poisoned) => poisoned.into_inner().rules.clone(),
        }
    }

    /// The newest records, oldest first.
    pub fn records(&self) -> Vec<VerdictRecord> {
        match self.inner.lock() {
            Ok(i) => i.records.iter().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().records.iter().cloned().collect(),
        }
    }
}
