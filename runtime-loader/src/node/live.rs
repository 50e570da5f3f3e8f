//! What an endpoint runs, read back from bpffs (never from the loader's memory): the dispatcher
//! links, the active-generation word and the programs in the active slots, matched with the
//! pinned generations; and the record of the generation it runs.

use libbpf_rs::query::LinkTypeInfo;
use libbpf_rs::Link;
use policyc_backends::layout::Direction;

use super::dispatch::Dispatcher;
use super::error::NodeError;
use super::pins::{pinned_program_id, AttachPoint, GenerationRecord, NodePaths, DIRECTIONS};

/// What an endpoint runs, read back from bpffs: the dispatcher links, the active-generation
/// word and the programs in the active slots.
#[derive(Debug, Clone)]
pub struct LiveState {
    /// Dispatcher program id per direction according to the links (None: no link pinned).
    pub link_program_ids: Vec<(Direction, Option<u32>)>,
    /// Where each link is attached now: the ifindex of a tcx link, the cgroup id (inode) of a
    /// cgroup link; 0 when its interface or cgroup is gone.
    pub link_targets: Vec<(Direction, Option<u64>)>,
    /// The active-generation word (None: no dispatcher pinned or unreadable).
    pub active_generation: Option<u64>,
    /// Datapath program id in each direction's active slot (None: empty slot).
    pub slot_program_ids: Vec<(Direction, Option<u32>)>,
    /// The pinned generation whose program sits in each direction's active slot.
    pub generations: Vec<(Direction, Option<u64>)>,
}

impl LiveState {
    /// The generation the endpoint runs: both links attached, and both active slots holding
    /// the programs pinned for the active generation. None otherwise (a state no apply leaves
    /// behind unless it was interrupted before the first install's flip or attach).
    pub fn generation(&self) -> Option<u64> {
        let active = self.active_generation?;
        let linked = self.link_program_ids.iter().all(|(_, id)| id.is_some());
        let slots = self.generations.iter().all(|(_, g)| *g == Some(active));
        (linked && slots).then_some(active)
    }

    /// Whether any link is pinned.
    pub fn attached(&self) -> bool {
        self.link_program_ids.iter().any(|(_, id)| id.is_some())
    }

    /// Whether both links are attached where `attach` says (not to a vanished or replaced
    /// interface or cgroup).
    pub fn links_on(&self, attach: &AttachPoint) -> bool {
        let Some(expected) = attach.target_id() else {
            return false;
        };
        self.link_targets
            .iter()
            .all(|(_, target)| *target == Some(expected))
    }
}

/// Reads the links, the active generation and the slots, and matches the slot programs with
/// pinned generations.
pub fn live_state(paths: &NodePaths, endpoint: &str) -> LiveState {
    let generations = paths.generations(endpoint);
    let dispatcher = Dispatcher::is_pinned(paths, endpoint)
        .then(|| Dispatcher::open(paths, endpoint).ok())
        .flatten();
    let active_generation = dispatcher.as_ref().and_then(|d| d.active_generation().ok());
    let mut link_program_ids = Vec::new();
    let mut link_targets = Vec::new();
    let mut slot_program_ids = Vec::new();
    let mut live = Vec::new();
    for direction in DIRECTIONS {
        let link_path = paths.link(endpoint, direction);
        let info = link_path
            .exists()
            .then(|| Link::open(&link_path).ok())
            .flatten()
            .and_then(|link| link.info().ok());
        let id = info.as_ref().map(|info| info.prog_id);
        let target = info.as_ref().and_then(|info| match &info.info {
            LinkTypeInfo::Tcx(tcx) => Some(u64::from(tcx.ifindex)),
            LinkTypeInfo::Cgroup(cgroup) => Some(cgroup.cgroup_id),
            _ => None,
        });
        link_targets.push((direction, target));
        let slot_id = dispatcher
            .as_ref()
            .zip(active_generation)
            .and_then(|(d, g)| {
                d.slot_program_id(direction, policyc_backends::dispatch::slot_of(g))
            });
        let generation = slot_id.and_then(|id| {
            generations
                .iter()
                .copied()
                .find(|g| pinned_program_id(&paths.program(endpoint, *g, direction)) == Some(id))
        });
        link_program_ids.push((direction, id));
        slot_program_ids.push((direction, slot_id));
        live.push((direction, generation));
    }
    LiveState {
        link_program_ids,
        link_targets,
        active_generation,
        slot_program_ids,
        generations: live,
    }
}

/// The live generation's record of an endpoint.
pub fn live_record(paths: &NodePaths, endpoint: &str) -> Result<GenerationRecord, NodeError> {
    let live = live_state(paths, endpoint);
    let generation = live.generation().ok_or_else(|| NodeError::State {
        endpoint: endpoint.to_owned(),
        problem: if live.attached() {
            "its first install was interrupted (not both directions attached and switched); re-run apply".into()
        } else {
            "not attached".into()
        },
    })?;
    paths.read_record(endpoint, generation)
}
