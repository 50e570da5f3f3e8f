//! policyc-loader: installs compiled policy with libbpf-rs, and runs programs under
//! BPF_PROG_TEST_RUN for tests.
