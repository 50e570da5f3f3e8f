//! Kernel checks (feature `bpf`): the compiled datapath run under BPF_PROG_TEST_RUN and
//! compared with the oracle — [`tables`] (verdict probes per endpoint side), [`fqdn`] (the DNS
//! stage taught names), [`flowtest`] (`policyc test --datapath`).

pub mod flowtest;
pub mod fqdn;
pub mod tables;
