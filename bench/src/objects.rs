//! The benchmark's own BPF objects (compiled by build.rs from `bench/bpf/`): opening them with
//! chosen map sizes, loading, and finding programs and maps by name.

use libbpf_rs::{MapCore, MapFlags, Object, ObjectBuilder};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

/// T0 floor programs: empty, parse only, one hash / LPM / per-CPU array lookup.
pub static FLOORS_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/floors.bpf.o"));
/// The Cilium-layout reference datapath (see bench/bpf/cilium_ref.bpf.c).
pub static CILIUM_REF_OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cilium_ref.bpf.o"));

pub struct Loaded {
    pub object: Object,
    /// Time of the load call itself (verifier included).
    pub load_time: Duration,
}

/// Opens `bytes`, sets `max_entries` of the named maps, loads only `programs`.
pub fn load(
    bytes: &[u8],
    name: &str,
    sizes: &[(&str, u32)],
    programs: &[&str],
) -> Result<Loaded, String> {
    let mut builder = ObjectBuilder::default();
    builder.name(name).map_err(|e| format!("{name}: {e}"))?;
    let mut open = builder
        .open_memory(bytes)
        .map_err(|e| format!("open {name}: {e}"))?;
    for (map, size) in sizes {
        let mut m = open
            .maps_mut()
            .find(|m| m.name().to_string_lossy() == *map)
            .ok_or_else(|| format!("{name}: no map {map}"))?;
        m.set_max_entries((*size).max(1))
            .map_err(|e| format!("{map}: {e}"))?;
    }
    for mut prog in open.progs_mut() {
        let wanted = programs.contains(&prog.name().to_string_lossy().as_ref());
        prog.set_autoload(wanted);
    }
    let t = Instant::now();
    let object = open.load().map_err(|e| format!("load {name}: {e}"))?;
    Ok(Loaded {
        object,
        load_time: t.elapsed(),
    })
}

pub fn program<'a>(object: &'a Object, name: &str) -> Result<libbpf_rs::ProgramMut<'a>, String> {
    object
        .progs_mut()
        .find(|p| p.name().to_string_lossy() == name)
        .ok_or_else(|| format!("no program {name}"))
}

pub fn map<'a>(object: &'a Object, name: &str) -> Result<libbpf_rs::Map<'a>, String> {
    object
        .maps()
        .find(|m| m.name().to_string_lossy() == name)
        .ok_or_else(|| format!("no map {name}"))
}

/// Writes (key, value) records.
pub fn fill(object: &Object, name: &str, entries: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
    let m = map(object, name)?;
    for (k, v) in entries {
        m.update(k, v, MapFlags::ANY)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// Deletes every key of a map (conntrack between trace repetitions).
pub fn clear(object: &Object, name: &str) -> Result<(), String> {
    let m = map(object, name)?;
    let keys: Vec<Vec<u8>> = m.keys().collect();
    for k in keys {
        let _ = m.delete(&k);
    }
    Ok(())
}

/// (verified_insns, run_time_ns, run_cnt) of a loaded program.
pub fn prog_info(program: &libbpf_rs::ProgramMut<'_>) -> Result<(u32, u64, u64), String> {
    // SAFETY: bpf_prog_info is plain old data; all-zero is its documented initial state.
    let mut info: libbpf_sys::bpf_prog_info = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libbpf_sys::bpf_prog_info>() as u32;
    // SAFETY: `info` is a valid, writable bpf_prog_info of `len` bytes.
    let rc = unsafe {
        libbpf_sys::bpf_prog_get_info_by_fd(program.as_fd().as_raw_fd(), &mut info, &mut len)
    };
    if rc != 0 {
        return Err(format!("bpf_prog_get_info_by_fd: {rc}"));
    }
    Ok((info.verified_insns, info.run_time_ns, info.run_cnt))
}

/// Runs `frame` through `program` `repeat` times; returns the kernel's ns per run.
pub fn run_ns(
    program: &libbpf_rs::ProgramMut<'_>,
    frame: &[u8],
    repeat: u32,
) -> Result<(u32, f64), String> {
    let input = libbpf_rs::ProgramInput {
        data_in: Some(frame),
        repeat,
        ..Default::default()
    };
    let out = program
        .test_run(input)
        .map_err(|e| format!("test_run: {e}"))?;
    Ok((out.return_value, out.duration.as_nanos() as f64))
}
