//! Verifier acceptance of the DNS programs, and a verified instruction count that does not
//! grow with the number of DNS patterns (1 vs 1,000).

use crate::dns_common;

use dns_common::*;
use policyc_backends::dns::{programs, DnsConfig, DnsLimits, DnsTables};
use policyc_ir::fqdn::FqdnSelector;

#[test]
fn both_dns_programs_pass_the_verifier() {
    if !kernel_tests_enabled() {
        return;
    }
    let instance = load(&sample_tables(), &DnsConfig::default());
    for program in [programs::QUERY, programs::ANSWER] {
        let insns = instance
            .verified_insns(program)
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!("{program}: {insns} verified instructions");
        assert!(insns > 0, "{program}: no verified instructions reported");
    }
}

#[test]
fn verified_instructions_do_not_grow_with_the_pattern_count() {
    if !kernel_tests_enabled() {
        return;
    }
    let one = DnsTables::compile(&[(0, glob("*.example.com"))], &DnsLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let many_selectors: Vec<(u8, FqdnSelector)> = (0..1000)
        .map(|i| {
            let selector = if i % 2 == 0 {
                glob(&format!("svc{i}-*.team{}.example.com", i % 13))
            } else {
                name(&format!("host{i}.example.org"))
            };
            ((i % 64) as u8, selector)
        })
        .collect();
    let many = DnsTables::compile(&many_selectors, &DnsLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        many.rows.len() > 100 * one.rows.len(),
        "the large DFA is large"
    );
    let small = load(&one, &DnsConfig::default());
    let large = load(&many, &DnsConfig::default());
    for program in [programs::QUERY, programs::ANSWER] {
        let a = f64::from(
            small
                .verified_insns(program)
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let b = f64::from(
            large
                .verified_insns(program)
                .unwrap_or_else(|e| panic!("{e}")),
        );
        eprintln!("{program}: 1 pattern {a}, 1000 patterns {b}");
        assert!((a - b).abs() / a < 0.10, "{program}: {a} vs {b}");
    }
}
