//! Errors of opening, specialising, loading and running the datapath object.

use thiserror::Error;

use policyc_backends::BackendError;

/// Why the loader or the test harness failed.
#[derive(Debug, Error)]
pub enum LoaderError {
    /// libbpf could not open the embedded object.
    #[error("opening the datapath object: {0}")]
    Open(#[source] libbpf_rs::Error),
    /// The object does not have what the layout promises.
    #[error("datapath object: {0}")]
    Layout(String),
    /// The kernel rejected a program; `log` is the verifier's log (tail, if long).
    #[error("the kernel verifier rejected the datapath ({source})\n{log}")]
    Verifier {
        /// The libbpf error.
        #[source]
        source: libbpf_rs::Error,
        /// Verifier log text of the programs that logged anything.
        log: String,
    },
    /// A map could not be sized or filled.
    #[error("map {map}: {source}")]
    Map {
        /// Map name.
        map: String,
        /// The libbpf error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// A map image does not fit the object's map.
    #[error("map image {map}: {problem}")]
    Image {
        /// Map name.
        map: String,
        /// What does not fit.
        problem: String,
    },
    /// A program operation (test run, info query) failed.
    #[error("program {program}: {source}")]
    Program {
        /// Program name.
        program: String,
        /// The libbpf error.
        #[source]
        source: libbpf_rs::Error,
    },
    /// Building map images failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}
