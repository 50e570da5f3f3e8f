//! The `struct __sk_buff` context of a BPF_PROG_TEST_RUN: the word the egress tcx datapath
//! leaves in `cb[POLICYC_L7_CB_SLOT]` for the DNS stage (`policyc_layout.h`
//! `POLICYC_L7_CB_MAGIC | l7_set`), read back after a datapath run and handed to a DNS run, as
//! the tcx chain does between the two programs.

use policyc_backends::layout::{L7_CB_MAGIC, L7_CB_SLOT};

/// Bytes of `struct __sk_buff` (UAPI, Linux >= 5.x).
pub const SKB_CTX_BYTES: usize = 192;
/// Offset of `__sk_buff.cb[0]` (UAPI: 12 `__u32` fields precede it).
pub const SKB_CB_OFFSET: usize = 48;

/// The word for DNS rule set `set` (0 = no DNS rules apply).
pub fn l7_word(set: u8) -> u32 {
    L7_CB_MAGIC | u32::from(set)
}

/// A zeroed context whose DNS word is `word`.
pub fn context_with(word: u32) -> Vec<u8> {
    let mut ctx = vec![0u8; SKB_CTX_BYTES];
    let at = SKB_CB_OFFSET + 4 * L7_CB_SLOT as usize;
    ctx[at..at + 4].copy_from_slice(&word.to_ne_bytes());
    ctx
}

/// The DNS word of a context after a run.
pub fn word_of(ctx: &[u8]) -> Option<u32> {
    let at = SKB_CB_OFFSET + 4 * L7_CB_SLOT as usize;
    Some(u32::from_ne_bytes(ctx.get(at..at + 4)?.try_into().ok()?))
}

/// The DNS rule set a datapath run handed over (`None`: no word was written).
pub fn set_of(word: u32) -> Option<u8> {
    (word & !0xff == L7_CB_MAGIC).then_some((word & 0xff) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_round_trips_through_a_context() {
        let ctx = context_with(l7_word(7));
        assert_eq!(word_of(&ctx).and_then(set_of), Some(7));
        assert_eq!(set_of(0), None);
    }
}
