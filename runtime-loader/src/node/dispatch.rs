//! The endpoint's dispatcher (`policyc_backends::DISPATCH_OBJECT`): created and attached once
//! per endpoint, then only driven through its pinned maps — the two per-direction program
//! arrays (slot = generation & 1) and the active-generation word both directions read.
//!
//! Why one program array per direction: on this kernel (6.18; enforced since 6.17) a program
//! array only admits programs whose `expected_attach_type` equals that of the first program
//! that used it, and the two directions' entry points have different attach types (tcx
//! ingress/egress, cgroup_skb ingress/egress). The dispatcher of a direction is loaded with the
//! same attach type as the datapath program it tail-calls, so the kernel's compatibility check
//! (program type, JIT, attach type) holds by construction; `slot_program_id` lets `status`
//! verify what sits in each slot.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use libbpf_rs::{MapCore, MapFlags, MapHandle, ObjectBuilder, OpenObject, ProgramHandle};
use policyc_backends::dispatch::{map_names, programs};
use policyc_backends::layout::Direction;
use policyc_backends::DISPATCH_OBJECT;

use super::error::NodeError;
use super::pins::{direction_name, NodePaths, DIRECTIONS};
use super::slots::{ProgramSlots, SlotStage};
use policyc_kernel::attach::{create_link, pin_fd, LinkTarget};
use policyc_kernel::datapath::AttachKind;
use policyc_kernel::verifier::load_with_verifier_log;

/// Maps of the dispatcher, pinned in the endpoint directory.
pub const DISPATCH_MAPS: [&str; 3] = [
    map_names::ACTIVE_GENERATION,
    map_names::PROGRAMS_INGRESS,
    map_names::PROGRAMS_EGRESS,
];

/// The dispatcher program name for a direction and attach kind.
pub fn dispatcher_program_name(direction: Direction, kind: AttachKind) -> &'static str {
    match (direction, kind) {
        (Direction::Egress, AttachKind::Tcx) => programs::EGRESS_TCX,
        (Direction::Ingress, AttachKind::Tcx) => programs::INGRESS_TCX,
        (Direction::Egress, AttachKind::CgroupSkb) => programs::EGRESS_CGROUP,
        (Direction::Ingress, AttachKind::CgroupSkb) => programs::INGRESS_CGROUP,
    }
}

/// The program array of a direction.
pub fn program_array_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => map_names::PROGRAMS_INGRESS,
        Direction::Egress => map_names::PROGRAMS_EGRESS,
    }
}

/// Opens the dispatcher object (`policyc_backends::DISPATCH_OBJECT`) as `name`, with only the
/// `wanted` programs to be loaded.
pub fn open_dispatch_object(
    name: &str,
    wanted: &[&str],
) -> Result<OpenObject, policyc_kernel::LoaderError> {
    let mut builder = ObjectBuilder::default();
    builder
        .name(name)
        .map_err(policyc_kernel::LoaderError::Open)?;
    let mut open = builder
        .open_memory(DISPATCH_OBJECT)
        .map_err(policyc_kernel::LoaderError::Open)?;
    for mut prog in open.progs_mut() {
        let load = wanted.contains(&prog.name().to_string_lossy().as_ref());
        prog.set_autoload(load);
    }
    Ok(open)
}

/// An endpoint's pinned dispatcher maps, opened: the active-generation word and the two
/// program arrays (whose `slot_program_id`/`write_slot` it offers through `Deref`).
#[derive(Debug)]
pub struct Dispatcher {
    active: MapHandle,
    slots: ProgramSlots,
}

impl std::ops::Deref for Dispatcher {
    type Target = ProgramSlots;

    fn deref(&self) -> &ProgramSlots {
        &self.slots
    }
}

fn pin_path(paths: &NodePaths, endpoint: &str, map: &str) -> PathBuf {
    paths.endpoint_dir(endpoint).join(map)
}

impl Dispatcher {
    /// Whether every dispatcher pin (maps and both programs) of the endpoint exists.
    pub fn is_pinned(paths: &NodePaths, endpoint: &str) -> bool {
        DISPATCH_MAPS
            .iter()
            .all(|m| pin_path(paths, endpoint, m).exists())
            && DIRECTIONS
                .iter()
                .all(|d| paths.dispatcher(endpoint, *d).exists())
    }

    /// Opens the pinned dispatcher maps of an endpoint.
    pub fn open(paths: &NodePaths, endpoint: &str) -> Result<Dispatcher, NodeError> {
        let open = |map: &str| {
            let path = pin_path(paths, endpoint, map);
            if !path.exists() {
                return Err(NodeError::State {
                    endpoint: endpoint.to_owned(),
                    problem: format!("no dispatcher map pinned at {}", path.display()),
                });
            }
            MapHandle::from_pinned_path(&path).map_err(NodeError::kernel(
                endpoint,
                format!("opening {}", path.display()),
            ))
        };
        let active = open(map_names::ACTIVE_GENERATION)?;
        let ingress = open(map_names::PROGRAMS_INGRESS)?;
        let egress = open(map_names::PROGRAMS_EGRESS)?;
        Ok(Dispatcher {
            active,
            slots: ProgramSlots::new(endpoint, SlotStage::Main, ingress, egress),
        })
    }

    /// Loads the dispatcher for `kind` and pins its two programs and three maps. The active
    /// generation starts at 0 with both arrays empty: until the first flip every packet at an
    /// attached dispatcher would be dropped (the caller flips before attaching).
    pub fn create(
        paths: &NodePaths,
        endpoint: &str,
        kind: AttachKind,
    ) -> Result<Dispatcher, NodeError> {
        let load_error = |source| NodeError::Load {
            endpoint: endpoint.to_owned(),
            source,
        };
        let wanted: Vec<&str> = DIRECTIONS
            .iter()
            .map(|d| dispatcher_program_name(*d, kind))
            .collect();
        let open = open_dispatch_object("policyc_dispatch", &wanted).map_err(load_error)?;
        let mut object = load_with_verifier_log(open).map_err(load_error)?;
        let mut pinned: Vec<PathBuf> = Vec::new();
        let result = (|| {
            for mut map in object.maps_mut() {
                let name = map.name().to_string_lossy().into_owned();
                if !DISPATCH_MAPS.contains(&name.as_str()) {
                    continue;
                }
                let path = pin_path(paths, endpoint, &name);
                map.pin(&path).map_err(NodeError::kernel(
                    endpoint,
                    format!("pinning {}", path.display()),
                ))?;
                pinned.push(path);
            }
            for direction in DIRECTIONS {
                let name = dispatcher_program_name(direction, kind);
                let mut prog = object
                    .progs_mut()
                    .find(|p| p.name().to_string_lossy() == name)
                    .ok_or_else(|| NodeError::State {
                        endpoint: endpoint.to_owned(),
                        problem: format!("the dispatcher object has no program {name}"),
                    })?;
                let path = paths.dispatcher(endpoint, direction);
                prog.pin(&path).map_err(NodeError::kernel(
                    endpoint,
                    format!("pinning {}", path.display()),
                ))?;
                pinned.push(path);
            }
            Dispatcher::open(paths, endpoint)
        })();
        if result.is_err() {
            for path in pinned {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    /// The active generation word (0 before the first flip).
    pub fn active_generation(&self) -> Result<u64, NodeError> {
        let value = self
            .active
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(NodeError::kernel(
                self.endpoint(),
                "reading the active generation",
            ))?;
        let bytes: [u8; 4] = value
            .as_deref()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| NodeError::State {
                endpoint: self.endpoint().to_owned(),
                problem: "the active-generation map has no 4-byte value".into(),
            })?;
        Ok(u64::from(u32::from_ne_bytes(bytes)))
    }

    /// THE switch: one update of the active-generation word moves both directions to
    /// `generation` at once.
    pub fn flip(&self, generation: u64) -> Result<(), NodeError> {
        let word = u32::try_from(generation).map_err(|_| NodeError::State {
            endpoint: self.endpoint().to_owned(),
            problem: format!("generation {generation} does not fit the 32-bit generation word"),
        })?;
        self.active
            .update(&0u32.to_ne_bytes(), &word.to_ne_bytes(), MapFlags::ANY)
            .map_err(NodeError::kernel(
                self.endpoint(),
                format!("switching to generation {generation}"),
            ))
    }
}

/// Attaches the pinned dispatcher of `direction` at `target` and pins the link; a link already
/// pinned is left alone (an interrupted first install is completed, not duplicated). A link to
/// be moved elsewhere is detached first (see `install::ensure_links`).
pub fn attach_dispatcher(
    paths: &NodePaths,
    endpoint: &str,
    direction: Direction,
    target: LinkTarget<'_>,
) -> Result<(), NodeError> {
    let link_path = paths.link(endpoint, direction);
    if link_path.exists() {
        return Ok(());
    }
    let link = link_dispatcher(paths, endpoint, direction, target)?;
    pin_link(endpoint, &link, &link_path)
}

/// Creates a (not yet pinned) link of the endpoint's pinned dispatcher of `direction` at
/// `target`.
fn link_dispatcher(
    paths: &NodePaths,
    endpoint: &str,
    direction: Direction,
    target: LinkTarget<'_>,
) -> Result<OwnedFd, NodeError> {
    let program = ProgramHandle::from_pinned_path(paths.dispatcher(endpoint, direction))
        .map_err(NodeError::kernel(endpoint, "opening the pinned dispatcher"))?;
    create_link(
        program.as_fd(),
        &format!("{endpoint} {} dispatcher", direction_name(direction)),
        direction,
        target,
    )
    .map_err(|source| NodeError::Load {
        endpoint: endpoint.to_owned(),
        source,
    })
}

fn pin_link(endpoint: &str, link: &OwnedFd, path: &Path) -> Result<(), NodeError> {
    pin_fd(link.as_fd(), path).map_err(NodeError::kernel(
        endpoint,
        format!("pinning {}", path.display()),
    ))
}
