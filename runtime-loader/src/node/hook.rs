//! Test hooks for interrupted applies and unloads: `POLICYC_LOADER_PAUSE_AT=<step>` makes `apply` print
//! `policy-loader: paused at <step>` on stderr and sleep (so a test can SIGKILL it there);
//! `POLICYC_LOADER_FAIL_AT=<step>` makes it fail there as if the kernel had refused — at the
//! steps before the flip only. `<step>@<namespace/name>` limits either to one endpoint of a
//! multi-endpoint apply: after it the new policy is in place and there is nothing left
//! that could fail and be reported as "previous policy left in place". Unset in production;
//! reading two environment variables is their only cost.

use super::error::NodeError;

/// Environment variable: pause at a step.
pub const PAUSE_AT: &str = "POLICYC_LOADER_PAUSE_AT";
/// Environment variable: fail at a step.
pub const FAIL_AT: &str = "POLICYC_LOADER_FAIL_AT";

/// Steps of an endpoint install, in order (see `install`'s replace protocol).
pub mod steps {
    /// The new object is loaded and filled, nothing pinned yet.
    pub const LOADED: &str = "loaded";
    /// The new generation is pinned and recorded; the old one still runs.
    pub const PINNED: &str = "pinned";
    /// The new programs sit in the inactive slots of both program arrays; the old one still
    /// runs (the active-generation word is unchanged).
    pub const SLOTS_WRITTEN: &str = "slots-written";
    /// The active-generation word names the new generation: both directions run it (a first
    /// install is also attached by now).
    pub const FLIPPED: &str = "flipped";
    /// Older generations are unpinned; the apply of this endpoint is complete.
    pub const CLEANED: &str = "cleaned";
    /// Between two endpoints' flips of one apply (after this endpoint's flip, the switch
    /// journal still names every endpoint): killed here, some endpoints run the new
    /// artifact, others the old one, until the next command completes the switch.
    pub const SWITCHING: &str = "switching";

    /// Every step, in order.
    pub const ALL: [&str; 5] = [LOADED, PINNED, SLOTS_WRITTEN, FLIPPED, CLEANED];

    /// `unload` of an endpoint: its main ingress link is detached (still pinned), the egress
    /// one not yet.
    pub const UNLOAD_INGRESS_DETACHED: &str = "unload-ingress-detached";
    /// `unload`: both main links are detached (still pinned); the DNS stage links are still
    /// attached.
    pub const UNLOAD_MAIN_DETACHED: &str = "unload-main-detached";
    /// `unload`: every link is detached; pins and records are still there.
    pub const UNLOAD_DETACHED: &str = "unload-detached";
    /// `unload`: the pins are removed, the generation records not yet.
    pub const UNLOAD_UNPINNED: &str = "unload-unpinned";

    /// Every step of an endpoint's unload, in order.
    pub const UNLOAD: [&str; 4] = [
        UNLOAD_INGRESS_DETACHED,
        UNLOAD_MAIN_DETACHED,
        UNLOAD_DETACHED,
        UNLOAD_UNPINNED,
    ];
}

/// Called at each step before the flip of `endpoint`: may pause or fail.
pub fn at(step: &'static str, endpoint: &str) -> Result<(), NodeError> {
    if asked(FAIL_AT, step, Some(endpoint)) {
        return Err(NodeError::Hook(step));
    }
    pause_if_asked(step, Some(endpoint));
    Ok(())
}

/// Called at each step from the flip on (the new policy runs), and at the steps of `unload`:
/// may only pause.
pub fn after_switch(step: &'static str) {
    pause_if_asked(step, None);
}

/// [`after_switch`] for a step of one endpoint of a multi-endpoint apply.
pub fn after_switch_of(step: &'static str, endpoint: &str) {
    pause_if_asked(step, Some(endpoint));
}

/// Whether the variable names `step`, or `step@endpoint`.
fn asked(variable: &str, step: &str, endpoint: Option<&str>) -> bool {
    std::env::var(variable).is_ok_and(|wanted| {
        wanted == step
            || endpoint.is_some_and(|e| {
                wanted
                    .strip_prefix(step)
                    .and_then(|rest| rest.strip_prefix('@'))
                    == Some(e)
            })
    })
}

fn pause_if_asked(step: &'static str, endpoint: Option<&str>) {
    if asked(PAUSE_AT, step, endpoint) {
        match endpoint {
            Some(e) => eprintln!("policy-loader: paused at {step}@{e}"),
            None => eprintln!("policy-loader: paused at {step}"),
        }
        std::thread::sleep(std::time::Duration::from_secs(600));
    }
}
