//! policyc: the compiler library behind the `policyc` command.
//!
//! The module tree follows the pipeline (see `../shared/design/ARCHITECTURE.md`):
//! `frontend` (YAML with spans → schema → validation → IR) and `inventory` + `identity`
//! feed `resolve` → `optimize` → `build` (artifact via policyc-backends); `lint`, `flowtest`,
//! `explain` and `diff` read the IR and the oracle; `diagnostics` renders findings; `cli` is the edge.

pub mod build;
pub mod cli;
pub mod diagnostics;
pub mod diff;
pub mod dns;
pub mod explain;
pub mod flowtest;
pub mod frontend;
pub mod identity;
pub mod inventory;
pub mod lint;
pub mod optimize;
pub mod resolve;
