//! `policy-loader apply`, DNS part: stages an endpoint's DNS programs for a generation.
//!
//! # Order at the hooks (tcx multi-program)
//!
//! Per tcx endpoint, the DNS stage dispatcher ([`super::dispatch`]) runs right AFTER the main
//! dispatcher on both tcx chains, and tail-calls slot `generation & 1` of its DNS program
//! array, selected by the SAME active-generation word as the main dispatcher:
//!
//! - **tcx ingress (endpoint egress, questions)**: the main datapath judges the packet at L3/L4
//!   first. A drop there ends it (`TCX_DROP`): a question to a server the endpoint may not reach
//!   is dropped as any other packet. A pass (`TCX_NEXT`) hands it to the DNS stage, whose
//!   `pc_dns_query` refuses a denied question on the spot (a REFUSED answer sent into the
//!   endpoint with `bpf_redirect_peer`, so it skips the host-side egress hook) and lets an
//!   allowed one go on, recording its pending entry. So an allowed question has passed BOTH
//!   verdicts, and a denied one gets an answer instead of a timeout.
//! - **tcx egress (endpoint ingress, answers)**: the main datapath lets the answer in as the
//!   reply of the question's conntrack entry; then `pc_dns_answer` learns its addresses into
//!   the node-wide map and only then returns `TCX_NEXT` (delivery). The learned map is written
//!   before the endpoint can read the answer, so a connection opened right after the answer
//!   finds its address: no first-packet drop, by construction.
//!
//! A generation without `rules.dns` puts the pass-through programs (`TCX_NEXT`) in its DNS
//! slots. The main datapath's REDIRECT_L7 verdict on the DNS port is passed at L4 for endpoints
//! whose only L7 rules are DNS rules (see [`kernel_enforced_l7_rules`]): the DNS stage is what
//! enforces that L7 part.
//!
//! # Replace protocol: the same single flip as the main datapath
//!
//! The DNS programs of generation N+1 are loaded off to the side (their pending and counter
//! maps are the pinned ones of the endpoint, the learned map the node's — kept across
//! generations), pinned under `dns/g<N+1>/` ([`stage_generation`], before the `pinned` hook
//! step), written into the inactive DNS slots ([`write_dns_slots`], before `slots-written`),
//! and then the ONE update of the active-generation word (`crate::node::install`) switches
//! main and DNS programs of both directions together. Killed at any step, the endpoint runs
//! one whole generation, DNS included; a recreated interface is handled by re-attaching both
//! dispatcher pairs after the flip (no link update that could find a severed link).
//!
//! Fail closed: an endpoint with `rules.dns` that cannot get its DNS programs (cgroup_skb
//! attach, a DNS port other than 53) is refused before anything of it is installed
//! ([`check_endpoint_dns`]); a DNS object this loader does not embed, or a DNS image that does
//! not match its digest, refuses the whole artifact before anything is installed
//! (`Artifact::open`).

use std::os::fd::AsFd;

use libbpf_rs::ProgramHandle;
use policyc_backends::artifact::ManifestDns;
use policyc_backends::dns::{learn_quota, map_names, DEFAULT_NAME_IP_MAX};
use policyc_backends::dns_layout::DnsConfigValue;
use policyc_backends::layout::map_names as layout_maps;
use policyc_backends::MapImage;

use super::dispatch::{pass_pin, DnsDispatcher};
use super::learned::{ensure_learned_map, reuse_learned_map, DEFAULT_LEARNED_MAX};
use super::paths::{self, hook_of, DNS_HOOKS, SHARED_DNS_MAPS};
use crate::node::artifact::EndpointInstall;
use crate::node::error::NodeError;
use crate::node::pins::{AttachPoint, NodePaths, DIRECTIONS};
use crate::node::shared_maps::{pin_map, reuse_if_pinned};
use policyc_kernel::dns::DnsInstance;

/// The only port the DNS object judges.
pub const DNS_PORT: &str = "53";

/// Node-side DNS settings of an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsOptions {
    /// Learned addresses live `max(TTL, min_ttl_s)` seconds (`--dns-min-ttl`).
    pub min_ttl_s: u32,
    /// `max_entries` of the node-wide learned map when it is created (`--dns-learned-max`).
    pub learned_max: u32,
    /// Addresses one question name may open for an endpoint (`--dns-max-ips-per-name`).
    pub name_ip_max: u32,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            min_ttl_s: 0,
            learned_max: DEFAULT_LEARNED_MAX,
            name_ip_max: DEFAULT_NAME_IP_MAX,
        }
    }
}

fn state(endpoint: &str, problem: impl Into<String>) -> NodeError {
    NodeError::State {
        endpoint: endpoint.to_owned(),
        problem: problem.into(),
    }
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

/// Refuses an endpoint whose DNS rules cannot be enforced where it is attached (that the DNS
/// object and images are this loader's and intact, `Artifact::open` checked).
pub fn check_endpoint_dns(
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
    Ok(())
}

/// Writes the node's settings into the config image: `min_ttl_s`, `redirect_peer`,
/// `name_ip_max`, the
/// learning quota (a share of the learned map's real capacity, `learned_max`) and the owner key
/// of the endpoint's learned entries (its interface index: unique among the node's live
/// endpoints and never 0, the node's own key in `pc_dns_owned`).
fn apply_options(images: &mut [MapImage], options: &DnsOptions, learned_max: u32, owner: u32) {
    for image in images.iter_mut().filter(|i| i.name == map_names::CONFIG) {
        for (_, value) in image.entries.iter_mut() {
            if let Some(mut config) = DnsConfigValue::decode(value) {
                config.min_ttl_s = options.min_ttl_s;
                config.redirect_peer = 1;
                config.learn_quota = learn_quota(learned_max);
                config.owner = owner.max(1);
                config.name_ip_max = options.name_ip_max;
                *value = config.encode();
            }
        }
    }
}

fn load(paths: &NodePaths, name: &str, images: &[MapImage]) -> Result<DnsInstance, NodeError> {
    DnsInstance::load_images(images, |open| {
        for mut map in open.maps_mut() {
            reuse_learned_map(paths, &mut map)?;
            let map_name = map.name().to_string_lossy().into_owned();
            if map_name == layout_maps::EVENTS {
                // The endpoint's event ring (pinned by its main datapath): DNS drops are
                // reported next to the L3/L4 verdicts.
                reuse_if_pinned(
                    &mut map,
                    &map_name,
                    &paths.map(name, 0, layout_maps::EVENTS),
                )?;
                continue;
            }
            if !SHARED_DNS_MAPS.contains(&map_name.as_str()) {
                continue;
            }
            reuse_if_pinned(
                &mut map,
                &map_name,
                &paths::shared_map(paths, name, &map_name),
            )?;
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
        pin_map(name, map_name, instance.map(map_name), &path)?;
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

/// Pins of the previous layout (one tcx link per DNS program, swapped separately), removed
/// once the DNS stage dispatcher runs.
pub fn remove_legacy_links(paths: &NodePaths, name: &str) -> Result<(), NodeError> {
    for (hook, _) in DNS_HOOKS {
        crate::node::pins::detach_pinned_link(&paths::link(paths, name, hook))?;
    }
    Ok(())
}

/// Steps 1–2 for the DNS stage of generation `generation`: when the endpoint has `rules.dns`,
/// loads its DNS object off to the side (pending and counter maps and the event ring: the
/// endpoint's pinned ones; learned map: the node's) and pins its two programs under `dns/g<generation>/`. Returns their
/// ids, or None for a generation without DNS rules (its DNS slots get the pass-through).
/// Call [`check_endpoint_dns`] first.
pub fn stage_generation(
    paths: &NodePaths,
    install: &EndpointInstall,
    generation: u64,
    options: &DnsOptions,
    ifindex: u32,
) -> Result<Option<[u32; 2]>, NodeError> {
    let name = install.endpoint.name.as_str();
    if endpoint_dns(install).is_none() {
        return Ok(None);
    }
    let learned_max = ensure_learned_map(paths, options.learned_max)?;
    let mut images = install.dns_images.clone();
    apply_options(&mut images, options, learned_max, ifindex);
    let dns_dir = paths::dns_dir(paths, name);
    std::fs::create_dir_all(&dns_dir).map_err(NodeError::io(&dns_dir))?;
    let instance = load(paths, name, &images)?;
    // A directory of that number can only be a leftover (an interrupted apply, or the separate
    // DNS numbering of the previous layout, whose programs their links keep alive).
    let _ = std::fs::remove_dir_all(paths::generation_dir(paths, name, generation));
    pin_generation(paths, name, generation, &instance).map(Some)
}

/// `apply --dry-run`: the endpoint's DNS object (if it has one) through the verifier with
/// fresh maps, nothing pinned or reused; freed when dropped.
pub fn verify_generation(install: &EndpointInstall, options: &DnsOptions) -> Result<(), NodeError> {
    if endpoint_dns(install).is_none() {
        return Ok(());
    }
    let mut images = install.dns_images.clone();
    apply_options(&mut images, options, options.learned_max, 1);
    DnsInstance::load_images(&images, |_| Ok(()))
        .map(drop)
        .map_err(|source| NodeError::Load {
            endpoint: install.endpoint.name.clone(),
            source,
        })
}

/// Step 3 for the DNS stage: the generation's DNS programs (or the pass-through ones when it
/// has none) into its inactive DNS slots.
pub fn write_dns_slots(
    paths: &NodePaths,
    name: &str,
    stage: &DnsDispatcher,
    generation: u64,
) -> Result<(), NodeError> {
    for direction in DIRECTIONS {
        let own = paths::program(paths, name, generation, hook_of(direction));
        let path = if own.exists() {
            own
        } else {
            pass_pin(paths, name, direction)
        };
        let program = ProgramHandle::from_pinned_path(&path).map_err(NodeError::kernel(
            name,
            format!("opening {}", path.display()),
        ))?;
        stage.write_slot(direction, generation, program.as_fd())?;
    }
    Ok(())
}
