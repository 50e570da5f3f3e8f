//! Errors of table validation, map-image construction and image files.

use thiserror::Error;

use crate::layout::Direction;

/// Why tables or images were rejected.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum BackendError {
    /// A port function has no intervals.
    #[error("port function for class {class} {direction:?} protocol {protocol} is empty")]
    EmptyPortFunction {
        class: u32,
        direction: Direction,
        protocol: u8,
    },
    /// Intervals must start at 0, be contiguous and sorted, and end at 65535.
    #[error(
        "port function for class {class} {direction:?} protocol {protocol}: {problem} at interval {index}"
    )]
    BadInterval {
        class: u32,
        direction: Direction,
        protocol: u8,
        index: usize,
        problem: &'static str,
    },
    /// Two ranges given to [`crate::tables::PortFunction::from_ranges`] overlap or are inverted.
    #[error("port range {lo}-{hi} overlaps another range or is inverted")]
    OverlappingRange { lo: u16, hi: u16 },
    /// The same prefix was given two identities.
    #[error("ipcache prefix {prefix} is listed twice")]
    DuplicatePrefix { prefix: String },
    /// An endpoint with more addresses than the datapath validates sources against.
    #[error("the endpoint has {count} addresses; the datapath validates at most {max} sources")]
    TooManySourceAddrs { count: usize, max: usize },
    /// More entries than a u32 index can address.
    #[error("map {map} would need {entries} entries, more than supported")]
    TooManyEntries { map: &'static str, entries: usize },
    /// Rule ids index the per-CPU counters array, so they must stay small.
    #[error("rule id {rule_id} exceeds the maximum {max} (rule ids index the counters map)")]
    RuleIdTooLarge { rule_id: u32, max: u32 },
    /// An image file is not in the expected format.
    #[error("map image file: {0}")]
    BadImageFile(String),
    /// I/O while writing an image file.
    #[error("map image file I/O: {0}")]
    Io(String),
}
