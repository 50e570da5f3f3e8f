//! policyc-analysis: questions answered from the reference evaluator (`policyc_ir::oracle`)
//! — [`diff`] (which flows a change opens or closes, and which rule did it), [`flowtest`]
//! (FlowTests assertions) and [`explain`] (a verdict with the rules that decided it).

pub mod diff;
pub mod explain;
pub mod flowtest;
pub mod inputs;
