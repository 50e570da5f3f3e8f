//! `policyc explain`: why one flow is allowed or denied — the source's egress, the
//! destination's ingress, the final verdict, and each deciding rule with its provenance.

mod model;
mod render;
mod session;

pub use model::{explain, side_summary, Explanation, RuleRef, SideExplanation};
pub use render::render_text;
pub use session::{LoadFailure, Session};
