//! "Did you mean": the one helper that picks the closest candidate to a misspelt
//! word, used by every diagnostic that suggests a name.

/// The candidate closest to `word`, if one is close enough: equal ignoring case, or
/// within an edit distance of a third of the word's length (at least 1). Ties go to
/// the alphabetically first candidate, so suggestions are deterministic.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .filter_map(|c| {
            let d = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
            let close = d <= limit || c.eq_ignore_ascii_case(word);
            close.then_some((d, c))
        })
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let names = ["network", "cluster", "namespace", "workload"];
        assert_eq!(did_you_mean("netwrok", names), Some("network"));
        assert_eq!(did_you_mean("Cluster", names), Some("cluster"));
        assert_eq!(did_you_mean("zebra", names), None);
        assert_eq!(did_you_mean("x", ["y", "z"]), Some("y"));
    }
}
