//! `policy-loader apply --dry-run`: every check of an apply — the artifact's digests (checked
//! when it is opened), the endpoints selected, L7 rules, attach points and DNS placement, kernel
//! features, and each endpoint's objects through the verifier — without pinning, attaching,
//! writing a record or creating the learned-address map: the node is left exactly as it was.

use super::artifact::Artifact;
use super::install::{kind_of, prepare, verify_generation, ApplyOptions, L7Config, Prepared};
use super::pins::AttachPoint;
use super::NodeError;

/// What an apply would do, endpoint by endpoint.
#[derive(Debug)]
pub struct DryRunReport {
    /// Rules whose L7 part would not be enforced (with `--l7-fallback=allow-l4`).
    pub l7_rules_allowed_at_l4: Vec<String>,
    /// Per endpoint, its attach point when every check passed, else why not.
    pub endpoints: Vec<(String, Result<AttachPoint, NodeError>)>,
}

impl DryRunReport {
    /// Whether the apply would install every endpoint.
    #[must_use]
    pub fn all_pass(&self) -> bool {
        self.endpoints.iter().all(|(_, r)| r.is_ok())
    }
}

/// Runs every check of [`super::install::apply`] and loads every object through the
/// verifier; `Err` for what would stop the whole apply.
pub fn dry_run(artifact: &Artifact, options: &ApplyOptions) -> Result<DryRunReport, NodeError> {
    let Prepared {
        installs,
        attach_points,
        l7,
        l7_http,
    } = prepare(artifact, options)?;
    // The tables were loaded by `prepare` (every DFA); the filter binary must exist too.
    if l7_http {
        super::l7::filter_binary(options.l7.filter.as_deref())?;
    }
    let l7_port = if l7_http { options.l7.port } else { 0 };
    let mut endpoints = Vec::new();
    for (install, attach) in installs.iter().zip(attach_points) {
        let l7_fallback =
            options.l7_fallback_allow_l4 || super::dns::install::l7_fully_in_kernel(install);
        let l7 = L7Config {
            fallback: l7_fallback,
            port: l7_port,
        };
        let verified = verify_generation(install, kind_of(&attach), l7).and_then(|()| {
            if matches!(attach, AttachPoint::Tcx { .. }) {
                super::dns::install::verify_generation(install, &options.dns)?;
            }
            Ok(attach)
        });
        endpoints.push((install.endpoint.name.clone(), verified));
    }
    Ok(DryRunReport {
        l7_rules_allowed_at_l4: if options.l7_fallback_allow_l4 {
            l7
        } else {
            Vec::new()
        },
        endpoints,
    })
}
