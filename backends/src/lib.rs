//! policyc-backends: lowers a laid-out policy to BPF objects and map images, and defines the
//! artifact format that `policy-loader` reads.
