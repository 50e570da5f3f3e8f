//! The DNS answer program under BPF_PROG_TEST_RUN: only answers to a pending query teach
//! addresses, all of them before the answer passes; everything else is counted and teaches
//! nothing.

use crate::dns_common;

use std::net::IpAddr;

use dns_common::*;
use policyc_backends::dns::{DnsConfig, DnsCounter};
use policyc_kernel::dns::DnsInstance;
use test_case::test_case;

const ID: u16 = 0x4242;
const SECOND: u64 = 1_000_000_000;

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * SECOND + ts.tv_nsec as u64
}

fn ask(dns: &DnsInstance, v6: bool, qname: &str) {
    let run = dns
        .run_query(&query_frame(v6, &query_message(ID, qname, false)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT, "the query is allowed");
}

fn counter(dns: &DnsInstance, which: DnsCounter) -> u64 {
    dns.counter(which).unwrap_or_else(|e| panic!("{e}"))
}

fn learned(dns: &DnsInstance) -> Vec<(IpAddr, policyc_kernel::dns::Learned)> {
    dns.learned().unwrap_or_else(|e| panic!("{e}"))
}

/// The question name `pc_dns_names` holds for `addr` (what `dns dump` shows).
fn name_of(dns: &DnsInstance, addr: IpAddr) -> Option<String> {
    let names = dns
        .map(policyc_backends::dns::map_names::NAMES)
        .unwrap_or_else(|e| panic!("{e}"));
    policyc_loader::node::dns::learned::learned_name(&names, addr)
}

#[test_case(false, 0; "ipv4 transport")]
#[test_case(true, 0; "ipv6 transport")]
#[test_case(false, 300; "min ttl raises short ttls")]
fn answer_to_an_allowed_query_learns_every_address(v6: bool, min_ttl_s: u32) {
    if !kernel_tests_enabled() {
        return;
    }
    let config = DnsConfig {
        min_ttl_s,
        redirect_peer: false,
        ..DnsConfig::default()
    };
    let dns = load(&sample_tables(), &config);
    ask(&dns, v6, "www.cilium.io");
    let records = [
        (ip("198.18.0.1"), 60),
        (ip("198.18.0.2"), 120),
        (ip("198.18.0.3"), 5),
        (ip("fd00:aa::1"), 30),
        (ip("fd00:aa::2"), 3600),
    ];
    let before = monotonic_ns();
    let run = dns
        .run_answer(&answer_frame(
            v6,
            &answer_message_with_ttls(ID, "www.cilium.io", &records),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let after = monotonic_ns();
    assert_eq!(run.return_value, TCX_NEXT, "the answer passes");
    let got = learned(&dns);
    assert_eq!(got.len(), records.len(), "{got:?}");
    for (addr, ttl) in records {
        let (_, entry) = got
            .iter()
            .find(|(a, _)| *a == addr)
            .unwrap_or_else(|| panic!("{addr} not learned"));
        assert_eq!(entry.selectors, 0b010, "the *.cilium.io class");
        assert_eq!(name_of(&dns, addr).as_deref(), Some("www.cilium.io."));
        let lifetime = u64::from(ttl.max(min_ttl_s)) * SECOND;
        assert!(
            entry.expiry_ns >= before + lifetime && entry.expiry_ns <= after + lifetime,
            "{addr}: expiry {} not in [{}, {}]",
            entry.expiry_ns,
            before + lifetime,
            after + lifetime
        );
    }
    assert_eq!(counter(&dns, DnsCounter::Learned), records.len() as u64);
    assert!(
        dns.pending(endpoint(v6), CLIENT_PORT, ID)
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "the pending entry is consumed"
    );
    // A replay of the same answer is now unsolicited.
    dns.run_answer(&answer_frame(
        v6,
        &answer_message_with_ttls(ID, "www.cilium.io", &records),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counter(&dns, DnsCounter::Unsolicited), 1);
}

#[test]
fn a_second_name_adds_its_class_to_a_known_address() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let shared = [(ip("198.18.7.7"), 60)];
    ask(&dns, false, "www.cilium.io");
    dns.run_answer(&answer_frame(
        false,
        &answer_message_with_ttls(ID, "www.cilium.io", &shared),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    ask(&dns, false, "api.example.com");
    dns.run_answer(&answer_frame(
        false,
        &answer_message_with_ttls(ID, "api.example.com", &shared),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let got = learned(&dns);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.selectors, 0b011);
    assert_eq!(
        name_of(&dns, ip("198.18.7.7")).as_deref(),
        Some("api.example.com."),
        "the name that taught it last"
    );
}

#[test]
fn unsolicited_answer_teaches_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let records = [(ip("198.18.0.9"), 60)];
    let run = dns
        .run_answer(&answer_frame(
            false,
            &answer_message_with_ttls(ID, "www.cilium.io", &records),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT);
    assert!(learned(&dns).is_empty());
    assert_eq!(counter(&dns, DnsCounter::Unsolicited), 1);
    assert_eq!(counter(&dns, DnsCounter::Learned), 0);
}

#[test]
fn answer_for_another_name_teaches_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    ask(&dns, false, "www.cilium.io");
    let records = [(ip("198.18.0.9"), 60)];
    dns.run_answer(&answer_frame(
        false,
        &answer_message_with_ttls(ID, "evil.cilium.io", &records),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(learned(&dns).is_empty());
    assert_eq!(counter(&dns, DnsCounter::Unsolicited), 1);
}

#[test]
fn answer_from_another_server_teaches_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    ask(&dns, false, "www.cilium.io");
    let frame =
        policyc_kernel::packet::Packet::udp(ip("10.0.66.66"), endpoint(false), 53, CLIENT_PORT)
            .with_payload(&answer_message_with_ttls(
                ID,
                "www.cilium.io",
                &[(ip("198.18.0.9"), 60)],
            ))
            .frame();
    dns.run_answer(&frame).unwrap_or_else(|e| panic!("{e}"));
    assert!(learned(&dns).is_empty());
    assert_eq!(counter(&dns, DnsCounter::Unsolicited), 1);
}

fn pointer_loop() -> Vec<u8> {
    let mut m = answer_message_with_ttls(
        ID,
        "www.cilium.io",
        &[(ip("198.18.0.1"), 60), (ip("198.18.0.2"), 60)],
    );
    // The second record's owner name points at itself.
    let second = m.len() - 16;
    m[second] = 0xc0 | ((second >> 8) as u8);
    m[second + 1] = second as u8;
    m
}

fn forward_pointer() -> Vec<u8> {
    let mut m = answer_message_with_ttls(
        ID,
        "www.cilium.io",
        &[(ip("198.18.0.1"), 60), (ip("198.18.0.2"), 60)],
    );
    let first = m.len() - 32;
    m[first + 1] = (m.len() - 16) as u8;
    m
}

fn truncated_last_record() -> Vec<u8> {
    let mut m = answer_message_with_ttls(
        ID,
        "www.cilium.io",
        &[(ip("198.18.0.1"), 60), (ip("198.18.0.2"), 60)],
    );
    m.truncate(m.len() - 2);
    m
}

fn bad_label_in_owner() -> Vec<u8> {
    let mut m = answer_message_with_ttls(
        ID,
        "www.cilium.io",
        &[(ip("198.18.0.1"), 60), (ip("198.18.0.2"), 60)],
    );
    let second = m.len() - 16;
    m[second] = 0x80;
    m
}

fn a_record_of_five_bytes() -> Vec<u8> {
    let mut m = answer_message_with_ttls(ID, "www.cilium.io", &[(ip("198.18.0.1"), 60)]);
    let at = m.len() - 6;
    m[at + 1] = 5;
    m.push(0);
    m
}

fn more_answers_than_present() -> Vec<u8> {
    let mut m = answer_message_with_ttls(ID, "www.cilium.io", &[(ip("198.18.0.1"), 60)]);
    m[7] = 3;
    m
}

#[test_case(pointer_loop(); "compression loop")]
#[test_case(forward_pointer(); "forward pointer")]
#[test_case(truncated_last_record(); "truncated last record")]
#[test_case(bad_label_in_owner(); "label type 0x80 in an owner name")]
#[test_case(a_record_of_five_bytes(); "A record with rdlength 5")]
#[test_case(more_answers_than_present(); "ancount larger than the message")]
fn unparseable_answer_teaches_nothing_at_all(message: Vec<u8>) {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    ask(&dns, false, "www.cilium.io");
    let run = dns
        .run_answer(&answer_frame(false, &message))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT, "not our call to drop it");
    assert!(
        learned(&dns).is_empty(),
        "not even the records before the fault"
    );
    assert_eq!(counter(&dns, DnsCounter::Unparseable), 1);
    assert_eq!(counter(&dns, DnsCounter::Learned), 0);
}

#[test]
fn error_answers_teach_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    ask(&dns, false, "www.cilium.io");
    let mut m = answer_message_with_ttls(ID, "www.cilium.io", &[(ip("198.18.0.1"), 60)]);
    m[3] = 0x83; // NXDOMAIN
    dns.run_answer(&answer_frame(false, &m))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(learned(&dns).is_empty());
}

#[test]
fn a_synthesized_refused_answer_teaches_nothing() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let run = dns
        .run_query(&query_frame(false, &query_message(ID, "evil.com", false)))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TC_ACT_REDIRECT);
    // BPF_PROG_TEST_RUN does not carry skb->mark out, so this checks the unmarked case:
    // an unmarked REFUSED answer is unsolicited and teaches nothing.
    dns.run_answer(&run.packet)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(learned(&dns).is_empty());
    assert_eq!(counter(&dns, DnsCounter::Unsolicited), 1);
}

#[test]
fn up_to_sixty_four_records_are_learned_and_later_ones_are_not_examined() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    ask(&dns, true, "www.cilium.io");
    let records: Vec<(IpAddr, u32)> = (0..70u8)
        .map(|i| (IpAddr::from([198, 18, 1, i]), 60))
        .collect();
    dns.run_answer(&answer_frame(
        true,
        &answer_message_with_ttls(ID, "www.cilium.io", &records),
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let got = learned(&dns);
    assert_eq!(got.len(), 64);
    assert!(got
        .iter()
        .all(|(addr, _)| records[..64].iter().any(|(a, _)| a == addr)));
}

/// Issue 17, finding 6: an answer the pod's resolver controls cannot teach the node-wide map
/// loopback, link-local (the cloud metadata address), multicast or reserved addresses, nor
/// keep an address open for longer than `PC_DNS_MAX_TTL_S`.
#[test]
fn answers_teach_no_reserved_address_and_no_ttl_beyond_the_cap() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    ask(&dns, false, "www.cilium.io");
    let never = [
        "169.254.169.254",
        "169.254.0.1",
        "127.0.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "::ffff:198.18.0.1",
        "fe80::1",
        "ff02::1",
    ];
    let mut records: Vec<(IpAddr, u32)> = never.iter().map(|a| (ip(a), 60)).collect();
    records.push((ip("198.18.0.9"), u32::MAX >> 1));
    let before = monotonic_ns();
    let run = dns
        .run_answer(&answer_frame(
            false,
            &answer_message_with_ttls(ID, "www.cilium.io", &records),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT, "the answer still passes");
    let got = learned(&dns);
    let addrs: Vec<IpAddr> = got.iter().map(|(a, _)| *a).collect();
    assert_eq!(
        addrs,
        vec![ip("198.18.0.9")],
        "only the routable address is learned"
    );
    let cap = u64::from(policyc_backends::dns::MAX_TTL_S) * SECOND;
    assert!(
        got[0].1.expiry_ns <= monotonic_ns() + cap && got[0].1.expiry_ns >= before + cap,
        "the TTL is capped at {} s",
        policyc_backends::dns::MAX_TTL_S
    );
}

/// A DNS object whose learned map holds `capacity` entries, learning for `owner` with `quota`.
fn load_small(capacity: u32, quota: u32, owner: u32) -> DnsInstance {
    use policyc_backends::fqdn::{KEY_SIZE, VALUE_SIZE};
    let config = DnsConfig {
        learn_quota: quota,
        owner,
        ..DnsConfig::default()
    };
    let mut images = sample_tables().images(&config);
    images.push(policyc_backends::MapImage {
        name: policyc_backends::dns::map_names::LEARNED.into(),
        key_size: KEY_SIZE,
        value_size: VALUE_SIZE,
        max_entries: capacity,
        entries: Vec::new(),
    });
    DnsInstance::load_images(&images, |_| Ok(())).unwrap_or_else(|e| panic!("{e}"))
}

/// Another endpoint on the same node (the learned and owner maps are node-wide): the config
/// now names `owner`.
fn become_owner(dns: &DnsInstance, owner: u32) {
    use libbpf_rs::MapCore;
    use policyc_backends::dns_layout::DnsConfigValue;
    let map = dns
        .map(policyc_backends::dns::map_names::CONFIG)
        .unwrap_or_else(|e| panic!("{e}"));
    let key = 0u32.to_ne_bytes();
    let value = map
        .lookup(&key, libbpf_rs::MapFlags::ANY)
        .unwrap_or_else(|e| panic!("{e}"))
        .and_then(|v| DnsConfigValue::decode(&v))
        .unwrap_or_else(|| panic!("no config"));
    let value = DnsConfigValue { owner, ..value };
    map.update(&key, &value.encode(), libbpf_rs::MapFlags::ANY)
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Asks `name` and answers it with `records`.
fn teach(dns: &DnsInstance, name: &str, records: &[(IpAddr, u32)]) {
    ask(dns, false, name);
    let run = dns
        .run_answer(&answer_frame(
            false,
            &answer_message_with_ttls(ID, name, records),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.return_value, TCX_NEXT, "answers always pass");
}

fn flood_address(n: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::from(0xc613_0000u32 + n)) // 198.19.0.0/16
}

/// Issue 17, finding 6: an endpoint flooding the node-wide learned map with answers its
/// resolver controls owns at most its quota of live entries, and never pushes out the
/// addresses another endpoint learned (the map evicts nothing: a plain hash, not an LRU).
#[test]
fn a_flooding_endpoint_keeps_to_its_quota_and_evicts_no_other_endpoints_address() {
    if !kernel_tests_enabled() {
        return;
    }
    let (capacity, quota) = (256, policyc_backends::dns::learn_quota(256));
    let dns = load_small(capacity, quota, 7);
    let victim: Vec<(IpAddr, u32)> = (1..=10)
        .map(|i| (ip(&format!("198.18.7.{i}")), 3600))
        .collect();
    teach(&dns, "api.example.com", &victim);
    become_owner(&dns, 9);
    let answers = 6u32;
    for a in 0..answers {
        let records: Vec<(IpAddr, u32)> =
            (0..64).map(|i| (flood_address(a * 64 + i), 3600)).collect();
        teach(&dns, "www.cilium.io", &records);
    }
    let got = learned(&dns);
    for (addr, _) in &victim {
        let entry = got.iter().find(|(a, _)| a == addr);
        assert!(
            entry.is_some_and(|(_, v)| v.owner == 7 && v.selectors == 1),
            "{addr}: still learned for the victim, got {entry:?}"
        );
    }
    let flooded = got.iter().filter(|(_, v)| v.owner == 9).count() as u32;
    assert_eq!(
        flooded, quota,
        "the flooding endpoint owns exactly its quota"
    );
    assert_eq!(
        counter(&dns, DnsCounter::LearnQuota),
        u64::from(answers * 64 - quota),
        "the rest is counted, not learned"
    );
    // Within its quota it still refreshes what it owns.
    teach(&dns, "www.cilium.io", &[(flood_address(0), 7200)]);
    let refreshed = dns
        .learned()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|(a, _)| *a == flood_address(0))
        .map(|(_, v)| v.expiry_ns)
        .unwrap_or(0);
    assert!(
        refreshed > monotonic_ns() + 7000 * SECOND,
        "its own entry is refreshed"
    );
}

/// A full learned map makes room from expired entries only (deleted by the DNS object
/// itself, counted `reclaimed`); with no expired entry left, new addresses are counted
/// `learn_full` and learned entries stay.
#[test]
fn a_full_learned_map_makes_room_from_expired_entries_only() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load_small(128, 1000, 7);
    // 100 live entries, 28 already expired (TTL 0).
    for a in 0..2u32 {
        let records: Vec<(IpAddr, u32)> = (0..64)
            .map(|i| {
                let n = a * 64 + i;
                (flood_address(n), if n < 100 { 3600 } else { 0 })
            })
            .collect();
        teach(&dns, "www.cilium.io", &records);
    }
    assert_eq!(learned(&dns).len(), 128, "the map is full");
    let fresh: Vec<(IpAddr, u32)> = (0..40)
        .map(|i| (ip(&format!("198.18.9.{i}")), 60))
        .collect();
    teach(&dns, "api.example.com", &fresh);
    let got = learned(&dns);
    let live_kept = (0..100)
        .filter(|n| got.iter().any(|(a, _)| *a == flood_address(*n)))
        .count();
    assert_eq!(live_kept, 100, "no live entry made room");
    let fresh_learned = fresh
        .iter()
        .filter(|(f, _)| got.iter().any(|(a, _)| a == f))
        .count();
    assert_eq!(
        fresh_learned, 28,
        "as many as expired entries were reclaimed"
    );
    assert_eq!(counter(&dns, DnsCounter::Reclaimed), 28);
    assert_eq!(counter(&dns, DnsCounter::LearnFull), 12);
}

/// Learning an address whose entry expired starts it again with the asking endpoint's
/// selector bits only: the bits another name (or endpoint) taught before are not revived.
#[test]
fn an_expired_entry_is_not_revived_with_the_bits_of_whoever_taught_it_before() {
    if !kernel_tests_enabled() {
        return;
    }
    let dns = load(&sample_tables(), &DnsConfig::default());
    let addr = ip("198.18.5.5");
    teach(&dns, "api.example.com", &[(addr, 0)]); // class 0, expired at once
    teach(&dns, "www.cilium.io", &[(addr, 60)]); // class 1
    let got = learned(&dns);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].1.selectors,
        1 << 1,
        "class 1 only, class 0 not revived"
    );
}

/// Issue 17, finding 6: answers for one question name open at most `name_ip_max` addresses
/// for the endpoint (Cilium's `--tofqdns-endpoint-max-ip-per-hostname`); the rest are counted
/// `name_cap`. A repeated answer (addresses already carrying the name's bits) opens nothing
/// new and is not refused, and another name keeps its own count.
#[test]
fn one_name_opens_at_most_its_cap_of_addresses() {
    if !kernel_tests_enabled() {
        return;
    }
    let config = DnsConfig {
        name_ip_max: 100,
        ..DnsConfig::default()
    };
    let dns = load(&sample_tables(), &config);
    for a in 0..3u32 {
        let records: Vec<(IpAddr, u32)> =
            (0..64).map(|i| (flood_address(a * 64 + i), 600)).collect();
        teach(&dns, "www.cilium.io", &records);
    }
    assert_eq!(learned(&dns).len(), 100, "the cap of one name");
    assert_eq!(counter(&dns, DnsCounter::NameCap), 3 * 64 - 100);
    let again: Vec<(IpAddr, u32)> = (0..64).map(|i| (flood_address(i), 900)).collect();
    teach(&dns, "www.cilium.io", &again);
    assert_eq!(
        counter(&dns, DnsCounter::NameCap),
        3 * 64 - 100,
        "a repeated answer is not refused"
    );
    let refreshed = learned(&dns)
        .into_iter()
        .find(|(a, _)| *a == flood_address(0))
        .map(|(_, v)| v.expiry_ns)
        .unwrap_or(0);
    assert!(
        refreshed > monotonic_ns() + 800 * SECOND,
        "and refreshes its addresses"
    );
    teach(&dns, "api.example.com", &[(ip("198.18.3.3"), 60)]);
    assert!(
        learned(&dns).iter().any(|(a, _)| *a == ip("198.18.3.3")),
        "another name has its own cap"
    );
}
