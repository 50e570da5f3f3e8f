//! Why `--specialize` could not produce objects (rendered by the CLI as miette diagnostics).

use super::lower::LowerError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SpecializeError {
    #[error("--specialize needs clang to compile the generated datapath, and none was found (tried $CLANG, {tried})")]
    #[diagnostic(
        code(policyc::specialize::no_clang),
        help("install it (`apt-get install clang-16`), point $CLANG or --clang at one, or build without --specialize (the template datapath needs no compiler)")
    )]
    ClangNotFound { tried: String },
    #[error("{clang} cannot be used: {problem}")]
    #[diagnostic(
        code(policyc::specialize::clang_unusable),
        help("install clang-16 (`apt-get install clang-16`) or build without --specialize")
    )]
    ClangUnusable { clang: PathBuf, problem: String },
    #[error("{clang} rejected the datapath generated for {endpoints} ({status}):\n{log}")]
    #[diagnostic(
        code(policyc::specialize::compile_failed),
        help("the generated C is policyc's output, so this is a policyc bug: report it with this log; build without --specialize meanwhile")
    )]
    ClangFailed {
        endpoints: String,
        clang: PathBuf,
        status: String,
        log: String,
    },
    #[error("cannot lower the decision of {endpoint}: {source}")]
    #[diagnostic(code(policyc::specialize::lower))]
    Lower {
        endpoint: String,
        source: LowerError,
    },
    #[error("{}: {source}", path.display())]
    #[diagnostic(code(policyc::specialize::io))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}
