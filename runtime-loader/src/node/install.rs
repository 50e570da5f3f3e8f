//! `policy-loader apply`: installs or atomically replaces the policy of each endpoint.
//!
//! # Replace protocol (one endpoint)
//!
//! 1. **Load the new generation completely, off to the side.** A fresh object is opened from
//!    the embedded datapath, specialised (`.rodata`), its policy maps created and filled from
//!    the artifact's images, and loaded through the verifier. Its conntrack, fragment and event
//!    maps are *not* new: `reuse_pinned_map` makes the new object use the pinned `pc_ct`,
//!    `pc_frag` and `pc_events` of the endpoint, so established flows keep their entries and
//!    `events` readers keep their ring.
//! 2. **Pin it and record it** under `g<N+1>/` and `<state>/…/g<N+1>.json`. Until now nothing
//!    the kernel runs has changed.
//! 3. **Swap** each direction's pinned tcx (or cgroup) link to the new program with
//!    `BPF_LINK_UPDATE` (`BPF_F_REPLACE`, expecting the old program, so a concurrent apply cannot
//!    be silently overwritten). A link update is a single pointer exchange in the kernel
//!    (`tcx_link_update` / `cgroup_bpf_replace`): every packet at that hook runs either the old
//!    program with the old tables or the new program with the new tables — never old code with
//!    half-filled new maps, and never no program (the hook is not detached in between).
//! 4. **Clean up** every other generation (unpin; the kernel frees programs and maps once the
//!    links no longer reference them).
//!
//! Why program swap rather than updating maps in place: map updates are per entry, so a
//! replace by map writes passes through states that are neither policy (an identity's class
//! moved before its port function was written). A map-in-map generation switch would be atomic
//! too but needs datapath support; a link update needs none and also picks up a new datapath
//! object on upgrade.
//!
//! Failure anywhere before step 3 removes the new generation and leaves the old one running
//! untouched (the verifier log is part of the error). If the second direction's swap fails, the
//! first is swapped back. The two directions are swapped one after the other, microseconds
//! apart: a packet is judged at one hook by one complete generation, and a flow crossing both
//! hooks of the same endpoint in that window sees old at one and new at the other — which can
//! only differ from both versions for a flow the two versions judge differently. A process
//! killed mid-apply leaves, at every hook, either the old or the new generation pinned and
//! running (the links are pinned, generations are only removed after the swap); `status` reads
//! the live generation from the links, and the next `apply` removes the leftovers.
//!
//! Fail closed: an endpoint that cannot be installed is reported as failed and the command
//! exits non-zero; L7 redirect verdicts are refused unless `--l7-fallback=allow-l4`.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use libbpf_rs::{Link, MapHandle, ProgramHandle};
use policyc_backends::MapImage;

use super::artifact::{Artifact, EndpointInstall};
use super::error::NodeError;
use super::features::{check_kernel_features, Needs};
use super::hook::{self, steps};
use super::pins::{
    direction_name, live_state, pinned_program_id, AttachPoint, GenerationRecord, NodePaths,
    DIRECTIONS, GENERATION_MAPS, SHARED_MAPS,
};
use crate::attach::{attach_cgroup, attach_tcx};
use crate::datapath::{AttachKind, DatapathInstance, LoadRequest};

/// What to install.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Endpoints (`namespace/name`) to install; all of the artifact when empty.
    pub endpoints: Vec<String>,
    /// `--l7-fallback=allow-l4`: allow L7-redirected traffic at L4 (L7 NOT checked).
    pub l7_fallback_allow_l4: bool,
    /// Endpoints attached with cgroup_skb to a cgroup v2 directory instead of tcx.
    pub cgroups: BTreeMap<String, PathBuf>,
}

/// An endpoint installed by an apply.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Its new generation.
    pub generation: u64,
    /// The generation it replaced, if any.
    pub replaced: Option<u64>,
    /// Attach point.
    pub attach: AttachPoint,
    /// Program id per direction.
    pub program_ids: BTreeMap<String, u32>,
}

/// The result of an apply.
#[derive(Debug)]
pub struct ApplyReport {
    /// Rules whose L7 part is not enforced (only with `--l7-fallback=allow-l4`), described.
    pub l7_rules_allowed_at_l4: Vec<String>,
    /// Per endpoint, installed or why not.
    pub endpoints: Vec<(String, Result<Installed, NodeError>)>,
}

impl ApplyReport {
    /// Whether every endpoint was installed.
    pub fn all_installed(&self) -> bool {
        self.endpoints.iter().all(|(_, r)| r.is_ok())
    }
}

fn selected(artifact: &Artifact, options: &ApplyOptions) -> Result<Vec<String>, NodeError> {
    if options.endpoints.is_empty() {
        return Ok(artifact
            .manifest
            .endpoints
            .iter()
            .map(|e| e.name.clone())
            .collect());
    }
    for name in &options.endpoints {
        if artifact.manifest.endpoint(name).is_none() {
            return Err(NodeError::UnknownEndpoint(format!(
                "{name} (not in the artifact; endpoints are named namespace/name)"
            )));
        }
    }
    Ok(options.endpoints.clone())
}

fn attach_point(
    install: &EndpointInstall,
    options: &ApplyOptions,
) -> Result<AttachPoint, NodeError> {
    let name = &install.endpoint.name;
    if let Some(cgroup) = options.cgroups.get(name) {
        if !is_on_filesystem(cgroup, "cgroup2") {
            return Err(NodeError::State {
                endpoint: name.clone(),
                problem: format!(
                    "{} is not a directory of a cgroup v2 hierarchy (cgroup_skb needs cgroup2)",
                    cgroup.display()
                ),
            });
        }
        return Ok(AttachPoint::CgroupSkb {
            cgroup: cgroup.clone(),
        });
    }
    let interface = install
        .endpoint
        .attach
        .interface
        .clone()
        .ok_or_else(|| NodeError::State {
            endpoint: name.clone(),
            problem:
                "the inventory gives no interface; pass --cgroup NS/NAME=PATH to attach to a cgroup"
                    .into(),
        })?;
    let c_name = std::ffi::CString::new(interface.clone()).map_err(|_| NodeError::State {
        endpoint: name.clone(),
        problem: format!("bad interface name {interface:?}"),
    })?;
    // SAFETY: c_name is a valid NUL-terminated string.
    let ifindex = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if ifindex == 0 {
        return Err(NodeError::State {
            endpoint: name.clone(),
            problem: format!("interface {interface} does not exist in this network namespace"),
        });
    }
    Ok(AttachPoint::Tcx { interface, ifindex })
}

/// Verifies, probes and installs; returns per-endpoint outcomes (fail closed: check
/// [`ApplyReport::all_installed`]). Errors that stop the whole apply before any endpoint is
/// touched (bad artifact, missing kernel features, refused L7) are `Err`.
pub fn apply(
    paths: &NodePaths,
    artifact: &Artifact,
    options: &ApplyOptions,
) -> Result<ApplyReport, NodeError> {
    let names = selected(artifact, options)?;
    let mut installs = Vec::new();
    let mut l7 = Vec::new();
    for name in &names {
        let install = artifact.endpoint_install(name)?;
        for id in install.l7_rule_ids() {
            let rule = artifact
                .manifest
                .rule(id)
                .map(|r| r.describe())
                .unwrap_or_else(|| format!("rule #{id}"));
            l7.push(format!("{name}: {rule}"));
        }
        installs.push(install);
    }
    l7.sort();
    l7.dedup();
    if !l7.is_empty() && !options.l7_fallback_allow_l4 {
        return Err(NodeError::L7Refused(format!(
            "refusing the artifact: {} rule(s) redirect to L7 policy, which this datapath does not enforce:\n  {}\n\
             rerun with --l7-fallback=allow-l4 to allow that traffic at L4 WITHOUT checking L7",
            l7.len(),
            l7.join("\n  ")
        )));
    }
    let mut needs = Vec::new();
    for install in &installs {
        needs.push(if options.cgroups.contains_key(&install.endpoint.name) {
            Needs::Cgroup
        } else {
            Needs::Tcx
        });
    }
    check_kernel_features(&needs)?;
    std::fs::create_dir_all(&paths.pin_root).map_err(NodeError::io(&paths.pin_root))?;

    let mut endpoints = Vec::new();
    for install in &installs {
        let name = install.endpoint.name.clone();
        let outcome = attach_point(install, options).and_then(|attach| {
            install_endpoint(
                paths,
                artifact,
                install,
                attach,
                options.l7_fallback_allow_l4,
            )
        });
        endpoints.push((name, outcome));
    }
    Ok(ApplyReport {
        l7_rules_allowed_at_l4: if options.l7_fallback_allow_l4 {
            l7
        } else {
            Vec::new()
        },
        endpoints,
    })
}

fn kind_of(attach: &AttachPoint) -> AttachKind {
    match attach {
        AttachPoint::Tcx { .. } => AttachKind::Tcx,
        AttachPoint::CgroupSkb { .. } => AttachKind::CgroupSkb,
    }
}

/// Loads the new generation with the endpoint's pinned shared maps reused.
fn load_generation(
    paths: &NodePaths,
    install: &EndpointInstall,
    kind: AttachKind,
    l7_fallback: bool,
) -> Result<DatapathInstance, NodeError> {
    let name = &install.endpoint.name;
    let mut config = install.images.config;
    if l7_fallback {
        config.l7_fallback_allow_l4 = 1;
    }
    let mut maps: Vec<&MapImage> = install.images.maps.iter().collect();
    maps.push(&install.ipcache);
    let request = LoadRequest {
        config,
        maps,
        kinds: vec![kind],
    };
    let endpoint_dir = paths.endpoint_dir(name);
    DatapathInstance::load_object_with(&install.object, &request, |open| {
        for mut map in open.maps_mut() {
            let map_name = map.name().to_string_lossy().into_owned();
            if !SHARED_MAPS.contains(&map_name.as_str()) {
                continue;
            }
            let pinned = endpoint_dir.join(&map_name);
            if pinned.exists() {
                map.reuse_pinned_map(&pinned)
                    .map_err(|source| crate::LoaderError::Map {
                        map: format!("{map_name} (reusing {})", pinned.display()),
                        source,
                    })?;
            }
        }
        Ok(())
    })
    .map_err(|source| NodeError::Load {
        endpoint: name.clone(),
        source,
    })
}

/// Pins the generation's programs and maps (and the shared maps on a first install).
fn pin_generation(
    paths: &NodePaths,
    name: &str,
    generation: u64,
    instance: &DatapathInstance,
    kind: AttachKind,
) -> Result<BTreeMap<String, u32>, NodeError> {
    let dir = paths.generation_dir(name, generation);
    std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
    for map_name in GENERATION_MAPS.iter().chain(SHARED_MAPS.iter()) {
        let path = paths.map(name, generation, map_name);
        if path.exists() {
            continue; // a shared map this object reuses
        }
        let map = instance.map(map_name).map_err(|source| NodeError::Load {
            endpoint: name.to_owned(),
            source,
        })?;
        let mut handle = MapHandle::try_from(&map)
            .map_err(NodeError::kernel(name, format!("duplicating {map_name}")))?;
        handle.pin(&path).map_err(NodeError::kernel(
            name,
            format!("pinning {}", path.display()),
        ))?;
    }
    let mut ids = BTreeMap::new();
    for direction in DIRECTIONS {
        let mut program = instance
            .program(direction, kind)
            .map_err(|source| NodeError::Load {
                endpoint: name.to_owned(),
                source,
            })?;
        let path = paths.program(name, generation, direction);
        program.pin(&path).map_err(NodeError::kernel(
            name,
            format!("pinning {}", path.display()),
        ))?;
        let id = pinned_program_id(&path).ok_or_else(|| NodeError::State {
            endpoint: name.to_owned(),
            problem: format!("cannot read back {}", path.display()),
        })?;
        ids.insert(direction_name(direction).to_owned(), id);
    }
    Ok(ids)
}

/// `BPF_LINK_UPDATE`: the link at `link` runs `new` from now on; with `expected_old`, only if
/// it still runs that program.
fn swap_link(
    link: &Link,
    new: BorrowedFd<'_>,
    expected_old: Option<BorrowedFd<'_>>,
) -> Result<(), libbpf_rs::Error> {
    // SAFETY: all-zero is a valid bpf_link_update_opts once sz is set.
    let mut opts: libbpf_sys::bpf_link_update_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_link_update_opts>() as _;
    if let Some(old) = expected_old {
        opts.flags = libbpf_sys::BPF_F_REPLACE;
        opts.old_prog_fd = old.as_raw_fd() as u32;
    }
    // SAFETY: both fds are valid for the duration of the call; opts is a valid struct.
    let rc =
        unsafe { libbpf_sys::bpf_link_update(link.as_fd().as_raw_fd(), new.as_raw_fd(), &opts) };
    if rc < 0 {
        Err(libbpf_rs::Error::from_raw_os_error(-rc))
    } else {
        Ok(())
    }
}

/// Swaps both pinned links from the programs of `old` (if known) to `new`; on failure of the
/// second direction the first is swapped back.
fn swap_links(paths: &NodePaths, name: &str, old: Option<u64>, new: u64) -> Result<(), NodeError> {
    let mut done: Vec<(Link, Option<ProgramHandle>)> = Vec::new();
    for direction in DIRECTIONS {
        let result = (|| {
            let link = Link::open(paths.link(name, direction)).map_err(NodeError::kernel(
                name,
                format!("opening the {} link", direction_name(direction)),
            ))?;
            let new_prog = ProgramHandle::from_pinned_path(paths.program(name, new, direction))
                .map_err(NodeError::kernel(name, "opening the new program"))?;
            let old_prog = old.and_then(|g| {
                ProgramHandle::from_pinned_path(paths.program(name, g, direction)).ok()
            });
            swap_link(&link, new_prog.as_fd(), old_prog.as_ref().map(AsFd::as_fd)).map_err(
                NodeError::kernel(
                    name,
                    format!(
                        "swapping the {} link to generation {new}",
                        direction_name(direction)
                    ),
                ),
            )?;
            Ok((link, old_prog))
        })();
        match result {
            Ok(swapped) => done.push(swapped),
            Err(e) => {
                for (link, old_prog) in &done {
                    if let Some(old_prog) = old_prog {
                        let _ = swap_link(link, old_prog.as_fd(), None);
                    }
                }
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Attaches both directions for the first time and pins the links; on failure nothing stays
/// attached.
fn attach_fresh(
    paths: &NodePaths,
    name: &str,
    instance: &DatapathInstance,
    attach: &AttachPoint,
) -> Result<(), NodeError> {
    let mut pinned: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for direction in DIRECTIONS {
            let mut link = match attach {
                AttachPoint::Tcx { ifindex, .. } => attach_tcx(instance, direction, *ifindex),
                AttachPoint::CgroupSkb { cgroup } => attach_cgroup(instance, direction, cgroup),
            }
            .map_err(|source| NodeError::Load {
                endpoint: name.to_owned(),
                source,
            })?;
            let path = paths.link(name, direction);
            link.pin(&path).map_err(NodeError::kernel(
                name,
                format!("pinning {}", path.display()),
            ))?;
            pinned.push(path);
        }
        Ok(())
    })();
    if result.is_err() {
        for path in pinned {
            let _ = std::fs::remove_file(path); // the last reference: the kernel detaches it
        }
    }
    result
}

fn install_endpoint(
    paths: &NodePaths,
    artifact: &Artifact,
    install: &EndpointInstall,
    attach: AttachPoint,
    l7_fallback: bool,
) -> Result<Installed, NodeError> {
    let name = install.endpoint.name.as_str();
    let live = live_state(paths, name);
    let live_generations: Vec<u64> = live.generations.iter().filter_map(|(_, g)| *g).collect();
    let both_links = live.link_program_ids.iter().all(|(_, id)| id.is_some());
    if !both_links {
        // A first install, or a half-finished one: start from no links at all.
        for direction in DIRECTIONS {
            let _ = std::fs::remove_file(paths.link(name, direction));
        }
    }
    for generation in paths.generations(name) {
        if !both_links || !live_generations.contains(&generation) {
            paths.remove_generation(name, generation); // leftovers of an interrupted apply
        }
    }
    let old = if both_links { live.generation() } else { None };
    let generation = paths.generations(name).into_iter().max().unwrap_or(0) + 1;
    let kind = kind_of(&attach);
    if let Some(old_record) = old.and_then(|g| paths.read_record(name, g).ok()) {
        if kind_of(&old_record.attach) != kind {
            return Err(NodeError::State {
                endpoint: name.to_owned(),
                problem: format!(
                    "installed with {}, the new policy wants {attach}: unload the endpoint first",
                    old_record.attach
                ),
            });
        }
    }
    let endpoint_dir = paths.endpoint_dir(name);
    std::fs::create_dir_all(&endpoint_dir).map_err(NodeError::io(&endpoint_dir))?;

    let instance = load_generation(paths, install, kind, l7_fallback)?;
    let staged = (|| {
        hook::at(steps::LOADED)?;
        let program_ids = pin_generation(paths, name, generation, &instance, kind)?;
        paths.write_record(&GenerationRecord {
            endpoint: name.to_owned(),
            generation,
            artifact_digest: artifact.digest.clone(),
            artifact_dir: std::fs::canonicalize(&artifact.dir)
                .unwrap_or_else(|_| artifact.dir.clone()),
            attach: attach.clone(),
            program_ids: program_ids.clone(),
            l7_fallback_allow_l4: l7_fallback,
            manifest: artifact.manifest.clone(),
        })?;
        hook::at(steps::PINNED)?;
        if both_links {
            swap_links(paths, name, old, generation)?;
        } else {
            attach_fresh(paths, name, &instance, &attach)?;
        }
        Ok(program_ids)
    })();
    let program_ids = match staged {
        Ok(ids) => ids,
        Err(e) => {
            paths.remove_generation(name, generation);
            if !both_links {
                let _ = std::fs::remove_dir_all(&endpoint_dir);
                let _ = std::fs::remove_dir_all(paths.record_dir(name));
            }
            return Err(e);
        }
    };
    hook::at(steps::SWAPPED)?;
    for stale in paths.generations(name) {
        if stale != generation {
            paths.remove_generation(name, stale);
        }
    }
    Ok(Installed {
        generation,
        replaced: old,
        attach,
        program_ids,
    })
}

/// Whether `path` is on a mounted bpffs (by `/proc/self/mounts`, longest mount prefix).
pub fn is_on_bpffs(path: &Path) -> bool {
    is_on_filesystem(path, "bpf")
}

/// Whether `path` is on a mounted filesystem of type `fs_type` (longest mount prefix).
pub fn is_on_filesystem(path: &Path, wanted: &str) -> bool {
    let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    let mut probe = path.to_path_buf();
    while !probe.exists() {
        if !probe.pop() {
            return false;
        }
    }
    let Ok(path) = std::fs::canonicalize(probe) else {
        return false;
    };
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _device = fields.next()?;
            let mount_point = fields.next()?;
            let fs_type = fields.next()?;
            Some((PathBuf::from(mount_point), fs_type == wanted))
        })
        .filter(|(mount_point, _)| path.starts_with(mount_point))
        .max_by_key(|(mount_point, _)| mount_point.as_os_str().len())
        .is_some_and(|(_, bpf)| bpf)
}
