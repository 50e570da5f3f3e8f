//! Optimizes one resolved endpoint: classes per direction, the decision DAG, the layout choice,
//! and the datapath tables (`EndpointTables`) the backend encodes into map images.

use super::classes::{classify, DirectionClasses};
use super::dag::DecisionDag;
use super::layout::{lay_out, DirectionLayout};
use crate::resolve::ResolvedEndpoint;
use policyc_backends::{DatapathOptions, EndpointTables};
use policyc_ir::universe::Universe;
use policyc_ir::Direction;

/// Everything the optimizer knows about one endpoint.
#[derive(Debug, Clone)]
pub struct OptimizedEndpoint {
    pub ingress: DirectionClasses,
    pub egress: DirectionClasses,
    /// Built on first use ([`Self::dag`]): the datapath tables do not need it, only
    /// `--specialize`, the report and `explain`-style walks do.
    dag: std::sync::OnceLock<DecisionDag>,
    pub ingress_layout: DirectionLayout,
    pub egress_layout: DirectionLayout,
    pub tables: EndpointTables,
}

impl OptimizedEndpoint {
    /// The decision DAG of both directions (built once, on first use).
    pub fn dag(&self) -> &DecisionDag {
        self.dag
            .get_or_init(|| DecisionDag::build(&[&self.ingress, &self.egress]))
    }

    pub fn classes(&self, direction: Direction) -> &DirectionClasses {
        match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    pub fn layout(&self, direction: Direction) -> &DirectionLayout {
        match direction {
            Direction::Ingress => &self.ingress_layout,
            Direction::Egress => &self.egress_layout,
        }
    }
}

/// The datapath knobs for an endpoint of `universe`. Localhost is encoded in the tables (the
/// host identity's class), so the datapath's own bypass stays off: explicit denies of the host
/// must still win, as in the oracle.
pub fn datapath_options(universe: &Universe) -> DatapathOptions {
    DatapathOptions {
        world_identity_ipv4: universe.world_identity(false).0,
        world_identity_ipv6: universe.world_identity(true).0,
        allow_localhost: false,
        l7_fallback_allow_l4: false,
        ..DatapathOptions::default()
    }
}

/// Classes, DAG, layout and tables of one endpoint; `endpoint_id` is reported in events.
pub fn optimize_endpoint(
    resolved: &ResolvedEndpoint,
    endpoint_id: u32,
    options: DatapathOptions,
) -> OptimizedEndpoint {
    let ingress = classify(&resolved.ingress);
    let egress = classify(&resolved.egress);
    let ingress_layout = lay_out(&ingress);
    let egress_layout = lay_out(&egress);
    let tables = EndpointTables {
        endpoint_id,
        ingress: ingress_layout.tables.clone(),
        egress: egress_layout.tables.clone(),
        options,
        // The endpoint's addresses are the inventory's: the caller sets them.
        source_addrs: Vec::new(),
    };
    OptimizedEndpoint {
        ingress,
        egress,
        dag: std::sync::OnceLock::new(),
        ingress_layout,
        egress_layout,
        tables,
    }
}
