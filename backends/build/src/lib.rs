//! `policyc build`: compiles a policy set for an inventory into the artifact directory —
//! resolution and optimization per endpoint ([`compile`]), the object each endpoint runs
//! ([`object`]: the template, or a `--specialize` one), map images, the content-addressed
//! datapath object, `manifest.json`, and the build report ([`artifact`], [`writer`],
//! [`manifest`], [`dns_images`], [`report`]). The format of what is written is defined in
//! `policyc_backends::artifact`, shared with the loader. Nothing here needs privileges or a
//! BPF-capable kernel.

pub mod artifact;
pub mod classifier;
pub mod compile;
pub mod digest;
pub mod dns_images;
pub mod manifest;
pub mod object;
pub mod pipeline;
pub mod report;
pub mod specialize;
pub mod unenforced;
pub mod writer;

pub use artifact::{write_artifact, ArtifactSummary};
pub use compile::{compile, Compilation, CompileError, CompiledEndpoint};
pub use digest::{input_digest, input_files};
pub use pipeline::{
    build_artifact, build_artifact_with, build_warnings, load_build_inputs, load_inputs,
    BuildFailure, BuildProgress, BuildRequest, LoadedInputs,
};
pub use writer::ArtifactError;
