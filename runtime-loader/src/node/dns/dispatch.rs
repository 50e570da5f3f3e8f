//! The endpoint's DNS stage dispatcher: a second instance of the dispatcher object
//! (`policyc_backends::DISPATCH_OBJECT`, programs `pc_dns_disp_*_tcx`) loaded with the
//! endpoint's pinned active-generation word reused, its own two program arrays
//! (`pc_dns_prog_{ingress,egress}`) and two pass-through programs (`pc_dns_pass_*_tcx`, which
//! return `TCX_NEXT`). Its links are attached right AFTER the main dispatcher's on the same tcx
//! chains (`BPF_F_AFTER` relative to the main dispatcher program).
//!
//! Because the word is the SAME map as the main dispatcher's, one flip switches the main
//! datapath and the DNS stage of both directions at once: a generation writes its DNS programs
//! (or the pass-through ones, when it has no `rules.dns`) into the inactive DNS slots before
//! the flip, exactly like its datapath programs (see `crate::node::install`).
//!
//! The DNS programs share the attach types of the dispatchers that tail-call them (questions:
//! tcx ingress, answers: tcx egress), so the kernel's program-array compatibility check holds.

use std::os::fd::{AsFd, AsRawFd};
use std::path::PathBuf;

use libbpf_rs::{MapCore, MapHandle, ProgramHandle};
use policyc_backends::dispatch::{map_names, programs, slot_of};
use policyc_backends::layout::Direction;

use super::paths::dns_dir;
use crate::node::dispatch::open_dispatch_object;
use crate::node::error::NodeError;
use crate::node::pins::{detach_pinned_link, direction_name, remove_pin, NodePaths, DIRECTIONS};
use crate::node::slots::{ProgramSlots, SlotStage};
use policyc_kernel::attach::{kernel_attach_type, pin_fd, tcx_chain};
use policyc_kernel::datapath::AttachKind;
use policyc_kernel::verifier::load_with_verifier_log;

/// The DNS stage program array of a direction.
pub fn program_array_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => map_names::DNS_PROGRAMS_INGRESS,
        Direction::Egress => map_names::DNS_PROGRAMS_EGRESS,
    }
}

fn dispatcher_program_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => programs::DNS_INGRESS_TCX,
        Direction::Egress => programs::DNS_EGRESS_TCX,
    }
}

fn pass_program_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => programs::DNS_PASS_INGRESS_TCX,
        Direction::Egress => programs::DNS_PASS_EGRESS_TCX,
    }
}

/// `<endpoint>/dns/<array>`.
fn array_pin(paths: &NodePaths, endpoint: &str, direction: Direction) -> PathBuf {
    dns_dir(paths, endpoint).join(program_array_name(direction))
}

/// `<endpoint>/dns/dispatcher_<direction>`.
pub fn dispatcher_pin(paths: &NodePaths, endpoint: &str, direction: Direction) -> PathBuf {
    dns_dir(paths, endpoint).join(format!("dispatcher_{}", direction_name(direction)))
}

/// `<endpoint>/dns/pass_<direction>`: the pass-through program of a generation without DNS.
pub fn pass_pin(paths: &NodePaths, endpoint: &str, direction: Direction) -> PathBuf {
    dns_dir(paths, endpoint).join(format!("pass_{}", direction_name(direction)))
}

/// `<endpoint>/dns/link_<direction>`: the DNS dispatcher's tcx link.
pub fn link_pin(paths: &NodePaths, endpoint: &str, direction: Direction) -> PathBuf {
    dns_dir(paths, endpoint).join(format!("link_{}", direction_name(direction)))
}

/// Every pin of the DNS stage dispatcher (links excluded).
fn stage_pins(paths: &NodePaths, endpoint: &str) -> Vec<PathBuf> {
    DIRECTIONS
        .iter()
        .flat_map(|d| {
            [
                array_pin(paths, endpoint, *d),
                dispatcher_pin(paths, endpoint, *d),
                pass_pin(paths, endpoint, *d),
            ]
        })
        .collect()
}

/// An endpoint's pinned DNS stage program arrays, opened (their `slot_program_id`/`write_slot`
/// are offered through `Deref`).
#[derive(Debug)]
pub struct DnsDispatcher {
    slots: ProgramSlots,
}

impl std::ops::Deref for DnsDispatcher {
    type Target = ProgramSlots;

    fn deref(&self) -> &ProgramSlots {
        &self.slots
    }
}

impl DnsDispatcher {
    /// Whether every DNS stage pin (arrays, dispatchers, pass-through programs) exists.
    pub fn is_pinned(paths: &NodePaths, endpoint: &str) -> bool {
        stage_pins(paths, endpoint).iter().all(|p| p.exists())
    }

    /// Opens the pinned DNS stage of an endpoint.
    pub fn open(paths: &NodePaths, endpoint: &str) -> Result<DnsDispatcher, NodeError> {
        let open = |direction| {
            let path = array_pin(paths, endpoint, direction);
            MapHandle::from_pinned_path(&path).map_err(NodeError::kernel(
                endpoint,
                format!("opening {}", path.display()),
            ))
        };
        let ingress = open(Direction::Ingress)?;
        let egress = open(Direction::Egress)?;
        Ok(DnsDispatcher {
            slots: ProgramSlots::new(endpoint, SlotStage::Dns, ingress, egress),
        })
    }

    /// Removes the DNS stage pins and links (a leftover of an interrupted first creation).
    pub fn remove(paths: &NodePaths, endpoint: &str) -> Result<(), NodeError> {
        for direction in DIRECTIONS {
            detach_pinned_link(&link_pin(paths, endpoint, direction))?;
        }
        for pin in stage_pins(paths, endpoint) {
            remove_pin(&pin)?;
        }
        Ok(())
    }

    /// Loads the DNS stage with the endpoint's pinned active-generation word (`word`: its pin)
    /// reused, and pins its arrays, dispatchers and pass-through programs. Its slots start
    /// empty; nothing is attached.
    pub fn create(
        paths: &NodePaths,
        endpoint: &str,
        word: &std::path::Path,
    ) -> Result<DnsDispatcher, NodeError> {
        Self::remove(paths, endpoint)?;
        let dir = dns_dir(paths, endpoint);
        std::fs::create_dir_all(&dir).map_err(NodeError::io(&dir))?;
        let load_error = |source| NodeError::Load {
            endpoint: endpoint.to_owned(),
            source,
        };
        let wanted: Vec<&str> = DIRECTIONS
            .iter()
            .flat_map(|d| [dispatcher_program_name(*d), pass_program_name(*d)])
            .collect();
        let mut open = open_dispatch_object("policyc_dns_dispatch", &wanted).map_err(load_error)?;
        for mut map in open.maps_mut() {
            if map.name().to_string_lossy() == map_names::ACTIVE_GENERATION {
                map.reuse_pinned_map(word).map_err(|source| {
                    load_error(policyc_kernel::LoaderError::Map {
                        map: format!(
                            "{} (reusing {})",
                            map_names::ACTIVE_GENERATION,
                            word.display()
                        ),
                        source,
                    })
                })?;
            }
        }
        let mut object = load_with_verifier_log(open).map_err(load_error)?;
        let result = (|| {
            for direction in DIRECTIONS {
                let array = program_array_name(direction);
                let mut map = object
                    .maps_mut()
                    .find(|m| m.name().to_string_lossy() == array)
                    .ok_or_else(|| missing(endpoint, array))?;
                let path = array_pin(paths, endpoint, direction);
                map.pin(&path).map_err(NodeError::kernel(
                    endpoint,
                    format!("pinning {}", path.display()),
                ))?;
                for (name, path) in [
                    (
                        dispatcher_program_name(direction),
                        dispatcher_pin(paths, endpoint, direction),
                    ),
                    (
                        pass_program_name(direction),
                        pass_pin(paths, endpoint, direction),
                    ),
                ] {
                    let mut prog = object
                        .progs_mut()
                        .find(|p| p.name().to_string_lossy() == name)
                        .ok_or_else(|| missing(endpoint, name))?;
                    prog.pin(&path).map_err(NodeError::kernel(
                        endpoint,
                        format!("pinning {}", path.display()),
                    ))?;
                }
            }
            DnsDispatcher::open(paths, endpoint)
        })();
        match result {
            Err(e) => Err(match Self::remove(paths, endpoint) {
                Ok(()) => e,
                Err(undo) => NodeError::State {
                    endpoint: endpoint.to_owned(),
                    problem: format!(
                        "{e}; removing the half-created DNS stage also failed: {undo}"
                    ),
                },
            }),
            ok => ok,
        }
    }
}

fn missing(endpoint: &str, what: &str) -> NodeError {
    NodeError::State {
        endpoint: endpoint.to_owned(),
        problem: format!("the dispatcher object has no {what}"),
    }
}

/// Attaches the DNS dispatcher of `direction` right after `main` (the endpoint's pinned main
/// dispatcher program) on tcx of `ifindex`, and pins the link; a link already pinned is left
/// alone (one to be moved is detached first, see `install::ensure_links`).
pub fn attach_after_main(
    paths: &NodePaths,
    endpoint: &str,
    direction: Direction,
    ifindex: u32,
    main: &std::path::Path,
) -> Result<(), NodeError> {
    use std::os::fd::FromRawFd;
    let link_path = link_pin(paths, endpoint, direction);
    if link_path.exists() {
        return Ok(());
    }
    let open = |path: PathBuf| {
        ProgramHandle::from_pinned_path(&path).map_err(NodeError::kernel(
            endpoint,
            format!("opening {}", path.display()),
        ))
    };
    let program = open(dispatcher_pin(paths, endpoint, direction))?;
    let main = open(main.to_path_buf())?;
    let target = i32::try_from(ifindex).map_err(|_| NodeError::State {
        endpoint: endpoint.to_owned(),
        problem: format!("ifindex {ifindex} out of range"),
    })?;
    // SAFETY: all-zero is a valid bpf_link_create_opts once sz is set; the tcx member of the
    // union takes the relative program (BPF_F_AFTER: right after the main dispatcher).
    let mut opts: libbpf_sys::bpf_link_create_opts = unsafe { std::mem::zeroed() };
    opts.sz = size_of::<libbpf_sys::bpf_link_create_opts>() as _;
    opts.flags = libbpf_sys::BPF_F_AFTER;
    opts.__bindgen_anon_1.tcx.relative_fd = main.as_fd().as_raw_fd() as u32;
    // SAFETY: both program fds are valid for the call.
    let fd = unsafe {
        libbpf_sys::bpf_link_create(
            program.as_fd().as_raw_fd(),
            target,
            kernel_attach_type(direction, AttachKind::Tcx),
            &opts,
        )
    };
    if fd < 0 {
        return Err(NodeError::kernel(
            endpoint,
            format!("attaching the {} DNS dispatcher", direction_name(direction)),
        )(libbpf_rs::Error::from_raw_os_error(-fd)));
    }
    // SAFETY: the kernel returned a fresh fd this process owns.
    let link = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    pin_fd(link.as_fd(), &link_path).map_err(NodeError::kernel(
        endpoint,
        format!("pinning {}", link_path.display()),
    ))
}

/// The DNS stage of an endpoint as the kernel runs it, read back from bpffs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageState {
    /// Per direction: the program id the DNS stage link runs (the DNS dispatcher) and the
    /// interface it is attached to (None: no link pinned).
    pub links: Vec<(Direction, Option<(u32, u32)>)>,
    /// Per direction: the program id in the active DNS slot (None: empty).
    pub slots: Vec<(Direction, Option<u32>)>,
    /// Per direction: the program id the active generation should have there (its DNS program,
    /// or the pass-through when it has no `rules.dns`).
    pub expected: Vec<(Direction, Option<u32>)>,
}

/// Reads the DNS stage of an endpoint running generation `active` (None: no DNS stage pinned).
pub fn stage_state(paths: &NodePaths, endpoint: &str, active: u64) -> Option<StageState> {
    use crate::node::pins::pinned_program_id;
    use libbpf_rs::{query::LinkTypeInfo, Link};
    if !DnsDispatcher::is_pinned(paths, endpoint) {
        return None;
    }
    let stage = DnsDispatcher::open(paths, endpoint).ok()?;
    let mut state = StageState::default();
    for direction in DIRECTIONS {
        let link_path = link_pin(paths, endpoint, direction);
        let link = link_path
            .exists()
            .then(|| Link::open(&link_path).ok())
            .flatten()
            .and_then(|l| l.info().ok())
            .map(|info| {
                let ifindex = match info.info {
                    LinkTypeInfo::Tcx(tcx) => tcx.ifindex,
                    _ => 0,
                };
                (info.prog_id, ifindex)
            });
        state.links.push((direction, link));
        state
            .slots
            .push((direction, stage.slot_program_id(direction, slot_of(active))));
        let own = super::paths::program(paths, endpoint, active, super::paths::hook_of(direction));
        let expected = if own.exists() {
            pinned_program_id(&own)
        } else {
            pinned_program_id(&pass_pin(paths, endpoint, direction))
        };
        state.expected.push((direction, expected));
    }
    Some(state)
}

impl StageState {
    /// Whether both DNS stage links run last on their tcx chains at `ifindex`, after the main
    /// dispatchers (the endpoint's egress is the interface's tcx ingress): a DNS stage that
    /// runs before the main datapath would learn answers to questions the policy drops.
    pub fn runs_after_main(&self, ifindex: u32) -> bool {
        DIRECTIONS
            .iter()
            .all(|direction| self.direction_runs_after_main(*direction, ifindex))
    }

    /// [`Self::runs_after_main`] for one direction's tcx chain.
    pub fn direction_runs_after_main(&self, direction: Direction, ifindex: u32) -> bool {
        let chain = tcx_chain(ifindex, kernel_attach_type(direction, AttachKind::Tcx));
        let link = self
            .links
            .iter()
            .find(|(d, _)| *d == direction)
            .and_then(|(_, link)| link.map(|(id, _)| id));
        chain.len() >= 2 && link.is_some() && chain.last().copied() == link
    }

    /// What is wrong with the DNS stage of an endpoint attached at `ifindex`, if anything.
    pub fn problem(&self, paths: &NodePaths, endpoint: &str, ifindex: u32) -> Option<String> {
        use crate::node::pins::pinned_program_id;
        for (direction, link) in &self.links {
            let dispatcher = pinned_program_id(&dispatcher_pin(paths, endpoint, *direction));
            match link {
                None => {
                    return Some(format!(
                        "the {} DNS stage is not attached; re-run apply",
                        direction_name(*direction)
                    ))
                }
                Some((id, at)) if Some(*id) != dispatcher || *at != ifindex => {
                    return Some(format!(
                        "DETACHED: the {} DNS stage link is not on ifindex {ifindex} running its dispatcher; re-run apply",
                        direction_name(*direction)
                    ))
                }
                Some(_) => {}
            }
        }
        if !self.runs_after_main(ifindex) {
            return Some(
                "OUT OF ORDER: the DNS stage does not run after the main datapath on both tcx chains; re-run apply"
                    .into(),
            );
        }
        for ((direction, slot), (_, expected)) in self.slots.iter().zip(&self.expected) {
            if slot.is_none() || slot != expected {
                return Some(format!(
                    "INCONSISTENT: the {} DNS slot holds {} but the active generation has {}",
                    direction_name(*direction),
                    slot.map_or("nothing".into(), |id| format!("program {id}")),
                    expected.map_or("nothing".into(), |id| format!("program {id}")),
                ));
            }
        }
        None
    }
}
