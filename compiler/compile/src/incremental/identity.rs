//! One more endpoint (and, usually, one more identity) without recompiling: see the module
//! documentation of [`super`].

use super::{IncrementalEndpoint, IncrementalError, UpdatePath};
use crate::optimize::layout::{add_member, MemberTables};
use crate::resolve::identity_delta::add_identity;
use policyc_backends::layout::{map_names, Direction as DpDirection};
use policyc_backends::{
    class_record, endpoint_images, inline_identity_function_record, ipcache_record, IpcacheEntry,
};
use policyc_frontend::identity::{add_inventory_endpoint, build_universe};
use policyc_frontend::inventory::{Inventory, InventoryEndpoint};
use policyc_ir::universe::EndpointKey;
use policyc_ir::{Direction, NumericIdentity, Prefix};

impl IncrementalEndpoint {
    /// Adds `endpoint` of `inventory` (which lists it, with everything else this endpoint was
    /// compiled from).
    pub fn add_endpoint(
        &mut self,
        inventory: &Inventory,
        endpoint: &InventoryEndpoint,
    ) -> Result<UpdatePath, IncrementalError> {
        self.stages = super::EditStages::default();
        let t = std::time::Instant::now();
        // Named ports change what the rules naming them cover on egress (every endpoint's
        // count): recompile.
        let in_place = endpoint.named_ports.is_empty()
            && add_inventory_endpoint(&mut self.universe, inventory, endpoint)?;
        if !in_place {
            self.universe = build_universe(inventory, &self.rules, self.universe.options())?;
            self.stages.universe_ms = super::ms(t);
            self.resolver_behind = true;
            self.recompile()?;
            return Ok(UpdatePath::Recompiled);
        }
        self.resolver_behind = true;
        self.stages.universe_ms = super::ms(t);
        let key = EndpointKey::new(&endpoint.namespace, &endpoint.name);
        let Some(added) = self.universe.endpoint(&key).cloned() else {
            return Ok(UpdatePath::InPlace);
        };
        let records: Vec<(Vec<u8>, Vec<u8>)> = added
            .ips
            .iter()
            .map(|ip| {
                ipcache_record(&IpcacheEntry {
                    prefix: Prefix::host(*ip).net(),
                    identity: added.identity.0,
                })
            })
            .collect();
        for (k, v) in records {
            self.ipcache_image
                .upsert(map_names::IPCACHE, k, v)
                .map_err(IncrementalError::Ipcache)?;
        }
        let identity = added.identity;
        if self
            .resolved
            .ingress
            .groups
            .iter()
            .any(|g| g.identities.contains(&identity))
        {
            // An identity the endpoint already judged: nothing of its own changes.
            return Ok(UpdatePath::InPlace);
        }
        let t = std::time::Instant::now();
        let in_place = self.add_identity(identity)?;
        self.stages.optimize_ms = super::ms(t);
        if in_place {
            Ok(UpdatePath::InPlace)
        } else {
            self.reoptimize()?;
            Ok(UpdatePath::Recompiled)
        }
    }

    /// The new identity joins its groups, classes and layouts; `false` when it cannot be done
    /// in place (what was changed is then recomputed by the caller).
    fn add_identity(&mut self, identity: NumericIdentity) -> Result<bool, IncrementalError> {
        let Some(peers) = &self.peers else {
            return Ok(false);
        };
        let Some(joined) = add_identity(
            &mut self.resolved,
            &self.universe,
            &self.rules,
            peers,
            identity,
        )?
        else {
            return Ok(false);
        };
        let mut changes = Vec::with_capacity(2);
        // A direction whose layout had to be chosen again: its tables and the images are
        // encoded anew at the end.
        let mut relaid = false;
        for (slot, direction) in [Direction::Ingress, Direction::Egress]
            .into_iter()
            .enumerate()
        {
            let group = &self.resolved.direction(direction).groups[joined[slot]];
            let Some(other) = group.identities.iter().find(|i| **i != identity) else {
                return Ok(false);
            };
            let (classes, layout) = match direction {
                Direction::Ingress => (
                    &mut self.optimized.ingress,
                    &mut self.optimized.ingress_layout,
                ),
                Direction::Egress => (
                    &mut self.optimized.egress,
                    &mut self.optimized.egress_layout,
                ),
            };
            let Some(class) = classes.class_of.get(other).copied() else {
                return Ok(false);
            };
            classes.class_of.insert(identity, class);
            match add_member(layout, class, identity.0) {
                Some(change) => changes.push((direction, change)),
                None => {
                    *layout = crate::optimize::layout::lay_out(classes);
                    relaid = true;
                }
            }
        }
        if relaid {
            self.reencode()?;
            return Ok(true);
        }
        for (direction, change) in changes {
            let tables = match direction {
                Direction::Ingress => &mut self.optimized.tables.ingress,
                Direction::Egress => &mut self.optimized.tables.egress,
            };
            change.apply(tables);
            if !self.write_member(direction, &change)? {
                self.reencode()?;
                return Ok(true);
            }
        }
        Ok(true)
    }

    /// Writes one identity's records into the images; `false` when they need overflow ranges
    /// (the caller encodes the images again).
    fn write_member(
        &mut self,
        direction: Direction,
        change: &MemberTables,
    ) -> Result<bool, IncrementalError> {
        let dp = match direction {
            Direction::Ingress => DpDirection::Ingress,
            Direction::Egress => DpDirection::Egress,
        };
        let backend = |source| IncrementalError::Backend {
            endpoint: self.key.clone(),
            source,
        };
        let mut records = Vec::new();
        let map = match change {
            MemberTables::Nothing => return Ok(true),
            MemberTables::Class(identity, class) => {
                records.push(class_record(dp, *identity, *class));
                map_names::CLASS
            }
            MemberTables::Functions(functions) => {
                for ((identity, protocol), function) in functions {
                    match inline_identity_function_record(dp, *identity, *protocol, function)
                        .map_err(backend)?
                    {
                        Some(record) => records.push(record),
                        None => return Ok(false),
                    }
                }
                map_names::PORTFN
            }
        };
        let Some(image) = self.images.maps.iter_mut().find(|m| m.name == map) else {
            return Ok(false);
        };
        for (k, v) in records {
            image.upsert(map, k, v).map_err(backend)?;
        }
        Ok(true)
    }

    /// Tables from both layouts and images from the tables (after a layout was chosen again).
    fn reencode(&mut self) -> Result<(), IncrementalError> {
        self.optimized.tables.ingress = self.optimized.ingress_layout.tables.clone();
        self.optimized.tables.egress = self.optimized.egress_layout.tables.clone();
        let fqdn_mask = self.images.config.fqdn_mask;
        self.images = endpoint_images(&self.optimized.tables).map_err(|source| {
            IncrementalError::Backend {
                endpoint: self.key.clone(),
                source,
            }
        })?;
        self.images.config.fqdn_mask = fqdn_mask;
        Ok(())
    }
}
