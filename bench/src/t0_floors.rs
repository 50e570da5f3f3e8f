//! T0: floors. BPF_PROG_TEST_RUN with a large `repeat` on one 64-byte-class IPv4/TCP frame: an
//! empty program, parse only, one hash lookup, one per-CPU array lookup, one LPM lookup in tries
//! of 1k/10k/100k dense /32 prefixes; plus the empty program at repeat = 1 (the per-run floor
//! of the T1 per-packet measurements). And the price of atomic replace: policy-loader's
//! per-endpoint dispatcher (`bpf-templates/policyc_dispatch.bpf.c`: generation lookup, one tail
//! call) in front of its own pass-through program, against that program run alone.

use crate::objects;
use crate::stats::{summarize, Summary};
use policyc_kernel::packet::Packet;
use std::net::{IpAddr, Ipv4Addr};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Floor {
    pub name: String,
    pub repeat: u32,
    pub ns: Summary,
}

fn frame(src: Ipv4Addr) -> Vec<u8> {
    Packet::tcp(
        IpAddr::V4(src),
        IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        40_000,
        80,
    )
    .frame()
}

fn host(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i)
}

fn measure(
    object: &libbpf_rs::Object,
    program: &str,
    frame: &[u8],
    repeat: u32,
    reps: usize,
) -> Result<Summary, String> {
    let prog = objects::program(object, program)?;
    let mut samples = Vec::with_capacity(reps);
    for _ in 0..reps {
        samples.push(objects::run_ns(&prog, frame, repeat)?.1);
    }
    Ok(summarize(&samples))
}

pub fn run(repeat: u32, reps: usize, lpm_sizes: &[u32]) -> Result<Vec<Floor>, String> {
    let mut floors = Vec::new();
    let hash_size = 10_000u32;
    let loaded = objects::load(
        objects::FLOORS_OBJECT,
        "floors",
        &[("fl_hash", hash_size), ("fl_lpm", 1)],
        &["fl_empty", "fl_parse", "fl_hash_lookup", "fl_array_lookup"],
    )?;
    let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..hash_size)
        .map(|i| (host(i).octets().to_vec(), (i + 1).to_ne_bytes().to_vec()))
        .collect();
    objects::fill(&loaded.object, "fl_hash", &entries)?;
    let f = frame(host(hash_size / 2));
    for (label, program, rep) in [
        (
            "empty program (repeat 1: per-run floor of T1)",
            "fl_empty",
            1,
        ),
        ("empty program", "fl_empty", repeat),
        ("parse only", "fl_parse", repeat),
        (
            "parse + 1 hash lookup (10k entries)",
            "fl_hash_lookup",
            repeat,
        ),
        ("parse + 1 per-CPU array lookup", "fl_array_lookup", repeat),
    ] {
        let reps = if rep == 1 { reps * 1000 } else { reps };
        floors.push(Floor {
            name: label.to_string(),
            repeat: rep,
            ns: measure(&loaded.object, program, &f, rep, reps)?,
        });
    }
    floors.extend(dispatcher_floors(&f, repeat, reps)?);
    for &size in lpm_sizes {
        let loaded = objects::load(
            objects::FLOORS_OBJECT,
            "floors",
            &[("fl_lpm", size)],
            &["fl_lpm_lookup"],
        )?;
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..size)
            .map(|i| {
                let mut k = 32u32.to_ne_bytes().to_vec();
                k.extend_from_slice(&host(i).octets());
                (k, (i + 1).to_ne_bytes().to_vec())
            })
            .collect();
        objects::fill(&loaded.object, "fl_lpm", &entries)?;
        floors.push(Floor {
            name: format!("parse + 1 LPM lookup ({size} /32 prefixes)"),
            repeat,
            ns: measure(
                &loaded.object,
                "fl_lpm_lookup",
                &frame(host(size / 2)),
                repeat,
                reps,
            )?,
        });
    }
    Ok(floors)
}

/// The dispatcher's own cost: the real dispatcher object with its slot 0 (generation 0) holding
/// the object's TCX_NEXT pass-through program, against the pass-through program alone. Every
/// packet of an installed endpoint pays the difference once per hook (twice on tcx endpoints,
/// whose DNS stage dispatcher follows the main one).
fn dispatcher_floors(frame: &[u8], repeat: u32, reps: usize) -> Result<Vec<Floor>, String> {
    use std::os::fd::{AsFd, AsRawFd};
    const DISPATCHER: &str = "pc_disp_egress_tcx";
    const PASS: &str = "pc_dns_pass_egress_tcx";
    let loaded = objects::load(
        policyc_backends::DISPATCH_OBJECT,
        "dispatch",
        &[],
        &[DISPATCHER, PASS],
    )?;
    let pass_fd = objects::program(&loaded.object, PASS)?.as_fd().as_raw_fd();
    let fd = u32::try_from(pass_fd).map_err(|e| format!("program fd: {e}"))?;
    objects::fill(
        &loaded.object,
        "pc_prog_egress",
        &[(0u32.to_ne_bytes().to_vec(), fd.to_ne_bytes().to_vec())],
    )?;
    // The dispatcher must really reach the pass-through (an empty slot would drop: 2).
    let (retval, _) = objects::run_ns(&objects::program(&loaded.object, DISPATCHER)?, frame, 1)?;
    if retval as i32 != -1 {
        return Err(format!(
            "dispatcher returned {retval}, not the pass-through's TCX_NEXT"
        ));
    }
    let mut out = Vec::new();
    for (label, program) in [
        ("pass-through program alone (TCX_NEXT)", PASS),
        (
            "dispatcher: generation lookup + tail call + pass-through",
            DISPATCHER,
        ),
    ] {
        out.push(Floor {
            name: label.to_string(),
            repeat,
            ns: measure(&loaded.object, program, frame, repeat, reps)?,
        });
    }
    Ok(out)
}
