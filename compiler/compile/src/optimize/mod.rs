//! The optimizer: identity classes, merged port functions, the hash-consed decision DAG and the
//! map-layout choice (with its cost model). Cilium's encoding of the same policy (for the build
//! report) lives in `crate::resolve::cilium_encoding`, next to the resolution it counts.

pub mod classes;
pub mod dag;
pub mod endpoint;
pub mod layout;

pub use classes::{classify, ClassId, DirectionClasses};
pub use dag::DecisionDag;
pub use endpoint::{optimize_endpoint, OptimizedEndpoint};
pub use layout::{lay_out, DirectionLayout, Keying, LayoutCost};
