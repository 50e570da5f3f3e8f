//! `policy-loader apply`, DNS part: installs or atomically replaces an endpoint's DNS object.
//!
//! # Order at the hooks (tcx multi-program)
//!
//! Both DNS programs are attached with `BPF_F_AFTER` and no relative program, i.e. as the LAST
//! program of the endpoint's tcx chains, after the main datapath (installed first by `apply`):
//!
//! - **tcx ingress (endpoint egress, questions)**: the main program judges the packet at L3/L4
//!   first. A drop there ends it (`TCX_DROP`): a question to a server the endpoint may not reach
//!   is dropped as any other packet. A pass (`TCX_NEXT`) hands it to `pc_dns_query`, which
//!   refuses a denied question on the spot (a REFUSED answer sent into the endpoint with
//!   `bpf_redirect_peer`, so it skips the host-side egress hook) and lets an allowed one go on,
//!   recording its pending entry. So an allowed question has passed BOTH verdicts, and a denied
//!   one gets an answer instead of a timeout.
//! - **tcx egress (endpoint ingress, answers)**: the main program lets the answer in as the
//!   reply of the question's conntrack entry; then `pc_dns_answer` learns its addresses into
//!   the node-wide map and only then returns `TCX_NEXT` (delivery). The learned map is written
//!   before the endpoint can read the answer, so a connection opened right after the answer
//!   finds its address: no first-packet drop, by construction.
//!
//! The main datapath is replaced in place (`BPF_LINK_UPDATE` keeps a program's position), so
//! the order holds across replaces. Its REDIRECT_L7 verdict on the DNS port is passed at L4 for
//! endpoints whose only L7 rules are DNS rules (see [`kernel_enforced_l7_rules`]): the DNS
//! object is what enforces that L7 part.
//!
//! # Replace protocol
//!
//! As for the main datapath: the new DNS generation is loaded off to the side (its pending and
//! counter maps are the pinned ones of the endpoint, the learned map the node's), pinned under
//! `dns/g<N+1>/`, then each link is swapped with `BPF_LINK_UPDATE` expecting the old program,
//! then older generations are unpinned. `apply` swaps the main datapath first, then the DNS
//! links, microseconds apart; each packet meets one complete version at each program.
//!
//! Fail closed: an endpoint with `rules.dns` that cannot get its DNS object (cgroup_skb attach,
//! a DNS port other than 53, a DNS object this loader does not embed) is refused before its
//! main datapath is touched ([`check_endpoint_dns`]).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::ptr::NonNull;

use libbpf_rs::{AsRawLibbpf, Link, MapCore, MapFlags, MapHandle, ProgramHandle};
use policyc_backends::dns::map_names;
use policyc_backends::{ImageFile, MapImage, DNS_OBJECT};
use sha2::{Digest, Sha256};

use super::learned::{ensure_learned_map, reuse_learned_map, DEFAULT_LEARNED_MAX};
use super::manifest::ManifestDns;
use super::paths::{self, DNS_HOOKS, SHARED_DNS_MAPS};
use crate::dns::DnsInstance;
use crate::node::artifact::{Artifact, EndpointInstall};
use crate::node::error::NodeError;
use crate::node::pins::{AttachPoint, NodePaths};

/// The only port the DNS object judges.
pub const DNS_PORT: &str = "53";

/// Node-side DNS settings of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsOptions {
    /// Learned addresses live `max(TTL, min_ttl_s)` seconds (`--dns-min-ttl`).
    pub min_ttl_s: u32,
    /// `max_entries` of the node-wide learned map when it is created (`--dns-learned-max`).
    pub learned_max: u32,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            min_ttl_s: 0,
            learned_max: DEFAULT_LEARNED_MAX,
        }
    }
}

/// A DNS object installed by an apply.
#[derive(Debug, Clone)]
pub struct DnsInstalled {
    /// Its DNS generation.
    pub generation: u64,
    /// The DNS generation it replaced.
    pub replaced: Option<u64>,
    /// Program ids of the question and answer programs.
    pub program_ids: [u32; 2],
}

fn state(endpoint: &str, problem: impl Into<String>) -> NodeError {
    NodeError::State {
        endpoint: endpoint.to_owned(),
        problem: problem.into(),
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The endpoint's DNS section, if it has `rules.dns`.
pub fn endpoint_dns(install: &EndpointInstall) -> Option<&ManifestDns> {
    install.endpoint.dns.as_ref()
}

/// Rules whose L7 part (DNS) the endpoint's DNS object enforces in the kernel.
pub fn kernel_enforced_l7_rules(install: &EndpointInstall) -> Vec<u32> {
    endpoint_dns(install).map_or_else(Vec::new, |dns| dns.dns_rules.clone())
}

/// Whether every L7 verdict of the endpoint comes from a DNS rule, so its main datapath may
/// pass the DNS port at L4 (the DNS object judges the questions).
pub fn l7_fully_in_kernel(install: &EndpointInstall) -> bool {
    let dns = kernel_enforced_l7_rules(install);
    !dns.is_empty() && install.l7_rule_ids().iter().all(|id| dns.contains(id))
}

/// Refuses, before anything is installed, an endpoint whose DNS rules cannot be enforced.
pub fn check_endpoint_dns(
    artifact: &Artifact,
    install: &EndpointInstall,
    attach: &AttachPoint,
) -> Result<(), NodeError> {
    let name = &install.endpoint.name;
    let Some(dns) = endpoint_dns(install) else {
        return Ok(());
    };
    if !matches!(attach, AttachPoint::Tcx { .. }) {
        return Err(state(
            name,
            "has rules.dns, which need tcx (a cgroup_skb program cannot answer REFUSED); attach it to its interface",
        ));
    }
    if let Some(port) = dns.dns_ports.iter().find(|p| p.as_str() != DNS_PORT) {
        return Err(state(
            name,
            format!("a rules.dns rule names port {port}: the in-kernel DNS policy judges port 53 only (refused: its questions would pass unjudged)"),
        ));
    }
    let node = artifact.manifest.dns.as_ref().ok_or_else(|| {
        state(
            name,
            "the manifest has endpoint DNS tables but no DNS object",
        )
    })?;
    let expected = artifact
        .manifest
        .file_digests
        .get(&node.object)
        .cloned()
        .unwrap_or_default();
    if expected != sha256(DNS_OBJECT) {
        return Err(state(
            name,
            format!(
                "{} is not the DNS object of this policy-loader ({}); use the loader of the same release",
                node.object,
                sha256(DNS_OBJECT)
            ),
        ));
    }
    read_images(artifact, name, dns).map(|_| ())
}

/// The endpoint's DNS map images, each file checked against the manifest's digest.
fn read_images(
    artifact: &Artifact,
    name: &str,
    dns: &ManifestDns,
) -> Result<Vec<MapImage>, NodeError> {
    let mut images = Vec::new();
    for relative in dns.maps.values() {
        let path = artifact.dir.join(relative);
        let bytes = std::fs::read(&path).map_err(NodeError::io(&path))?;
        let expected = artifact.manifest.file_digests.get(relative);
        if expected != Some(&sha256(&bytes)) {
            return Err(NodeError::Artifact {
                dir: artifact.dir.clone(),
                problem: format!("{relative} does not match its manifest digest ({name})"),
            });
        }
        let image = ImageFile::read(&path).map_err(|e| NodeError::Artifact {
            dir: artifact.dir.clone(),
            problem: format!("{relative}: {e}"),
        })?;
        images.extend(image.maps);
    }
    Ok(images)
}

/// Writes the node's settings into the config image: `min_ttl_s` and `redirect_peer`.
fn apply_options(images: &mut [MapImage], options: &DnsOptions) {
    for image in images.iter_mut().filter(|i| i.name == map_names::CONFIG) {
        for (_, value) in image.entries.iter_mut() {
            if let Some(slot) = value.get_mut(4..8) {
                slot.copy_from_slice(&options.min_ttl_s.to_ne_bytes());
            }
            if let Some(slot) = value.get_mut(8..12) {
                slot.copy_from_slice(&1u32.to_ne_bytes());
            }
        }
    }
}

fn load(paths: &NodePaths, name: &str, images: &[MapImage]) -> Result<DnsInstance, NodeError> {
    DnsInstance::load_images(images, |open| {
        for mut map in open.maps_mut() {
            reuse_learned_map(paths, &mut map)?;
            let map_name = map.name().to_string_lossy().into_owned();
            if !SHARED_DNS_MAPS.contains(&map_name.as_str()) {
                continue;
            }
            let pinned = paths::shared_map(paths, name, &map_name);
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
        endpoint: name.to_owned(),
        source,
    })
}

fn pin_generation(
    paths: &NodePaths,
    name: &str,
    generation: u64,
    instance: &DnsInstance,
) -> Result<[u32; 2], NodeError> {
    let dir = paths::generation_dir(paths, name, generation);
    std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
    for map_name in SHARED_DNS_MAPS {
        let path = paths::shared_map(paths, name, map_name);
        if path.exists() {
            continue;
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
    let mut ids = [0u32; 2];
    for (slot, (hook, program)) in ids.iter_mut().zip(DNS_HOOKS) {
        let mut prog = instance
            .program(program)
            .map_err(|source| NodeError::Load {
                endpoint: name.to_owned(),
                source,
            })?;
        let path = paths::program(paths, name, generation, hook);
        prog.pin(&path).map_err(NodeError::kernel(
            name,
            format!("pinning {}", path.display()),
        ))?;
        *slot = ProgramHandle::from_pinned_path(&path)
            .map(|p| p.id())
            .map_err(NodeError::kernel(
                name,
                format!("reading {}", path.display()),
            ))?;
    }
    Ok(ids)
}

/// `BPF_LINK_UPDATE` of a pinned link to `new`, only if it still runs `old`.
fn swap_link(
    link: &Link,
    new: BorrowedFd<'_>,
    old: BorrowedFd<'_>,
) -> Result<(), libbpf_rs::Error> {
    // SAFETY: all-zero is a valid bpf_link_update_opts once sz is set.
    let mut opts: libbpf_sys::bpf_link_update_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_link_update_opts>() as _;
    opts.flags = libbpf_sys::BPF_F_REPLACE;
    opts.old_prog_fd = old.as_raw_fd() as u32;
    // SAFETY: both fds are valid for the duration of the call; opts is a valid struct.
    let rc =
        unsafe { libbpf_sys::bpf_link_update(link.as_fd().as_raw_fd(), new.as_raw_fd(), &opts) };
    if rc < 0 {
        Err(libbpf_rs::Error::from_raw_os_error(-rc))
    } else {
        Ok(())
    }
}

/// Attaches a DNS program as the last program of a tcx chain (after the main datapath).
fn attach_last(
    instance: &DnsInstance,
    program: &str,
    ifindex: u32,
) -> Result<Link, crate::LoaderError> {
    let prog = instance.program(program)?;
    let error = |source| crate::LoaderError::Program {
        program: program.to_owned(),
        source,
    };
    let ifindex =
        i32::try_from(ifindex).map_err(|_| error(libbpf_rs::Error::from_raw_os_error(22)))?;
    // SAFETY: all-zero is a valid bpf_tcx_opts once sz is set.
    let mut opts: libbpf_sys::bpf_tcx_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_tcx_opts>() as _;
    opts.flags = libbpf_sys::BPF_F_AFTER;
    // SAFETY: the program pointer is valid while `instance` lives; opts is a valid struct.
    let link = unsafe {
        libbpf_sys::bpf_program__attach_tcx(prog.as_libbpf_object().as_ptr(), ifindex, &opts)
    };
    match NonNull::new(link) {
        // SAFETY: libbpf returned a valid, owned bpf_link.
        Some(link) => Ok(unsafe { Link::from_ptr(link) }),
        None => Err(error(libbpf_rs::Error::from(
            std::io::Error::last_os_error(),
        ))),
    }
}

/// The generation whose programs both pinned links run, if any.
fn live_generation(paths: &NodePaths, name: &str) -> Option<u64> {
    let mut live = None;
    for (hook, _) in DNS_HOOKS {
        let link_path = paths::link(paths, name, hook);
        let id = link_path
            .exists()
            .then(|| Link::open(&link_path).ok())
            .flatten()
            .and_then(|link| link.info().ok())
            .map(|info| info.prog_id)?;
        let generation = paths::generations(paths, name).into_iter().find(|g| {
            ProgramHandle::from_pinned_path(paths::program(paths, name, *g, hook))
                .is_ok_and(|p| p.id() == id)
        })?;
        if live.is_some_and(|g| g != generation) {
            return None;
        }
        live = Some(generation);
    }
    live
}

/// Removes the endpoint's DNS object (links first: unpinning the last reference detaches).
pub fn remove_endpoint_dns(paths: &NodePaths, name: &str) {
    for (hook, _) in DNS_HOOKS {
        let _ = std::fs::remove_file(paths::link(paths, name, hook));
    }
    let _ = std::fs::remove_dir_all(paths::dns_dir(paths, name));
}

/// Installs, replaces or (when the endpoint no longer has `rules.dns`) removes the endpoint's
/// DNS object. Call [`check_endpoint_dns`] first and the main datapath's install before.
pub fn install_endpoint_dns(
    paths: &NodePaths,
    artifact: &Artifact,
    install: &EndpointInstall,
    attach: &AttachPoint,
    options: &DnsOptions,
) -> Result<Option<DnsInstalled>, NodeError> {
    let name = install.endpoint.name.as_str();
    let Some(dns) = endpoint_dns(install) else {
        remove_endpoint_dns(paths, name);
        return Ok(None);
    };
    let AttachPoint::Tcx { ifindex, .. } = attach else {
        return Err(state(name, "rules.dns need a tcx attach point"));
    };
    let mut images = read_images(artifact, name, dns)?;
    apply_options(&mut images, options);
    ensure_learned_map(paths, options.learned_max)?;

    let old = live_generation(paths, name);
    if old.is_none() {
        // A first install or a half-finished one: start from nothing.
        remove_endpoint_dns(paths, name);
    }
    for stale in paths::generations(paths, name) {
        if Some(stale) != old {
            let _ = std::fs::remove_dir_all(paths::generation_dir(paths, name, stale));
        }
    }
    let generation = old.unwrap_or(0) + 1;
    let dns_dir = paths::dns_dir(paths, name);
    std::fs::create_dir_all(&dns_dir).map_err(NodeError::io(&dns_dir))?;
    let instance = load(paths, name, &images)?;
    let staged = (|| {
        let program_ids = pin_generation(paths, name, generation, &instance)?;
        match old {
            Some(old) => swap_links(paths, name, old, generation)?,
            None => attach_fresh(paths, name, &instance, *ifindex)?,
        }
        Ok(program_ids)
    })();
    let program_ids = match staged {
        Ok(ids) => ids,
        Err(e) => {
            let _ = std::fs::remove_dir_all(paths::generation_dir(paths, name, generation));
            if old.is_none() {
                remove_endpoint_dns(paths, name);
            }
            return Err(e);
        }
    };
    if let Some(old) = old {
        let _ = std::fs::remove_dir_all(paths::generation_dir(paths, name, old));
    }
    Ok(Some(DnsInstalled {
        generation,
        replaced: old,
        program_ids,
    }))
}

fn swap_links(paths: &NodePaths, name: &str, old: u64, new: u64) -> Result<(), NodeError> {
    let mut done: Vec<(Link, ProgramHandle, ProgramHandle)> = Vec::new();
    for (hook, _) in DNS_HOOKS {
        let open = |path: PathBuf| -> Result<ProgramHandle, NodeError> {
            ProgramHandle::from_pinned_path(&path).map_err(NodeError::kernel(
                name,
                format!("opening {}", path.display()),
            ))
        };
        let old_prog = open(paths::program(paths, name, old, hook))?;
        let new_prog = open(paths::program(paths, name, new, hook))?;
        let link_path = paths::link(paths, name, hook);
        let link = Link::open(&link_path).map_err(NodeError::kernel(
            name,
            format!("opening {}", link_path.display()),
        ))?;
        if let Err(source) = swap_link(&link, new_prog.as_fd(), old_prog.as_fd()) {
            for (link, previous, current) in &done {
                let _ = swap_link(link, previous.as_fd(), current.as_fd());
            }
            return Err(NodeError::kernel(
                name,
                format!("swapping {}", link_path.display()),
            )(source));
        }
        done.push((link, old_prog, new_prog));
    }
    Ok(())
}

fn attach_fresh(
    paths: &NodePaths,
    name: &str,
    instance: &DnsInstance,
    ifindex: u32,
) -> Result<(), NodeError> {
    let mut pinned = Vec::new();
    let result = (|| {
        for (hook, program) in DNS_HOOKS {
            let mut link =
                attach_last(instance, program, ifindex).map_err(|source| NodeError::Load {
                    endpoint: name.to_owned(),
                    source,
                })?;
            let path = paths::link(paths, name, hook);
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
            let _ = std::fs::remove_file(path);
        }
    }
    result
}

/// Counter values of a pinned per-CPU counters map, summed over CPUs, in index order.
pub fn read_counters(map: &MapHandle, count: u32) -> Vec<u64> {
    (0..count)
        .map(|index| {
            map.lookup_percpu(&index.to_ne_bytes(), MapFlags::ANY)
                .ok()
                .flatten()
                .map_or(0, |values| {
                    values
                        .iter()
                        .filter_map(|v| v.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()))
                        .map(u64::from_ne_bytes)
                        .sum()
                })
        })
        .collect()
}
