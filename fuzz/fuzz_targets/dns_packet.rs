//! `dns_packet`: arbitrary bytes as a DNS question through the DNS query program
//! (`pc_dns_query`) under BPF_PROG_TEST_RUN, loaded once per process with three rules:
//! `api.example.com` (exact), `*.cilium.io`, `**.svc.local`. Byte 0 picks what the rest is:
//! 0/1 a UDP/53 payload from the endpoint over IPv4/IPv6, 2/3 a TCP/53 payload (the program
//! wants one 2-byte length-prefixed message), 4+ a whole Ethernet frame. DNS state is cleared
//! before every input.
//!
//! Checks: the return value is TCX_NEXT (pass), TC_ACT_REDIRECT (REFUSED answer) or TCX_DROP;
//! a REFUSED answer is a well-formed frame; and a question the rules refuse is never passed:
//! whenever the program passes a DNS message to port 53, the reference
//! (`policyc_fuzz::dns_reference`, hickory-proto) reads it as a query with one question whose
//! name some rule matches, and the pending entry records that name's hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policyc_backends::dns::{name_hash, DnsConfig, DnsLimits, DnsTables};
use policyc_fuzz::dns_reference::{dns_message, question, Question};
use policyc_ir::fqdn::{FqdnPattern, FqdnSelector};
use policyc_kernel::dns::DnsInstance;
use policyc_kernel::packet::Packet;
use policyc_kernel::LoaderError;
use std::net::IpAddr;
use std::sync::OnceLock;

const TCX_NEXT: u32 = u32::MAX;
const TCX_DROP: u32 = 2;
const TC_ACT_REDIRECT: u32 = 7;

fn selectors() -> &'static [FqdnSelector] {
    static SELECTORS: OnceLock<Vec<FqdnSelector>> = OnceLock::new();
    SELECTORS.get_or_init(|| {
        let pattern = |text: &str| {
            FqdnPattern::pattern(text).unwrap_or_else(|e| panic!("pattern {text}: {e}"))
        };
        vec![
            FqdnSelector::MatchName(
                FqdnPattern::name("api.example.com").unwrap_or_else(|e| panic!("{e}")),
            ),
            FqdnSelector::MatchPattern(pattern("*.cilium.io")),
            FqdnSelector::MatchPattern(pattern("**.svc.local")),
        ]
    })
}

thread_local! {
    static DNS: DnsInstance = {
        let classes: Vec<(u8, FqdnSelector)> =
            (0u8..).zip(selectors().iter().cloned()).collect();
        let tables = DnsTables::compile(&classes, &DnsLimits::default())
            .unwrap_or_else(|e| panic!("DNS tables: {e}"));
        DnsInstance::load(&tables, &DnsConfig::default())
            .unwrap_or_else(|e| panic!("the DNS object does not load (root?): {e}"))
    };
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn frame_of(mode: u8, payload: &[u8]) -> Vec<u8> {
    let v6 = mode & 1 == 1;
    let (endpoint, server) = if v6 {
        (ip("fd00::10"), ip("fd00:9::53"))
    } else {
        (ip("10.0.0.10"), ip("10.0.9.53"))
    };
    match mode {
        0 | 1 => Packet::udp(endpoint, server, 40000, 53),
        2 | 3 => Packet::tcp(endpoint, server, 40000, 53),
        _ => return payload.to_vec(),
    }
    .with_payload(payload)
    .frame()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let frame = frame_of(mode.min(4), rest);
    DNS.with(|dns| {
        dns.clear_state()
            .unwrap_or_else(|e| panic!("clearing DNS state: {e}"));
        let run = match dns.run_query(&frame) {
            Ok(run) => run,
            // The kernel refuses test input it cannot build an skb from (shorter than the
            // headers its ethertype promises, ...): not a program run.
            Err(LoaderError::Program { .. }) => return,
            Err(e) => panic!("running pc_dns_query: {e} on {frame:02x?}"),
        };
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            let message = dns_message(&frame);
            eprintln!(
                "-> {} {:?}",
                run.return_value,
                message.map(|m| question(m.message))
            );
        }
        match run.return_value {
            TCX_NEXT => check_passed(dns, &frame),
            TC_ACT_REDIRECT => assert!(
                dns_message(&run.packet).is_none() || run.packet.len() >= 14,
                "REFUSED answer {:02x?}",
                run.packet
            ),
            TCX_DROP => {}
            other => panic!("pc_dns_query returned {other} on {frame:02x?}"),
        }
    });
});

/// The program passed `frame`: if it carries a DNS message to port 53, the question must be
/// one the rules allow, recorded as pending.
fn check_passed(dns: &DnsInstance, frame: &[u8]) {
    let Some(message) = dns_message(frame) else {
        return;
    };
    if message.tcp && message.message.is_empty() {
        return;
    }
    let (id, dotted) = match question(message.message) {
        Question::Name { id, dotted } => (id, dotted),
        other => panic!(
            "passed a DNS message the rules cannot allow ({other:?}): {:02x?}",
            message.message
        ),
    };
    assert!(
        selectors().iter().any(|s| s.matches(&dotted)),
        "passed a question no rule allows: {dotted:?} in {:02x?}",
        message.message
    );
    let pending = dns
        .pending(message.src, message.sport, id)
        .unwrap_or_else(|e| panic!("reading pending: {e}"));
    assert_eq!(
        pending.map(|p| p.name_hash),
        Some(name_hash(&dotted)),
        "the pending entry of {dotted:?} (id {id}) does not record its name"
    );
}
