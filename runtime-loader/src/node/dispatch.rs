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

use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use libbpf_rs::{MapCore, MapFlags, MapHandle, ObjectBuilder, ProgramHandle};
use policyc_backends::dispatch::{map_names, programs, slot_of};
use policyc_backends::layout::Direction;
use policyc_backends::DISPATCH_OBJECT;

use super::error::NodeError;
use super::pins::{direction_name, NodePaths, DIRECTIONS};
use crate::attach::{create_link, pin_fd, LinkTarget};
use crate::datapath::AttachKind;
use crate::verifier::load_with_verifier_log;

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

/// An endpoint's pinned dispatcher maps, opened.
#[derive(Debug)]
pub struct Dispatcher {
    endpoint: String,
    active: MapHandle,
    ingress: MapHandle,
    egress: MapHandle,
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
        Ok(Dispatcher {
            endpoint: endpoint.to_owned(),
            active: open(map_names::ACTIVE_GENERATION)?,
            ingress: open(map_names::PROGRAMS_INGRESS)?,
            egress: open(map_names::PROGRAMS_EGRESS)?,
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
        let mut builder = ObjectBuilder::default();
        builder
            .name("policyc_dispatch")
            .map_err(|e| load_error(crate::LoaderError::Open(e)))?;
        let mut open = builder
            .open_memory(DISPATCH_OBJECT)
            .map_err(|e| load_error(crate::LoaderError::Open(e)))?;
        let wanted: Vec<&str> = DIRECTIONS
            .iter()
            .map(|d| dispatcher_program_name(*d, kind))
            .collect();
        for mut prog in open.progs_mut() {
            let load = wanted.contains(&prog.name().to_string_lossy().as_ref());
            prog.set_autoload(load);
        }
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

    fn array(&self, direction: Direction) -> &MapHandle {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// The active generation word (0 before the first flip).
    pub fn active_generation(&self) -> Result<u64, NodeError> {
        let value = self
            .active
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(NodeError::kernel(
                &self.endpoint,
                "reading the active generation",
            ))?;
        let bytes: [u8; 4] = value
            .as_deref()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| NodeError::State {
                endpoint: self.endpoint.clone(),
                problem: "the active-generation map has no 4-byte value".into(),
            })?;
        Ok(u64::from(u32::from_ne_bytes(bytes)))
    }

    /// The id of the program in a direction's slot (None: empty).
    pub fn slot_program_id(&self, direction: Direction, slot: u32) -> Option<u32> {
        let value = self
            .array(direction)
            .lookup(&slot.to_ne_bytes(), MapFlags::ANY)
            .ok()
            .flatten()?;
        let bytes: [u8; 4] = value.as_slice().try_into().ok()?;
        Some(u32::from_ne_bytes(bytes))
    }

    /// Puts `program` into the slot of `generation` in a direction's array. The kernel refuses a
    /// program of another type or attach type than the dispatcher's.
    pub fn write_slot(
        &self,
        direction: Direction,
        generation: u64,
        program: BorrowedFd<'_>,
    ) -> Result<(), NodeError> {
        use std::os::fd::AsRawFd;
        let slot = slot_of(generation);
        self.array(direction)
            .update(
                &slot.to_ne_bytes(),
                &program.as_raw_fd().to_ne_bytes(),
                MapFlags::ANY,
            )
            .map_err(NodeError::kernel(
                &self.endpoint,
                format!(
                    "writing generation {generation} into {} slot {slot}",
                    direction_name(direction)
                ),
            ))
    }

    /// THE switch: one update of the active-generation word moves both directions to
    /// `generation` at once.
    pub fn flip(&self, generation: u64) -> Result<(), NodeError> {
        let word = u32::try_from(generation).map_err(|_| NodeError::State {
            endpoint: self.endpoint.clone(),
            problem: format!("generation {generation} does not fit the 32-bit generation word"),
        })?;
        self.active
            .update(&0u32.to_ne_bytes(), &word.to_ne_bytes(), MapFlags::ANY)
            .map_err(NodeError::kernel(
                &self.endpoint,
                format!("switching to generation {generation}"),
            ))
    }
}

/// Attaches the pinned dispatcher of `direction` at `target` and pins the link; a link already
/// pinned is left alone (an interrupted first install is completed, not duplicated).
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
    let program = ProgramHandle::from_pinned_path(paths.dispatcher(endpoint, direction))
        .map_err(NodeError::kernel(endpoint, "opening the pinned dispatcher"))?;
    let link = create_link(
        program.as_fd(),
        &format!("{endpoint} {} dispatcher", direction_name(direction)),
        direction,
        target,
    )
    .map_err(|source| NodeError::Load {
        endpoint: endpoint.to_owned(),
        source,
    })?;
    pin_fd(link.as_fd(), &link_path).map_err(NodeError::kernel(
        endpoint,
        format!("pinning {}", link_path.display()),
    ))
}

/// Re-attaches the pinned dispatcher of `direction` at a new `target` (a recreated interface,
/// a moved cgroup): the new link is pinned beside the old one and renamed over it, which drops
/// the old link's last reference (detaching it wherever it still was).
pub fn move_dispatcher(
    paths: &NodePaths,
    endpoint: &str,
    direction: Direction,
    target: LinkTarget<'_>,
) -> Result<(), NodeError> {
    let link_path = paths.link(endpoint, direction);
    // bpffs names cannot contain a dot.
    let staged = paths
        .endpoint_dir(endpoint)
        .join(format!("link_{}_moving", direction_name(direction)));
    let _ = std::fs::remove_file(&staged);
    let program = ProgramHandle::from_pinned_path(paths.dispatcher(endpoint, direction))
        .map_err(NodeError::kernel(endpoint, "opening the pinned dispatcher"))?;
    let link = create_link(
        program.as_fd(),
        &format!("{endpoint} {} dispatcher", direction_name(direction)),
        direction,
        target,
    )
    .map_err(|source| NodeError::Load {
        endpoint: endpoint.to_owned(),
        source,
    })?;
    pin_fd(link.as_fd(), &staged).map_err(NodeError::kernel(
        endpoint,
        format!("pinning {}", staged.display()),
    ))?;
    std::fs::rename(&staged, &link_path).map_err(NodeError::io(&link_path))
}
