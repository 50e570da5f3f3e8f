//! `policy-loader apply`: installs or atomically replaces the policy of each endpoint.
//!
//! # Design: a stable dispatcher and ONE generation word per endpoint
//!
//! Each hook of an endpoint (tcx on its host-side interface, or cgroup_skb) runs a tiny
//! **dispatcher** (`bpf-templates/policyc_dispatch.bpf.c`), attached once at the first install
//! and never replaced. It reads the endpoint's **active generation** — one `u32` in a pinned
//! one-entry array that both directions' dispatchers share — and tail-calls slot
//! `generation & 1` of its direction's program array, which holds the real datapath program
//! of that generation (a tail call keeps the packet context, so the datapath programs are the
//! unchanged template programs). An empty slot or a failed tail call drops: fail closed.
//!
//! Switching generation is therefore ONE map update (`flip`): a single aligned 4-byte store the
//! dispatchers read with one load, so every packet at either hook is judged by the old
//! generation or by the new one, and the two directions can never be on different generations
//! — not even for an instant, nor after the loader is killed. That is why this design replaced
//! the previous per-direction `BPF_LINK_UPDATE` swaps, which switched ingress and egress with
//! two syscalls and left a mix when killed in between.
//!
//! # Replace protocol (one endpoint, live generation N)
//!
//! 1. **Load generation N+1 completely, off to the side** (hook step `loaded`): a fresh
//!    datapath object (the endpoint's object from the artifact, opened through
//!    `DatapathInstance::load_object_with` in `policyc_kernel::datapath`), configured, its policy maps
//!    created and filled from the artifact's images, verified. Its conntrack, fragment and
//!    event maps are *not* new: `reuse_pinned_map` makes it use the endpoint's pinned `pc_ct`,
//!    `pc_ct_in`, `pc_frag` and `pc_events`, so established flows keep their entries across
//!    generations and `events` readers keep their ring. The new generation's number is in its
//!    configuration: an entry judged under another generation is judged again by its policy on
//!    the flow's next packet (revoked access ends there).
//! 2. **Pin and record it** under `g<N+1>/` and `<state>/…/g<N+1>.json` (step `pinned`).
//! 3. **Write the inactive slots**: the new programs go into slot `(N+1) & 1` of both program
//!    arrays (step `slots-written`). Nothing the kernel runs has changed: the active word still
//!    selects slot `N & 1`. The kernel refuses a program whose type or attach type differs from
//!    the dispatcher's (one array per direction, see [`super::dispatch`]).
//! 4. **Flip**: write N+1 into the active-generation word (step `flipped`). Both directions run
//!    N+1 from the next packet on.
//! 5. **Clean** (step `cleaned`): unpin every generation other than N+1 and remove its record.
//!    The old programs stay in their (now inactive) slots — a straggler packet that read the
//!    word just before the flip still finds a complete program there, never an empty slot —
//!    until the next apply overwrites that slot; the program arrays keep them (and their maps)
//!    alive meanwhile. (A straggler would have to stay between its one load of the word and its
//!    tail call — a few instructions of one program run — across a whole later apply, object
//!    load and verification included, to meet a slot being overwritten.)
//!
//! A flow whose packets cross the endpoint's hooks while the word flips meets the old
//! generation before and the new one after, exactly as with any atomic policy switch; what can
//! no longer happen is one direction staying on the old generation while the other runs the
//! new one.
//!
//! Killed or failing at any step before 4, the word still selects N's slot and N's pins are
//! untouched: the old policy runs whole; `g<N+1>` is a leftover the next apply removes (a
//! failure removes it at once and exits non-zero with the reason, the verifier log included).
//! From step 4 on, the new policy runs whole. `status` reads all of this back from bpffs.
//!
//! # Several endpoints: all or none
//!
//! An apply runs steps 1–3 for EVERY endpoint it installs ([`stage_endpoint`]) before step 4
//! of the first: a failure while staging any endpoint undoes every staged one ([`unstage`]),
//! and nothing the kernel runs has changed. Then it writes the switch journal
//! ([`super::journal`]) and flips the endpoints back to back ([`go_live`]); a flip that fails
//! switches the already flipped endpoints back ([`go_back`] — their old programs never left
//! their slots) and undoes everything. Only then do links get checked and old generations
//! cleaned ([`finish`]). A loader killed between two flips leaves the journal: `status`
//! reports the endpoints left behind, and the next mutating command completes the switch
//! first ([`complete_interrupted_switch`]).
//!
//! # First install
//!
//! The dispatcher is loaded and pinned, generation 1 is written into slot 1 and the word set to
//! 1 BEFORE the dispatchers are attached, so an attached dispatcher always finds a complete
//! generation. The two attachments are two syscalls; between them (and only on a first install,
//! when there is no old policy to keep) one hook enforces the new policy and the other none.
//! A first install that was interrupted, and an endpoint an interrupted unload left partly
//! detached, are started over by the next apply (their links detached first, synchronously).
//! After the flip, every direction whose links are not where they belong — the endpoint's
//! interface was recreated (new ifindex), its cgroup moved, an interrupted unload detached one
//! of them, the DNS stage no longer runs right after the main dispatcher — has them detached
//! and attached again there; directions in place are not touched (`status` reports such an
//! endpoint DETACHED or OUT OF ORDER until then). An error at that point is reported as such:
//! the new generation is active, its attachment incomplete.
//!
//! Fail closed: an endpoint that cannot be installed is reported as failed and the command
//! exits non-zero; L7 redirect verdicts are refused unless `--l7-fallback=allow-l4`.
//!
//! # The DNS stage rides on the same flip
//!
//! Every tcx endpoint also has a DNS stage dispatcher pair ([`super::dns::dispatch`]) attached
//! right after the main dispatchers, reading the SAME generation word. Step 2 also pins the
//! generation's DNS programs (when it has `rules.dns`), step 3 also writes them — or the
//! pass-through programs — into the inactive DNS slots, so step 4 switches main and DNS
//! programs of both directions with one update: killed anywhere, the endpoint runs one whole
//! generation, DNS included. A recreated interface gets both pairs re-attached after the flip
//! (main first, then DNS right after it).

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use libbpf_rs::ProgramHandle;
use policyc_backends::MapImage;

use super::artifact::{Artifact, EndpointInstall};
use super::dispatch::{attach_dispatcher, Dispatcher, DISPATCH_MAPS};
use super::dns::dispatch::{attach_after_main, DnsDispatcher};
use super::dns::install::{stage_generation, write_dns_slots};
use super::dns::DnsOptions;
use super::error::NodeError;
use super::features::{check_kernel_features, Needs};
use super::hook::{self, steps};
use super::journal;
use super::live::live_state;
use super::pins::{
    detach_pinned_link, direction_name, pinned_program_id, remove_pin, remove_tree, AttachPoint,
    GenerationRecord, NodePaths, DIRECTIONS, GENERATION_MAPS, SHARED_MAPS,
};
use super::shared_maps::{pin_map, reuse_if_pinned};
use policyc_kernel::attach::LinkTarget;
use policyc_kernel::datapath::{AttachKind, DatapathInstance, LoadRequest};

/// What to install.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Endpoints (`namespace/name`) to install; all of the artifact when empty.
    pub endpoints: Vec<String>,
    /// `--l7-fallback=allow-l4`: allow L7-redirected traffic at L4 (L7 NOT checked).
    pub l7_fallback_allow_l4: bool,
    /// Endpoints attached with cgroup_skb to a cgroup v2 directory instead of tcx.
    pub cgroups: BTreeMap<String, PathBuf>,
    /// In-kernel DNS policy settings (`--dns-min-ttl`, `--dns-learned-max`).
    pub dns: super::dns::DnsOptions,
    /// The L7 filter: its port (`--l7-port`) and binary (`--l7-filter`).
    pub l7: L7Options,
}

/// How the node's L7 filter runs (see [`super::l7`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L7Options {
    /// The port the filter listens on and the datapath assigns connections to.
    pub port: u16,
    /// The `policyc-l7` binary; `None`: next to `policy-loader`.
    pub filter: Option<PathBuf>,
}

impl Default for L7Options {
    fn default() -> Self {
        L7Options {
            port: super::l7::DEFAULT_L7_PORT,
            filter: None,
        }
    }
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

/// An apply's checks passed: the endpoints to install, each with its attach point.
pub(super) struct Prepared {
    pub installs: Vec<EndpointInstall>,
    pub attach_points: Vec<AttachPoint>,
    /// Rules whose L7 part is not enforced (accepted with `--l7-fallback=allow-l4`).
    pub l7: Vec<String>,
    /// Whether some endpoint redirects HTTP to the L7 filter (the artifact's L7 tables).
    pub l7_http: bool,
}

/// Every check of an apply that needs no change to the node: the selected endpoints exist
/// (the artifact's digests were checked when it was opened), L7 rules are enforced or
/// explicitly accepted, each endpoint's attach point and DNS placement, the kernel's features.
pub(super) fn prepare(artifact: &Artifact, options: &ApplyOptions) -> Result<Prepared, NodeError> {
    let names = selected(artifact, options)?;
    let mut installs = Vec::new();
    let mut l7 = Vec::new();
    // HTTP rules are enforced by the node's L7 filter (the artifact's tables, verified) —
    // unless `--l7-fallback=allow-l4` asks for every L7 rule at L4 (no filter).
    let http_rules: std::collections::BTreeSet<u32> = artifact
        .l7_tables()?
        .filter(|_| !options.l7_fallback_allow_l4)
        .map(|judge| {
            judge
                .tables()
                .rule_sets
                .iter()
                .flat_map(|set| set.entries.iter().map(|e| e.rule))
                .collect()
        })
        .unwrap_or_default();
    let mut l7_http = false;
    let mut l7_on_cgroup = Vec::new();
    for name in &names {
        let install = artifact.endpoint_install(name)?;
        let in_kernel = super::dns::install::kernel_enforced_l7_rules(&install);
        let ids = install.l7_rule_ids();
        if ids.iter().any(|id| http_rules.contains(id)) {
            l7_http = true;
            if options.cgroups.contains_key(name) {
                l7_on_cgroup.push(format!(
                    "{name}: HTTP rules need a tcx attachment (the filter is reached with \
                     bpf_sk_assign at tc ingress), not cgroup_skb"
                ));
            }
        }
        for id in ids
            .into_iter()
            .filter(|id| !in_kernel.contains(id) && !http_rules.contains(id))
        {
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
            "refusing the artifact: {} rule(s) redirect to L7 policy the node does not enforce \
             (HTTP rules are; these are not):\n  {}\n\
             rerun with --l7-fallback=allow-l4 to allow that traffic at L4 WITHOUT checking L7",
            l7.len(),
            l7.join("\n  ")
        )));
    }
    // Every endpoint's attach point and DNS placement is checked before the first one is
    // touched: an apply never installs some endpoints and then refuses others for a reason it
    // could have known up front (only a kernel failure can still stop it half-way).
    let mut attach_points = Vec::new();
    let mut refused = Vec::new();
    for install in &installs {
        let checked = attach_point(install, options).and_then(|attach| {
            super::dns::check_endpoint_dns(install, &attach)?;
            Ok(attach)
        });
        match checked {
            Ok(attach) => attach_points.push(attach),
            Err(e) => refused.push(format!("{}: {e}", install.endpoint.name)),
        }
    }
    refused.extend(l7_on_cgroup);
    if !refused.is_empty() {
        return Err(NodeError::EndpointsRefused(refused));
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
    Ok(Prepared {
        installs,
        attach_points,
        l7,
        l7_http,
    })
}

/// Verifies, probes and installs; returns per-endpoint outcomes (fail closed: check
/// [`ApplyReport::all_installed`]). Errors that stop the whole apply before any endpoint is
/// touched (bad artifact, missing kernel features, refused L7) are `Err`.
pub fn apply(
    paths: &NodePaths,
    artifact: &Artifact,
    options: &ApplyOptions,
) -> Result<ApplyReport, NodeError> {
    let Prepared {
        installs,
        attach_points,
        l7,
        l7_http,
    } = prepare(artifact, options)?;
    std::fs::create_dir_all(&paths.pin_root).map_err(NodeError::io(&paths.pin_root))?;
    // The L7 filter serves the new tables before any endpoint is staged: one that cannot
    // start or load them stops the apply here, with every endpoint as it was.
    // Every endpoint's object of an apply with HTTP rules shares the node-wide redirect map:
    // an endpoint without L7 rules still hands its packets of a connection a peer's policy
    // redirected to the filter (objects reuse the map whenever it is pinned).
    let filter = if l7_http {
        super::l7::ensure_redirect_map(paths)?;
        super::l7::ensure_routing()?;
        Some(super::l7::start_or_reload(
            paths,
            &artifact.dir,
            options.l7.port,
            options.l7.filter.as_deref(),
        )?)
    } else {
        None
    };
    let l7_port = filter.as_ref().map_or(0, |f| f.port);
    let restore_filter = |e: NodeError| {
        if let Some(f) = &filter {
            f.restore(paths);
        }
        e
    };
    if artifact.manifest.dns.is_some() {
        // Before any object that shares it is loaded (DNS objects and main datapaths).
        super::dns::learned::ensure_learned_map(paths, options.dns.learned_max)?;
    }

    // Every endpoint is staged before the first flips: a failure while staging any of them
    // undoes them all and changes nothing.
    let mut staged: Vec<Staged<'_>> = Vec::new();
    for (install, attach) in installs.iter().zip(attach_points) {
        let l7_fallback =
            options.l7_fallback_allow_l4 || super::dns::install::l7_fully_in_kernel(install);
        match stage_endpoint(
            paths,
            artifact,
            install,
            attach,
            L7Config {
                fallback: l7_fallback,
                port: l7_port,
            },
            &options.dns,
        ) {
            Ok(s) => staged.push(s),
            Err(e) => {
                return Err(restore_filter(abort(
                    paths,
                    &install.endpoint.name,
                    e,
                    &[],
                    &staged,
                )))
            }
        }
    }
    let journal = journal::Journal {
        artifact_dir: std::fs::canonicalize(&artifact.dir).unwrap_or_else(|_| artifact.dir.clone()),
        switches: staged.iter().map(Staged::switch).collect(),
    };
    if let Err(e) = journal::write(paths, &journal) {
        return Err(restore_filter(abort(
            paths,
            "the switch journal",
            e,
            &[],
            &staged,
        )));
    }
    // Then the flips, one word per endpoint, back to back. One that fails switches the
    // endpoints already flipped back to their old generations.
    for (flipped, s) in staged.iter().enumerate() {
        if let Err(e) = go_live(paths, s) {
            return Err(restore_filter(abort(
                paths,
                s.name(),
                e,
                &staged[..flipped],
                &staged,
            )));
        }
        hook::after_switch_of(steps::SWITCHING, s.name());
    }
    let journal_left = journal::remove(paths).err();
    let mut endpoints = Vec::new();
    for s in staged {
        let name = s.name().to_owned();
        endpoints.push((name, finish(paths, s)));
    }
    if let Some(e) = journal_left {
        // Every endpoint switched; only the bookkeeping failed: say so, as the failure of the
        // first endpoint's completion (status would report a switch that is complete).
        if let Some((name, outcome @ Ok(_))) = endpoints.first_mut() {
            if let Ok(installed) = outcome {
                *outcome = Err(NodeError::AfterSwitch {
                    endpoint: name.clone(),
                    generation: installed.generation,
                    source: Box::new(e),
                });
            }
        }
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

/// Stops an apply before it completes: the endpoints in `flipped` go back to their old
/// generations, every staged endpoint is undone and the journal removed. The error names the
/// endpoint that failed, and any undo that failed too (then the node is NOT as before).
fn abort(
    paths: &NodePaths,
    failed: &str,
    error: NodeError,
    flipped: &[Staged<'_>],
    staged: &[Staged<'_>],
) -> NodeError {
    let mut undo_failures = Vec::new();
    for s in flipped.iter().rev() {
        if let Err(e) = go_back(s) {
            undo_failures.push(format!("{}: switching back: {e}", s.name()));
        }
    }
    for s in staged.iter().rev() {
        if let Err(e) = unstage(paths, s) {
            undo_failures.push(format!("{}: removing the staged generation: {e}", s.name()));
        }
    }
    if let Err(e) = journal::remove(paths) {
        undo_failures.push(format!("the switch journal: {e}"));
    }
    NodeError::ApplyAborted {
        endpoint: failed.to_owned(),
        source: Box::new(error),
        undo_failures,
    }
}

pub(super) fn kind_of(attach: &AttachPoint) -> AttachKind {
    match attach {
        AttachPoint::Tcx { .. } => AttachKind::Tcx,
        AttachPoint::CgroupSkb { .. } => AttachKind::CgroupSkb,
    }
}

/// How an endpoint's object treats redirect-l7 verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L7Config {
    /// `--l7-fallback=allow-l4` (or every L7 rule enforced in the kernel: DNS).
    pub fallback: bool,
    /// The L7 filter's port (0: none; redirect-l7 drops).
    pub port: u16,
}

/// What loading the endpoint's object takes: its config (with the L7 knobs), its
/// policy map images plus the ipcache, for one attach kind (apply and `apply --dry-run`).
fn load_request(install: &EndpointInstall, kind: AttachKind, l7: L7Config) -> LoadRequest<'_> {
    let mut config = install.images.config;
    if l7.fallback {
        config.l7_fallback_allow_l4 = 1;
    }
    config.l7_proxy_port = l7.port;
    let mut maps: Vec<&MapImage> = install.images.maps.iter().collect();
    maps.push(&install.ipcache);
    LoadRequest {
        config,
        maps,
        kinds: vec![kind],
    }
}

/// Loads the endpoint's object through the verifier with fresh maps (nothing pinned, reused or
/// attached; everything is freed when it is dropped): `apply --dry-run`.
pub(super) fn verify_generation(
    install: &EndpointInstall,
    kind: AttachKind,
    l7: L7Config,
) -> Result<(), NodeError> {
    let request = load_request(install, kind, l7);
    DatapathInstance::load_object_with(&install.object, &request, |_| Ok(()))
        .map(drop)
        .map_err(|source| NodeError::Load {
            endpoint: install.endpoint.name.clone(),
            source,
        })
}

/// Loads the new generation with the endpoint's pinned shared maps reused.
fn load_generation(
    paths: &NodePaths,
    install: &EndpointInstall,
    kind: AttachKind,
    l7: L7Config,
    generation: u64,
) -> Result<DatapathInstance, NodeError> {
    let name = &install.endpoint.name;
    let mut request = load_request(install, kind, l7);
    // Conntrack entries remember the generation that judged them (low 32 bits: a wrap needs
    // 2^32 installs); entries of any other one are judged again by this one's policy.
    request.config.generation = u32::try_from(generation & u64::from(u32::MAX)).unwrap_or(0);
    let endpoint_dir = paths.endpoint_dir(name);
    DatapathInstance::load_object_with(&install.object, &request, |open| {
        for mut map in open.maps_mut() {
            super::dns::learned::reuse_learned_map(paths, &mut map)?;
            super::l7::reuse_redirect_map(paths, &mut map)?;
            let map_name = map.name().to_string_lossy().into_owned();
            if !SHARED_MAPS.contains(&map_name.as_str()) {
                continue;
            }
            reuse_if_pinned(&mut map, &map_name, &endpoint_dir.join(&map_name))?;
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
        pin_map(name, map_name, instance.map(map_name), &path)?;
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

fn link_target(attach: &AttachPoint) -> LinkTarget<'_> {
    match attach {
        AttachPoint::Tcx { ifindex, .. } => LinkTarget::Tcx { ifindex: *ifindex },
        AttachPoint::CgroupSkb { cgroup } => LinkTarget::Cgroup { dir: cgroup },
    }
}

/// Step 3: the generation's pinned programs into its (inactive) slot of both program arrays.
fn write_slots(
    paths: &NodePaths,
    name: &str,
    dispatcher: &Dispatcher,
    generation: u64,
) -> Result<(), NodeError> {
    for direction in DIRECTIONS {
        let program = ProgramHandle::from_pinned_path(paths.program(name, generation, direction))
            .map_err(NodeError::kernel(name, "opening the new program"))?;
        dispatcher.write_slot(direction, generation, program.as_fd())?;
    }
    Ok(())
}

/// What is on bpffs for an endpoint before an apply, and what the apply starts from.
enum Starting {
    /// Nothing (or an interrupted first install, wiped): a first install.
    Fresh,
    /// A complete generation `active` in both slots, dispatcher links pinned (wherever they
    /// are attached now: [`ensure_links`] puts them right after the flip).
    Replace {
        /// The live generation.
        active: u64,
    },
}

/// Reads the endpoint's state and removes leftovers of interrupted applies.
fn starting_point(
    paths: &NodePaths,
    name: &str,
    attach: &AttachPoint,
) -> Result<Starting, NodeError> {
    let kind = kind_of(attach);
    let live = live_state(paths, name);
    if let Some(active) = live.generation() {
        if let Ok(record) = paths.read_record(name, active) {
            if kind_of(&record.attach) != kind {
                return Err(NodeError::State {
                    endpoint: name.to_owned(),
                    problem: format!(
                        "installed with {}, the new policy wants another attach kind: unload the endpoint first",
                        record.attach
                    ),
                });
            }
        }
        for generation in paths.generations(name) {
            if generation != active {
                remove_generation(paths, name, generation); // leftovers of an interrupted apply
            }
        }
        return Ok(Starting::Replace { active });
    }
    if live.attached() && !Dispatcher::is_pinned(paths, name) {
        return Err(NodeError::State {
            endpoint: name.to_owned(),
            problem: "attached by a loader without a dispatcher (older pin layout); run `policy-loader unload` for it first".into(),
        });
    }
    // Nothing, or what an interrupted first install or unload left (no complete old policy
    // to keep): start over.
    clear_partial(paths, name)?;
    Ok(Starting::Fresh)
}

/// Removes a generation's pins (main and DNS) and record (missing pieces are fine).
fn remove_generation(paths: &NodePaths, endpoint: &str, generation: u64) {
    let _ = std::fs::remove_dir_all(paths.generation_dir(endpoint, generation));
    let _ = std::fs::remove_dir_all(super::dns::paths::generation_dir(
        paths, endpoint, generation,
    ));
    let _ = std::fs::remove_file(paths.record(endpoint, generation));
}

/// Removes what an interrupted first install or unload left of an endpoint: its links are
/// detached NOW (an unpinned link detaches only later, from a deferred kernel work item, and
/// would still run beside the new dispatchers), then its pins and records go. Every error is
/// returned: a start over on top of leftovers it could not remove would stack two policies.
fn clear_partial(paths: &NodePaths, name: &str) -> Result<(), NodeError> {
    for direction in DIRECTIONS {
        detach_pinned_link(&paths.link(name, direction))?;
    }
    DnsDispatcher::remove(paths, name)?;
    super::dns::install::remove_legacy_links(paths, name)?;
    for direction in DIRECTIONS {
        remove_pin(&paths.dispatcher(name, direction))?;
    }
    for map in DISPATCH_MAPS {
        remove_pin(&paths.endpoint_dir(name).join(map))?;
    }
    for generation in paths.generations(name) {
        remove_generation(paths, name, generation);
    }
    Ok(())
}

/// The endpoint's DNS stage dispatcher (tcx endpoints only): the pinned one, or a new one
/// sharing the endpoint's generation word (first install, or an endpoint installed by a
/// loader without it).
fn dns_stage(
    paths: &NodePaths,
    name: &str,
    attach: &AttachPoint,
) -> Result<Option<DnsDispatcher>, NodeError> {
    if !matches!(attach, AttachPoint::Tcx { .. }) {
        return Ok(None);
    }
    if DnsDispatcher::is_pinned(paths, name) {
        return DnsDispatcher::open(paths, name).map(Some);
    }
    let word = paths
        .endpoint_dir(name)
        .join(policyc_backends::dispatch::map_names::ACTIVE_GENERATION);
    DnsDispatcher::create(paths, name, &word).map(Some)
}

/// After the flip: each direction's main dispatcher link attached at `attach` and, for tcx,
/// the DNS stage link right after it. A direction whose links are not so — a recreated
/// interface, a moved cgroup, a link that an interrupted unload detached, a DNS stage an
/// earlier apply never attached — has them detached now and attached again; a direction in
/// place is not touched (re-attaching a program where it is attached would fail: the kernel
/// refuses the same program twice on one hook).
fn ensure_links(paths: &NodePaths, name: &str, attach: &AttachPoint) -> Result<(), NodeError> {
    let live = live_state(paths, name);
    let target = attach.target_id();
    let stage = live
        .active_generation
        .and_then(|g| super::dns::dispatch::stage_state(paths, name, g));
    for direction in DIRECTIONS {
        let dns_link = super::dns::dispatch::link_pin(paths, name, direction);
        let main_in_place = target.is_some()
            && live
                .link_targets
                .iter()
                .any(|(d, at)| *d == direction && *at == target);
        if !main_in_place {
            // The DNS link is attached relative to the main one: both go.
            detach_pinned_link(&dns_link)?;
            detach_pinned_link(&paths.link(name, direction))?;
            attach_dispatcher(paths, name, direction, link_target(attach))?;
        }
        let AttachPoint::Tcx { ifindex, .. } = attach else {
            continue;
        };
        let dns_in_place = main_in_place
            && stage
                .as_ref()
                .is_some_and(|st| st.direction_runs_after_main(direction, *ifindex));
        if !dns_in_place {
            detach_pinned_link(&dns_link)?;
            attach_after_main(
                paths,
                name,
                direction,
                *ifindex,
                &paths.dispatcher(name, direction),
            )?;
        }
    }
    super::dns::install::remove_legacy_links(paths, name)
}

/// An endpoint whose new generation is staged (steps 1–3): loaded, pinned, recorded, and
/// written into the inactive main and DNS slots — nothing the kernel runs has changed yet
/// (a first install: the dispatcher exists, unattached).
pub struct Staged<'a> {
    install: &'a EndpointInstall,
    attach: AttachPoint,
    starting: Starting,
    generation: u64,
    program_ids: BTreeMap<String, u32>,
    dispatcher: Dispatcher,
}

impl Staged<'_> {
    fn name(&self) -> &str {
        &self.install.endpoint.name
    }

    fn old(&self) -> Option<u64> {
        match self.starting {
            Starting::Replace { active } => Some(active),
            Starting::Fresh => None,
        }
    }

    /// Its entry in the switch journal.
    pub fn switch(&self) -> journal::Switch {
        journal::Switch {
            endpoint: self.name().to_owned(),
            from: self.old(),
            to: self.generation,
        }
    }
}

/// Step 3 (and a first install's dispatcher): the main AND DNS slots of the new generation
/// are written; the flip ([`go_live`]) later switches all four with one update.
fn write_new_slots(
    paths: &NodePaths,
    name: &str,
    starting: &Starting,
    generation: u64,
    attach: &AttachPoint,
) -> Result<Dispatcher, NodeError> {
    let dispatcher = match starting {
        Starting::Replace { .. } => Dispatcher::open(paths, name)?,
        Starting::Fresh => Dispatcher::create(paths, name, kind_of(attach))?,
    };
    let stage = dns_stage(paths, name, attach)?;
    write_slots(paths, name, &dispatcher, generation)?;
    if let Some(stage) = &stage {
        write_dns_slots(paths, name, stage, generation)?;
    }
    hook::at(steps::SLOTS_WRITTEN, name)?;
    Ok(dispatcher)
}

/// Steps 1–3 for one endpoint (first install or replace, see the module doc). A failure
/// undoes what this endpoint staged and returns the error; the old policy runs untouched.
pub fn stage_endpoint<'a>(
    paths: &NodePaths,
    artifact: &Artifact,
    install: &'a EndpointInstall,
    attach: AttachPoint,
    l7: L7Config,
    dns: &DnsOptions,
) -> Result<Staged<'a>, NodeError> {
    let started = std::time::Instant::now();
    let name = install.endpoint.name.as_str();
    let kind = kind_of(&attach);
    let starting = starting_point(paths, name, &attach)?;
    let generation = match starting {
        Starting::Replace { active } => active + 1, // the other slot than the active one
        Starting::Fresh => 1,
    };
    let endpoint_dir = paths.endpoint_dir(name);
    std::fs::create_dir_all(&endpoint_dir).map_err(NodeError::io(&endpoint_dir))?;

    let instance = load_generation(paths, install, kind, l7, generation)?;
    let staged = (|| {
        hook::at(steps::LOADED, name)?;
        let program_ids = pin_generation(paths, name, generation, &instance, kind)?;
        paths.write_record(&GenerationRecord {
            endpoint: name.to_owned(),
            generation,
            artifact_digest: artifact.digest.clone(),
            artifact_dir: std::fs::canonicalize(&artifact.dir)
                .unwrap_or_else(|_| artifact.dir.clone()),
            attach: attach.clone(),
            program_ids: program_ids.clone(),
            l7_fallback_allow_l4: l7.fallback,
            manifest: artifact.manifest.clone(),
            apply_micros: Some(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)),
        })?;
        if let AttachPoint::Tcx { ifindex, .. } = attach {
            stage_generation(paths, install, generation, dns, ifindex)?;
        }
        hook::at(steps::PINNED, name)?;
        let dispatcher = write_new_slots(paths, name, &starting, generation, &attach)?;
        Ok((program_ids, dispatcher))
    })();
    match staged {
        Ok((program_ids, dispatcher)) => Ok(Staged {
            install,
            attach,
            starting,
            generation,
            program_ids,
            dispatcher,
        }),
        Err(e) => match unstage_parts(paths, name, &starting, generation) {
            Ok(()) => Err(e),
            Err(undo) => Err(undo_failed(name, &e, &undo)),
        },
    }
}

/// The error of a staging whose undo failed too: only a first install can get here (a
/// replace's undo is removing pins the old generation never uses).
fn undo_failed(name: &str, error: &NodeError, undo: &NodeError) -> NodeError {
    NodeError::State {
        endpoint: name.to_owned(),
        problem: format!(
            "{error}; undoing the partial first install ALSO failed ({undo}): the endpoint may be partly enforced — run `policy-loader unload --endpoint {name}` and apply again"
        ),
    }
}

/// Undoes steps 1–3 of one endpoint. A replace: the word still selects the old generation's
/// slot, so dropping the new pins is all there is to undo (its programs stay in the inactive
/// slots, unused). A first install: everything of the endpoint goes, links included.
fn unstage_parts(
    paths: &NodePaths,
    name: &str,
    starting: &Starting,
    generation: u64,
) -> Result<(), NodeError> {
    match starting {
        Starting::Replace { .. } => {
            remove_generation(paths, name, generation);
            Ok(())
        }
        Starting::Fresh => {
            clear_partial(paths, name)?;
            remove_tree(&paths.endpoint_dir(name))?;
            let _ = std::fs::remove_dir_all(paths.record_dir(name));
            Ok(())
        }
    }
}

/// Undoes a staged endpoint that did not go live (or was switched back by [`go_back`]).
pub fn unstage(paths: &NodePaths, staged: &Staged<'_>) -> Result<(), NodeError> {
    unstage_parts(paths, staged.name(), &staged.starting, staged.generation)
}

/// Step 4: the flip — one update of the generation word switches main and DNS programs of
/// both directions; a first install is attached right after it.
pub fn go_live(paths: &NodePaths, staged: &Staged<'_>) -> Result<(), NodeError> {
    staged.dispatcher.flip(staged.generation)?;
    if let Starting::Fresh = staged.starting {
        for direction in DIRECTIONS {
            attach_dispatcher(paths, staged.name(), direction, link_target(&staged.attach))?;
        }
    }
    Ok(())
}

/// Undoes [`go_live`] when a later endpoint of the same apply could not switch: a replace
/// flips the word back to the old generation, whose programs never left their slots; a
/// first install is detached (by [`unstage`], which the caller runs next).
pub fn go_back(staged: &Staged<'_>) -> Result<(), NodeError> {
    match staged.starting {
        Starting::Replace { active } => staged.dispatcher.flip(active),
        Starting::Fresh => Ok(()),
    }
}

/// After every endpoint of the apply went live: links put right, older generations
/// removed. An error here is reported as such — the new generation runs (`status` shows the
/// endpoint DETACHED or OUT OF ORDER until an apply succeeds).
pub fn finish(paths: &NodePaths, staged: Staged<'_>) -> Result<Installed, NodeError> {
    let name = staged.name().to_owned();
    let generation = staged.generation;
    ensure_links(paths, &name, &staged.attach).map_err(|source| NodeError::AfterSwitch {
        endpoint: name.clone(),
        generation,
        source: Box::new(source),
    })?;
    hook::after_switch(steps::FLIPPED);
    remove_older_generations(paths, &name, generation);
    hook::after_switch(steps::CLEANED);
    Ok(Installed {
        generation,
        replaced: staged.old(),
        attach: staged.attach,
        program_ids: staged.program_ids,
    })
}

/// Unpins every generation of the endpoint other than `generation` (main and DNS).
fn remove_older_generations(paths: &NodePaths, name: &str, generation: u64) {
    for stale in paths.generations(name) {
        if stale != generation {
            remove_generation(paths, name, stale);
        }
    }
    for stale in super::dns::paths::generations(paths, name) {
        if stale != generation {
            let _ = std::fs::remove_dir_all(super::dns::paths::generation_dir(paths, name, stale));
        }
    }
}

/// Completes the switch of an apply killed between two endpoints' flips (see
/// [`journal`]): every endpoint the journal names whose staged generation is still complete
/// (recorded and pinned) is flipped to it and its links put right; the journal goes.
/// Returns what was done, one line per endpoint, for the caller to print. Runs under the node
/// lock, before the command's own work.
pub fn complete_interrupted_switch(paths: &NodePaths) -> Result<Vec<String>, NodeError> {
    complete_switch(paths).map_err(|source| NodeError::CompletingSwitch {
        source: Box::new(source),
    })
}

fn complete_switch(paths: &NodePaths) -> Result<Vec<String>, NodeError> {
    let Some(journal) = journal::read(paths)? else {
        return Ok(Vec::new());
    };
    let mut done = Vec::new();
    for switch in &journal.switches {
        let name = &switch.endpoint;
        // Endpoints that already flipped are flipped again to the same generation (harmless)
        // and have their links checked like the rest: the kill may have come before their
        // first install was attached.
        let record = match paths.read_record(name, switch.to) {
            Ok(record) if paths.generation_dir(name, switch.to).is_dir() => record,
            _ => {
                done.push(format!(
                    "{name}: its staged generation {} is gone; left as it is (see `policy-loader status`)",
                    switch.to
                ));
                continue;
            }
        };
        Dispatcher::open(paths, name)?.flip(switch.to)?;
        ensure_links(paths, name, &record.attach).map_err(|source| NodeError::AfterSwitch {
            endpoint: name.clone(),
            generation: switch.to,
            source: Box::new(source),
        })?;
        remove_older_generations(paths, name, switch.to);
        done.push(format!(
            "{name}: switched to generation {} of {} (completing an apply that was killed while switching)",
            switch.to,
            journal.artifact_dir.display()
        ));
    }
    journal::remove(paths)?;
    Ok(done)
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
