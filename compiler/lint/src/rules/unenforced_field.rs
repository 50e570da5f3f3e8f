//! PC0320: a field whose status in the field status table (`policyc_frontend::field_status`)
//! is a gap. Refused fields are errors (`policyc build` refuses them unless
//! `--allow-unenforced CODE`); approximated fields are warnings when `policyc test`/`explain`
//! differ from Cilium too, or the gap asks for it (`log.value`). Gaps another lint reports more precisely (`reported_by`) are left to
//! it.

use crate::context::LintContext;
use policyc_diagnostics::{codes, Finding};
use policyc_frontend::field_status::GapKind;

pub fn check(ctx: &LintContext<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for object in ctx.valid_objects() {
        for field_use in &object.object.unenforced {
            let gap = field_use.gap;
            if gap.reported_by.is_some() {
                continue;
            }
            let finding = match gap.kind {
                GapKind::Refused => Finding::error(
                    &codes::UNENFORCED_FIELD,
                    format!(
                        "`{}` is refused by policyc build ({}): it {}",
                        field_use.yaml_path, gap.code, gap.why
                    ),
                )
                .help(format!(
                    "`policyc build --allow-unenforced {}` builds anyway, without Cilium's meaning for this field",
                    gap.code
                )),
                GapKind::Approximated if gap.oracle_differs || gap.lint_warns => Finding::warning(
                    &codes::UNENFORCED_FIELD,
                    format!(
                        "`{}` is approximated ({}): {}",
                        field_use.yaml_path, gap.code, gap.why
                    ),
                ),
                GapKind::Approximated => continue,
            };
            findings.push(
                finding
                    .at(field_use.span, "not enforced as in Cilium")
                    .context(LintContext::object_context(object, &field_use.yaml_path)),
            );
        }
    }
    findings
}
