//! `policyc` binary: everything lives in the library; this only hands over to the CLI.
fn main() -> std::process::ExitCode {
    // Output piped into `head` and closed early ends the process quietly (as for any Unix
    // tool: killed by SIGPIPE) instead of panicking in println! with exit 101.
    // SAFETY: restoring the default disposition of SIGPIPE before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    policyc::cli::main()
}
