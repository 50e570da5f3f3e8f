//! Verifier acceptance: every entry point loads on its own for each attach kind, and the
//! verified instruction count does not depend on the number of rules (10 vs 10,000).

use crate::common;

use common::*;
use policyc_backends::layout::{Direction, Verdict};
use policyc_backends::{
    endpoint_images, ipcache_image, DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry,
    PortFunction,
};
use policyc_kernel::datapath::{DatapathInstance, LoadRequest};
use policyc_kernel::packet::Packet;
use policyc_kernel::AttachKind;

fn load(
    tables: &EndpointTables,
    ipcache: &[IpcacheEntry],
    kinds: &[AttachKind],
) -> DatapathInstance {
    let images = endpoint_images(tables).unwrap_or_else(|e| panic!("{e}"));
    let ipcache = ipcache_image(ipcache).unwrap_or_else(|e| panic!("{e}"));
    let mut maps: Vec<_> = images.maps.iter().collect();
    maps.push(&ipcache);
    let request = LoadRequest {
        config: images.config,
        maps,
        kinds: kinds.to_vec(),
    };
    DatapathInstance::load(&request).unwrap_or_else(|e| {
        panic!("verifier rejected the datapath (set POLICYC_SKIP_KERNEL_TESTS=1 to skip): {e}")
    })
}

#[test]
fn both_programs_load_for_each_attach_kind() {
    if !kernel_tests_enabled() {
        return;
    }
    for kind in AttachKind::ALL {
        let instance = load(&tables(), &ipcache(), &[kind]);
        for direction in Direction::ALL {
            let insns = instance
                .verified_insns(*direction, kind)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                insns > 0,
                "{kind:?} {direction:?}: no verified instructions reported"
            );
        }
        let other = if kind == AttachKind::Tcx {
            AttachKind::CgroupSkb
        } else {
            AttachKind::Tcx
        };
        assert!(
            instance.program(Direction::Ingress, other).is_err(),
            "{other:?} not loaded"
        );
    }
}

/// `rules` single-port allow rules spread over classes of 100 rules, one identity and one
/// /32 ipcache entry per class, in both directions.
fn tables_with_rules(rules: u32) -> (EndpointTables, Vec<IpcacheEntry>) {
    let mut ingress = DirectionTables::default_deny();
    let mut egress = DirectionTables::default_deny();
    let mut ipcache = Vec::new();
    let classes = rules.div_ceil(100);
    for class in 0..classes {
        let identity = 10_000 + class;
        let first_rule = class * 100;
        let last_rule = (first_rule + 100).min(rules);
        let ranges: Vec<_> = (first_rule..last_rule)
            .map(|r| {
                let port = u16::try_from(1000 + (r % 100) * 3).unwrap_or(0);
                iv(port, port, Verdict::Allow, r + 1)
            })
            .collect();
        let f = PortFunction::from_ranges((Verdict::DefaultDeny, 0), &ranges)
            .unwrap_or_else(|e| panic!("{e}"));
        for dir in [&mut ingress, &mut egress] {
            dir.class_of_identity.insert(identity, class + 1);
            dir.port_functions.insert((class + 1, 6), f.clone());
        }
        let [a, b, c, d] = (0x0a80_0000u32 + class).to_be_bytes();
        ipcache.push(IpcacheEntry {
            prefix: format!("{a}.{b}.{c}.{d}/32")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
            identity,
        });
    }
    let tables = EndpointTables {
        endpoint_id: 1,
        ingress,
        egress,
        options: DatapathOptions::default(),
        source_addrs: endpoint_addrs(),
    };
    (tables, ipcache)
}

#[test]
fn verified_instructions_do_not_grow_with_rules() {
    if !kernel_tests_enabled() {
        return;
    }
    let (small, small_ipcache) = tables_with_rules(10);
    let (large, large_ipcache) = tables_with_rules(10_000);
    let small_total: usize = small
        .ingress
        .port_functions
        .values()
        .map(|f| f.intervals().len())
        .sum();
    let large_total: usize = large
        .ingress
        .port_functions
        .values()
        .map(|f| f.intervals().len())
        .sum();
    assert!(
        large_total >= 10_000,
        "large table has {large_total} intervals per direction"
    );
    assert!(small_total < 30);

    let small_instance = load(&small, &small_ipcache, &AttachKind::ALL);
    let large_instance = load(&large, &large_ipcache, &AttachKind::ALL);
    for kind in AttachKind::ALL {
        for direction in Direction::ALL {
            let a = small_instance
                .verified_insns(*direction, kind)
                .unwrap_or_else(|e| panic!("{e}"));
            let b = large_instance
                .verified_insns(*direction, kind)
                .unwrap_or_else(|e| panic!("{e}"));
            eprintln!("{kind:?} {direction:?}: 10 rules {a} insns, 10000 rules {b} insns");
            let diff = f64::from(a.abs_diff(b)) / f64::from(a.max(b));
            assert!(
                diff < 0.10,
                "{kind:?} {direction:?}: {a} vs {b} verified instructions"
            );
        }
    }

    // The large tables really are in use: the last class's last rule decides.
    let harness = harness(&large, &large_ipcache);
    let last_class = 99u32;
    let [a, b, c, d] = (0x0a80_0000u32 + last_class).to_be_bytes();
    let peer = ip(&format!("{a}.{b}.{c}.{d}"));
    let port = 1000 + 99 * 3;
    for (p, allowed) in [(port, true), (port + 1, false)] {
        let packet = Packet::tcp(peer, ip(ENDPOINT_V4), 1, p);
        let o = harness
            .run(Direction::Ingress, AttachKind::Tcx, &packet.frame())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.passed, allowed, "port {p}");
        if allowed {
            assert_eq!(o.event.map(|e| e.rule_id), Some(10_000));
        }
    }
}

#[test]
fn a_rejected_program_reports_the_verifier_log() {
    if !kernel_tests_enabled() {
        return;
    }
    // Open the real datapath but load one entry point as XDP: skb helpers are not available
    // there, so the verifier must reject it and explain why.
    let mut builder = libbpf_rs::ObjectBuilder::default();
    let mut open = builder
        .open_memory(policyc_backends::DATAPATH_OBJECT)
        .unwrap_or_else(|e| panic!("{e}"));
    for mut prog in open.progs_mut() {
        let target = prog.name().to_string_lossy() == "pc_ingress_tcx";
        prog.set_autoload(target);
        if target {
            prog.set_prog_type(libbpf_rs::ProgramType::Xdp);
            prog.set_attach_type(libbpf_rs::ProgramAttachType::Xdp);
        }
    }
    match policyc_kernel::verifier::load_with_verifier_log(open) {
        Ok(_) => panic!("an XDP load of an skb program must be rejected"),
        Err(policyc_kernel::LoaderError::Verifier { log, .. }) => {
            assert!(log.contains("verifier log of pc_ingress_tcx"), "{log}");
            assert!(
                log.contains("cannot use helper"),
                "verifier text missing: {log}"
            );
        }
        Err(other) => panic!("expected a verifier error, got {other}"),
    }
}
