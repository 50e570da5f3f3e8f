//! Renders a lowered [`DecisionProgram`] as `policyc_specialized.h`: the `policy_lookup` the
//! datapath template includes under `POLICYC_SPECIALIZED`. One `pc_class` lookup (identity →
//! class, a miss is the unknown class), then a call into a global function per direction
//! (`pc_decide_ingress` / `pc_decide_egress`: verified once each, independently of the rest of
//! the program) that switches on the class and the protocol and walks a port tree whose bounds,
//! verdicts and rule ids are constants. The text is a pure function of the program.

use super::lower::{ClassCode, DecisionProgram, DirectionCode, Outcome, PortRef, PortTree};
use policyc_compile::optimize::classes::DirectionClasses;
use policyc_ir::Direction;
use std::fmt::Write as _;

/// Version of the generated code's shape (part of the cache key).
pub const GENERATOR_VERSION: u32 = 1;

/// Name of the generated header the template includes.
pub const SPECIALIZED_HEADER: &str = "policyc_specialized.h";

fn outcome(o: &Outcome) -> String {
    let verdict = o.verdict.map_or("POLICYC_VERDICT_NONE", |v| v.c_name());
    format!(
        "PC_DECISION({verdict}, {}, {})",
        o.reason.c_name(),
        o.rule_id
    )
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push('\t');
    }
}

fn emit_tree(out: &mut String, tree: &PortTree, depth: usize) {
    match tree {
        PortTree::Leaf(o) => {
            indent(out, depth);
            let _ = writeln!(out, "return {};", outcome(o));
        }
        PortTree::Below {
            split,
            below,
            at_or_above,
        } => {
            indent(out, depth);
            let _ = writeln!(out, "if (port < {split}) {{");
            emit_tree(out, below, depth + 1);
            indent(out, depth);
            out.push_str("}\n");
            emit_tree(out, at_or_above, depth);
        }
    }
}

fn call(reference: &PortRef) -> String {
    match reference {
        PortRef::Constant(o) => outcome(o),
        PortRef::Function(i) => format!("pc_ports_{i}(port)"),
    }
}

fn protocol_name(number: u8) -> &'static str {
    match number {
        1 => "ICMP",
        6 => "TCP",
        17 => "UDP",
        58 => "ICMPv6",
        132 => "SCTP",
        _ => "other",
    }
}

fn emit_class(out: &mut String, index: usize, class: &ClassCode) {
    let _ = writeln!(
        out,
        "static __always_inline __u64 pc_class_{index}(__u32 protocol, __u32 port)\n{{"
    );
    if class.cases.is_empty() {
        if !matches!(class.fallback, PortRef::Function(_)) {
            out.push_str("\t(void)port;\n");
        }
        out.push_str("\t(void)protocol;\n");
        let _ = writeln!(out, "\treturn {};\n}}\n", call(&class.fallback));
        return;
    }
    out.push_str("\tswitch (protocol) {\n");
    // Protocols with the same function share one return.
    let mut groups: Vec<(Vec<u8>, &PortRef)> = Vec::new();
    for (protocol, reference) in &class.cases {
        match groups.iter_mut().find(|(_, r)| *r == reference) {
            Some((protocols, _)) => protocols.push(*protocol),
            None => groups.push((vec![*protocol], reference)),
        }
    }
    for (protocols, reference) in groups {
        for protocol in protocols {
            let _ = writeln!(out, "\tcase {protocol}: /* {} */", protocol_name(protocol));
        }
        let _ = writeln!(out, "\t\treturn {};", call(reference));
    }
    let _ = writeln!(
        out,
        "\tdefault: /* the protocol-0 function */\n\t\treturn {};\n\t}}\n}}\n",
        call(&class.fallback)
    );
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Ingress => "ingress",
        Direction::Egress => "egress",
    }
}

fn emit_direction(out: &mut String, code: &DirectionCode) {
    let name = direction_name(code.direction);
    let _ = writeln!(
        out,
        "__attribute__((noinline)) __u64 pc_decide_{name}(__u32 class_id, __u32 protocol, __u32 port)\n{{\n\tPC_ARGUMENTS_USED(class_id, protocol, port);"
    );
    if !code.enforced {
        let _ = writeln!(
            out,
            "\t/* {name} is not enforced: the datapath passes it before any lookup. */\n\treturn {};\n}}\n",
            outcome(&Outcome::TABLE_CORRUPT)
        );
        return;
    }
    out.push_str("\tswitch (class_id) {\n");
    for (ids, function) in &code.cases {
        for id in ids {
            let _ = writeln!(out, "\tcase {id}:");
        }
        let _ = writeln!(out, "\t\treturn pc_class_{function}(protocol, port);");
    }
    let _ = writeln!(
        out,
        "\tdefault: /* a class this code does not know: tables out of step */\n\t\treturn {};\n\t}}\n}}\n",
        outcome(&Outcome::TABLE_CORRUPT)
    );
}

/// The verifier checks a global function's arguments once for all callers, so each must be a
/// scalar; clang would pass garbage for an argument the body ignores (e.g. the protocol when no
/// class distinguishes protocols). An empty asm that reads them keeps them live.
const PC_ARGUMENTS_USED: &str =
    "#define PC_ARGUMENTS_USED(a, b, c) asm volatile(\"\" : : \"r\"(a), \"r\"(b), \"r\"(c))\n";

const LOOKUP: &str = r#"static __always_inline void policy_lookup(const struct flow *f, __u8 dir, struct decision *d)
{
	struct policyc_class_key ckey = {};
	struct policyc_class_value *cval;
	__u32 class_id = PC_UNKNOWN_CLASS;
	__u64 out;

	ckey.identity = d->identity;
	ckey.direction = dir;
	cval = bpf_map_lookup_elem(&pc_class, &ckey);
	if (cval)
		class_id = cval->class_id;
	if (dir == POLICYC_DIR_INGRESS)
		out = pc_decide_ingress(class_id, f->protocol, f->policy_port);
	else
		out = pc_decide_egress(class_id, f->protocol, f->policy_port);
	d->verdict = (__u8)out;
	d->reason = (__u8)(out >> 8);
	d->rule_id = (__u32)(out >> 32);
}
"#;

/// The whole header; `estimate` is written into its opening comment.
pub fn render(program: &DecisionProgram, estimate: u64) -> String {
    let mut out = String::new();
    let classes = |d: Direction| {
        program
            .directions
            .iter()
            .find(|c| c.direction == d)
            .map_or(0, |c| {
                c.cases.iter().map(|(ids, _)| ids.len()).sum::<usize>()
            })
    };
    let _ = writeln!(
        out,
        "/* {SPECIALIZED_HEADER}: generated by `policyc build --specialize` (generator {GENERATOR_VERSION}); do not edit.\n * policy_lookup with the decision folded into code: {} ingress / {} egress classes, {} class\n * functions, {} port functions, about {estimate} instructions. */\n",
        classes(Direction::Ingress),
        classes(Direction::Egress),
        program.class_functions.len(),
        program.port_functions.len(),
    );
    out.push_str(
        "#define PC_DECISION(verdict, reason, rule_id) \\\n\t(((__u64)(rule_id) << 32) | ((__u64)(reason) << 8) | (__u64)(verdict))\n",
    );
    out.push_str(PC_ARGUMENTS_USED);
    let _ = writeln!(
        out,
        "#define PC_UNKNOWN_CLASS {}\n",
        DirectionClasses::UNKNOWN.0
    );
    for (index, tree) in program.port_functions.iter().enumerate() {
        let _ = writeln!(
            out,
            "static __always_inline __u64 pc_ports_{index}(__u32 port)\n{{"
        );
        emit_tree(&mut out, tree, 1);
        out.push_str("}\n\n");
    }
    for (index, class) in program.class_functions.iter().enumerate() {
        emit_class(&mut out, index, class);
    }
    for code in &program.directions {
        emit_direction(&mut out, code);
    }
    out.push_str(LOOKUP);
    out
}
