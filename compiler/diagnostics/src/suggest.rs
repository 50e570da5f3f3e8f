//! "Did you mean" hints: the closest candidate to a misspelt word, if any is close enough.

/// Similarity below which no suggestion is made (Jaro-Winkler, case-insensitive).
const MIN_SIMILARITY: f64 = 0.8;

/// The candidate most similar to `word`, if it is similar enough to be a plausible typo.
/// `None` if `word` is itself a candidate; a case-only difference is always suggested.
#[must_use]
pub fn suggest<'a, I, S>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    let lowered = word.to_lowercase();
    let mut best: Option<(&'a str, f64)> = None;
    for candidate in candidates {
        let candidate = candidate.as_ref();
        if candidate == word {
            return None;
        }
        let score = strsim::jaro_winkler(&lowered, &candidate.to_lowercase());
        if score >= MIN_SIMILARITY && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(candidate, _)| candidate)
}

/// `Some("did you mean `x`?")` for use as a finding's help text.
#[must_use]
pub fn did_you_mean<'a, I, S>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a S>,
    S: AsRef<str> + ?Sized + 'a,
{
    suggest(word, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_case::test_case;

    const FIELDS: &[&str] = &[
        "toPorts",
        "toEndpoints",
        "fromEndpoints",
        "egress",
        "egressDeny",
        "matchLabels",
        "matchExpressions",
    ];

    #[test_case("toPort", Some("toPorts"); "missing plural s")]
    #[test_case("fromEndpoint", Some("fromEndpoints"); "singular peer")]
    #[test_case("egres", Some("egress"); "dropped letter prefers the short field")]
    #[test_case("matchlabels", Some("matchLabels"); "case only")]
    #[test_case("matchExpresions", Some("matchExpressions"); "inner typo")]
    #[test_case("frobnicate", None; "unrelated word")]
    #[test_case("egress", None; "exact match is not a suggestion")]
    #[test_case("", None; "empty word")]
    fn suggests_close_candidates(word: &str, expected: Option<&str>) {
        assert_eq!(suggest(word, FIELDS), expected);
    }

    #[test]
    fn did_you_mean_formats_help() {
        assert_eq!(
            did_you_mean("toPort", FIELDS).as_deref(),
            Some("did you mean `toPorts`?")
        );
    }
}
