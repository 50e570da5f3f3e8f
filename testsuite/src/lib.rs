//! Shared helpers for the cross-crate test suite (fixture paths, corpus manifest reading).

pub mod gen;
pub mod netns;
