//! The two per-direction program arrays of a dispatcher (the main one or the DNS stage):
//! reading which program sits in a slot and writing a generation's program into its slot.

use std::os::fd::{AsRawFd, BorrowedFd};

use libbpf_rs::{MapCore, MapFlags, MapHandle};
use policyc_backends::dispatch::slot_of;
use policyc_backends::layout::Direction;

use super::error::NodeError;
use super::pins::direction_name;

/// Which dispatcher the arrays belong to (it names the slots in error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotStage {
    /// The main dispatcher's datapath slots.
    Main,
    /// The DNS stage dispatcher's slots.
    Dns,
}

impl SlotStage {
    fn describe(self, direction: Direction, slot: u32) -> String {
        let direction = direction_name(direction);
        match self {
            SlotStage::Main => format!("{direction} slot {slot}"),
            SlotStage::Dns => format!("the {direction} DNS slot {slot}"),
        }
    }
}

/// An endpoint's two opened per-direction program arrays of one dispatcher.
#[derive(Debug)]
pub struct ProgramSlots {
    endpoint: String,
    stage: SlotStage,
    ingress: MapHandle,
    egress: MapHandle,
}

impl ProgramSlots {
    /// The arrays of `endpoint`'s `stage` dispatcher, already opened.
    pub fn new(endpoint: &str, stage: SlotStage, ingress: MapHandle, egress: MapHandle) -> Self {
        ProgramSlots {
            endpoint: endpoint.to_owned(),
            stage,
            ingress,
            egress,
        }
    }

    /// The endpoint these arrays belong to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn array(&self, direction: Direction) -> &MapHandle {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
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
                    "writing generation {generation} into {}",
                    self.stage.describe(direction, slot)
                ),
            ))
    }
}
