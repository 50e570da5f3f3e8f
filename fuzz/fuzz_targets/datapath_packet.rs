//! `datapath_packet`: arbitrary bytes as a frame through the compiled datapath program of an
//! endpoint of `policy-examples/` under BPF_PROG_TEST_RUN (programs loaded once per process).
//! Input: byte 0 picks the endpoint, byte 1 the direction (bit 0) and attach kind (bit 1:
//! tcx or cgroup_skb), the rest is the Ethernet frame. Conntrack and fragment state are
//! flushed before every input, so each frame is judged as a new flow.
//!
//! Checks: the program runs (the verifier guarantees no read past the packet) and returns a
//! code of its attach kind (tcx: TCX_NEXT or TCX_DROP; cgroup_skb: 1 or 0) that agrees with
//! its event; a frame that passes without an event is ARP; a frame that passes as neighbor
//! discovery is ICMPv6 133-137; and whenever the kernel passes a frame the reference parser
//! (`policyc_fuzz::frame`) reads as a flow, the oracle allows that flow on that side — never a
//! verdict policy would not give.
#![no_main]

use libfuzzer_sys::fuzz_target;
use policyc::kernel::tables::expected_side;
use policyc_build::{compile, Compilation};
use policyc_backends::layout::{Direction as DpDirection, Reason};
use policyc_fuzz::examples::examples;
use policyc_fuzz::frame::{ethertype, parse, ETHERTYPE_ARP};
use policyc_ir::oracle::{Flow, FlowPeer, Oracle, Transport};
use policyc_ir::universe::EndpointKey;
use policyc_kernel::testrun::{TCX_DROP, TCX_NEXT};
use policyc_kernel::{AttachKind, LoaderError, TestHarness};
use std::sync::OnceLock;

const KINDS: [AttachKind; 2] = [AttachKind::Tcx, AttachKind::CgroupSkb];

fn compilation() -> &'static Compilation {
    static COMPILATION: OnceLock<Compilation> = OnceLock::new();
    COMPILATION.get_or_init(|| {
        let examples = examples();
        compile(&examples.universe, &examples.rules, &|| {})
            .unwrap_or_else(|e| panic!("policy-examples do not compile: {e}"))
    })
}

thread_local! {
    /// Every endpoint's programs (the harness is not `Sync`; libFuzzer runs on one thread).
    static HARNESSES: Vec<(EndpointKey, TestHarness)> = compilation()
        .endpoints
        .iter()
        .map(|e| {
            let harness = TestHarness::from_object_images(
                e.object.bytes(),
                &e.images,
                &compilation().ipcache_image,
                &KINDS,
            )
            .unwrap_or_else(|err| panic!("{}: the datapath does not load (root?): {err}", e.key));
            (e.key.clone(), harness)
        })
        .collect();
}

fuzz_target!(|data: &[u8]| {
    let [which, mode, frame @ ..] = data else {
        return;
    };
    HARNESSES.with(|harnesses| {
        let Some((key, harness)) = harnesses.get(usize::from(*which) % harnesses.len().max(1))
        else {
            return;
        };
        let direction = if mode & 1 == 0 {
            DpDirection::Egress
        } else {
            DpDirection::Ingress
        };
        let kind = KINDS[usize::from(mode >> 1 & 1)];
        harness
            .flush_flows()
            .unwrap_or_else(|e| panic!("flushing flows: {e}"));
        let outcome = match harness.run(direction, kind, frame) {
            Ok(outcome) => outcome,
            // The kernel refuses test input it cannot build an skb from (shorter than an
            // Ethernet header, too long): not a program run.
            Err(LoaderError::Program { .. }) => return,
            Err(e) => panic!("{key} {direction:?} {kind:?}: {e} on {frame:02x?}"),
        };
        if std::env::var_os("FUZZ_DEBUG").is_some() {
            eprintln!(
                "{key} {direction:?} {kind:?} -> {} {:?} flow {:?}",
                outcome.return_value,
                outcome.event.map(|e| (e.verdict(), e.reason())),
                parse(frame)
            );
        }
        let valid = match kind {
            AttachKind::Tcx => [TCX_NEXT, TCX_DROP].contains(&outcome.return_value),
            AttachKind::CgroupSkb => outcome.return_value <= 1,
        };
        assert!(
            valid,
            "{key} {direction:?} {kind:?}: return value {} on {frame:02x?}",
            outcome.return_value
        );
        if !outcome.passed {
            return;
        }
        let Some(event) = outcome.event else {
            assert_eq!(
                ethertype(frame),
                Some(ETHERTYPE_ARP),
                "{key} {direction:?} {kind:?}: passed without an event but is not ARP: {frame:02x?}"
            );
            return;
        };
        let flow = parse(frame);
        if event.reason() == Some(Reason::NeighborDiscovery) {
            assert!(
                matches!(
                    flow.map(|f| f.transport),
                    Some(Transport::Icmp {
                        icmp_type: 133..=137,
                        ..
                    }) | None
                ),
                "{key} {direction:?}: passed as neighbor discovery: {flow:?} {frame:02x?}"
            );
            return;
        }
        let Some(flow) = flow else {
            return;
        };
        check_oracle(key, direction, flow, frame);
    });
});

/// The kernel passed `flow` on `direction` of `key`: the oracle must allow it there.
fn check_oracle(
    key: &EndpointKey,
    direction: DpDirection,
    flow: policyc_fuzz::frame::FrameFlow,
    frame: &[u8],
) {
    let examples = examples();
    let endpoint = FlowPeer::Endpoint(key.clone());
    let (source, destination) = match direction {
        DpDirection::Egress => (endpoint, FlowPeer::Ip(flow.dst)),
        DpDirection::Ingress => (FlowPeer::Ip(flow.src), endpoint),
    };
    let verdict = Oracle::new(&examples.universe, &examples.rules)
        .evaluate(&Flow::new(source, destination, flow.transport))
        .unwrap_or_else(|e| panic!("oracle: {e}"));
    let side = match direction {
        DpDirection::Egress => &verdict.egress,
        DpDirection::Ingress => &verdict.ingress,
    };
    assert!(
        expected_side(side).passes,
        "{key} {direction:?}: the kernel passed {flow:?}, the oracle says {:?} ({:?}); frame {frame:02x?}",
        side.decision,
        side.reason
    );
}
