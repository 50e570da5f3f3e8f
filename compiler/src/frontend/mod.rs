//! (not yet implemented)
pub mod source;
pub mod yaml;
