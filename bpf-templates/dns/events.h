/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* dns/events.h — the DNS object's records on the endpoint's event ring (struct pc_dns_event). */
#ifndef POLICYC_DNS_EVENTS_H
#define POLICYC_DNS_EVENTS_H

#include "dns_layout.h"
#include "parse.h"

const volatile struct pc_dns_btf_anchor pc_dns_btf_anchor __attribute__((used)) = {};

/* A drop record: peer = the DNS server; no rule id (the endpoint's rules.dns decided); the
 * question name when it was read (`name`), else zeros. */
static __always_inline void emit_dns_event(struct __sk_buff *skb, const struct dns_packet *p,
					   int query, __u8 reason, const struct pc_dns_name *name)
{
	struct pc_dns_event *record = bpf_ringbuf_reserve(&pc_events, sizeof(*record), 0);
	if (!record)
		return;
	if (name)
		__builtin_memcpy(&record->qname, name, sizeof(record->qname));
	else
		__builtin_memset(&record->qname, 0, sizeof(record->qname));
	struct policyc_event *ev = &record->event;
	ev->timestamp_ns = bpf_ktime_get_ns();
	ev->endpoint_id = 0;
	ev->identity = 0;
	ev->rule_id = 0;
	ev->pkt_len = skb->len;
	ev->port = query ? p->dport : p->sport;
	ev->direction = query ? POLICYC_DIR_EGRESS : POLICYC_DIR_INGRESS;
	ev->protocol = p->tcp ? PC_PROTO_TCP : PC_PROTO_UDP;
	ev->verdict = POLICYC_VERDICT_NONE;
	ev->reason = reason;
	ev->action = POLICYC_ACTION_DROP;
	ev->family = p->family;
	__builtin_memcpy(ev->peer_addr, query ? p->daddr : p->saddr, 16);
	ev->suppressed = 0;
	ev->pad = 0;
	bpf_ringbuf_submit(record, 0);
}

#endif /* POLICYC_DNS_EVENTS_H */
