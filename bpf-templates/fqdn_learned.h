/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* fqdn_learned.h — the ONE definition of the node-wide learned-address map shared by the DNS
 * object (policyc_dns.bpf.c writes it from solicited answers) and the L3/L4 datapath
 * (policyc_datapath.bpf.c reads it for new egress flows to addresses outside the cluster), and
 * of the FQDN-class pseudo-identities. Mirrored by policyc-backends (backends/src/fqdn.rs),
 * checked against both objects' BTF by runtime-loader/tests/layout_btf.rs.
 *
 * One map per node: the loader pins it once (pin name POLICYC_FQDN_LEARNED_PIN under its bpffs
 * directory) and every DNS and datapath object reuses it by name (same definition below, so
 * libbpf's reuse compatibility check passes).
 */
#ifndef POLICYC_FQDN_LEARNED_H
#define POLICYC_FQDN_LEARNED_H

#include <linux/types.h>

/* enum policyc_identity: the world identities (addresses outside the cluster). */
#include "policyc_layout.h"

/* Map name in both objects (<= 15 characters) and its node-wide pin name. */
#define POLICYC_MAP_FQDN_LEARNED "pc_dns_learned"
#define POLICYC_FQDN_LEARNED_PIN "pc_dns_learned"

/* The numeric constants shared with user space, as enumerators so that both objects' BTF
 * carries them (struct pc_fqdn_btf_anchor; checked by runtime-loader/tests/layout_btf.rs). */
enum policyc_fqdn_constant {
	POLICYC_FQDN_LEARNED_MAX_ENTRIES = 65536,
	/* Selector bits 0..62 are node-wide FQDN classes (one per distinct toFQDNs selector,
	 * numbered by the compiler, listed in the manifest); bit 63 marks "a rules.dns rule
	 * allowed the question" and is never an FQDN class. */
	POLICYC_FQDN_CLASSES = 63,
	POLICYC_FQDN_DNS_RULE_BIT = 63,
	/* Pseudo-identity of FQDN class b: POLICYC_IDENTITY_FQDN_SCOPE | b. Policy tables give it
	 * the verdict of "an address outside the cluster learned for selector b". Never in the
	 * ipcache. */
	POLICYC_IDENTITY_FQDN_SCOPE = 0x03000000,
	/* Node-local CIDR identities (outside the cluster): POLICYC_IDENTITY_LOCAL_CIDR_SCOPE | n. */
	POLICYC_IDENTITY_LOCAL_CIDR_SCOPE = 0x01000000,
	/* The scope byte of an identity. */
	POLICYC_IDENTITY_SCOPE_MASK = 0xff000000u,
};

/* Key: family 4 or 6 (policyc_family), address bytes (IPv4 in the first 4, rest zero). */
struct pc_dns_addr {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct pc_dns_learned {
	__u64 expiry_ns;   /* bpf_ktime_get_ns() clock; expired entries allow no new flow */
	__u64 selectors;   /* bitmap of FQDN classes (plus POLICYC_FQDN_DNS_RULE_BIT) */
	__u32 owner;       /* the endpoint whose quota this entry's lifetime is charged to */
	__u32 pad;
};

/* Referenced from .rodata in both objects, so that their BTF carries the constants above. */
struct pc_fqdn_btf_anchor {
	enum policyc_fqdn_constant constant;
};

#ifdef __BPF_HELPERS__
const volatile struct pc_fqdn_btf_anchor pc_fqdn_btf_anchor __attribute__((used)) = {};

/* The map itself (include after <bpf/bpf_helpers.h>). A plain hash, never an LRU: an insert
 * never evicts another entry (no endpoint can push out another's learned addresses); entries
 * leave when expired (dns sweep, or the DNS object's own reclaim when the map is full). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, POLICYC_FQDN_LEARNED_MAX_ENTRIES);
	__type(key, struct pc_dns_addr);
	__type(value, struct pc_dns_learned);
} pc_dns_learned SEC(".maps");
#endif

#endif /* POLICYC_FQDN_LEARNED_H */
