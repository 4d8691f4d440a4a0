//! "Did you mean" for misspelt keys, after nickel's `find_best_match`: an exact match
//! ignoring case (and `-`/`_`) first, otherwise the closest candidate by normalized
//! Damerau-Levenshtein similarity of at least 0.6.

/// The candidate the user most likely meant by `typo`, if any is close enough.
pub fn best_match<'a>(typo: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace('-', "_");
    let typo_n = norm(typo);
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        if norm(c) == typo_n {
            return Some(c);
        }
        let score = strsim::normalized_damerau_levenshtein(&typo_n, &norm(c));
        if score >= 0.6 && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::best_match;

    #[test]
    fn case_insensitive_match_wins() {
        assert_eq!(best_match("Replicas", ["storage", "replicas"]), Some("replicas"));
    }

    #[test]
    fn close_typo_is_suggested() {
        assert_eq!(best_match("retension_days", ["retention_days", "storage"]), Some("retention_days"));
    }

    #[test]
    fn unrelated_key_gets_no_suggestion() {
        assert_eq!(best_match("zzz", ["retention_days", "storage"]), None);
    }
}
