//! The endpoint dispatcher in the kernel (root; a private bpffs): an empty slot drops, a flip of
//! the generation word moves BOTH directions to the other slot's programs at once, and the
//! kernel refuses a program of the other direction's attach type in a direction's program array
//! (why there is one array per direction). The DNS stage dispatcher shares the generation word:
//! the same flip switches its slots, a generation without DNS programs passes (`TCX_NEXT`), an
//! empty DNS slot drops.

use crate::common;

use std::os::fd::AsFd;
use std::path::Path;

use common::*;
use policyc_backends::layout::{Direction, Verdict};
use policyc_backends::{
    endpoint_images, ipcache_image, DatapathOptions, DirectionTables, EndpointTables, IpcacheEntry,
};
use policyc_kernel::datapath::{DatapathInstance, LoadRequest};
use policyc_kernel::packet::Packet;
use policyc_kernel::testrun::run_pinned;
use policyc_kernel::testrun::{TCX_DROP, TCX_NEXT};
use policyc_kernel::AttachKind;
use policyc_loader::node::dispatch::Dispatcher;
use policyc_loader::node::dns::dispatch::{dispatcher_pin, pass_pin, DnsDispatcher};
use policyc_loader::node::pins::NodePaths;

const ENDPOINT: &str = "test/dispatch";

/// Both directions allow UDP `port` from 127.0.0.0/8 only.
fn allowing(port: u16) -> DatapathInstance {
    allowing_as(port, AttachKind::CgroupSkb)
}

fn allowing_as(port: u16, kind: AttachKind) -> DatapathInstance {
    let mut direction = DirectionTables::default_deny();
    direction.class_of_identity.insert(5000, 1);
    direction
        .port_functions
        .insert((1, 17), function(&[iv(port, port, Verdict::Allow, 1)]));
    let tables = EndpointTables {
        endpoint_id: 5,
        ingress: direction.clone(),
        egress: direction,
        options: DatapathOptions::default(),
        // The endpoint sends from 127.0.0.1 (loopback).
        source_addrs: vec![ip("127.0.0.1")],
    };
    let prefix = "127.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"));
    let images = endpoint_images(&tables).unwrap_or_else(|e| panic!("{e}"));
    let ipcache = ipcache_image(&[IpcacheEntry {
        prefix,
        identity: 5000,
    }])
    .unwrap_or_else(|e| panic!("{e}"));
    let mut maps: Vec<_> = images.maps.iter().collect();
    maps.push(&ipcache);
    let request = LoadRequest {
        config: images.config,
        maps,
        kinds: vec![kind],
    };
    DatapathInstance::load(&request).unwrap_or_else(|e| panic!("{e}"))
}

/// The dispatcher's verdict (1 pass, 0 drop) on UDP to `port`, per direction.
fn verdicts(paths: &NodePaths, port: u16) -> [u32; 2] {
    let run = |direction: Direction, sport: u16| {
        // Ingress: from the peer to the endpoint; egress: from the endpoint to the peer.
        let (src, dst) = match direction {
            Direction::Ingress => (ip("127.0.0.2"), ip("127.0.0.1")),
            Direction::Egress => (ip("127.0.0.1"), ip("127.0.0.2")),
        };
        let packet = Packet::udp(src, dst, sport, port);
        run_pinned(&paths.dispatcher(ENDPOINT, direction), &packet.frame())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    static SPORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(30_000);
    let next = || SPORT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    [
        run(Direction::Ingress, next()),
        run(Direction::Egress, next()),
    ]
}

fn write_both(dispatcher: &Dispatcher, generation: u64, instance: &DatapathInstance) {
    for direction in [Direction::Ingress, Direction::Egress] {
        let program = instance
            .program(direction, AttachKind::CgroupSkb)
            .unwrap_or_else(|e| panic!("{e}"));
        dispatcher
            .write_slot(direction, generation, program.as_fd())
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn setup(bpffs: &Path) -> (NodePaths, Dispatcher) {
    let paths = NodePaths::new(bpffs, &bpffs.join("state"));
    std::fs::create_dir_all(paths.endpoint_dir(ENDPOINT)).unwrap_or_else(|e| panic!("{e}"));
    let dispatcher = Dispatcher::create(&paths, ENDPOINT, AttachKind::CgroupSkb)
        .unwrap_or_else(|e| panic!("{e}"));
    (paths, dispatcher)
}

#[test]
fn a_flip_switches_both_directions_and_an_empty_slot_drops() {
    if !kernel_tests_enabled() {
        return;
    }
    let bpffs = Bpffs::mount("dispatch", "flip");
    let (paths, dispatcher) = setup(&bpffs.0);
    assert_eq!(dispatcher.active_generation().ok(), Some(0));
    assert_eq!(
        verdicts(&paths, 7777),
        [0, 0],
        "empty slots drop (fail closed)"
    );

    let first = allowing(7777);
    write_both(&dispatcher, 1, &first);
    assert_eq!(
        verdicts(&paths, 7777),
        [0, 0],
        "written but not flipped: still the empty slot 0"
    );
    dispatcher.flip(1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        verdicts(&paths, 7777),
        [1, 1],
        "generation 1 in both directions"
    );
    assert_eq!(verdicts(&paths, 8888), [0, 0]);

    let second = allowing(8888);
    write_both(&dispatcher, 2, &second);
    assert_eq!(
        verdicts(&paths, 8888),
        [0, 0],
        "slot 0 written, word still 1"
    );
    dispatcher.flip(2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        verdicts(&paths, 8888),
        [1, 1],
        "generation 2 in both directions"
    );
    assert_eq!(verdicts(&paths, 7777), [0, 0]);
    assert_eq!(dispatcher.active_generation().ok(), Some(2));
    for direction in [Direction::Ingress, Direction::Egress] {
        assert!(dispatcher.slot_program_id(direction, 0).is_some());
        assert!(
            dispatcher.slot_program_id(direction, 1).is_some(),
            "the old generation stays in its slot for stragglers"
        );
    }
}

#[test]
fn a_program_array_refuses_the_other_directions_attach_type() {
    if !kernel_tests_enabled() {
        return;
    }
    let bpffs = Bpffs::mount("dispatch", "attach-type");
    let (_paths, dispatcher) = setup(&bpffs.0);
    let instance = allowing(7777);
    let ingress_program = instance
        .program(Direction::Ingress, AttachKind::CgroupSkb)
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = dispatcher.write_slot(Direction::Egress, 1, ingress_program.as_fd());
    assert!(
        refused.is_err(),
        "this kernel admitted a cgroup_skb/ingress program into the egress program array"
    );
    assert_eq!(dispatcher.slot_program_id(Direction::Egress, 1), None);
}

#[test]
fn the_dns_stage_switches_with_the_same_flip_and_passes_without_dns_programs() {
    if !kernel_tests_enabled() {
        return;
    }
    let bpffs = Bpffs::mount("dispatch", "dns-stage");
    let paths = NodePaths::new(&bpffs.0, &bpffs.0.join("state"));
    std::fs::create_dir_all(paths.endpoint_dir(ENDPOINT)).unwrap_or_else(|e| panic!("{e}"));
    let main =
        Dispatcher::create(&paths, ENDPOINT, AttachKind::Tcx).unwrap_or_else(|e| panic!("{e}"));
    let word = paths
        .endpoint_dir(ENDPOINT)
        .join(policyc_backends::dispatch::map_names::ACTIVE_GENERATION);
    let stage = DnsDispatcher::create(&paths, ENDPOINT, &word).unwrap_or_else(|e| panic!("{e}"));
    let dns_verdicts = |port: u16| {
        [Direction::Ingress, Direction::Egress].map(|direction| {
            let (src, dst) = match direction {
                Direction::Ingress => (ip("127.0.0.2"), ip("127.0.0.1")),
                Direction::Egress => (ip("127.0.0.1"), ip("127.0.0.2")),
            };
            let packet = Packet::udp(src, dst, 40_000, port);
            run_pinned(
                &dispatcher_pin(&paths, ENDPOINT, direction),
                &packet.frame(),
            )
            .unwrap_or_else(|e| panic!("{e}"))
        })
    };
    assert_eq!(dns_verdicts(7777), [TCX_DROP; 2], "empty DNS slots drop");

    // Generation 1 has no DNS programs: the pass-through goes in its DNS slots.
    for direction in [Direction::Ingress, Direction::Egress] {
        let pass =
            libbpf_rs::ProgramHandle::from_pinned_path(pass_pin(&paths, ENDPOINT, direction))
                .unwrap_or_else(|e| panic!("{e}"));
        stage
            .write_slot(direction, 1, pass.as_fd())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(dns_verdicts(7777), [TCX_DROP; 2], "written, not flipped");
    main.flip(1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        dns_verdicts(7777),
        [TCX_NEXT; 2],
        "the MAIN dispatcher's flip moved the DNS stage of both directions to generation 1"
    );

    // Generation 2's DNS slots hold programs that drop UDP/7777 (a datapath allowing 8888).
    let second = allowing_as(8888, AttachKind::Tcx);
    for direction in [Direction::Ingress, Direction::Egress] {
        let program = second
            .program(direction, AttachKind::Tcx)
            .unwrap_or_else(|e| panic!("{e}"));
        stage
            .write_slot(direction, 2, program.as_fd())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        dns_verdicts(7777),
        [TCX_NEXT; 2],
        "slot 0 written, word still 1"
    );
    main.flip(2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        dns_verdicts(7777),
        [TCX_DROP; 2],
        "generation 2 in both directions"
    );
    assert_eq!(
        dns_verdicts(8888),
        [TCX_NEXT; 2],
        "generation 2 passes its port on"
    );
}
